import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type PendingUpdate,
  STATUS_UPDATE_RETRY_INITIAL_MS,
  STATUS_UPDATE_RETRY_MAX_MS,
  StatusUpdateManager,
} from '../../src/agent/status-update-manager.js';
import { ManualClock } from '../../src/runtime/clock.js';
import { frameworkId, taskId } from '../../src/wire/ids.js';
import type { TaskState, TaskStatus } from '../../src/wire/messages.js';
import { newStatusUuid } from '../../src/wire/status-uuid.js';

const F1 = frameworkId('f-1');
const F2 = frameworkId('f-2');

function status(task: string, state: TaskState): TaskStatus {
  return { task_id: taskId(task), state, uuid: newStatusUuid() };
}

interface Sent {
  readonly atMs: number;
  readonly framework: string;
  readonly task: string;
  readonly state: TaskState;
  readonly uuid: string | undefined;
}

/** A manager on a manual clock whose `send` records what went out and when. */
function harness(options: { readonly isConnected?: boolean } = {}) {
  const clock = new ManualClock();
  const sent: Sent[] = [];
  const manager = new StatusUpdateManager({
    clock,
    send: (update: PendingUpdate) =>
      sent.push({
        atMs: clock.now(),
        framework: update.frameworkId.value,
        task: update.status.task_id.value,
        state: update.status.state,
        uuid: update.status.uuid,
      }),
  });
  if (options.isConnected ?? true) manager.connected();
  const sentSince = (count: number) => sent.slice(count);
  return { clock, sent, manager, sentSince };
}

function uuidOf(update: TaskStatus): string {
  assert.ok(update.uuid !== undefined);
  return update.uuid;
}

test('status update manager sends only the oldest update of a task', () => {
  const { manager, sent } = harness();
  const running = status('t-1', 'TASK_RUNNING');
  manager.update(F1, status('t-1', 'TASK_STARTING'));
  manager.update(F1, running);
  manager.update(F1, status('t-1', 'TASK_FINISHED'));
  assert.deepEqual(
    sent.map((s) => s.state),
    ['TASK_STARTING'],
  );
  assert.equal(manager.pendingCount, 3);
  assert.ok(manager.hasPending('f-1', 't-1'));
  assert.ok(manager.hasTerminal('f-1', 't-1'));
});

test('status update manager resends after 10 s, then doubles the wait up to 10 min', () => {
  const { manager, sent, clock } = harness();
  manager.update(F1, status('t-1', 'TASK_RUNNING'));
  clock.advance(STATUS_UPDATE_RETRY_INITIAL_MS - 1);
  assert.equal(sent.length, 1, 'no resend before 10 s');
  clock.advance(1);
  assert.equal(sent.length, 2);
  clock.advance(3 * 60 * 60_000);
  const gapsMs = sent.slice(1).map((s, i) => s.atMs - (sent[i]?.atMs ?? 0));
  const expectedMs = gapsMs.map((_, i) =>
    Math.min(STATUS_UPDATE_RETRY_INITIAL_MS * 2 ** i, STATUS_UPDATE_RETRY_MAX_MS),
  );
  assert.deepEqual(
    gapsMs.slice(0, 8),
    [10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000],
  );
  assert.deepEqual(gapsMs, expectedMs);
  assert.ok(sent.every((s) => s.uuid === sent[0]?.uuid && s.state === 'TASK_RUNNING'));
  assert.equal(clock.pendingTimers, 1, 'one retry timer per task');
});

test('status update manager sends the next update at once on acknowledgement and resets the backoff', () => {
  const { manager, sent, clock } = harness();
  const first = status('t-1', 'TASK_RUNNING');
  const second = status('t-1', 'TASK_FINISHED');
  manager.update(F1, first);
  manager.update(F1, second);
  clock.advance(10_000 + 20_000 + 5_000); // two retries; the next would be 40 s after the last
  assert.equal(sent.length, 3);
  const acknowledged = manager.acknowledge('f-1', 't-1', uuidOf(first));
  assert.equal(acknowledged?.status, first);
  assert.equal(sent.length, 4);
  assert.deepEqual(sent[3], {
    atMs: 35_000,
    framework: 'f-1',
    task: 't-1',
    state: 'TASK_FINISHED',
    uuid: second.uuid,
  });
  clock.advance(STATUS_UPDATE_RETRY_INITIAL_MS);
  assert.equal(sent.length, 5, 'the next update retries after 10 s again');
  assert.equal(sent[4]?.atMs, 45_000);
  assert.equal(clock.pendingTimers, 1);
});

