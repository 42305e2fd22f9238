import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AgentFree,
  type PendingTask,
  PLACEMENT_POLICIES,
  type PlacementPolicy,
  place,
  totalDelay,
} from '../../src/placement/index.js';

const task = (id: string, demand: Record<string, number>, submittedAtMs = 0): PendingTask => ({
  id,
  demand,
  submittedAtMs,
});
const agent = (id: string, free: Record<string, number>): AgentFree => ({ id, free });
const pairs = (placements: readonly { taskId: string; agentId: string }[]) =>
  placements.map(({ taskId, agentId }) => `${taskId}→${agentId}`);

// Three agents and two tasks on which all four policies differ. C = { cpus: 14, mem: 28672 }.
// t1 needs 1/7 of the cluster's cpus and of its mem: both weigh 1. t2 needs 3/14 of the cpus
// (dominant, weight 1) and 1/14 of the mem (weight 1/3).
const AGENTS = [
  agent('a', { cpus: 4, mem: 8192 }),
  agent('b', { cpus: 8, mem: 16384 }),
  agent('c', { cpus: 2, mem: 4096 }),
];
const TASKS = [task('t1', { cpus: 2, mem: 4096 }, 0), task('t2', { cpus: 3, mem: 2048 }, 1)];
const OPTIONS = { nowMs: 0, clusterCapacity: { cpus: 14, mem: 28672 } };

test('place binpack puts each task, in submission order, where least is left after it', () => {
  // t1 leaves 0 on c (2/7 on a, 6/7 on b); t2 then fits on a (1/7 left) or b (11/21 left).
  assert.deepEqual(pairs(place('binpack', TASKS, AGENTS, OPTIONS)), ['t1→c', 't2→a']);
});

test('place spread puts each task, in submission order, where most is left after it', () => {
  // t1 leaves 6/7 on b; t2 then leaves 1/3 on b against 1/7 on a, and does not fit on c.
  assert.deepEqual(pairs(place('spread', TASKS, AGENTS, OPTIONS)), ['t1→b', 't2→b']);
});

test('place priority puts the smaller task first, each on the first agent it fits', () => {
  // p(t1) = 7 > p(t2) = 14/3. t1 fits on a; then a has 2 cpus left, so t2 goes to b.
  assert.deepEqual(pairs(place('priority', TASKS, AGENTS, OPTIONS)), ['t1→a', 't2→b']);
});

test('place min-delay puts the larger task first, each where its delay is least', () => {
  // t2: 3/4 + (1/3)(2048/8192) = 0.8333 on a, 3/8 + (1/3)(2048/16384) = 0.4167 on b.
  // t1: 2/4 + 4096/8192 = 1 on a, 2/5 + 4096/14336 = 0.6857 on b (after t2), 2/2 + 1 = 2 on c.
  const placements = place('min-delay', TASKS, AGENTS, OPTIONS);
  assert.deepEqual(pairs(placements), ['t2→b', 't1→b']);
  const expected = 3 / 8 + (1 / 3) * (2048 / 16384) + 2 / 5 + 4096 / 14336;
  assert.ok(
    Math.abs(totalDelay(placements, TASKS, AGENTS, OPTIONS.clusterCapacity) - expected) < 1e-12,
  );
});

test('place of no tasks or on no agents is empty, for every policy', () => {
  for (const policy of PLACEMENT_POLICIES) {
    assert.deepEqual(place(policy, [], AGENTS, OPTIONS), [], policy);
    assert.deepEqual(place(policy, TASKS, [], OPTIONS), [], policy);
  }
});

test('place leaves out a task that fits nowhere and places the rest', () => {
  const tasks = [task('huge', { cpus: 9 }, 0), task('small', { cpus: 1 }, 1)];
  const expected: Record<PlacementPolicy, string[]> = {
    'min-delay': ['small→b'], // 1/8 on b against 1/4 on a and 1/2 on c
    priority: ['small→a'], // the first agent
    binpack: ['small→c'], // 1/14 left on c
    spread: ['small→b'], // 7/14 left on b
  };
  for (const policy of PLACEMENT_POLICIES)
    assert.deepEqual(pairs(place(policy, tasks, AGENTS, OPTIONS)), expected[policy], policy);
});

