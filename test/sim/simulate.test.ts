import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PLACEMENT_POLICIES } from '../../src/placement/index.js';
import {
  DEFAULT_SIM_CONFIG,
  runSimulation,
  type SimConfig,
  type SimTask,
  simulate,
} from '../../src/sim/index.js';

/** One agent of 2 cpus, ticks of 1 s, and a 20 s window. */
const TINY: SimConfig = {
  ...DEFAULT_SIM_CONFIG,
  agentCount: 1,
  agentCapacity: { cpus: 2, mem: 100 },
  classes: [
    {
      name: 'small',
      fraction: 1,
      demand: { cpus: { min: 1, max: 2, step: 1 } },
      durationMs: { min: 1000, max: 10_000, step: 1000 },
    },
  ],
  arrivalWindowMs: 20_000,
  starvationThresholdMs: 9_000,
};
const simTask = (id: string, cpus: number, submittedAtMs: number, durationMs: number): SimTask => ({
  id,
  demand: { cpus, mem: 10 },
  submittedAtMs,
  durationMs,
  className: 'small',
});

test('simulate starts queued tasks at the first tick after room frees up', () => {
  // a fills the agent from 0 to 10 s; b and c arrive at 0.5 s and 1.5 s and start at 10 s.
  const tasks = [
    simTask('a', 2, 0, 10_000),
    simTask('b', 1, 500, 5_000),
    simTask('c', 1, 1_500, 2_000),
  ];
  for (const policy of PLACEMENT_POLICIES) {
    const { stats, outcomes } = runSimulation(policy, TINY, tasks);
    assert.deepEqual(
      outcomes.map((o) => `${o.task.id}@${o.startedAtMs}`).sort(),
      ['a@0', 'b@10000', 'c@10000'],
      policy,
    );
    assert.deepEqual(stats.wait, {
      count: 3,
      meanMs: 6_000,
      p50Ms: 8_500,
      p95Ms: 9_500,
      p99Ms: 9_500,
      maxMs: 9_500,
    });
    // cpus: (2 × 10 s + 1 × 5 s + 1 × 2 s) / (2 × 20 s); mem: 10 × 17 s / (100 × 20 s).
    assert.deepEqual(stats.utilization, { cpus: 0.675, mem: 0.085 });
    assert.equal(stats.starvedCount, 1); // b waited 9.5 s
    assert.equal(stats.makespanMs, 15_000);
    assert.equal(stats.tasksCompleted, 3);
    assert.equal(stats.tasksNeverStarted, 0);
  }
});

test('simulate stops at maxSimulatedMs and counts a task that never fits as starved', () => {
  const tasks = [simTask('fits', 1, 0, 1_000), simTask('never', 3, 0, 1_000)];
  const { stats: run } = runSimulation('binpack', { ...TINY, maxSimulatedMs: 60_000 }, tasks);
  assert.equal(run.tasksCompleted, 1);
  assert.equal(run.tasksNeverStarted, 1);
  assert.equal(run.starvedCount, 1);
  assert.equal(run.makespanMs, 60_000);
});

test('simulate of a seed gives the same result every time', () => {
  const config = { ...DEFAULT_SIM_CONFIG, arrivalWindowMs: 30 * 60 * 1000 };
  for (const policy of PLACEMENT_POLICIES)
    assert.deepEqual(simulate(policy, config), simulate(policy, config), policy);
  assert.notDeepEqual(simulate('spread', config), simulate('spread', { ...config, seed: 2 }));
});

test('simulate of the default workload drains it, with sane metrics, for every policy', () => {
  for (const policy of PLACEMENT_POLICIES) {
    const { stats, outcomes } = runSimulation(policy, DEFAULT_SIM_CONFIG);
    assert.equal(stats.tasksCompleted, stats.tasksSubmitted, policy);
    assert.equal(stats.tasksNeverStarted, 0);
    for (const share of Object.values(stats.utilization)) assert.ok(share >= 0 && share <= 1);
    for (const o of outcomes) assert.ok(o.startedAtMs >= o.task.submittedAtMs);
    const w = stats.wait;
    assert.ok(0 <= w.p50Ms && w.p50Ms <= w.p95Ms && w.p95Ms <= w.p99Ms && w.p99Ms <= w.maxMs);
    assert.equal(
      (stats.waitByClass.small?.count ?? 0) + (stats.waitByClass.large?.count ?? 0),
      stats.tasksSubmitted,
    );
    assert.ok(stats.makespanMs >= DEFAULT_SIM_CONFIG.arrivalWindowMs * 0.99);
  }
});
