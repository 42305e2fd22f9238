// Timers that all wait one delay, by key: the agents' PING timeouts (#10). With one delay and
// a clock that never goes back, the order keys are armed in is the order they fall due, so
// a Map in insertion order is the whole schedule and one clock timer, for the earliest, runs
// it. A timer of the clock per key cost each re-registering agent a timer object, its
// closures and a name to find it by (some 500 bytes, kept the whole delay, so promoted: 5 MB
// for a failover's 10,000 agents, made again every --agent_ping_timeout).
import type { Clock, Timer } from '../../runtime/index.js';

export class DelayQueue<K> {
  /** Each armed key's deadline (monotonic ms), earliest first. */
  private readonly due = new Map<K, number>();
  private timer: Timer | undefined;
  /** While keys fall due: the run arms the clock timer itself, for the earliest left. */
  private isRunning = false;

  constructor(
    private readonly clock: Clock,
    private readonly delayMs: number,
    private readonly fire: (key: K) => void,
  ) {}

  /** Runs `fire(key)` after the delay, unless cancelled or armed again first. */
  arm(key: K): void {
    // Deleted first, so that an armed key moves to the end: the order stays the deadlines'.
    this.due.delete(key);
    const atMs = this.clock.monotonicMs() + this.delayMs;
    this.due.set(key, atMs);
    if (this.timer === undefined && !this.isRunning) this.schedule(atMs);
  }

  /** A cancelled head leaves the clock timer armed: it finds nothing due and waits again. */
  cancel(key: K): void {
    this.due.delete(key);
  }

  has(key: K): boolean {
    return this.due.has(key);
  }

  get size(): number {
    return this.due.size;
  }

  cancelAll(): void {
    this.due.clear();
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(atMs: number): void {
    this.timer = this.clock.setTimeout(
      () => this.run(),
      Math.max(0, atMs - this.clock.monotonicMs()),
    );
  }

  private run(): void {
    this.timer = undefined;
    const nowMs = this.clock.monotonicMs();
    // Keys armed again by `fire` go to the end; counting the keys there were keeps a zero
    // delay from running one of them twice in a run.
    let left = this.due.size;
    this.isRunning = true;
    try {
      for (const [key, atMs] of this.due) {
        if (atMs > nowMs || left-- === 0) break;
        this.due.delete(key);
        this.fire(key);
      }
    } finally {
      this.isRunning = false;
      // Armed for the earliest left (a timer of the clock may also fire a little before
      // the deadline its delay was measured for: then it is armed again for the rest).
      // cancelAll() from `fire` left nothing, and no timer is armed.
      for (const atMs of this.due.values()) {
        if (this.timer === undefined) this.schedule(atMs);
        break;
      }
    }
  }
}
