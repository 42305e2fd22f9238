import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TurnBudget } from '../../src/runtime/index.js';

test('jobs run in the order queued, after the turn that queued them, and answer as they return', async () => {
  const turns = new TurnBudget();
  const ran: number[] = [];
  const answers = [1, 2, 3].map((n) =>
    turns.run(() => {
      ran.push(n);
      return n * 10;
    }),
  );
  assert.deepEqual(ran, [], 'nothing runs in the turn that queued it');
  assert.equal(turns.queued, 3);
  assert.deepEqual(await Promise.all(answers), [10, 20, 30]);
  assert.deepEqual(ran, [1, 2, 3]);
  assert.equal(turns.queued, 0);
});

test('a job that throws rejects its own promise only; a returned promise is followed', async () => {
  const turns = new TurnBudget();
  const failed = turns.run(() => {
    throw new Error('bad call');
  });
  const later = turns.run(
    () => new Promise<string>((resolve) => setTimeout(() => resolve('stream ended'), 5)),
  );
  const next = turns.run(() => 'next');
  await assert.rejects(failed, /bad call/);
  assert.equal(await next, 'next', 'a job waiting on its promise does not hold up the queue');
  assert.equal(await later, 'stream ended');
});

test('one turn runs jobs until the budget is spent; the rest wait for later turns, in order', async () => {
  let clock = 0;
  const turns = new TurnBudget({ budgetMs: 20, now: () => clock });
  const ran: number[] = [];
  // Each job "takes" 7 ms of the clock: three fit a 20 ms budget (the third crosses it).
  const done = Array.from({ length: 10 }, (_, n) =>
    turns.run(() => {
      clock += 7;
      ran.push(n);
    }),
  );
  const slicesBefore = turns.sliceCount;
  // The first slice was scheduled before this: when this runs, that slice alone has run,
  // and the next waits for the loop's next turn (its timers and I/O first).
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(ran, [0, 1, 2]);
  await Promise.all(done);
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(turns.sliceCount - slicesBefore, 4, '3 + 3 + 3 + 1 jobs');
});
