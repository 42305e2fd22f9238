// Calls to the master, a few at a time. Sent all at once, a cycle's thousand ACCEPTs and a burst
// of thousands of ACKNOWLEDGEs each opened a connection of its own (the SDK keeps 8 idle per
// origin): the framework spent its CPU in connect() and the master in accepting sockets
// (bench/RESULTS.md, "Jobs framework"). At most `limit` in flight reuse the kept-alive
// connections. Urgent calls (DECLINE, KILL, RECONCILE) go first. ACCEPTs no longer pass here:
// they go pipelined on a connection of their own (sdk acceptPipelined), and ACKNOWLEDGEs on
// the SDK's pipeline for them.

/** Bound on queued calls: past it, acknowledgements are dropped (the agent resends the update). */
export const MAX_QUEUED_CALLS = 200_000;

interface Queued {
  readonly call: () => Promise<unknown>;
  readonly done: (error: unknown) => void;
}

/** First in, first out; shift() of a long array copies it, so the head moves instead. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class CallQueue {
  private readonly urgent = new Fifo<Queued>();
  private readonly later = new Fifo<Queued>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Runs `call` when a slot is free; resolves with its error, if any (never rejects). */
  push(call: () => Promise<unknown>, isUrgent: boolean): Promise<unknown> {
    if (!isUrgent && this.size >= MAX_QUEUED_CALLS) return Promise.resolve(new QueueFullError());
    return new Promise<unknown>((done) => {
      (isUrgent ? this.urgent : this.later).push({ call, done });
      this.pump();
    });
  }

  get size(): number {
    return this.urgent.length + this.later.length + this.inFlight;
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.limit) {
      const next = this.urgent.shift() ?? this.later.shift();
      if (next === undefined) break;
      this.inFlight++;
      next.call().then(
        () => this.settle(next, undefined),
        (error: unknown) => this.settle(next, error),
      );
    }
  }

  private settle(queued: Queued, error: unknown): void {
    this.inFlight--;
    queued.done(error);
    this.pump();
    if (this.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

export class QueueFullError extends Error {
  constructor() {
    super(`more than ${MAX_QUEUED_CALLS} calls queued`);
    this.name = 'QueueFullError';
  }
}
