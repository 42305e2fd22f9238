import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StallWatch } from '../../src/master/stall-watch.js';
import { type Clock, ManualClock } from '../../src/runtime/index.js';

/** A clock whose time can also jump without any timer running: a stopped process. */
function stallableClock() {
  const manual = new ManualClock(1_000_000);
  let stoodStillMs = 0;
  const clock: Clock = {
    now: () => manual.now() + stoodStillMs,
    setTimeout: (fn, ms) => manual.setTimeout(fn, ms),
  };
  return {
    clock,
    run: (ms: number) => manual.advance(ms),
    standStill: (ms: number) => (stoodStillMs += ms),
  };
}

test('stall watch stays safe while the loop turns, however long it runs', () => {
  const { clock, run } = stallableClock();
  const stalls: number[] = [];
  const watch = new StallWatch({ limitMs: 1000, clock, onStall: (gap) => stalls.push(gap) });
  watch.start();
  run(60_000);
  assert.equal(watch.isSafe(), true);
  assert.deepEqual(stalls, []);
  watch.stop();
});

test('stall watch turns unsafe at the first question after the process stood still', () => {
  const { clock, run, standStill } = stallableClock();
  const stalls: number[] = [];
  const watch = new StallWatch({ limitMs: 1000, clock, onStall: (gap) => stalls.push(gap) });
  watch.start();
  run(500);
  standStill(800);
  assert.equal(watch.isSafe(), true, 'a stall within the limit cannot have cost the session');
  run(100);
  standStill(4000);
  // Before any timer runs (as a request handled on waking would ask):
  assert.equal(watch.isSafe(), false);
  assert.equal(stalls.length, 1);
  assert.ok((stalls[0] ?? 0) >= 4000);
  run(1000);
  assert.equal(watch.isSafe(), false, 'never safe again');
  assert.equal(stalls.length, 1, 'told once');
  watch.stop();
});

test('stall watch: a late tick is the stall, with nobody asking', () => {
  const { clock, run, standStill } = stallableClock();
  const stalls: number[] = [];
  const watch = new StallWatch({ limitMs: 1000, clock, onStall: (gap) => stalls.push(gap) });
  watch.start();
  standStill(3000);
  run(100);
  assert.equal(stalls.length, 1);
  watch.stop();
});
