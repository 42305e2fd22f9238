import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WalkedGauges } from '../../src/master/core/snapshot.js';
import { GaugeCache, SYNC_WALK_LIMIT } from '../../src/master/gauge-cache.js';
import { ManualClock } from '../../src/runtime/index.js';

/** Books of `size` entities whose walk reports `value` and yields once per entity. */
function fakeBooks(size: number) {
  const books = { size, value: 1, walks: 0, steps: 0 };
  function* walk(): Generator<void, WalkedGauges, void> {
    books.walks += 1;
    const value = books.value;
    for (let i = 0; i < books.size; i++) {
      books.steps += 1;
      yield;
    }
    return { values: { 'master/tasks_running': value }, activeByFramework: new Map() };
  }
  return { books, walk, size: () => books.size };
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('gauge cache walks on every read while the books are small, so gauges are exact', () => {
  const { books, walk, size } = fakeBooks(SYNC_WALK_LIMIT);
  const cache = new GaugeCache({ clock: new ManualClock(), walk, size });
  assert.equal(cache.read().values['master/tasks_running'], 1);
  books.value = 2;
  assert.equal(cache.read().values['master/tasks_running'], 2);
  assert.equal(books.walks, 2);
});

test('gauge cache serves a large master the last walk and walks again in slices once it is old', async () => {
  const clock = new ManualClock();
  const { books, walk, size } = fakeBooks(SYNC_WALK_LIMIT + 1);
  const cache = new GaugeCache({ clock, walk, size, maxAgeMs: 1000, sliceMs: 0 });
  assert.equal(cache.read().values['master/tasks_running'], 1, 'the first read walks at once');
  books.value = 2;
  clock.advance(1000);
  assert.equal(cache.read().values['master/tasks_running'], 1, 'within maxAgeMs: the last walk');
  assert.equal(books.walks, 1);
  clock.advance(1);
  const stepsBefore = books.steps;
  assert.equal(cache.read().values['master/tasks_running'], 1, 'too old: still answered at once');
  assert.equal(books.steps, stepsBefore, 'the read itself walks nothing');
  assert.equal(cache.read().values['master/tasks_running'], 1);
  await until('the background walk', () => cache.read().values['master/tasks_running'] === 2);
  assert.equal(books.walks, 2, 'reads during a walk start no second one');
  cache.stop();
});

test('gauge cache abandons a walk under way when stopped', async () => {
  const clock = new ManualClock();
  const { books, walk, size } = fakeBooks(SYNC_WALK_LIMIT * 4);
  const cache = new GaugeCache({ clock, walk, size, maxAgeMs: 0, sliceMs: 0 });
  cache.read();
  clock.advance(1);
  cache.read();
  await new Promise((resolve) => setImmediate(resolve));
  cache.stop();
  const steps = books.steps;
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(books.steps - steps <= 1, 'no slice runs after stop()');
});
