// What draining changes on the agent: capped kill grace periods, the reason
// and state of kill updates, and tasks that arrive while draining.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drainGracePeriodNs, drainingStatus, refusedWhileDraining } from '../../src/agent/drain.js';

test('drain grace period: the cap applies to tasks without a kill policy or with a longer one', () => {
  const capped = { max_grace_period: { nanoseconds: 5e9 } };
  const cases: [taskPolicyNs: number | undefined, expected: number | undefined][] = [
    [undefined, 5e9],
    [10e9, 5e9],
    [2e9, undefined],
    [5e9, undefined],
  ];
  for (const [policy, expected] of cases)
    assert.equal(drainGracePeriodNs(capped, policy), expected, `task policy ${policy}`);
  assert.equal(drainGracePeriodNs({}, 10e9), undefined, 'no cap: the task keeps its own');
});

test('draining status: kills say REASON_AGENT_DRAINING; with mark_gone, PARTITION_AWARE frameworks see TASK_GONE_BY_OPERATOR', () => {
  const drain = { mark_gone: false };
  const gone = { mark_gone: true };
  assert.deepEqual(drainingStatus(drain, 'TASK_KILLING', undefined, true), {
    state: 'TASK_KILLING',
    reason: 'REASON_AGENT_DRAINING',
  });
  assert.deepEqual(drainingStatus(drain, 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH', true), {
    state: 'TASK_KILLED',
    reason: 'REASON_AGENT_DRAINING',
  });
  assert.deepEqual(drainingStatus(gone, 'TASK_KILLED', undefined, true), {
    state: 'TASK_GONE_BY_OPERATOR',
    reason: 'REASON_AGENT_DRAINING',
  });
  assert.deepEqual(drainingStatus(gone, 'TASK_KILLED', undefined, false), {
    state: 'TASK_KILLED',
    reason: 'REASON_AGENT_DRAINING',
  });
  assert.deepEqual(drainingStatus(gone, 'TASK_FINISHED', undefined, true), {
    state: 'TASK_FINISHED',
    reason: undefined,
  });
  assert.equal(refusedWhileDraining(true), 'TASK_DROPPED');
  assert.equal(refusedWhileDraining(false), 'TASK_LOST');
});
