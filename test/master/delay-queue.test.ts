// The core's one-delay timers (the agents' PING timeouts): each key fires once its delay
// after it was last armed, in that order, whatever is armed, re-armed or cancelled meanwhile,
// with one timer of the clock at a time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DelayQueue } from '../../src/master/core/delay-queue.js';
import { type Clock, ManualClock, type Timer } from '../../src/runtime/index.js';

test('keys fire their delay after their last arming, in that order; cancelled ones never', () => {
  const clock = new ManualClock();
  const fired: [string, number][] = [];
  const queue = new DelayQueue<string>(clock, 100, (key) => fired.push([key, clock.monotonicMs()]));
  queue.arm('a');
  clock.advance(10);
  queue.arm('b');
  queue.arm('c');
  clock.advance(10);
  queue.arm('a'); // again: now due at 120, after b and c
  queue.cancel('c');
  clock.advance(200);
  assert.deepEqual(fired, [
    ['b', 110],
    ['a', 120],
  ]);
  assert.equal(queue.size, 0);
  assert.equal(clock.pendingTimers, 0);
});

test('a key armed again as it fires waits a whole delay; keys due later keep their time', () => {
  const clock = new ManualClock();
  const fired: [string, number][] = [];
  const queue = new DelayQueue<string>(clock, 100, (key) => {
    fired.push([key, clock.monotonicMs()]);
    if (key === 'again' && fired.length < 5) queue.arm(key);
  });
  queue.arm('again');
  clock.advance(30);
  queue.arm('later'); // due at 130, before 'again' armed anew at 100 (due 200)
  clock.advance(400);
  assert.deepEqual(fired, [
    ['again', 100],
    ['later', 130],
    ['again', 200],
    ['again', 300],
    ['again', 400],
  ]);
});

test('with no delay, a key armed again as it fires runs once per turn, not forever', () => {
  const clock = new ManualClock();
  let runs = 0;
  const queue = new DelayQueue<string>(clock, 0, (key) => {
    runs++;
    if (runs < 3) queue.arm(key);
  });
  queue.arm('k');
  clock.advance(0);
  assert.equal(runs, 3);
  assert.equal(queue.size, 0);
});

test('cancelAll, even from a key that fires, leaves no timer and fires nothing more', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  const queue = new DelayQueue<string>(clock, 50, (key) => {
    fired.push(key);
    queue.cancelAll();
  });
  queue.arm('x');
  queue.arm('y');
  clock.advance(100);
  assert.deepEqual(fired, ['x']);
  assert.equal(clock.pendingTimers, 0);
  queue.arm('z');
  queue.cancelAll();
  clock.advance(100);
  assert.deepEqual(fired, ['x']);
  assert.equal(clock.pendingTimers, 0);
});

test('a clock timer that fires before the deadline it was armed for fires nothing early', () => {
  // Node measures a timer's delay from the event loop's cached time, which may be behind
  // the monotonic clock the deadlines are taken on.
  const manual = new ManualClock();
  let armed = 0;
  const early: Clock = {
    now: () => manual.now(),
    monotonicMs: () => manual.monotonicMs(),
    // The first timer 7 ms early; then on time (the loop's time catches up).
    setTimeout: (fn, ms): Timer => manual.setTimeout(fn, ms - (armed++ === 0 ? 7 : 0)),
  };
  const fired: [string, number][] = [];
  const queue = new DelayQueue<string>(early, 100, (key) =>
    fired.push([key, manual.monotonicMs()]),
  );
  queue.arm('a');
  manual.advance(95);
  assert.deepEqual(fired, []);
  manual.advance(10);
  assert.deepEqual(fired, [['a', 100]]);
});

test('any interleaving of arms, cancels and time fires each key as a timer per key would', () => {
  type Step =
    | { readonly kind: 'arm'; readonly key: number }
    | { readonly kind: 'cancel'; readonly key: number }
    | { readonly kind: 'advance'; readonly ms: number };
  const step = fc.oneof(
    fc.record({ kind: fc.constant('arm' as const), key: fc.nat(5) }),
    fc.record({ kind: fc.constant('cancel' as const), key: fc.nat(5) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(80) }),
  );
  fc.assert(
    fc.property(
      fc.array(step, { maxLength: 40 }),
      fc.integer({ min: 1, max: 60 }),
      (steps, delay) => {
        // The model: a timer of the clock per key, as the core had.
        const clock = new ManualClock();
        const fired: [number, number][] = [];
        const queue = new DelayQueue<number>(clock, delay, (key) =>
          fired.push([key, clock.monotonicMs()]),
        );
        const modelClock = new ManualClock();
        const modelFired: [number, number][] = [];
        const timers = new Map<number, Timer>();
        for (const s of steps as Step[]) {
          if (s.kind === 'arm') {
            queue.arm(s.key);
            timers.get(s.key)?.cancel();
            timers.set(
              s.key,
              modelClock.setTimeout(() => {
                timers.delete(s.key);
                modelFired.push([s.key, modelClock.monotonicMs()]);
              }, delay),
            );
          } else if (s.kind === 'cancel') {
            queue.cancel(s.key);
            timers.get(s.key)?.cancel();
            timers.delete(s.key);
          } else {
            clock.advance(s.ms);
            modelClock.advance(s.ms);
          }
        }
        clock.advance(delay);
        modelClock.advance(delay);
        assert.deepEqual(fired, modelFired);
        assert.equal(queue.size, 0);
        assert.equal(clock.pendingTimers, 0);
      },
    ),
    { numRuns: 300 },
  );
});
