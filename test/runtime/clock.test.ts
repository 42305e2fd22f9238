import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  armTimer,
  every,
  MAX_TIMER_CHUNK_MS,
  ManualClock,
  systemClock,
} from '../../src/runtime/clock.js';

test('manual clock starts where it is told and moves only on advance', () => {
  const clock = new ManualClock(1_000);
  assert.equal(clock.now(), 1_000);
  clock.advance(250);
  assert.equal(clock.now(), 1_250);
});

test('manual clock fires timers in time order, ties in the order they were set', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
  clock.setTimeout(() => fired.push(`b1@${clock.now()}`), 20);
  clock.setTimeout(() => fired.push(`b2@${clock.now()}`), 20);
  clock.advance(25);
  assert.deepEqual(fired, ['a@10', 'b1@20', 'b2@20']);
  assert.equal(clock.now(), 25);
  assert.equal(clock.pendingTimers, 1);
  clock.advance(5);
  assert.deepEqual(fired, ['a@10', 'b1@20', 'b2@20', 'c@30']);
  assert.equal(clock.pendingTimers, 0);
});

test('manual clock fires any set of timers in time order', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(1_000), { maxLength: 30 }), fc.nat(1_200), (delays, step) => {
      const clock = new ManualClock();
      const fired: number[] = [];
      for (const delay of delays) clock.setTimeout(() => fired.push(clock.now()), delay);
      clock.advance(step);
      clock.advance(1_000);
      assert.deepEqual(
        fired,
        [...delays].sort((a, b) => a - b),
      );
    }),
  );
});

test('manual clock does not fire a cancelled timer', () => {
  const clock = new ManualClock();
  let fired = 0;
  const timer = clock.setTimeout(() => fired++, 10);
  clock.setTimeout(() => fired++, 10);
  timer.cancel();
  assert.equal(clock.pendingTimers, 1);
  clock.advance(100);
  assert.equal(fired, 1);
  timer.cancel(); // cancelling twice, or after the time, is harmless
  assert.equal(clock.pendingTimers, 0);
});

test('manual clock lets a timer cancel a later one due in the same advance', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  const later = clock.setTimeout(() => fired.push('later'), 20);
  clock.setTimeout(() => {
    fired.push('first');
    later.cancel();
  }, 10);
  clock.advance(30);
  assert.deepEqual(fired, ['first']);
});

test('manual clock fires a timer set by a timer if it falls due in the same advance', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.now());
    clock.setTimeout(() => fired.push(clock.now()), 15);
    clock.setTimeout(() => fired.push(clock.now()), 50);
  }, 10);
  clock.advance(30);
  assert.deepEqual(fired, [10, 25]);
  assert.equal(clock.pendingTimers, 1);
  clock.advance(30);
  assert.deepEqual(fired, [10, 25, 60]);
});

test('manual clock treats a negative delay as zero', () => {
  const clock = new ManualClock(100);
  let firedAt: number | undefined;
  clock.setTimeout(() => {
    firedAt = clock.now();
  }, -50);
  clock.advance(0);
  assert.equal(firedAt, 100);
});

test('every repeats at its interval until cancelled', () => {
  const clock = new ManualClock();
  const ticks: number[] = [];
  const timer = every(clock, 100, () => ticks.push(clock.now()));
  clock.advance(99);
  assert.deepEqual(ticks, []);
  clock.advance(251);
  assert.deepEqual(ticks, [100, 200, 300]);
  timer.cancel();
  assert.equal(clock.pendingTimers, 0);
  clock.advance(1_000);
  assert.deepEqual(ticks, [100, 200, 300]);
});

test('every stops when cancelled from inside its own tick', () => {
  const clock = new ManualClock();
  let ticks = 0;
  const timer = every(clock, 10, () => {
    ticks++;
    if (ticks === 3) timer.cancel();
  });
  clock.advance(1_000);
  assert.equal(ticks, 3);
  assert.equal(clock.pendingTimers, 0);
});

