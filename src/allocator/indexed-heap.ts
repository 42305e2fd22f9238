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

  private up(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.lessAt(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.items.length && this.lessAt(left, smallest)) smallest = left;
      if (right < this.items.length && this.lessAt(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.items[i];
    const b = this.items[j];
    if (a === undefined || b === undefined) return;
    this.items[i] = b;
    this.items[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
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
