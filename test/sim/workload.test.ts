import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arrivalRatePerMs,
  clusterCapacityOf,
  DEFAULT_WORKLOAD,
  generateWorkload,
} from '../../src/sim/index.js';

test('workload arrival rate offers the target load of the busiest resource', () => {
  // cpus: 0.8 × 1.25 × 35 s + 0.2 × 9 × 360 s = 683 cpu·s per task over 320 cpus;
  // mem: 0.8 × 2304 × 35 + 0.2 × 32768 × 360 = 2,423,808 MB·s over 1,310,720 MB, less busy.
  assert.deepEqual(clusterCapacityOf(DEFAULT_WORKLOAD), { cpus: 320, mem: 1_310_720 });
  const expected = 0.9 / (683_000 / 320);
  assert.ok(Math.abs(arrivalRatePerMs(DEFAULT_WORKLOAD) - expected) < 1e-15);
});

test('workload of a seed is the same every time and differs between seeds', () => {
  const tasks = generateWorkload(DEFAULT_WORKLOAD);
  assert.deepEqual(generateWorkload(DEFAULT_WORKLOAD), tasks);
  assert.notDeepEqual(generateWorkload({ ...DEFAULT_WORKLOAD, seed: 2 }), tasks);
});

test('workload arrives in order inside the window, about 80% small, with demands in range', () => {
  const tasks = generateWorkload(DEFAULT_WORKLOAD);
  // 7,200 s × 0.9 / 2134.375 ms ≈ 3,036 expected arrivals.
  assert.ok(tasks.length > 2800 && tasks.length < 3300, String(tasks.length));
  const small = tasks.filter((t) => t.className === 'small').length;
  assert.ok(Math.abs(small / tasks.length - 0.8) < 0.03, String(small / tasks.length));
  for (const [i, task] of tasks.entries()) {
    assert.equal(task.id, `t${String(i).padStart(5, '0')}`);
    assert.ok(task.submittedAtMs >= 0 && task.submittedAtMs <= DEFAULT_WORKLOAD.arrivalWindowMs);
    if (i > 0) assert.ok(task.submittedAtMs >= (tasks[i - 1]?.submittedAtMs ?? 0));
    const [min, max] = task.className === 'small' ? [0.5, 2] : [6, 12];
    assert.ok((task.demand.cpus ?? 0) >= min && (task.demand.cpus ?? 0) <= max);
    const [minMs, maxMs] = task.className === 'small' ? [10_000, 60_000] : [120_000, 600_000];
    assert.ok(task.durationMs >= minMs && task.durationMs <= maxMs);
  }
});

test('workload asserts class fractions add up to 1', () => {
  const classes = DEFAULT_WORKLOAD.classes.map((c) => ({ ...c, fraction: 0.6 }));
  assert.throws(() => generateWorkload({ ...DEFAULT_WORKLOAD, classes }), assert.AssertionError);
});
