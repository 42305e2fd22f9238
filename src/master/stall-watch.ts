// A leading master must not act on a coordinator session it may have lost
// while its process stood still (SIGSTOP, a frozen VM, a long pause): the
// coordinator may have expired the session and elected another master. On
// waking, Node handles the I/O that waited (requests, closed streams) before
// any timer, so neither the coordinator client nor a timer of ours can say so
// first. The watch ticks; a gap since the last tick longer than the session can
// survive means the leadership may be gone, and whoever asks isSafe() first (a
// request, the outbox) gets false and the watch reports the stall.
import type { Clock, Timer } from '../runtime/index.js';

export interface StallWatchOptions {
  /**
   * The longest gap between ticks that cannot have cost the session. A client
   * pings every third of its session timeout, and the coordinator expires the
   * session a timeout after the last ping it got: a stall of up to two thirds
   * of the timeout is safe; half leaves room for the tick's own lateness.
   */
  readonly limitMs: number;
  readonly clock: Clock;
  /** Told once, with the gap seen, when the limit is first passed. */
  readonly onStall: (gapMs: number) => void;
}

/** Ticks at most this far apart (a fraction of the limit when that is shorter). */
const MAX_TICK_MS = 100;

export class StallWatch {
  private lastTickMs: number;
  private stalledMs: number | undefined;
  private timer: Timer | undefined;
  private isStopped = false;

  constructor(private readonly options: StallWatchOptions) {
    this.lastTickMs = options.clock.now();
  }

  start(): void {
    this.lastTickMs = this.options.clock.now();
    this.schedule();
  }

  stop(): void {
    this.isStopped = true;
    this.timer?.cancel();
  }

  /** False from the first stall past the limit on (it never becomes safe again). */
  isSafe(): boolean {
    if (this.stalledMs !== undefined) return false;
    const gapMs = this.options.clock.now() - this.lastTickMs;
    if (gapMs <= this.options.limitMs) return true;
    this.stalledMs = gapMs;
    this.options.onStall(gapMs);
    return false;
  }

  private schedule(): void {
    if (this.isStopped) return;
    const tickMs = Math.max(1, Math.min(MAX_TICK_MS, this.options.limitMs / 4));
    this.timer = this.options.clock.setTimeout(() => {
      // The check comes first: a tick that is itself late is the stall.
      if (this.isSafe()) {
        this.lastTickMs = this.options.clock.now();
        this.schedule();
      }
    }, tickMs);
  }
}
