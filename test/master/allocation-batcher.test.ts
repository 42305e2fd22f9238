import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AllocationBatcher } from '../../src/master/core/allocation-batcher.js';
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

test('allocation batcher runs one cycle for a burst of freed resources, within the batch window', () => {
  const clock = new ManualClock();
  const runsAtMs: number[] = [];
  const batcher = new AllocationBatcher(clock, 1000, () => runsAtMs.push(clock.now()), 5);
  batcher.start();
  clock.advance(100);
  for (let i = 0; i < 1000; i++) batcher.resourcesFreed();
  clock.advance(4);
  batcher.resourcesFreed();
  assert.deepEqual(runsAtMs, [], 'not before the window');
  clock.advance(1);
  assert.deepEqual(runsAtMs, [105], 'a thousand frees, one cycle, 5 ms after the first');
  batcher.resourcesFreed();
  clock.advance(1);
  batcher.runSoon();
  clock.advance(0);
  assert.deepEqual(runsAtMs, [105, 106], 'someone asking for offers does not wait for the window');
  clock.advance(10);
  assert.deepEqual(runsAtMs, [105, 106], 'that cycle took care of the freed resources too');
  clock.advance(1000);
  assert.deepEqual(runsAtMs, [105, 106, 1106], 'the interval still backs it up');
});

test('allocation batcher gathers agents (re-)registering one by one into cycles of the batch window', () => {
  const clock = new ManualClock();
  const runsAtMs: number[] = [];
  const batcher = new AllocationBatcher(clock, 1000, () => runsAtMs.push(clock.now()), 5);
  batcher.start();
  // A reconnect burst spread by registration jitter: one agent every millisecond for 20 ms.
  for (let i = 0; i < 20; i++) {
    batcher.agentJoined();
    clock.advance(1);
  }
  assert.deepEqual(runsAtMs, [5, 10, 15, 20], 'twenty agents, four cycles (was twenty)');
});
