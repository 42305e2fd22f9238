import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shuffle, uptimeWeight, weightedOrder } from '../../src/allocator/index.js';
import { Bed, seeded } from './harness.js';

test('uptimeWeight is t/T, capped at 1, never below the floor', () => {
  const hour = 3_600_000;
  const cases: [uptimeMs: number, weight: number][] = [
    [0, 0.05],
    [hour / 100, 0.05],
    [hour / 10, 0.1],
    [hour / 2, 0.5],
    [hour, 1],
    [10 * hour, 1],
  ];
  for (const [uptimeMs, weight] of cases)
    assert.equal(uptimeWeight(uptimeMs, hour, 0.05), weight, String(uptimeMs));
});

test('weightedOrder puts each item first with probability w / Σw', () => {
  const random = seeded(42);
  const weights: Record<string, number> = { a: 1, b: 0.5, c: 0.25, d: 0.25 };
  const firsts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
  const trials = 20_000;
  for (let i = 0; i < trials; i++) {
    const [first] = weightedOrder(Object.keys(weights), (k) => weights[k] ?? 0, random);
    if (first !== undefined) firsts[first] = (firsts[first] ?? 0) + 1;
  }
  for (const [key, weight] of Object.entries(weights)) {
    const expected = weight / 2; // Σw = 2
    const seen = (firsts[key] ?? 0) / trials;
    assert.ok(Math.abs(seen - expected) < 0.015, `${key}: first ${seen}, expected ${expected}`);
  }
});

test('shuffle is a permutation and is uniform over first positions', () => {
  const random = seeded(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20_000; i++) {
    const order = shuffle([0, 1, 2, 3], random);
    assert.deepEqual([...order].sort(), [0, 1, 2, 3]);
    counts[order[0] ?? 0] = (counts[order[0] ?? 0] ?? 0) + 1;
  }
  for (const count of counts) assert.ok(Math.abs(count / 20_000 - 0.25) < 0.015, String(counts));
});

/**
 * Two frameworks of equal share contend for two agents, one up for an hour and one
 * for six minutes; the framework first by name (a) gets the agent visited first.
 */
function stableAgentFirstRate(agentSort: 'random' | 'uptime'): number {
  const trials = 2000;
  let stableFirst = 0;
  for (let seed = 1; seed <= trials; seed++) {
    const bed = new Bed({ agentSort }, seed);
    bed.agent('stable', 'cpus:1;mem:1024');
    bed.nowMs = 54 * 60_000; // 54 minutes later a second agent joins
    bed.agent('new', 'cpus:1;mem:1024');
    bed.nowMs = 60 * 60_000;
    bed.framework('a', ['*']).framework('b', ['*']);
    const offerToA = bed.allocate().find((offer) => offer.frameworkId.value === 'a');
    if (offerToA?.agentId.value === 'stable') stableFirst += 1;
  }
  return stableFirst / trials;
}

test('agent_sort=uptime offers agents that stayed up first: p = min(1, t/T)', () => {
  // Weights 1 (up 60 min) and 0.1 (up 6 min): the stable agent comes first 1 / 1.1 of the time.
  const rate = stableAgentFirstRate('uptime');
  assert.ok(Math.abs(rate - 1 / 1.1) < 0.03, `stable agent first ${rate}, expected ~0.909`);
});

test('agent_sort=random (the default) offers agents in no preferred order', () => {
  const rate = stableAgentFirstRate('random');
  assert.ok(Math.abs(rate - 0.5) < 0.04, `stable agent first ${rate}, expected ~0.5`);
});

test('agent_sort=uptime still chooses a brand-new agent sometimes (the floor)', () => {
  // Weights 1 (up two hours) and the floor 0.05 (just joined): new first 0.05 / 1.05 of the time.
  const trials = 4000;
  let newFirst = 0;
  for (let seed = 1; seed <= trials; seed++) {
    const bed = new Bed({ agentSort: 'uptime' }, seed);
    bed.agent('stable', 'cpus:1;mem:1024');
    bed.nowMs = 2 * 3_600_000;
    bed.agent('new', 'cpus:1;mem:1024');
    bed.framework('a', ['*']).framework('b', ['*']);
    const offerToA = bed.allocate().find((offer) => offer.frameworkId.value === 'a');
    if (offerToA?.agentId.value === 'new') newFirst += 1;
  }
  const rate = newFirst / trials;
  assert.ok(Math.abs(rate - 0.05 / 1.05) < 0.015, `new agent first ${rate}, expected ~0.048`);
});
