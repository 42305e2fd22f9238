import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { IndexedHeap } from '../../src/allocator/indexed-heap.js';

interface Item {
  heapIndex: number;
  key: number;
  readonly id: number;
}

const byKey = (a: Item, b: Item) => a.key < b.key || (a.key === b.key && a.id < b.id);
const sorted = (items: readonly Item[]) =>
  [...items].sort((a, b) => a.key - b.key || a.id - b.id).map((i) => i.id);

test('indexed heap yields its items in key order without removing them, after any updates', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 50 }), fc.boolean()), {
        maxLength: 60,
      }),
      (keys, changes) => {
        const heap = new IndexedHeap<Item>(byKey);
        const items = keys.map((key, id) => ({ heapIndex: -1, key, id }));
        for (const item of items) heap.push(item);
        for (const [index, key, remove] of changes) {
          const item = items[index % Math.max(1, items.length)];
          if (item === undefined) continue;
          if (remove && heap.has(item)) heap.remove(item);
          else if (heap.has(item)) {
            item.key = key;
            heap.update(item);
          } else heap.push(item);
        }
        const inHeap = items.filter((item) => heap.has(item));
        assert.deepEqual(
          [...heap.ordered()].map((i) => i.id),
          sorted(inHeap),
        );
        assert.equal(heap.peek()?.id, sorted(inHeap)[0]);
        assert.equal(heap.size, inHeap.length);
      },
    ),
  );
});

test('indexed heap ordered() can stop early', () => {
  const heap = new IndexedHeap<Item>(byKey);
  for (let id = 0; id < 1000; id++) heap.push({ heapIndex: -1, key: 1000 - id, id });
  const firstThree: number[] = [];
  for (const item of heap.ordered()) {
    firstThree.push(item.key);
    if (firstThree.length === 3) break;
  }
  assert.deepEqual(firstThree, [1, 2, 3]);
});

test('indexed heap refuses to push an item twice or remove one it does not hold', () => {
  const heap = new IndexedHeap<Item>(byKey);
  const item = { heapIndex: -1, key: 1, id: 1 };
  heap.push(item);
  assert.throws(() => heap.push(item), /already in the heap/);
  heap.remove(item);
  assert.throws(() => heap.remove(item), /not in the heap/);
});

test('indexed heap clear() empties it, and its items can join again', () => {
  const heap = new IndexedHeap<Item>(byKey);
  const items = [3, 1, 2].map((key) => ({ heapIndex: -1, key, id: key }));
  for (const item of items) heap.push(item);
  heap.clear();
  assert.equal(heap.size, 0);
  assert.ok(items.every((item) => !heap.has(item) && item.heapIndex === -1));
  for (const item of items) heap.push(item);
  assert.deepEqual(
    [...heap.ordered()].map((i) => i.key),
    [1, 2, 3],
  );
});
