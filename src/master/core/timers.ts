// The core's timers, by name: a framework's failover timeout, an agent's
// unreachable deadline, an offer's timeout. One name holds at most one timer,
// so re-arming replaces, and stopping the master cancels them all at once.
import type { Clock, Timer } from '../../runtime/index.js';

export class Timers {
  private readonly byName = new Map<string, Timer>();

  constructor(private readonly clock: Clock) {}

  /** Runs `fn` after `ms` unless cancelled or re-armed first. */
  arm(name: string, ms: number, fn: () => void): void {
    this.byName.get(name)?.cancel();
    const timer = this.clock.setTimeout(() => {
      if (this.byName.get(name) === timer) this.byName.delete(name);
      fn();
    }, ms);
    this.byName.set(name, timer);
  }

  cancel(name: string): void {
    this.byName.get(name)?.cancel();
    this.byName.delete(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  cancelAll(): void {
    for (const timer of this.byName.values()) timer.cancel();
    this.byName.clear();
  }

  get size(): number {
    return this.byName.size;
  }
}
