import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LIMITS,
  parseArrayRange,
  parseJobSpec,
  parseJobSubmission,
  parseScheduleSpec,
} from '../../../src/frameworks/jobs/spec.js';
import { parseYaml } from '../../../src/frameworks/jobs/yaml.js';

test('a job spec gets its defaults: one index, all at once, min-delay, 3 retries', () => {
  const parsed = parseJobSpec({ id: 'hello', run: { cmd: 'echo hi' } });
  assert.equal(parsed.kind, 'ok');
  if (parsed.kind !== 'ok') return;
  assert.equal(parsed.value.completions, 1);
  assert.equal(parsed.value.parallelism, 1);
  assert.equal(parsed.value.maxRetries, 3);
  assert.equal(parsed.value.placement.policy, 'min-delay');
  assert.deepEqual(parsed.value.dependencies, []);
  assert.deepEqual(parsed.value.disconnect, { lostAfterSeconds: 300, replace: true });
});

test('a bad job spec is refused naming the field', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ id: 'Bad_Id', run: { cmd: 'x' } }, 'id', /lower-case/],
    [{ id: 'a', run: { cmd: 'x', cpus: 0 } }, 'run.cpus', /.+/],
    // Below Mesos' 0.001 resolution a task would hold no CPU at all.
    [{ id: 'a', run: { cmd: 'x', cpus: 1e-300 } }, 'run.cpus', /0\.001/],
    [{ id: 'a', run: { cmd: 'echo \0' } }, 'run.cmd', /NUL/],
    [{ id: 'a', run: { cmd: 'x', role: '../etc' } }, 'run.role', /role/],
    [{ id: 'a', run: { cmd: 'x', env: { A: 'x\0' } } }, 'run.env.A', /NUL/],
    [{ id: 'a', run: {} }, 'run.cmd', /exactly one of cmd and args/],
    [{ id: 'a', run: { cmd: 'x' }, completions: 1e6 }, 'completions', /.+/],
    [{ id: 'a', run: { cmd: 'x' }, dependencies: ['ok', 'NO'] }, 'dependencies[1]', /.+/],
    [{ id: 'a', run: { cmd: 'x' }, dependencies: ['a'] }, 'dependencies', /itself/],
    [{ id: 'a', run: { cmd: 'x' }, placement: { policy: 'random' } }, 'placement.policy', /.+/],
    [
      { id: 'a', run: { cmd: 'x' }, placement: { constraints: ['rack'] } },
      'placement.constraints[0]',
      /.+/,
    ],
    [
      {
        id: 'a',
        run: { cmd: 'x' },
        placement: { constraints: [{ attribute: 'r', operator: 'LIKE', value: '(' }] },
      },
      'placement.constraints[0].value',
      /RE2/,
    ],
    [{ id: 'a', run: { cmd: 'x' }, colour: 'red' }, 'colour', /unknown field/],
    [{ id: 'a', run: { cmd: 'x', env: { 'A-B': 'x' } } }, 'run.env.A-B', /.+/],
    [
      { id: 'a', run: { cmd: 'x' }, disconnect: { lostAfterSeconds: -1 } },
      'disconnect.lostAfterSeconds',
      /.+/,
    ],
    [
      { id: 'a', run: { cmd: 'x' }, disconnect: { lostAfterSeconds: 1.5 } },
      'disconnect.lostAfterSeconds',
      /int/,
    ],
    [
      { id: 'a', run: { cmd: 'x' }, disconnect: { lostAfterSeconds: 1e9 } },
      'disconnect.lostAfterSeconds',
      /.+/,
    ],
    [{ id: 'a', run: { cmd: 'x' }, disconnect: { replace: 'yes' } }, 'disconnect.replace', /.+/],
    [
      { id: 'a', run: { cmd: 'x' }, disconnect: { lost_after: 5 } },
      'disconnect.lost_after',
      /unknown field/,
    ],
  ];
  for (const [input, field, message] of cases) {
    const parsed = parseJobSpec(input);
    assert.equal(parsed.kind, 'error', JSON.stringify(input));
    if (parsed.kind !== 'error') continue;
    assert.equal(parsed.field, field, JSON.stringify(input));
    assert.match(parsed.message, message);
  }
});

