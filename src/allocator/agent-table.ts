// The agents' books in a dense layout: what a cycle reads of every agent it visits, in typed
// arrays indexed by a small integer per agent (its slot), instead of in each agent's objects.
// A full cycle visits every agent once, in random order; reached through objects, each visit
// began with a dozen cache misses (the agent, its Resources value, the memo of its scalar
// totals and their vectors, its entry in a Set of awake agents) before any work was done.
// Here those reads land in a few arrays of a few hundred kilobytes at 10,000 agents.
import type { ScalarVector } from '../resources/index.js';

/** What the table keeps of each agent's books: where its numbers are. */
export interface TableSlot {
  /** The agent's row in the table; -1 while it is not in the table. */
  slot: number;
}

/** The least capacity the arrays start with; they double as agents are added. */
const INITIAL_CAPACITY = 64;

export class AgentTable<A extends TableSlot> {
  private readonly books: (A | undefined)[] = [];
  /** Slots of removed agents, reused first. */
  private readonly freedSlots: number[] = [];
  private capacity = 0;
  /** Scalar slots per row of `free`; grows (copying every row) when a new scalar name appears. */
  private stride = 0;
  /** Available thousandths per agent and scalar slot: the agent's row, `stride` wide. */
  private free = new Float64Array(0);
  /** 1 when the agent's available resources hold nothing reserved and no revocable scalar. */
  private plain = new Uint8Array(0);
  /** The slots of awake agents (those the next cycle visits), packed in no particular order. */
  private awakeSlots = new Int32Array(0);
  private awakeCount = 0;
  /** Where each slot is in awakeSlots; -1 when the agent is not awake. */
  private awakePosition = new Int32Array(0);

  /** Gives `books` a slot (not awake, nothing available). */
  add(books: A): void {
    let slot = this.freedSlots.pop();
    if (slot === undefined) {
      slot = this.books.length;
      if (slot >= this.capacity)
        this.resize(Math.max(INITIAL_CAPACITY, 2 * this.capacity), this.stride);
      this.books.push(books);
    } else this.books[slot] = books;
    books.slot = slot;
    this.free.fill(0, slot * this.stride, (slot + 1) * this.stride);
    this.plain[slot] = 1;
    this.awakePosition[slot] = -1;
  }

  /** Frees the slot of `books`, which must not be awake. */
  remove(books: A): void {
    const { slot } = books;
    if (slot < 0 || this.books[slot] !== books) return;
    if (this.isAwake(books)) this.sleep(books);
    this.books[slot] = undefined;
    this.freedSlots.push(slot);
    books.slot = -1;
  }

  /**
   * Records what is available on the agent: its scalar totals (allVector of its
   * Resources) and whether all of them are plain (nothing reserved, nothing revocable).
   */
  setAvailable(books: A, allVector: ScalarVector, isPlain: boolean): void {
    if (allVector.length > this.stride) this.resize(this.capacity, allVector.length);
    const offset = books.slot * this.stride;
    for (let k = 0; k < this.stride; k++) this.free[offset + k] = allVector[k] ?? 0;
    this.plain[books.slot] = isPlain ? 1 : 0;
  }

  /** Whether the agent's available resources hold nothing reserved and no revocable scalar. */
  isPlain(books: A): boolean {
    return this.plain[books.slot] === 1;
  }

  /** The agent's available thousandths of scalar slot `scalarSlot`. */
  freeAt(books: A, scalarSlot: number): number {
    return scalarSlot < this.stride ? (this.free[books.slot * this.stride + scalarSlot] ?? 0) : 0;
  }

  /** Copies the agent's available thousandths into `out` (grown to the row's width; the rest zeroed). */
  readFree(books: A, out: number[]): number[] {
    const offset = books.slot * this.stride;
    for (let k = 0; k < this.stride; k++) out[k] = this.free[offset + k] ?? 0;
    for (let k = this.stride; k < out.length; k++) out[k] = 0;
    return out;
  }

  // ----------------------------------------------------------------- awake

  get awakeSize(): number {
    return this.awakeCount;
  }

  isAwake(books: A): boolean {
    return (this.awakePosition[books.slot] ?? -1) >= 0;
  }

  wake(books: A): void {
    const { slot } = books;
    if ((this.awakePosition[slot] ?? -1) >= 0) return;
    this.awakePosition[slot] = this.awakeCount;
    this.awakeSlots[this.awakeCount] = slot;
    this.awakeCount += 1;
  }

  /** Takes the agent out of the awake list: the last one there moves into its place. */
  sleep(books: A): void {
    const { slot } = books;
    const position = this.awakePosition[slot] ?? -1;
    if (position < 0) return;
    this.awakeCount -= 1;
    const last = this.awakeSlots[this.awakeCount] ?? slot;
    this.awakeSlots[position] = last;
    this.awakePosition[last] = position;
    this.awakePosition[slot] = -1;
  }

  /** The awake agents, in the awake list's order. */
  awake(): A[] {
    const out: A[] = [];
    for (let i = 0; i < this.awakeCount; i++) {
      const books = this.books[this.awakeSlots[i] ?? -1];
      if (books !== undefined) out.push(books);
    }
    return out;
  }

  private resize(capacity: number, stride: number): void {
    const free = new Float64Array(capacity * stride);
    for (let slot = 0; slot < this.books.length; slot++)
      for (let k = 0; k < this.stride; k++)
        free[slot * stride + k] = this.free[slot * this.stride + k] ?? 0;
    this.free = free;
    this.stride = stride;
    if (capacity === this.capacity) return;
    const plain = new Uint8Array(capacity);
    plain.set(this.plain);
    this.plain = plain;
    const awakeSlots = new Int32Array(capacity);
    awakeSlots.set(this.awakeSlots);
    this.awakeSlots = awakeSlots;
    const awakePosition = new Int32Array(capacity).fill(-1);
    awakePosition.set(this.awakePosition);
    this.awakePosition = awakePosition;
    this.capacity = capacity;
  }
}
