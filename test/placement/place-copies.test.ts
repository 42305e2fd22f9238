import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type AgentFree,
  PLACEMENT_POLICIES,
  place,
  placeCopies,
  sumQuantities,
} from '../../src/placement/index.js';

const NAMES = ['cpus', 'mem', 'disk'] as const;
const quantities = fc
  .array(fc.tuple(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 8000 })), { maxLength: 3 })
  .map((entries) => Object.fromEntries(entries.map(([name, millis]) => [name, millis / 1000])));

test('placeCopies puts as many copies on each agent as place does, one by one, for every policy', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...PLACEMENT_POLICIES),
      quantities,
      fc.integer({ min: 0, max: 40 }),
      fc.array(quantities, { minLength: 1, maxLength: 12 }),
      (policy, demand, count, frees) => {
        const agents = frees.map((free, i): AgentFree => ({ id: `a${i}`, free }));
        const options = { nowMs: 0, clusterCapacity: sumQuantities(frees) };
        const tasks = Array.from({ length: count }, (_, i) => ({
          id: `t${i}`,
          demand,
          submittedAtMs: 0,
        }));
        const expected = new Map<string, number>();
        for (const p of place(policy, tasks, agents, options))
          expected.set(p.agentId, (expected.get(p.agentId) ?? 0) + 1);
        assert.deepEqual(
          [...placeCopies(policy, demand, count, agents, options)].sort(),
          [...expected].sort(),
        );
      },
    ),
    { numRuns: 500 },
  );
});

test('placeCopies spreads a thousand small tasks over a thousand agents under min-delay, quickly', () => {
  const agents = Array.from({ length: 1000 }, (_, i) => ({
    id: `a${i}`,
    free: { cpus: 8, mem: 8192 },
  }));
  const started = performance.now();
  const placed = placeCopies('min-delay', { cpus: 0.1, mem: 32 }, 10_000, agents, {
    nowMs: 0,
    clusterCapacity: { cpus: 8000, mem: 8_192_000 },
  });
  const elapsedMs = performance.now() - started;
  assert.equal(
    [...placed.values()].reduce((a, b) => a + b, 0),
    10_000,
  );
  assert.deepEqual(new Set(placed.values()), new Set([10]), 'ten on each agent');
  // place() takes seconds for this; a wide margin for a loaded machine.
  assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
});