test('status update manager forgets a task once its last update is acknowledged', () => {
  const { manager, sent, clock } = harness();
  const only = status('t-1', 'TASK_FINISHED');
  manager.update(F1, only);
  assert.ok(manager.acknowledge('f-1', 't-1', uuidOf(only)));
  assert.equal(manager.hasPending('f-1', 't-1'), false);
  assert.equal(manager.pendingCount, 0);
  assert.equal(clock.pendingTimers, 0);
  clock.advance(60 * 60_000);
  assert.equal(sent.length, 1);
});

test('status update manager ignores an acknowledgement with the wrong uuid', () => {
  const { manager, sent, clock } = harness();
  const first = status('t-1', 'TASK_RUNNING');
  const second = status('t-1', 'TASK_FINISHED');
  manager.update(F1, first);
  manager.update(F1, second);
  clock.advance(10_000); // one retry: the next is due at 30 s
  const wrong: [name: string, framework: string, task: string, uuid: string][] = [
    ['a uuid never sent', 'f-1', 't-1', newStatusUuid()],
    ['the uuid of the queued, unsent update', 'f-1', 't-1', uuidOf(second)],
    ['the right uuid for another task', 'f-1', 't-2', uuidOf(first)],
    ['the right uuid for another framework', 'f-2', 't-1', uuidOf(first)],
  ];
  for (const [name, framework, task, uuid] of wrong)
    assert.equal(manager.acknowledge(framework, task, uuid), undefined, name);
  assert.equal(sent.length, 2);
  assert.equal(manager.pendingCount, 2);
  clock.advance(19_999);
  assert.equal(sent.length, 2, 'the retry schedule is unchanged');
  clock.advance(1);
  assert.equal(sent.length, 3);
  assert.equal(sent[2]?.uuid, first.uuid);
});

test('status update manager ignores a repeated acknowledgement', () => {
  const { manager, sent } = harness();
  const first = status('t-1', 'TASK_RUNNING');
  manager.update(F1, first);
  manager.update(F1, status('t-1', 'TASK_FINISHED'));
  assert.ok(manager.acknowledge('f-1', 't-1', uuidOf(first)));
  assert.equal(manager.acknowledge('f-1', 't-1', uuidOf(first)), undefined);
  assert.equal(sent.length, 2);
  assert.equal(manager.pendingCount, 1);
});

test('status update manager retries each task on its own schedule', () => {
  const { manager, sent, clock, sentSince } = harness();
  const a = status('t-a', 'TASK_RUNNING');
  const b = status('t-b', 'TASK_RUNNING');
  manager.update(F1, a);
  clock.advance(3_000);
  manager.update(F1, b);
  assert.deepEqual(
    sent.map((s) => [s.task, s.atMs]),
    [
      ['t-a', 0],
      ['t-b', 3_000],
    ],
  );
  clock.advance(7_000);
  assert.deepEqual(
    sentSince(2).map((s) => [s.task, s.atMs]),
    [['t-a', 10_000]],
  );
  assert.ok(manager.acknowledge('f-1', 't-a', uuidOf(a)));
  clock.advance(60_000);
  assert.deepEqual(
    sentSince(3).map((s) => [s.task, s.atMs]),
    [
      ['t-b', 13_000],
      ['t-b', 33_000],
    ],
  );
  assert.equal(manager.hasPending('f-1', 't-a'), false);
  assert.ok(manager.hasPending('f-1', 't-b'));
});

test('status update manager keeps tasks of the same id apart across frameworks', () => {
  const { manager, sent } = harness();
  const one = status('t-1', 'TASK_RUNNING');
  const two = status('t-1', 'TASK_RUNNING');
  manager.update(F1, one);
  manager.update(F2, two);
  assert.deepEqual(
    sent.map((s) => s.framework),
    ['f-1', 'f-2'],
  );
  assert.ok(manager.acknowledge('f-2', 't-1', uuidOf(two)));
  assert.ok(manager.hasPending('f-1', 't-1'));
  assert.equal(manager.hasPending('f-2', 't-1'), false);
});

test('status update manager sends nothing while disconnected', () => {
  const { manager, sent, clock } = harness({ isConnected: false });
  manager.update(F1, status('t-1', 'TASK_RUNNING'));
  manager.update(F1, status('t-1', 'TASK_FINISHED'));
  manager.update(F1, status('t-2', 'TASK_FAILED'));
  assert.equal(clock.pendingTimers, 0);
  clock.advance(60 * 60_000);
  assert.deepEqual(sent, []);
  assert.equal(manager.pendingCount, 3);
});

