/** A cancellable timer handle. */
export interface Timer {
  cancel(): void;
}

/**
 * Time for the shells (master, agent, SDK). The pure cores take time as an
 * argument; the shells take a Clock so tests advance time instead of waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
}

/**
 * Real time. Timers are unref'd: a timer alone never keeps a process alive,
 * so a component that forgot one still exits (and the leak tests catch it).
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Repeats `fn` every `intervalMs` until cancelled; each run is scheduled after the previous. */
export function every(clock: Clock, intervalMs: number, fn: () => void): Timer {
  let timer: Timer | undefined;
  let cancelled = false;
  const tick = () => {
    if (cancelled) return;
    fn();
    if (!cancelled) timer = clock.setTimeout(tick, intervalMs);
  };
  timer = clock.setTimeout(tick, intervalMs);
  return {
    cancel() {
      cancelled = true;
      timer?.cancel();
    },
  };
}

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to; timers fire in time order during advance(). */
export class ManualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private scheduled: Scheduled[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const entry: Scheduled = {
      at: this.nowMs + Math.max(0, ms),
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.scheduled.push(entry);
    return { cancel: () => (entry.cancelled = true) };
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const due = this.scheduled
        .filter((s) => !s.cancelled && s.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      due.cancelled = true;
      this.nowMs = due.at;
      due.fn();
    }
    this.scheduled = this.scheduled.filter((s) => !s.cancelled);
    this.nowMs = target;
  }

  get pendingTimers(): number {
    return this.scheduled.filter((s) => !s.cancelled).length;
  }
}
