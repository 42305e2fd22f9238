// The invariant checks themselves, on hand-written journals: each rule fires on
// the case it names and stays quiet on the legal look-alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkInvariants, isSettled } from './invariants.js';
import type { JournalEntry } from './journal.js';

let clock = 0;
const t = () => ++clock;
const launch = (id: string, long = false): JournalEntry => ({
  kind: 'launch',
  t: t(),
  task_id: id,
  agent_id: 'S0',
  long,
});
const update = (id: string, state: string, extra: Partial<JournalEntry> = {}): JournalEntry =>
  ({ kind: 'update', t: t(), task_id: id, state, ...extra }) as JournalEntry;
const ack = (id: string, uuid: string, state: string, ok = true): JournalEntry => ({
  kind: 'ack',
  t: t(),
  task_id: id,
  uuid,
  state,
  ok,
});

const finished = (id: string) => [
  launch(id),
  update(id, 'TASK_RUNNING', { uuid: `${id}-r` }),
  ack(id, `${id}-r`, 'TASK_RUNNING'),
  update(id, 'TASK_FINISHED', { uuid: `${id}-f`, message: 'Command exited with status 0' }),
  ack(id, `${id}-f`, 'TASK_FINISHED'),
];

function check(journal: JournalEntry[], runs: string[], alive: number[] = []): string[] {
  return checkInvariants({
    journal,
    runs: runs.map((taskId, i) => ({ taskId, pid: 100 + i })),
    isAlive: (pid) => alive.includes(pid),
    longMustRun: true,
  });
}

const cases: [
  name: string,
  journal: JournalEntry[],
  runs: string[],
  alive: number[],
  expected: RegExp[],
][] = [
  ['a task that ran and finished once', finished('s-0'), ['s-0'], [], []],
  ['a task that ran twice', finished('s-0'), ['s-0', 's-0'], [], [/s-0 ran 2 times/]],
  [
    'an acknowledged update delivered again',
    [...finished('s-0'), update('s-0', 'TASK_FINISHED', { uuid: 's-0-f' })],
    ['s-0'],
    [],
    [/delivered again after it was acknowledged/],
  ],
  [
    'an update delivered twice before its acknowledgement (at least once: allowed)',
    [
      launch('s-0'),
      update('s-0', 'TASK_RUNNING', { uuid: 'r' }),
      update('s-0', 'TASK_RUNNING', { uuid: 'r' }),
      ack('s-0', 'r', 'TASK_RUNNING'),
      update('s-0', 'TASK_FINISHED', { uuid: 'f' }),
      ack('s-0', 'f', 'TASK_FINISHED'),
    ],
    ['s-0'],
    [],
    [],
  ],
  [
    'a reconciliation saying GONE after the end was acknowledged (the master forgot it)',
    [...finished('s-0'), update('s-0', 'TASK_GONE', { reason: 'REASON_RECONCILIATION' })],
    ['s-0'],
    [],
    [],
  ],
  [
    'a reconciliation saying RUNNING after the end was acknowledged',
    [...finished('s-0'), update('s-0', 'TASK_RUNNING', { reason: 'REASON_RECONCILIATION' })],
    ['s-0'],
    [],
    [/reconciled as TASK_RUNNING after its terminal/],
  ],
  [
    'a task never heard of',
    [launch('s-0')],
    [],
    [],
    [/s-0 is not accounted for: the framework never heard of it/],
  ],
  [
    'a launch the agent never got, reported GONE',
    [launch('s-0'), update('s-0', 'TASK_GONE', { reason: 'REASON_RECONCILIATION' })],
    [],
    [],
    [],
  ],
  [
    'a task reported GONE that ran',
    [launch('s-0'), update('s-0', 'TASK_GONE', { reason: 'REASON_RECONCILIATION' })],
    ['s-0'],
    [],
    [/as if it never started, but it ran/],
  ],
  [
    'a long task lost',
    [
      launch('l-0', true),
      update('l-0', 'TASK_LOST', { uuid: 'x', reason: 'REASON_AGENT_REMOVED' }),
    ],
    ['l-0'],
    [],
    [/a fault cost a running task/],
  ],
  [
    'a long task reported RUNNING and alive',
    [
      launch('l-0', true),
      update('l-0', 'TASK_RUNNING', { uuid: 'r' }),
      ack('l-0', 'r', 'TASK_RUNNING'),
    ],
    ['l-0'],
    [100],
    [],
  ],
  [
    'a long task reported RUNNING whose process is gone',
    [launch('l-0', true), update('l-0', 'TASK_RUNNING', { uuid: 'r' })],
    ['l-0'],
    [],
    [/reported RUNNING but is gone/],
  ],
];

for (const [name, journal, runs, alive, expected] of cases)
  test(`invariants: ${name}`, () => {
    const violations = check(journal, runs, alive);
    assert.equal(violations.length, expected.length, violations.join('\n'));
    for (const [i, pattern] of expected.entries()) assert.match(violations[i] ?? '', pattern);
  });

test('invariants: settled once long tasks run and short ones ended', () => {
  const running = [launch('l-0', true), update('l-0', 'TASK_RUNNING', { uuid: 'r' })];
  assert.equal(isSettled([...running, launch('s-0')]), false);
  assert.equal(isSettled([...running, ...finished('s-0')]), true);
});