test('place puts a task of zero demand on the first agent, even one with nothing free', () => {
  const agents = [agent('empty', {}), ...AGENTS];
  for (const policy of PLACEMENT_POLICIES) {
    assert.deepEqual(pairs(place(policy, [task('z', {})], agents, OPTIONS)), ['z→empty'], policy);
    assert.deepEqual(pairs(place(policy, [task('z', { cpus: 0 })], agents, OPTIONS)), ['z→empty']);
  }
});

test('place fits a resource the cluster has none of only where an agent has it free', () => {
  // gpus are not in the cluster capacity: they weigh nothing, but must still be free.
  const agents = [agent('a', { cpus: 8 }), agent('b', { cpus: 1, gpus: 2 })];
  const tasks = [task('g', { cpus: 1, gpus: 1 }), task('h', { cpus: 1, gpus: 2 })];
  for (const policy of PLACEMENT_POLICIES)
    assert.deepEqual(
      pairs(place(policy, tasks, agents, { nowMs: 0, clusterCapacity: { cpus: 9 } })),
      ['g→b'],
      policy,
    );
});

test('place counts in thousandths, so 0.1 + 0.2 cpus fill 0.3 exactly', () => {
  const tasks = [
    task('x', { cpus: 0.1 }, 0),
    task('y', { cpus: 0.2 }, 1),
    task('z', { cpus: 0.001 }, 2),
  ];
  const agents = [agent('a', { cpus: 0.3 })];
  const expected: Record<PlacementPolicy, string[]> = {
    'min-delay': ['y→a', 'x→a'], // largest first; then 0.001 more does not fit
    priority: ['z→a', 'x→a'], // smallest first; then 0.2 more does not fit in 0.199
    binpack: ['x→a', 'y→a'],
    spread: ['x→a', 'y→a'],
  };
  for (const policy of PLACEMENT_POLICIES)
    assert.deepEqual(
      pairs(place(policy, tasks, agents, { nowMs: 0, clusterCapacity: { cpus: 0.3 } })),
      expected[policy],
      policy,
    );
});

test('place breaks ties between agents by their order and between tasks by submission then id', () => {
  const agents = [agent('b', { cpus: 4 }), agent('a', { cpus: 4 })];
  const tasks = [task('y', { cpus: 4 }, 5), task('x', { cpus: 4 }, 5), task('w', { cpus: 4 }, 6)];
  for (const policy of PLACEMENT_POLICIES)
    assert.deepEqual(
      pairs(place(policy, tasks, agents, { nowMs: 5, clusterCapacity: { cpus: 8 } })),
      ['x→b', 'y→a'],
      policy,
    );
});

test('place asserts on duplicate ids and on negative or non-finite quantities', () => {
  const cases: [string, PendingTask[], AgentFree[]][] = [
    ['task id', [task('t', { cpus: 1 }), task('t', { cpus: 1 })], AGENTS],
    ['agent id', TASKS, [agent('a', { cpus: 1 }), agent('a', { cpus: 1 })]],
    ['negative demand', [task('t', { cpus: -1 })], AGENTS],
    ['NaN free', TASKS, [agent('a', { cpus: Number.NaN })]],
    ['infinite submission', [task('t', { cpus: 1 }, Number.POSITIVE_INFINITY)], AGENTS],
  ];
  for (const [name, tasks, agents] of cases)
    assert.throws(() => place('binpack', tasks, agents, OPTIONS), assert.AssertionError, name);
});

test('place does not touch its arguments', () => {
  const tasks = structuredClone(TASKS);
  const agents = structuredClone(AGENTS);
  for (const policy of PLACEMENT_POLICIES) place(policy, tasks, agents, OPTIONS);
  assert.deepEqual(tasks, TASKS);
  assert.deepEqual(agents, AGENTS);
});
