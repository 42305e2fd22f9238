// App files for `agora services apply -f`: JSON and YAML, errors with lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAppFile } from '../../src/frameworks/services/app-file.js';

const WEB_YAML = `# the web app
id: /web
cmd: python3 -m http.server $PORT0
cpus: 0.1
mem: 32
instances: 3
env:
  MODE: "no"
  LEVEL: no
healthChecks:
  - protocol: HTTP
    path: health
    portIndex: 0
`;

test('parseAppFile reads a YAML app as the same values as its JSON', () => {
  const parsed = parseAppFile('web.yaml', WEB_YAML);
  assert.equal(parsed.kind, 'ok');
  if (parsed.kind !== 'ok') return;
  assert.equal(parsed.format, 'yaml');
  const [doc] = parsed.documents;
  assert.equal(doc?.kind, 'app');
  assert.equal(doc?.id, '/web');
  assert.deepEqual(doc?.value, {
    id: '/web',
    cmd: 'python3 -m http.server $PORT0',
    cpus: 0.1,
    mem: 32,
    instances: 3,
    // YAML 1.2: `no` is a string, not false.
    env: { MODE: 'no', LEVEL: 'no' },
    healthChecks: [{ protocol: 'HTTP', path: 'health', portIndex: 0 }],
  });
  assert.equal(doc?.lineOf('/healthChecks(0)/path'), 12);
  assert.equal(doc?.lineOf('/instances'), 6);
  assert.equal(doc?.lineOf('/nope'), undefined);
});

test('parseAppFile reads several documents, groups among them, in file order', () => {
  const parsed = parseAppFile(
    'stack.yml',
    'id: /db\ncmd: sleep 1\n---\nid: /shop\napps:\n  - id: web\n    cmd: sleep 2\n',
  );
  assert.equal(parsed.kind, 'ok');
  if (parsed.kind !== 'ok') return;
  assert.deepEqual(
    parsed.documents.map((d) => [d.kind, d.id]),
    [
      ['app', '/db'],
      ['group', '/shop'],
    ],
  );
});

test('parseAppFile names file, line and column of bad YAML', () => {
  const cases: [string, RegExp][] = [
    ['id: /web\ncmd: [sleep\n', /^web\.yaml:\d+:\d+: /],
    ['id: /web\n  cmd: sleep 1\n', /^web\.yaml:1:\d+: .*mapping/],
    ['id: /web\nid: /other\n', /^web\.yaml:2:1: .*[Uu]nique/],
    ['id: /web\ncmd: !!js/function "x"\n', /^web\.yaml:2:\d+: /],
    ['- a\n- b\n', /web\.yaml: the file is not a map of fields/],
    ['cmd: sleep 1\n', /web\.yaml: the file has no "id"/],
    ['', /web\.yaml: no app definition/],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseAppFile('web.yaml', text);
    assert.equal(parsed.kind, 'error', text);
    if (parsed.kind === 'error') assert.match(parsed.message, expected, text);
  }
});

test('parseAppFile refuses a billion-laughs file and oversize files instead of expanding them', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) {
    const ref = String.fromCharCode(96 + i);
    lines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${ref}`).join(', ')}]`,
    );
  }
  lines.push('id: /bomb');
  const parsed = parseAppFile('bomb.yaml', lines.join('\n'));
  assert.equal(parsed.kind, 'error');
  if (parsed.kind === 'error') assert.match(parsed.message, /^bomb\.yaml:\d+:\d+: .*alias/i);
  const big = parseAppFile('big.yaml', `id: /big\ncmd: "${'x'.repeat(1024 * 1024)}"\n`);
  assert.equal(big.kind, 'error');
});

test('parseAppFile reads JSON by extension or first character, with its error', () => {
  const ok = parseAppFile('-', '{"id": "/web", "cmd": "sleep 1"}');
  assert.equal(ok.kind === 'ok' && ok.format, 'json');
  const list = parseAppFile('apps.json', '[{"id": "/a"}, {"id": "/b"}]');
  assert.equal(list.kind === 'ok' && list.documents.length, 2);
  const bad = parseAppFile('web.json', '{"id": "/web",}');
  assert.equal(bad.kind, 'error');
  if (bad.kind === 'error') assert.match(bad.message, /^web\.json: not valid JSON: /);
});
