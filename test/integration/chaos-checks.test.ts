// The chaos test's rules (chaos-checks.ts) and schedule (chaos-plan.ts) on their own: each
// rule finds what it is for and passes what is allowed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  jobsViolations,
  orphanViolations,
  resentAfterAcknowledgement,
  stateDisagreements,
  type UpdateEvent,
} from './chaos-checks.js';
import { chaosSeed, planChaos } from './chaos-plan.js';

test('chaos plan: a seed gives the same schedule, another seed another one', () => {
  assert.deepEqual(planChaos(42, 12), planChaos(42, 12));
  assert.notDeepEqual(planChaos(42, 12), planChaos(43, 12));
  const targets = new Set(planChaos(7, 200).map((f) => f.target));
  assert.deepEqual(
    [...targets].sort(),
    ['agent-1', 'agent-2', 'jobs', 'master', 'services', 'task'],
    'every target is picked',
  );
  assert.equal(chaosSeed({ CHAOS_SEED: '123' }), 123);
  assert.throws(() => chaosSeed({ CHAOS_SEED: 'x' }), /CHAOS_SEED/);
});

test('chaos rule: every index succeeded exactly once, in the history and in the work', () => {
  const trail = ['start 0', 'done 0', 'start 1', 'start 1', 'done 1'];
  const tasks = [
    { index: 0, status: 'succeeded' },
    { index: 1, status: 'succeeded' },
  ];
  assert.deepEqual(jobsViolations({ status: 'SUCCESS', succeeded: 2, tasks }, 2, trail), []);
  assert.deepEqual(
    jobsViolations(
      { status: 'SUCCESS', succeeded: 3, tasks: [...tasks, { index: 1, status: 'succeeded' }] },
      2,
      [...trail, 'done 1'],
    ),
    [
      'the run counts 3 succeeded indices of 2',
      'index 1 is listed as [succeeded, succeeded], not once as succeeded',
      "index 1's work was done 2 times",
    ],
  );
  assert.deepEqual(
    jobsViolations(
      { status: 'FAILED', succeeded: 1, tasks: [{ index: 0, status: 'succeeded' }] },
      2,
      trail,
    ),
    [
      'the run ended FAILED, not SUCCESS',
      'the run counts 1 succeeded indices of 2',
      'index 1 is listed as [], not once as succeeded',
    ],
  );
});

test('chaos rule: the master and the agents list the same live tasks in the same states', () => {
  const a = { id: 't1', state: 'TASK_RUNNING', agentId: 'S0' };
  const b = { id: 't2', state: 'TASK_RUNNING', agentId: 'S1' };
  assert.deepEqual(stateDisagreements([a, b], [b, a]), []);
  assert.deepEqual(stateDisagreements([a], [{ ...a, state: 'TASK_STARTING' }, b]), [
    'S0/t1 is TASK_RUNNING on the master, TASK_STARTING on its agent',
    'agent lists S1/t2 TASK_RUNNING; the master does not',
  ]);
  assert.deepEqual(stateDisagreements([a], []), [
    'the master lists S0/t1 TASK_RUNNING; its agent does not',
  ]);
});

test('chaos rule: a container process whose task the master does not know as running is an orphan', () => {
  const processes = [
    { pid: 10, taskId: 't1', containerId: 'c1' },
    { pid: 11, taskId: 't2', containerId: 'c2' },
  ];
  assert.deepEqual(orphanViolations(processes, new Set(['t1', 't2'])), []);
  assert.deepEqual(orphanViolations(processes, new Set(['t1'])), [
    'process 11 of t2 (container c2) runs, but the master does not know that task as running',
  ]);
});

test('chaos rule: an update delivered again after its acknowledgement needs a master or agent death in between', () => {
  const delivered = (atMs: number): UpdateEvent => ({
    kind: 'delivered',
    framework: 'jobs',
    taskId: 't1',
    state: 'TASK_FINISHED',
    uuid: 'u1',
    atMs,
  });
  const acknowledged: UpdateEvent = {
    kind: 'acknowledged',
    framework: 'jobs',
    taskId: 't1',
    uuid: 'u1',
    atMs: 110,
  };
  // Delivered twice before the acknowledgement: a resend the agent was entitled to.
  assert.deepEqual(
    resentAfterAcknowledgement([delivered(100), delivered(105), acknowledged], []),
    [],
  );
  assert.deepEqual(resentAfterAcknowledgement([delivered(100), acknowledged, delivered(300)], []), [
    'jobs: t1 TASK_FINISHED (u1) delivered again 190 ms after its acknowledgement, no master or agent died meanwhile',
  ]);
  assert.deepEqual(
    resentAfterAcknowledgement([delivered(100), acknowledged, delivered(300)], [200]),
    [],
  );
  assert.equal(
    resentAfterAcknowledgement([delivered(100), acknowledged, delivered(300)], [50]).length,
    1,
    'a death before the acknowledgement explains nothing',
  );
});
