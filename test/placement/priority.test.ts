import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_AGING_MS,
  dominantShare,
  type PendingTask,
  place,
  priorityOrder,
  priorityScore,
} from '../../src/placement/index.js';

// d(small) = 1/100 of the cluster, d(big) = 10/100: fresh, p(small) = 100 and p(big) = 10.
const C = { cpus: 100, mem: 1000 };
const big: PendingTask = { id: 'big', demand: { cpus: 10, mem: 10 }, submittedAtMs: 0 };
const smallAt = (submittedAtMs: number): PendingTask => ({
  id: `small@${submittedAtMs}`,
  demand: { cpus: 1, mem: 10 },
  submittedAtMs,
});
const ids = (tasks: readonly PendingTask[]) => tasks.map((t) => t.id);
const options = (nowMs: number) => ({ nowMs, clusterCapacity: C, agingMs: 60_000 });

test('priority score is 1 / dominant share, times 1 + wait / τ', () => {
  assert.equal(dominantShare(big.demand, C), 0.1);
  assert.equal(priorityScore(big, options(0)), 10);
  assert.equal(priorityScore(big, options(60_000)), 20);
  assert.equal(priorityScore(big, options(540_000)), 100);
  assert.equal(priorityScore(smallAt(0), options(0)), 100);
  assert.equal(priorityScore(smallAt(0), options(30_000)), 150);
});

test('priority score ages by 60 s unless told, and a wait before submission counts as 0', () => {
  assert.equal(DEFAULT_AGING_MS, 60_000);
  assert.equal(priorityScore(big, { nowMs: 120_000, clusterCapacity: C }), 30);
  assert.equal(priorityScore({ ...big, submittedAtMs: 5_000 }, options(0)), 10);
});

test('priority score of a task that needs none of the cluster resources is infinite', () => {
  assert.equal(priorityScore({ ...big, demand: {} }, options(0)), Number.POSITIVE_INFINITY);
  assert.equal(
    priorityScore({ ...big, demand: { gpus: 1 } }, options(0)),
    Number.POSITIVE_INFINITY,
  );
});

test('priority order puts smaller tasks first, ties by submission time then id', () => {
  const tasks = [big, smallAt(0), { ...smallAt(0), id: 'a-small' }, smallAt(-1)];
  assert.deepEqual(ids(priorityOrder(tasks, options(0))), [
    'small@-1',
    'a-small',
    'small@0',
    'big',
  ]);
});

test('priority order ages a big task past fresh small ones after τ · (d_big / d_small − 1)', () => {
  // 10 · (1 + wait / 60 s) against 100: below at 539 s, equal at 540 s (the older goes first).
  assert.deepEqual(ids(priorityOrder([big, smallAt(539_000)], options(539_000))), [
    'small@539000',
    'big',
  ]);
  assert.deepEqual(ids(priorityOrder([smallAt(540_000), big], options(540_000))), [
    'big',
    'small@540000',
  ]);
  assert.deepEqual(ids(priorityOrder([smallAt(541_000), big], options(541_000))), [
    'big',
    'small@541000',
  ]);
});

test('priority places the aged big task where a fresh small one would have gone', () => {
  const agents = [{ id: 'a', free: { cpus: 10, mem: 1000 } }];
  const pairs = (nowMs: number) =>
    place('priority', [big, smallAt(nowMs)], agents, options(nowMs)).map(
      (p) => `${p.taskId}→${p.agentId}`,
    );
  assert.deepEqual(pairs(0), ['small@0→a']);
  assert.deepEqual(pairs(539_999), ['small@539999→a']);
  assert.deepEqual(pairs(540_001), ['big→a']);
});

test('priority order ranks any waiting task above any fresh one, given time', () => {
  const cpus = fc.integer({ min: 1, max: 1000 });
  fc.assert(
    fc.property(cpus, cpus, (bigCpus, smallCpus) => {
      const large: PendingTask = { id: 'large', demand: { cpus: bigCpus }, submittedAtMs: 0 };
      const capacity = { cpus: 1000 };
      // The bound of priorityOrder's doc comment, plus a millisecond.
      const waitMs = Math.max(0, 60_000 * (bigCpus / smallCpus - 1)) + 1;
      const fresh: PendingTask = {
        id: 'fresh',
        demand: { cpus: smallCpus },
        submittedAtMs: waitMs,
      };
      const order = priorityOrder([fresh, large], { nowMs: waitMs, clusterCapacity: capacity });
      return order[0]?.id === 'large';
    }),
    { seed: 4, numRuns: 500 },
  );
});

test('priority order returns a new array and leaves its argument alone', () => {
  const tasks = [big, smallAt(0)];
  const order = priorityOrder(tasks, options(0));
  assert.notEqual(order, tasks);
  assert.deepEqual(ids(tasks), ['big', 'small@0']);
});

test('priority order asserts on an aging time that is not positive', () => {
  assert.throws(() => priorityOrder([big], { ...options(0), agingMs: 0 }), assert.AssertionError);
});
