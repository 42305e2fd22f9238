// Marathon app fields beyond the common ones: `fetch` reaches the task's
// CommandInfo.uris, fields the framework does not implement are refused with a
// 422 naming them (their defaults accepted), and `container` is checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AppDefinition, parseApp } from '../../src/frameworks/services/app-definition.js';
import type { Instance } from '../../src/frameworks/services/instance.js';
import { taskInfoOf } from '../../src/frameworks/services/task-info.js';
import type { Offer } from '../../src/wire/index.js';

function app(fields: Record<string, unknown>): AppDefinition {
  const parsed = parseApp({ id: '/web', cmd: 'serve', cpus: 0.1, mem: 16, ...fields });
  if (!parsed.ok) assert.fail(JSON.stringify(parsed.failure));
  return parsed.value;
}

function refused(fields: Record<string, unknown>): { path: string; errors: readonly string[] }[] {
  const parsed = parseApp({ id: '/web', cmd: 'serve', ...fields });
  assert.equal(parsed.ok, false, `accepted ${JSON.stringify(fields)}`);
  if (parsed.ok) return [];
  assert.equal(parsed.failure.message, 'Object is not valid');
  return [...parsed.failure.details];
}

const OFFER = {
  id: { value: 'o1' },
  framework_id: { value: 'f' },
  agent_id: { value: 'a1' },
  hostname: 'h1',
  url: { scheme: 'http', address: { hostname: 'h1', ip: '127.0.0.1', port: 5051 }, path: '/' },
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
  ],
} as unknown as Offer;

const INSTANCE = {
  id: 'web.1',
  appId: '/web',
  configVersion: 'v1',
  agentId: 'a1',
  ip: '127.0.0.1',
  hostname: 'h1',
  attributes: {},
  ports: [],
  hasHealthCheck: false,
  state: 'TASK_STAGING',
  healthy: undefined,
  isKillWanted: false,
  killSentAtMs: undefined,
  stagedAtMs: 0,
  startedAtMs: undefined,
} as Instance;

test('fetch entries become the task CommandInfo.uris with Marathon defaults', () => {
  const def = app({
    fetch: [
      { uri: 'http://127.0.0.1:8000/tool', executable: true, extract: false, destPath: 'bin/t' },
      { uri: 'http://127.0.0.1:8000/data.tgz', cache: true },
    ],
  });
  const task = taskInfoOf(def, INSTANCE, OFFER);
  assert.deepEqual(task.command?.uris, [
    {
      value: 'http://127.0.0.1:8000/tool',
      executable: true,
      extract: false,
      cache: false,
      output_file: 'bin/t',
    },
    { value: 'http://127.0.0.1:8000/data.tgz', executable: false, extract: true, cache: true },
  ]);
  // Plain uris keep working as before.
  assert.deepEqual(taskInfoOf(app({ uris: ['http://x/a'] }), INSTANCE, OFFER).command?.uris, [
    { value: 'http://x/a' },
  ]);
});

test('fetch: bad entries and uris given with fetch answer 422 naming the field', () => {
  assert.deepEqual(
    refused({ uris: ['http://x/a'], fetch: [{ uri: 'http://x/b' }] }).map((d) => d.path),
    ['/fetch'],
  );
  assert.deepEqual(
    refused({ fetch: [{ uri: 'http://x/b', destPath: '/etc/passwd' }] }).map((d) => d.path),
    ['/fetch(0)/destPath'],
  );
  assert.deepEqual(
    refused({ fetch: [{ uri: 'http://x/b', destPath: 'a/../../b' }] }).map((d) => d.path),
    ['/fetch(0)/destPath'],
  );
  assert.deepEqual(
    refused({ fetch: [{ uri: '' }] }).map((d) => d.path),
    ['/fetch(0)/uri'],
  );
  assert.deepEqual(
    refused({ fetch: [{ uri: 'http://x', extract: 'yes' }] }).map((d) => d.path),
    ['/fetch(0)/extract'],
  );
});

test('unimplemented Marathon fields answer 422 naming them; their defaults are accepted', () => {
  for (const [field, value] of [
    ['networks', [{ mode: 'container', name: 'dcos' }]],
    ['networks', [{ mode: 'container/bridge' }]],
    ['secrets', { db: { source: 'db-password' } }],
    ['acceptedResourceRoles', ['slave_public']],
    ['residency', { taskLostBehavior: 'WAIT_FOREVER' }],
    ['taskKillGracePeriodSeconds', 30],
    ['tty', true],
  ] as const) {
    const details = refused({ [field]: value });
    assert.deepEqual(
      details.map((d) => d.path),
      [`/${field}`],
      field,
    );
    assert.ok((details[0]?.errors.length ?? 0) > 0);
  }
  // What Marathon's GET shows by default and a client sends back on PUT.
  app({
    networks: [{ mode: 'host' }],
    secrets: {},
    acceptedResourceRoles: ['*'],
    executor: '',
    storeUrls: [],
    residency: null,
    ipAddress: null,
    tty: false,
  });
});
