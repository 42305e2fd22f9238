/** A cancellable timer handle. */
export interface Timer {
  cancel(): void;
}

/**
 * Time for the shells (master, agent, SDK). The pure cores take time as an
 * argument; the shells take a Clock so tests advance time instead of waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch: for timestamps only, since the wall clock can jump. */
  now(): number;
  /**
   * Milliseconds on a clock that never jumps (its origin is arbitrary): for filters,
   * deadlines and durations, which a wall clock set back by an hour (NTP, an operator,
   * a VM resumed) would stretch by that hour, or set forward would cut short.
   */
  monotonicMs(): number;
  setTimeout(fn: () => void, ms: number): Timer;
}

/**
 * The longest delay Node's setTimeout honours: anything above 2^31 - 1 ms (about
 * 24.8 days) is taken as 1 ms, with only a TimeoutOverflowWarning (#7: a 30-day
 * failover_timeout tore its framework down 3 ms after a disconnect).
 */
export const MAX_TIMER_CHUNK_MS = 2 ** 31 - 1;

/** The primitives armTimer schedules with; Node's own, or fakes in tests. */
export interface TimerPrimitives {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** The longest single delay the primitive honours. */
  readonly maxChunkMs: number;
}

/** A Node timer: a setTimeout, or a setImmediate for no delay. */
type NodeTimerHandle =
  | { readonly timeout: NodeJS.Timeout }
  | { readonly immediate: NodeJS.Immediate };

const NODE_TIMERS: TimerPrimitives = {
  setTimeout(fn, ms): NodeTimerHandle {
    // A timer alone never keeps a process alive: a component that forgot one still exits
    // (and the leak tests catch it).
    // No delay means the next turn of the event loop: Node's setTimeout waits at least 1 ms,
    // which a master's first offers to a new framework waited for (#7 item 17).
    if (ms <= 0) return { immediate: setImmediate(fn).unref() };
    return { timeout: setTimeout(fn, ms).unref() };
  },
  clearTimeout: (handle) => {
    const timer = handle as NodeTimerHandle;
    if ('immediate' in timer) clearImmediate(timer.immediate);
    else clearTimeout(timer.timeout);
  },
  maxChunkMs: MAX_TIMER_CHUNK_MS,
};

/**
 * Runs `fn` once after `ms` milliseconds, for any non-negative duration: a delay
 * longer than the primitive's limit is waited out in chunks, re-arming after
 * each; Infinity never fires; a negative delay is 0, as with setTimeout. The
 * one way Agora's shells schedule a delay. Throws on NaN: that is a bug, since
 * inputs are validated at the edge.
 */
export function armTimer(
  fn: () => void,
  ms: number,
  primitives: TimerPrimitives = NODE_TIMERS,
): Timer {
  if (Number.isNaN(ms)) throw new RangeError('timer delay is NaN');
  let handle: unknown;
  let isCancelled = false;
  const armFor = (remainingMs: number) => {
    if (remainingMs === Number.POSITIVE_INFINITY) return;
    if (remainingMs <= primitives.maxChunkMs) {
      handle = primitives.setTimeout(() => {
        if (!isCancelled) fn();
      }, remainingMs);
      return;
    }
    handle = primitives.setTimeout(
      () => armFor(remainingMs - primitives.maxChunkMs),
      primitives.maxChunkMs,
    );
  };
  armFor(Math.max(0, ms));
  return {
    cancel() {
      isCancelled = true;
      if (handle !== undefined) primitives.clearTimeout(handle);
    },
  };
}

/** Real time; its timers are armTimer's: unref'd, and any length. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (fn, ms) => armTimer(fn, ms),
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
  /** On the monotonic clock. */
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to; timers fire in time order during advance().
 * `jumpWall` moves the wall clock alone, as an NTP step or an operator would.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private elapsedMs = 0;
  private seq = 0;
  private scheduled: Scheduled[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  monotonicMs(): number {
    return this.elapsedMs;
  }

  /** Sets the wall clock forward (or back, for a negative `ms`); timers and monotonic time stay. */
  jumpWall(ms: number): void {
    this.nowMs += ms;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    if (Number.isNaN(ms)) throw new RangeError('timer delay is NaN');
    const entry: Scheduled = {
      at: this.elapsedMs + Math.max(0, ms),
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.scheduled.push(entry);
    return { cancel: () => (entry.cancelled = true) };
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.elapsedMs + ms;
    const to = (at: number) => {
      this.nowMs += at - this.elapsedMs;
      this.elapsedMs = at;
    };
    for (;;) {
      const due = this.scheduled
        .filter((s) => !s.cancelled && s.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      due.cancelled = true;
      to(due.at);
      due.fn();
    }
    this.scheduled = this.scheduled.filter((s) => !s.cancelled);
    to(target);
  }

  get pendingTimers(): number {
    return this.scheduled.filter((s) => !s.cancelled).length;
  }
}