test('constraints take the rack:r1 shorthand and Metronome objects', () => {
  const parsed = parseJobSpec({
    id: 'a',
    run: { cmd: 'x' },
    placement: {
      policy: 'spread',
      constraints: ['rack:r1', { attribute: 'zone', operator: 'LIKE', value: 'z[12]' }],
    },
  });
  assert.equal(parsed.kind, 'ok');
  if (parsed.kind === 'ok')
    assert.deepEqual(parsed.value.placement.constraints, [
      { attribute: 'rack', operator: 'IS', value: 'r1' },
      { attribute: 'zone', operator: 'LIKE', value: 'z[12]' },
    ]);
});

test('schedules check the cron expression and the time zone', () => {
  assert.equal(
    parseScheduleSpec({ id: 's', cron: '0 2 * * *', timezone: 'Europe/Berlin' }).kind,
    'ok',
  );
  const zone = parseScheduleSpec({ id: 's', cron: '0 2 * * *', timezone: 'Mars/Olympus' });
  assert.equal(zone.kind === 'error' && zone.field, 'timezone');
  const policy = parseScheduleSpec({ id: 's', cron: '0 2 * * *', concurrencyPolicy: 'SOMETIMES' });
  assert.equal(policy.kind === 'error' && policy.field, 'concurrencyPolicy');
});

test('--array ranges are Slurm-like and start at 0', () => {
  assert.deepEqual(parseArrayRange('0-999'), { kind: 'ok', value: { completions: 1000 } });
  assert.deepEqual(parseArrayRange('0-99%10'), {
    kind: 'ok',
    value: { completions: 100, parallelism: 10 },
  });
  assert.equal(parseArrayRange('1-5').kind, 'error');
  assert.equal(parseArrayRange('0-100000').kind, 'error');
  assert.equal(parseArrayRange('x').kind, 'error');
});

test('YAML specs read as the JSON they stand for', () => {
  const text = [
    '# the map stage',
    '---',
    'jobs:',
    '  - id: map',
    '    labels: {stage: map, "team": data}',
    '    run:',
    '      cmd: |',
    '        set -e',
    '        ./map.sh "$AGORA_JOB_INDEX"   # not a comment inside the block',
    '      cpus: 0.5',
    '      mem: 128',
    "      env: { CORPUS: '/tmp/corpus' }",
    '    completions: 8',
    '    placement:',
    '      constraints: [rack:r1]',
    '  - id: reduce',
    '    run: { cmd: ./reduce.sh }',
    '    dependencies: [map]',
    '    maxRetries: 0',
    "    description: 'it''s last'",
    '    enabled: true',
    '    nothing: ~',
  ].join('\n');
  assert.deepEqual(parseYaml(text), {
    jobs: [
      {
        id: 'map',
        labels: { stage: 'map', team: 'data' },
        run: {
          cmd: 'set -e\n./map.sh "$AGORA_JOB_INDEX"   # not a comment inside the block\n',
          cpus: 0.5,
          mem: 128,
          env: { CORPUS: '/tmp/corpus' },
        },
        completions: 8,
        placement: { constraints: ['rack:r1'] },
      },
      {
        id: 'reduce',
        run: { cmd: './reduce.sh' },
        dependencies: ['map'],
        maxRetries: 0,
        description: "it's last",
        enabled: true,
        nothing: null,
      },
    ],
  });
  assert.deepEqual(parseYaml('{"id": "x"}'), { id: 'x' });
  assert.throws(() => parseYaml('a: 1\na: 2'), /line 2: duplicate key/);
  assert.deepEqual(parseYaml('a: &x [1]\nb: *x'), { a: [1], b: [1] });
  assert.deepEqual(parseYaml('answer: no'), { answer: 'no' }, 'YAML 1.2: `no` is a string');
  assert.throws(() => parseYaml('a: 1\n---\nb: 2'), /line 2: .*multiple documents/);
  // A "billion laughs": each level doubles; the alias cap refuses it before it grows.
  const laughs = ['l0: &l0 [lol, lol]'];
  for (let i = 1; i <= 30; i++) laughs.push(`l${i}: &l${i} [*l${i - 1}, *l${i - 1}]`);
  assert.throws(() => parseYaml(laughs.join('\n')), /line 1: .*alias/i);
});

