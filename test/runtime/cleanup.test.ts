import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cleanup } from '../../src/runtime/cleanup.js';

test('cleanup undoes in reverse order of registration', async () => {
  const cleanup = new Cleanup();
  const undone: string[] = [];
  cleanup.defer(() => {
    undone.push('socket');
  });
  cleanup.defer(async () => {
    await Promise.resolve();
    undone.push('timer');
  });
  cleanup.defer(() => {
    undone.push('child');
  });
  await cleanup.run();
  assert.deepEqual(undone, ['child', 'timer', 'socket']);
});

test('cleanup waits for each async undo before starting the next', async () => {
  const cleanup = new Cleanup();
  const events: string[] = [];
  let release: () => void = () => assert.fail('not started');
  cleanup.defer(() => {
    events.push('first registered');
  });
  cleanup.defer(async () => {
    events.push('last registered: start');
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    events.push('last registered: end');
  });
  const running = cleanup.run();
  await Promise.resolve();
  assert.deepEqual(events, ['last registered: start']);
  release();
  await running;
  assert.deepEqual(events, ['last registered: start', 'last registered: end', 'first registered']);
});

test('cleanup runs each undo once however often it is run', async () => {
  const cleanup = new Cleanup();
  let runs = 0;
  cleanup.defer(() => {
    runs++;
  });
  const first = cleanup.run();
  const second = cleanup.run();
  assert.equal(first, second);
  await Promise.all([first, second]);
  await cleanup.run();
  assert.equal(runs, 1);
});

test('cleanup refuses a new undo once it has run', async () => {
  const cleanup = new Cleanup();
  await cleanup.run();
  assert.throws(() => cleanup.defer(() => undefined), /already ran/);
});

test('cleanup keeps undoing after a failure and rethrows the first failure', async () => {
  const cleanup = new Cleanup();
  const undone: string[] = [];
  const first = new Error('first failure');
  cleanup.defer(() => {
    undone.push('a');
  });
  cleanup.defer(() => {
    throw new Error('second failure');
  });
  cleanup.defer(() => {
    undone.push('c');
  });
  cleanup.defer(async () => {
    throw first;
  });
  await assert.rejects(cleanup.run(), (error) => error === first);
  assert.deepEqual(undone, ['c', 'a']);
  // Running again reports the same outcome and undoes nothing twice.
  await assert.rejects(cleanup.run(), (error) => error === first);
  assert.deepEqual(undone, ['c', 'a']);
});
