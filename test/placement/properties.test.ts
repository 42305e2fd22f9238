import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type AgentFree,
  type PendingTask,
  PLACEMENT_POLICIES,
  type Placement,
  place,
} from '../../src/placement/index.js';

const NAMES = ['cpus', 'mem', 'disk', 'gpus'] as const;
/** Quantities over a few names, some absent, some 0, in thousandths so none is rounded. */
const quantities = fc
  .array(fc.tuple(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 8000 })), { maxLength: 4 })
  .map((entries) => Object.fromEntries(entries.map(([name, millis]) => [name, millis / 1000])));

const problem = fc.record({
  policy: fc.constantFrom(...PLACEMENT_POLICIES),
  tasks: fc
    .array(fc.record({ demand: quantities, submittedAtMs: fc.integer({ min: 0, max: 5 }) }), {
      maxLength: 20,
    })
    .map((list) => list.map((t, i): PendingTask => ({ id: `t${i}`, ...t }))),
  agents: fc
    .array(quantities, { maxLength: 8 })
    .map((list) => list.map((free, i): AgentFree => ({ id: `a${i}`, free }))),
  clusterCapacity: quantities,
  nowMs: fc.integer({ min: 0, max: 600_000 }),
});
const RUNS = { seed: 11, numRuns: 400 };

/** What is left free on each agent after `placements`, in thousandths. */
function leftAfter(
  tasks: readonly PendingTask[],
  agents: readonly AgentFree[],
  placements: readonly Placement[],
): Map<string, Map<string, number>> {
  const left = new Map(
    agents.map((a) => [
      a.id,
      new Map(NAMES.map((name) => [name, Math.round((a.free[name] ?? 0) * 1000)])),
    ]),
  );
  for (const { taskId, agentId } of placements) {
    const task = tasks.find((t) => t.id === taskId);
    const free = left.get(agentId);
    assert.ok(task !== undefined && free !== undefined, `${taskId} on ${agentId}`);
    for (const name of NAMES)
      free.set(name, (free.get(name) ?? 0) - Math.round((task.demand[name] ?? 0) * 1000));
  }
  return left;
}

test('place never over-commits an agent and places each task at most once', () => {
  fc.assert(
    fc.property(problem, ({ policy, tasks, agents, ...options }) => {
      const placements = place(policy, tasks, agents, options);
      const ids = placements.map((p) => p.taskId);
      assert.equal(new Set(ids).size, ids.length);
      for (const free of leftAfter(tasks, agents, placements).values())
        for (const [name, millis] of free) assert.ok(millis >= 0, `${name} over-committed`);
    }),
    RUNS,
  );
});

test('place leaves a task out only if it fits on no agent after the others are placed', () => {
  fc.assert(
    fc.property(problem, ({ policy, tasks, agents, ...options }) => {
      const placements = place(policy, tasks, agents, options);
      const placed = new Set(placements.map((p) => p.taskId));
      const left = leftAfter(tasks, agents, placements);
      for (const task of tasks.filter((t) => !placed.has(t.id)))
        for (const free of left.values())
          assert.ok(
            NAMES.some(
              (name) => Math.round((task.demand[name] ?? 0) * 1000) > (free.get(name) ?? 0),
            ),
            `${task.id} fits but was left out`,
          );
    }),
    RUNS,
  );
});

test('place is deterministic and independent of the order tasks are given in', () => {
  fc.assert(
    fc.property(problem, fc.integer(), ({ policy, tasks, agents, ...options }, shift) => {
      const once = place(policy, tasks, agents, options);
      assert.deepEqual(
        place(policy, structuredClone(tasks), structuredClone(agents), options),
        once,
      );
      const k = tasks.length === 0 ? 0 : Math.abs(shift) % tasks.length;
      const rotated = [...tasks.slice(k), ...tasks.slice(0, k)].reverse();
      assert.deepEqual(place(policy, rotated, agents, options), once);
    }),
    RUNS,
  );
});
