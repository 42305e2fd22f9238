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
    monotonicMs: () => manual.monotonicMs() + stoodStillMs,
    setTimeout: (fn, ms) => manual.setTimeout(fn, ms),
  };
  return {
    clock,
    run: (ms: number) => manual.advance(ms),
    standStill: (ms: number) => (stoodStillMs += ms),
  };
}

/** A watch whose coordinator answers each confirmation as `answers` says, in turn. */
function watchWith(clock: Clock, answers: (boolean | Error)[]) {
  const asked: number[] = [];
  const lost: string[] = [];
  const confirmed: number[] = [];
  const watch = new StallWatch({
    limitMs: 1000,
    clock,
    confirm: async (gap) => {
      asked.push(gap);
      const answer = answers.shift() ?? false;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    onLost: (_gap, reason) => lost.push(reason.message),
    onConfirmed: (gap) => confirmed.push(gap),
  });
  return { watch, asked, lost, confirmed };
}

test('stall watch stays safe while the loop turns, however long it runs', () => {
  const { clock, run } = stallableClock();
  const { watch, asked } = watchWith(clock, []);
  watch.start();
  run(60_000);
  assert.equal(watch.isSafe(), true);
  assert.equal(watch.state(), 'leading');
  assert.deepEqual(asked, []);
  watch.stop();
});

test('stall watch asks the coordinator after the process stood still, and is lost if it says no', async () => {
  const { clock, run, standStill } = stallableClock();
  const { watch, asked, lost } = watchWith(clock, [false]);
  watch.start();
  run(500);
  standStill(800);
  assert.equal(watch.isSafe(), true, 'a stall within the limit cannot have cost the session');
  run(100);
  standStill(4000);
  // Before any timer runs (as a request handled on waking would ask):
  assert.equal(watch.isSafe(), false);
  assert.equal(watch.state(), 'confirming');
  assert.equal(asked.length, 1);
  assert.ok((asked[0] ?? 0) >= 4000);
  assert.equal(await watch.settled(), false);
  assert.equal(watch.state(), 'lost');
  assert.equal(lost.length, 1);
  run(1000);
  assert.equal(watch.isSafe(), false, 'never safe again');
  assert.equal(asked.length, 1, 'asked once');
  watch.stop();
});

test('stall watch goes on leading when the coordinator confirms the session survived the stall', async () => {
  const { clock, run, standStill } = stallableClock();
  const { watch, asked, lost, confirmed } = watchWith(clock, [true, true]);
  watch.start();
  standStill(4000);
  assert.equal(watch.isSafe(), false, 'unsafe until the coordinator answers');
  assert.equal(await watch.settled(), true);
  assert.equal(watch.state(), 'leading');
  assert.equal(watch.isSafe(), true);
  run(10_000);
  assert.equal(watch.isSafe(), true, 'ticking again');
  standStill(3000);
  run(100);
  assert.equal(asked.length, 2, 'a later stall is asked about again');
  assert.equal(await watch.settled(), true);
  assert.deepEqual(lost, []);
  assert.equal(confirmed.length, 2);
  watch.stop();
});

test('stall watch takes a coordinator that cannot be asked as a lost leadership', async () => {
  const { clock, standStill } = stallableClock();
  const { watch, lost } = watchWith(clock, [new Error('CONNECTION_LOSS')]);
  watch.start();
  standStill(4000);
  assert.equal(watch.isSafe(), false);
  assert.equal(await watch.settled(), false);
  assert.deepEqual(lost, ['CONNECTION_LOSS']);
  watch.stop();
});

test('stall watch: a late tick is the stall, with nobody asking', () => {
  const { clock, run, standStill } = stallableClock();
  const { watch, asked } = watchWith(clock, [false]);
  watch.start();
  standStill(3000);
  run(100);
  assert.equal(asked.length, 1);
  watch.stop();
});