test('status update manager sends every task head at once when connected', () => {
  const { manager, sent, clock } = harness({ isConnected: false });
  clock.advance(1_000);
  manager.update(F1, status('t-1', 'TASK_RUNNING'));
  manager.update(F1, status('t-1', 'TASK_FINISHED'));
  manager.update(F2, status('t-2', 'TASK_FAILED'));
  manager.connected();
  assert.deepEqual(sent.map((s) => [s.framework, s.task, s.state, s.atMs]).sort(), [
    ['f-1', 't-1', 'TASK_RUNNING', 1_000],
    ['f-2', 't-2', 'TASK_FAILED', 1_000],
  ]);
  clock.advance(STATUS_UPDATE_RETRY_INITIAL_MS);
  assert.equal(sent.length, 4, 'both heads retry 10 s later');
});

test('status update manager stops retrying when disconnected and starts over on reconnect', () => {
  const { manager, sent, clock } = harness();
  manager.update(F1, status('t-1', 'TASK_RUNNING'));
  clock.advance(10_000 + 20_000 + 40_000); // three retries: the backoff is now 80 s
  assert.equal(sent.length, 4);
  manager.disconnected();
  assert.equal(clock.pendingTimers, 0);
  clock.advance(60 * 60_000);
  assert.equal(sent.length, 4);
  manager.connected();
  assert.equal(sent.length, 5, 'resent at once');
  clock.advance(STATUS_UPDATE_RETRY_INITIAL_MS);
  assert.equal(sent.length, 6, 'and retried after 10 s, not 80 s');
});

test('status update manager drops the updates of one framework only', () => {
  const { manager, sent, clock, sentSince } = harness();
  manager.update(F1, status('t-1', 'TASK_RUNNING'));
  manager.update(F1, status('t-2', 'TASK_RUNNING'));
  manager.update(F2, status('t-1', 'TASK_RUNNING'));
  manager.dropFramework('f-1');
  assert.equal(manager.hasPending('f-1', 't-1'), false);
  assert.equal(manager.hasPending('f-1', 't-2'), false);
  assert.ok(manager.hasPending('f-2', 't-1'));
  assert.equal(manager.pendingCount, 1);
  assert.equal(clock.pendingTimers, 1);
  const before = sent.length;
  clock.advance(30_000);
  assert.deepEqual(
    sentSince(before).map((s) => s.framework),
    ['f-2', 'f-2'],
  );
});

test('status update manager drops no framework whose id merely starts the same', () => {
  const { manager } = harness();
  manager.update(frameworkId('f'), status('t-1', 'TASK_RUNNING'));
  manager.update(frameworkId('f-10'), status('t-1', 'TASK_RUNNING'));
  manager.dropFramework('f');
  assert.ok(manager.hasPending('f-10', 't-1'));
  assert.equal(manager.hasPending('f', 't-1'), false);
});

test('status update manager stop leaves no timer and sends nothing more', () => {
  const { manager, sent, clock } = harness();
  manager.update(F1, status('t-1', 'TASK_RUNNING'));
  manager.update(F2, status('t-2', 'TASK_RUNNING'));
  clock.advance(10_000);
  assert.ok(clock.pendingTimers > 0);
  manager.stop();
  assert.equal(clock.pendingTimers, 0);
  assert.equal(manager.pendingCount, 0);
  const before = sent.length;
  clock.advance(60 * 60_000);
  assert.equal(sent.length, before);
});

test('status update manager honours its retry options', () => {
  const clock = new ManualClock();
  const sentAtMs: number[] = [];
  const manager = new StatusUpdateManager({
    clock,
    send: () => sentAtMs.push(clock.now()),
    retryInitialMs: 100,
    retryMaxMs: 300,
  });
  manager.connected();
  manager.update(F1, status('t-1', 'TASK_RUNNING'));
  clock.advance(1_000);
  assert.deepEqual(sentAtMs, [0, 100, 300, 600, 900]);
});

test('status update manager retries an update whose send threw', () => {
  const clock = new ManualClock();
  let attempts = 0;
  const manager = new StatusUpdateManager({
    clock,
    send: () => {
      attempts++;
      if (attempts === 1) throw new Error('link down');
    },
  });
  manager.connected();
  try {
    manager.update(F1, status('t-1', 'TASK_RUNNING'));
  } catch {
    // Whether the failure surfaces here is not the point: the retry is.
  }
  clock.advance(STATUS_UPDATE_RETRY_INITIAL_MS);
  assert.equal(attempts, 2);
});