test("Metronome's job JSON (restart, maxLaunchDelay, run.placement, schedules) is accepted and mapped", () => {
  const parsed = parseJobSubmission({
    id: 'nightly',
    description: 'as the dcos CLI examples write it',
    run: {
      cmd: 'echo hi',
      cpus: 0.01,
      mem: 32,
      disk: 0,
      maxLaunchDelay: 3600,
      restart: { policy: 'ON_FAILURE' },
      placement: { constraints: [{ attribute: 'rack', operator: 'EQ', value: 'r1' }] },
    },
    schedules: [{ id: 'daily', cron: '0 2 * * *', concurrencyPolicy: 'ALLOW' }],
  });
  assert.equal(parsed.kind, 'ok', JSON.stringify(parsed));
  if (parsed.kind !== 'ok') return;
  const { job, schedules } = parsed.value;
  assert.equal(job.maxRetries, LIMITS.maxRetries, 'ON_FAILURE retries as long as Agora allows');
  assert.equal(job.run.maxLaunchDelay, 3600);
  assert.deepEqual(job.placement.constraints, [{ attribute: 'rack', operator: 'IS', value: 'r1' }]);
  assert.equal(
    'placement' in job.run,
    false,
    'merged into placement, so a GET-then-PUT keeps one copy',
  );
  assert.deepEqual(
    schedules.map((s) => [s.id, s.cron, s.timezone]),
    [['daily', '0 2 * * *', 'UTC']],
  );
  const never = parseJobSpec({ id: 'a', run: { cmd: 'x', restart: { policy: 'NEVER' } } });
  assert.equal(never.kind === 'ok' && never.value.maxRetries, 0);
  const explicit = parseJobSpec({
    id: 'a',
    maxRetries: 5,
    run: { cmd: 'x', restart: { policy: 'ON_FAILURE' } },
  });
  assert.equal(explicit.kind === 'ok' && explicit.value.maxRetries, 5);
});

test('Metronome fields Agora cannot honour are refused naming the field, not ignored', () => {
  const cases: [unknown, string, RegExp][] = [
    [
      { id: 'a', run: { cmd: 'x', restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 60 } } },
      'run.restart.activeDeadlineSeconds',
      /not supported/,
    ],
    [
      { id: 'a', maxRetries: 2, run: { cmd: 'x', restart: { policy: 'NEVER' } } },
      'run.restart.policy',
      /maxRetries/,
    ],
    [{ id: 'a', run: { cmd: 'x', restart: { policy: 'SOMETIMES' } } }, 'run.restart.policy', /.+/],
    [{ id: 'a', run: { cmd: 'x', maxLaunchDelay: 0 } }, 'run.maxLaunchDelay', /.+/],
    [
      { id: 'a', run: { cmd: 'x' }, schedules: [{ id: 's', cron: 'nope' }] },
      'schedules[0].cron',
      /.+/,
    ],
    // A PUT changes the job; its schedules have their own routes.
    [
      { id: 'a', run: { cmd: 'x' }, schedules: [{ id: 's', cron: '@daily' }] },
      'schedules',
      /schedules/,
    ],
  ];
  for (const [input, field, message] of cases) {
    const parsed = parseJobSpec(input);
    assert.equal(parsed.kind, 'error', JSON.stringify(input));
    if (parsed.kind !== 'error') continue;
    assert.equal(parsed.field, field, JSON.stringify(input));
    assert.match(parsed.message, message);
  }
});
