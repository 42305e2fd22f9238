import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentUrlOfPid, findTaskTarget, type ListedTask } from '../../src/cli/task-target.js';
import { shellExitStatus } from '../../src/sdk/index.js';

const listed = (
  id: string,
  state: string,
  containers: readonly (string | undefined)[],
  frameworkId = 'f1',
): ListedTask => ({
  id,
  framework_id: frameworkId,
  slave_id: 'a1',
  state,
  statuses: containers.map((value) => ({
    state,
    ...(value !== undefined ? { container_status: { container_id: { value } } } : {}),
  })),
});

test('task target is the running task and the container of its latest status', () => {
  assert.deepEqual(
    findTaskTarget(
      [
        listed('t', 'TASK_FINISHED', ['old'], 'f0'),
        listed('t', 'TASK_RUNNING', ['c1', 'c2', undefined]),
      ],
      't',
    ),
    { kind: 'found', agentIdValue: 'a1', containerIdValue: 'c2' },
  );
});

test('task target says why there is nothing to enter', () => {
  const cases: [readonly ListedTask[], string][] = [
    [[], 'missing'],
    [[listed('t', 'TASK_FINISHED', ['c'])], 'notRunning'],
    [[listed('t', 'TASK_RUNNING', [undefined])], 'noContainer'],
    [
      [listed('t', 'TASK_RUNNING', ['c'], 'f1'), listed('t', 'TASK_RUNNING', ['d'], 'f2')],
      'ambiguous',
    ],
  ];
  for (const [tasks, kind] of cases) assert.equal(findTaskTarget(tasks, 't').kind, kind);
});

test('agent url of a pid takes the address after the @', () => {
  assert.equal(agentUrlOfPid('slave(1)@10.0.0.5:5051')?.href, 'http://10.0.0.5:5051/');
  assert.equal(agentUrlOfPid('no-at-sign'), undefined);
  assert.equal(agentUrlOfPid('slave(1)@host-without-port'), undefined);
});

test('shell exit status of a wait status: the exit code, or 128+n for signal n', () => {
  assert.equal(shellExitStatus(3 << 8), 3);
  assert.equal(shellExitStatus(0), 0);
  assert.equal(shellExitStatus(9), 137);
  assert.equal(shellExitStatus(2), 130);
});
