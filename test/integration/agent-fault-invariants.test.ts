// Each invariant of the agent fault loop catches what it is there to catch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkTasks,
  type LoopTask,
  leakViolations,
  type TaskEvidence,
} from './agent-fault-invariants.js';
import type { RawUpdate } from './raw-framework.js';

const task = (id: string, kind: LoopTask['kind'] = 'ok'): LoopTask => ({
  kind,
  spec: { id, command: 'true' },
  killAfterMs: 0,
  killRequestedAtMs: undefined,
});

const update = (state: string, uuid: string, atMs: number, message?: string): RawUpdate => ({
  taskIdValue: 't1',
  state,
  uuid,
  source: 'SOURCE_EXECUTOR',
  reason: undefined,
  message,
  agentIdValue: 'a',
  atMs,
});

const evidence = (over: Partial<TaskEvidence>): TaskEvidence => ({
  tasks: [task('t1')],
  updates: [],
  acknowledgedAt: new Map(),
  agentKilledAt: [],
  markers: { started: new Set(['t1']), exits: new Map([['t1', 0]]) },
  sandboxes: new Map([['t1', ['c1']]]),
  ...over,
});

test('a task that ran and exited 0, reported FINISHED once, keeps every invariant', () => {
  const updates = [update('TASK_RUNNING', 'u1', 1), update('TASK_FINISHED', 'u2', 2)];
  assert.deepEqual(checkTasks(evidence({ updates })), []);
});

test('two different terminal updates for one task are caught', () => {
  const updates = [update('TASK_FINISHED', 'u2', 2), update('TASK_LOST', 'u3', 3)];
  assert.match(checkTasks(evidence({ updates })).join('\n'), /ended 2 ways/);
});

test('a copy after its acknowledgement is caught unless the agent was killed in between', () => {
  const updates = [update('TASK_FINISHED', 'u2', 10), update('TASK_FINISHED', 'u2', 30)];
  const acknowledgedAt = new Map([['u2', 20]]);
  assert.match(
    checkTasks(evidence({ updates, acknowledgedAt })).join('\n'),
    /came again 10 ms after its acknowledgement/,
  );
  assert.deepEqual(checkTasks(evidence({ updates, acknowledgedAt, agentKilledAt: [25] })), []);
});

test('an end that is not how the task ended is caught', () => {
  const lost = [update('TASK_LOST', 'u2', 2)];
  assert.match(checkTasks(evidence({ updates: lost })).join('\n'), /but it ran/);
  const failed = [update('TASK_FAILED', 'u2', 2, 'Command terminated with signal Terminated')];
  const killed = evidence({
    updates: failed,
    tasks: [{ ...task('t1', 'killed'), killRequestedAtMs: 1 }],
    markers: { started: new Set(['t1']), exits: new Map() },
  });
  assert.match(checkTasks(killed).join('\n'), /but it was killed/);
  const neverStarted = evidence({
    updates: [update('TASK_GONE', 'u2', 2)],
    markers: { started: new Set(), exits: new Map() },
  });
  assert.deepEqual(checkTasks(neverStarted), []);
});

test('a process or cgroup of an ended task, or of no task, is a leak', () => {
  const found = leakViolations({
    observed: {
      processes: new Map([
        ['c1', [100]],
        ['c9', [200]],
      ]),
      cgroups: new Map([['c2', ['/sys/fs/cgroup/pids/agora/c2']]]),
    },
    sandboxes: new Map([
      ['t1', ['c1']],
      ['t2', ['c2']],
    ]),
    known: new Set(['t1', 't2']),
    ended: new Map([['t2', 'TASK_FINISHED']]),
  });
  assert.deepEqual(found, [
    "process 200 of container c9, which is no task's",
    'cgroup /sys/fs/cgroup/pids/agora/c2 of t2, which ended TASK_FINISHED',
  ]);
});
