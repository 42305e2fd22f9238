import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type Placement, place, totalDelay } from '../../src/placement/index.js';
import { arbProblem, type Problem } from './arbitraries.js';

/** True if the tasks placed on each agent add up to no more than it has free, per resource. */
function isFeasible(problem: Problem, placements: readonly Placement[]): boolean {
  for (const agent of problem.agents) {
    const used = new Map<string, number>();
    for (const { taskId, agentId } of placements) {
      if (agentId !== agent.id) continue;
      const task = problem.tasks.find((t) => t.id === taskId);
      for (const [name, value] of Object.entries(task?.demand ?? {}))
        used.set(name, (used.get(name) ?? 0) + Math.round(value * 1000));
    }
    for (const [name, millis] of used)
      if (millis > Math.round((agent.free[name] ?? 0) * 1000)) return false;
  }
  return true;
}

/**
 * Every feasible assignment of `problem`'s tasks to agents, where a task in `placed` must be
 * placed and, if `placed` is undefined, any task may also be left out.
 */
function* assignments(problem: Problem, placed?: ReadonlySet<string>): Generator<Placement[]> {
  const choices = problem.tasks.map((task) => {
    const agentIds: (string | undefined)[] = problem.agents.map((a) => a.id);
    if (placed === undefined) return [undefined, ...agentIds];
    return placed.has(task.id) ? agentIds : [undefined];
  });
  const pick: (string | undefined)[] = [];
  function* walk(i: number): Generator<Placement[]> {
    if (i === problem.tasks.length) {
      const placements = problem.tasks.flatMap((task, k) => {
        const agentId = pick[k];
        return agentId === undefined ? [] : [{ taskId: task.id, agentId }];
      });
      if (isFeasible(problem, placements)) yield placements;
      return;
    }
    for (const choice of choices[i] ?? []) {
      pick[i] = choice;
      yield* walk(i + 1);
    }
  }
  yield* walk(0);
}

const delayOf = (problem: Problem, placements: readonly Placement[]) =>
  totalDelay(placements, problem.tasks, problem.agents, problem.clusterCapacity);

// Measured over these 500 problems (seed 7): for the tasks it places, the greedy finds the
// least delay in 444 (89%) and is at most 1.29 times it; it places as many tasks as can be
// placed at all in 468 (94%). Of 3,000 problems of up to 6 tasks, the worst was 1.38 times the
// least delay (the example below). The tests hold it to 1.4 times, 85% and 90%.
const SAMPLE = fc.sample(arbProblem(3, 5), { seed: 7, numRuns: 500 });
const RATIO_BOUND = 1.4;

test('min-delay is within 1.4 times the least delay, and mostly optimal, for the tasks it places', () => {
  let optimal = 0;
  for (const problem of SAMPLE) {
    const greedy = place('min-delay', problem.tasks, problem.agents, { nowMs: 0, ...problem });
    const placed = new Set(greedy.map((p) => p.taskId));
    let best = Number.POSITIVE_INFINITY;
    for (const placements of assignments(problem, placed))
      best = Math.min(best, delayOf(problem, placements));
    const delay = delayOf(problem, greedy);
    assert.ok(delay >= best - 1e-12, 'no assignment beats brute force');
    assert.ok(
      delay <= RATIO_BOUND * best + 1e-12,
      `${delay} > ${RATIO_BOUND} × ${best}: ${JSON.stringify(problem)}`,
    );
    if (delay <= best + 1e-12) optimal++;
  }
  assert.ok(optimal >= 0.85 * SAMPLE.length, `optimal in only ${optimal} of ${SAMPLE.length}`);
});

test('min-delay mostly places as many tasks as can be placed at all', () => {
  let most = 0;
  for (const problem of SAMPLE) {
    const greedy = place('min-delay', problem.tasks, problem.agents, { nowMs: 0, ...problem });
    let max = 0;
    for (const placements of assignments(problem)) max = Math.max(max, placements.length);
    assert.ok(greedy.length <= max);
    if (greedy.length === max) most++;
  }
  assert.ok(most >= 0.9 * SAMPLE.length, `as many as possible in only ${most} of ${SAMPLE.length}`);
});

test('min-delay greedy can miss the least delay: a big task takes the agent a smaller one needs', () => {
  // The worst of the random problems above, kept as an example. C = { cpus: 13.5, mem: 29696 }.
  const problem: Problem = {
    agents: [
      { id: 'a0', free: { cpus: 6, mem: 15872 } },
      { id: 'a1', free: { cpus: 1.5, mem: 12800 } },
      { id: 'a2', free: { cpus: 6, mem: 1024 } },
    ],
    tasks: [
      { id: 't0', demand: { cpus: 2.5, mem: 2560 }, submittedAtMs: 0 },
      { id: 't1', demand: { cpus: 3.5, mem: 1024 }, submittedAtMs: 1 },
    ],
    clusterCapacity: { cpus: 13.5, mem: 29696 },
  };
  // t1 (d = 3.5/13.5) goes first, to a0 (0.59 against 0.72 on a2); t0, whose 2560 MB fit only
  // on a0, then lands on a0 with 2.5 cpus left: 1 + 0.08.
  const greedy = place('min-delay', problem.tasks, problem.agents, { nowMs: 0, ...problem });
  assert.deepEqual(greedy, [
    { taskId: 't1', agentId: 'a0' },
    { taskId: 't0', agentId: 'a0' },
  ]);
  const better = [
    { taskId: 't0', agentId: 'a0' },
    { taskId: 't1', agentId: 'a2' },
  ];
  const ratio = delayOf(problem, greedy) / delayOf(problem, better);
  assert.ok(ratio > 1.38 && ratio < 1.39, String(ratio));
});
