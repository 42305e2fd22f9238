import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TimingWheel } from '../../src/sim/index.js';

test('timing wheel runs each callback once, in tick order, when time reaches it', () => {
  const wheel = new TimingWheel(5, 0, 8);
  const ran: string[] = [];
  wheel.schedule(12, () => ran.push('b'));
  wheel.schedule(3, () => ran.push('a'));
  wheel.schedule(100, () => ran.push('c')); // beyond one turn of 8 × 5 ms
  assert.equal(wheel.advance(4), 0, 'tick 0 was current when scheduled: a waits for tick 1');
  assert.equal(wheel.advance(9), 1);
  assert.equal(wheel.advance(40), 1);
  assert.deepEqual(ran, ['a', 'b']);
  assert.equal(wheel.pending, 1);
  assert.equal(wheel.advance(99), 0, 'c shares a slot with earlier ticks but is not due yet');
  assert.equal(wheel.advance(100), 1);
  assert.deepEqual(ran, ['a', 'b', 'c']);
  assert.equal(wheel.advance(1_000), 0);
});

test('timing wheel never runs a callback inside schedule(), even one already due', () => {
  const wheel = new TimingWheel(5, 50);
  let ran = 0;
  wheel.schedule(0, () => ran++);
  assert.equal(ran, 0);
  wheel.advance(54);
  assert.equal(ran, 0);
  wheel.advance(55);
  assert.equal(ran, 1);
});

test('timing wheel skips cancelled callbacks, including one cancelled by another due at once', () => {
  const wheel = new TimingWheel(5, 0);
  const ran: string[] = [];
  let b = { cancel: () => {} };
  wheel.schedule(20, () => {
    ran.push('a');
    b.cancel();
  });
  b = wheel.schedule(20, () => ran.push('b'));
  wheel.schedule(20, () => ran.push('c')).cancel();
  assert.equal(wheel.pending, 2);
  wheel.advance(20);
  assert.deepEqual(ran, ['a']);
  assert.equal(wheel.pending, 0);
  b.cancel(); // idempotent, after the fact
  assert.equal(wheel.pending, 0);
});

test('timing wheel runs a callback scheduled for now by a running one at the next tick', () => {
  const wheel = new TimingWheel(5, 0, 4);
  const ran: number[] = [];
  wheel.schedule(5, () => {
    ran.push(5);
    wheel.schedule(5, () => ran.push(10));
  });
  wheel.advance(5);
  assert.deepEqual(ran, [5]);
  wheel.advance(10);
  assert.deepEqual(ran, [5, 10]);
});

test('timing wheel catches up after a stall longer than a turn without losing callbacks', () => {
  const wheel = new TimingWheel(1, 0, 16);
  let ran = 0;
  for (let atMs = 1; atMs <= 1_000; atMs += 7) wheel.schedule(atMs, () => ran++);
  const scheduled = wheel.pending;
  wheel.advance(5_000);
  assert.equal(ran, scheduled);
  assert.equal(wheel.pending, 0);
});

test('timing wheel clear() forgets everything', () => {
  const wheel = new TimingWheel(5, 0);
  let ran = 0;
  for (let i = 0; i < 10; i++) wheel.schedule(i * 10, () => ran++);
  wheel.clear();
  assert.equal(wheel.pending, 0);
  wheel.advance(1_000);
  assert.equal(ran, 0);
});