test('system clock timers do not keep the process alive', () => {
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const timer = systemClock.setTimeout(() => assert.fail('cancelled timer fired'), 60_000);
  // An unref'd timer is not listed among the resources that keep the loop alive.
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  timer.cancel();
  assert.equal(after, before);
  assert.ok(Math.abs(systemClock.now() - Date.now()) < 1_000);
});

/** Fake primitives with a tiny chunk limit: records every arm, fires on demand. */
function fakeTimers(maxChunkMs: number) {
  let nowMs = 0;
  let pending: { at: number; fn: () => void; cleared: boolean }[] = [];
  const arms: number[] = [];
  const primitives = {
    maxChunkMs,
    setTimeout(fn: () => void, ms: number) {
      assert.ok(ms <= maxChunkMs, `armed for ${ms} ms, above the ${maxChunkMs} ms limit`);
      arms.push(ms);
      const entry = { at: nowMs + ms, fn, cleared: false };
      pending.push(entry);
      return entry;
    },
    clearTimeout(handle: unknown) {
      (handle as { cleared: boolean }).cleared = true;
    },
  };
  const advanceTo = (targetMs: number) => {
    for (;;) {
      const due = pending
        .filter((p) => !p.cleared && p.at <= targetMs)
        .sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.cleared = true;
      nowMs = due.at;
      due.fn();
    }
    pending = pending.filter((p) => !p.cleared);
    nowMs = targetMs;
  };
  return { primitives, arms, advanceTo, now: () => nowMs };
}

test('armTimer waits out a delay longer than the primitive allows, re-arming in chunks', () => {
  const fake = fakeTimers(100);
  let firedAt: number | undefined;
  armTimer(() => (firedAt = fake.now()), 250, fake.primitives);
  fake.advanceTo(249);
  assert.equal(firedAt, undefined, 'a long timer must not fire early');
  fake.advanceTo(1_000);
  assert.equal(firedAt, 250);
  assert.deepEqual(fake.arms, [100, 100, 50]);
});

test('armTimer with a 30-day delay (a common failover_timeout) is never armed past 2^31-1 ms', () => {
  const fake = fakeTimers(MAX_TIMER_CHUNK_MS);
  let fired = false;
  const thirtyDaysMs = 30 * 24 * 3600 * 1000;
  armTimer(() => (fired = true), thirtyDaysMs, fake.primitives);
  fake.advanceTo(thirtyDaysMs - 1);
  assert.equal(fired, false);
  fake.advanceTo(thirtyDaysMs);
  assert.equal(fired, true);
});

test('armTimer cancelled between chunks never fires', () => {
  const fake = fakeTimers(100);
  let fired = false;
  const timer = armTimer(() => (fired = true), 1_000, fake.primitives);
  fake.advanceTo(450);
  timer.cancel();
  fake.advanceTo(5_000);
  assert.equal(fired, false);
});

test('armTimer never fires an infinite delay, takes a negative one as 0, and refuses NaN', () => {
  const fake = fakeTimers(100);
  let fired = 0;
  armTimer(() => (fired += 1), Number.POSITIVE_INFINITY, fake.primitives);
  armTimer(() => (fired += 10), 1e308, fake.primitives);
  fake.advanceTo(10_000);
  assert.equal(fired, 0);
  armTimer(() => (fired += 100), -5, fake.primitives);
  fake.advanceTo(10_000);
  assert.equal(fired, 100);
  assert.throws(() => armTimer(() => {}, Number.NaN, fake.primitives), RangeError);
});

test('system clock timers beyond 2^31-1 ms do not fire at once (no TimeoutOverflowWarning)', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on('warning', onWarning);
  let fired = false;
  const timer = systemClock.setTimeout(() => (fired = true), 30 * 24 * 3600 * 1000);
  // Node fires an overflowed timer after 1 ms; two macrotask turns of 20 ms each would see it.
  await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setImmediate(resolve));
  timer.cancel();
  process.off('warning', onWarning);
  assert.equal(fired, false);
  assert.deepEqual(warnings, []);
});
