import assert from 'node:assert';

/** What a heap element carries: its position, maintained by the heap. */
export interface HeapItem {
  heapIndex: number;
}

/**
 * A binary min-heap whose elements know their position, so one element's key
 * can change (update) or it can leave (remove) in O(log n). The allocator keeps
 * roles and frameworks in these, ordered by weighted dominant share, and asks
 * for them in order without taking them out (ordered()).
 */
export class IndexedHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  /** lessAt as a value, made once: ordered() passes it for every element it yields. */
  private readonly lessAtIndex = (i: number, j: number): boolean => this.lessAt(i, j);

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  has(item: T): boolean {
    return item.heapIndex >= 0 && this.items[item.heapIndex] === item;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    assert(!this.has(item), 'item is already in the heap');
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  remove(item: T): void {
    assert(this.has(item), 'item is not in the heap');
    const index = item.heapIndex;
    const last = this.items.pop();
    item.heapIndex = -1;
    if (last === undefined || last === item) return;
    this.items[index] = last;
    last.heapIndex = index;
    this.up(index);
    this.down(last.heapIndex);
  }

  /** Restores order after `item`'s key changed. */
  update(item: T): void {
    assert(this.has(item), 'item is not in the heap');
    this.up(item.heapIndex);
    this.down(item.heapIndex);
  }

  /** Takes every element out. O(n). */
  clear(): void {
    for (const item of this.items) item.heapIndex = -1;
    this.items.length = 0;
  }

  /** Re-establishes order after many keys changed at once. O(n). */
  rebuild(): void {
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  values(): readonly T[] {
    return this.items;
  }

  /**
   * The elements in key order, lazily: the first k cost O(k log k), however
   * large the heap. The heap must not change while this is being iterated.
   */
  *ordered(): Generator<T> {
    if (this.items.length === 0) return;
    // A best-first walk of the heap's own tree: a frontier of indices, smallest first.
    const frontier: number[] = [0];
    while (frontier.length > 0) {
      const index = popSmallest(frontier, this.lessAtIndex);
      const item = this.items[index];
      if (item === undefined) continue;
      yield item;
      const left = 2 * index + 1;
      if (left < this.items.length) pushFrontier(frontier, left, this.lessAtIndex);
      if (left + 1 < this.items.length) pushFrontier(frontier, left + 1, this.lessAtIndex);
    }
  }

  private lessAt(i: number, j: number): boolean {
    const a = this.items[i];
    const b = this.items[j];
    return a !== undefined && b !== undefined && this.less(a, b);
  }

  // The sifts move a hole rather than swapping neighbours, and compare elements directly:
  // they run several times per offer. Indices below are always within the array.

  /** Moves the element at `index` toward the root while it is less than its parent. */
  private up(index: number): void {
    const items = this.items;
    const item = items[index] as T;
    let hole = index;
    while (hole > 0) {
      const parentIndex = (hole - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!this.less(item, parent)) break;
      items[hole] = parent;
      parent.heapIndex = hole;
      hole = parentIndex;
    }
    items[hole] = item;
    item.heapIndex = hole;
  }

  /**
   * Moves the element at `index` down to where it belongs. Once it must move at all, Floyd's
   * way: down to a leaf along the lesser children, one comparison a level, then back up
   * while it is less than its parent. An allocation raises a share, so the element updated
   * is usually the top one, and it sinks most of the way: about half the comparisons of
   * comparing it with both children at every level.
   */
  private down(index: number): void {
    const items = this.items;
    const size = items.length;
    const item = items[index] as T;
    let hole = index;
    let child = this.lesserChild(hole, size);
    if (child < 0 || !this.less(items[child] as T, item)) return;
    while (child >= 0) {
      const moved = items[child] as T;
      items[hole] = moved;
      moved.heapIndex = hole;
      hole = child;
      child = this.lesserChild(hole, size);
    }
    while (hole > index) {
      const parentIndex = (hole - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!this.less(item, parent)) break;
      items[hole] = parent;
      parent.heapIndex = hole;
      hole = parentIndex;
    }
    items[hole] = item;
    item.heapIndex = hole;
  }

  /** The index of the lesser child of `index`, or -1 for a leaf. */
  private lesserChild(index: number, size: number): number {
    const left = 2 * index + 1;
    if (left >= size) return -1;
    const right = left + 1;
    return right < size && this.less(this.items[right] as T, this.items[left] as T) ? right : left;
  }
}

// The frontier is itself a small binary heap of indices into the main heap.

function pushFrontier(
  frontier: number[],
  value: number,
  less: (i: number, j: number) => boolean,
): void {
  frontier.push(value);
  let i = frontier.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const a = frontier[i] ?? 0;
    const b = frontier[parent] ?? 0;
    if (!less(a, b)) break;
    frontier[i] = b;
    frontier[parent] = a;
    i = parent;
  }
}

function popSmallest(frontier: number[], less: (i: number, j: number) => boolean): number {
  const top = frontier[0] ?? 0;
  const last = frontier.pop() ?? 0;
  if (frontier.length === 0) return top;
  frontier[0] = last;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < frontier.length && less(frontier[left] ?? 0, frontier[smallest] ?? 0))
      smallest = left;
    if (right < frontier.length && less(frontier[right] ?? 0, frontier[smallest] ?? 0))
      smallest = right;
    if (smallest === i) return top;
    const a = frontier[i] ?? 0;
    frontier[i] = frontier[smallest] ?? 0;
    frontier[smallest] = a;
    i = smallest;
  }
}
