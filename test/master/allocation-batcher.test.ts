import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AllocationBatcher } from '../../src/master/allocation-batcher.js';
import { ManualClock } from '../../src/runtime/index.js';

function setup(intervalMs = 1000) {
  const clock = new ManualClock();
  const runsAtMs: number[] = [];
  const batcher = new AllocationBatcher(clock, intervalMs, () => runsAtMs.push(clock.now()));
  batcher.start();
  return { clock, runsAtMs, batcher };
}

test('allocation batcher runs a cycle every interval', () => {
  const { clock, runsAtMs } = setup();
  clock.advance(3500);
  assert.deepEqual(runsAtMs, [1000, 2000, 3000]);
});

test('allocation batcher runs one cycle at once for a burst of requests, then waits a full interval', () => {
  const { clock, runsAtMs, batcher } = setup();
  clock.advance(300);
  batcher.runSoon();
  batcher.runSoon();
  batcher.runSoon();
  clock.advance(0);
  assert.deepEqual(runsAtMs, [300], 'three requests, one cycle');
  clock.advance(999);
  assert.deepEqual(runsAtMs, [300], 'no interval cycle right after an asked one');
  clock.advance(1);
  assert.deepEqual(runsAtMs, [300, 1300]);
});

test('allocation batcher stops cleanly', () => {
  const { clock, runsAtMs, batcher } = setup();
  batcher.runSoon();
  batcher.stop();
  clock.advance(5000);
  assert.deepEqual(runsAtMs, []);
  assert.equal(clock.pendingTimers, 0);
});
