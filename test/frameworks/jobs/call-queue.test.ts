import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallQueue } from '../../../src/frameworks/jobs/call-queue.js';

test('call queue keeps at most its limit in flight, sends urgent calls first, and reports errors', async () => {
  const queue = new CallQueue(2);
  let inFlight = 0;
  let most = 0;
  const order: string[] = [];
  const gates: (() => void)[] = [];
  const call =
    (name: string, fail = false) =>
    () => {
      inFlight++;
      most = Math.max(most, inFlight);
      order.push(name);
      return new Promise<void>((resolve, reject) => {
        gates.push(() => {
          inFlight--;
          if (fail) reject(new Error(name));
          else resolve();
        });
      });
    };
  const results = [
    queue.push(call('ack-1'), false),
    queue.push(call('ack-2', true), false),
    queue.push(call('ack-3'), false),
    queue.push(call('accept'), true),
  ];
  assert.deepEqual(order, ['ack-1', 'ack-2'], 'two in flight, the rest queued');
  const idle = queue.idle();
  while (gates.length > 0) {
    gates.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await idle;
  assert.deepEqual(order, ['ack-1', 'ack-2', 'accept', 'ack-3'], 'the urgent call goes first');
  assert.equal(most, 2);
  const settled = await Promise.all(results);
  assert.equal(settled[0], undefined);
  assert.equal((settled[1] as Error).message, 'ack-2');
  assert.equal(queue.size, 0);
});
