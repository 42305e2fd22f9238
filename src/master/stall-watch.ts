// A leading master must not act on a coordinator session it may have lost
// while its process stood still (SIGSTOP, a frozen VM, a long pause, or a
// loaded machine): the coordinator may have expired the session and elected
// another master. On waking, Node handles the I/O that waited (requests, closed
// streams) before any timer, so neither the coordinator client nor a timer of
// ours can say so first. The watch ticks; a gap since the last tick longer than
// the limit means the leadership may be gone, and whoever asks isSafe() first
// (a request, the outbox, the next tick) gets false.
//
// A stall alone does not end the leadership: on a loaded machine a busy loop
// stalls for seconds while the session lives on, and a leader that abdicated on
// each such stall handed the load to the next master, which stalled and
// abdicated in turn (#10). The watch then asks the coordinator (`confirm`:
// the session alive and this master's node or key still there) and stays unsafe
// only until it answers: confirmed, the master goes on with nothing dropped (its
// outbox waits, requests meanwhile get 503); not confirmed, it is lost for good.
import type { Clock, Timer } from '../runtime/index.js';

/** Whether a master in HA mode may act as the leader now. */
export type LeadershipState = 'leading' | 'confirming' | 'lost';

export interface Leadership {
  /** 'confirming': after a stall, until the coordinator says; 'lost' is for good. */
  state(): LeadershipState;
  /** Resolves once not confirming: true if still leading. */
  settled(): Promise<boolean>;
}

export interface StallWatchOptions {
  /**
   * The longest gap between ticks that cannot have cost the session. A client
   * pings every third of its session timeout, and the coordinator expires the
   * session a timeout after the last ping it got: a stall of up to two thirds
   * of the timeout is safe; half leaves room for the tick's own lateness.
   */
  readonly limitMs: number;
  readonly clock: Clock;
  /**
   * Asked once per stall past the limit, with the gap seen: does the leadership
   * still hold? Resolves true to go on; false or a rejection means lost. The
   * caller bounds how long it takes.
   */
  readonly confirm: (gapMs: number) => Promise<boolean>;
  /** Told once, when a stall was not confirmed: the leadership is lost. */
  readonly onLost: (gapMs: number, reason: Error) => void;
  /** Told when a stall was confirmed (to log it). */
  readonly onConfirmed?: (gapMs: number) => void;
}

/** Ticks at most this far apart (a fraction of the limit when that is shorter). */
const MAX_TICK_MS = 100;

export class StallWatch implements Leadership {
  private lastTickMs: number;
  private current: LeadershipState = 'leading';
  private confirming: Promise<boolean> | undefined;
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

  state(): LeadershipState {
    this.isSafe();
    return this.current;
  }

  settled(): Promise<boolean> {
    return this.confirming ?? Promise.resolve(this.current === 'leading');
  }

  /** False while a stall is being confirmed, and for good once one was not. */
  isSafe(): boolean {
    if (this.current !== 'leading') return false;
    const gapMs = this.options.clock.now() - this.lastTickMs;
    if (gapMs <= this.options.limitMs) return true;
    this.current = 'confirming';
    this.timer?.cancel();
    this.confirming = this.confirm(gapMs);
    return false;
  }

  private async confirm(gapMs: number): Promise<boolean> {
    let reason: Error;
    try {
      if (await this.options.confirm(gapMs)) {
        this.confirming = undefined;
        if (this.isStopped) return false;
        this.current = 'leading';
        this.options.onConfirmed?.(gapMs);
        this.start();
        return true;
      }
      reason = new Error('the coordinator did not confirm the leadership');
    } catch (error) {
      reason = error instanceof Error ? error : new Error(String(error));
    }
    this.confirming = undefined;
    this.current = 'lost';
    this.options.onLost(gapMs, reason);
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
