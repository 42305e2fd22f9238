// When `agora up` restarts a daemon that exited (pure: time is an argument).
// A crash loop must neither spin (a daemon that dies at once would otherwise be
// restarted thousands of times a minute, flooding the terminal) nor go on
// forever (a broken work dir never heals by itself), yet one crash after a long
// healthy run should come back quickly.

export interface RestartPolicyOptions {
  /** Wait before the first restart, and again after a healthy run. */
  readonly initialBackoffMs: number;
  /** Each further restart waits twice as long as the one before, up to this. */
  readonly maxBackoffMs: number;
  /** A daemon that stayed up this long was healthy: its next restart waits initialBackoffMs. */
  readonly healthyAfterMs: number;
  /** More than this many restarts within windowMs and the supervisor gives up. */
  readonly maxRestarts: number;
  readonly windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
  healthyAfterMs: 60_000,
  // With 1, 2, 4, 8, 16, 30, 30, … s between them, ten restarts take about three
  // minutes of crashing: long enough to ride out a busy port or a slow disk.
  maxRestarts: 10,
  windowMs: 10 * 60_000,
};

/** What a supervisor remembers of one daemon's restarts. Immutable. */
export interface RestartHistory {
  /** Times of the restarts decided within the last window, oldest first. */
  readonly recentMs: readonly number[];
  /** The wait before the next restart, unless the daemon turns out healthy. */
  readonly nextBackoffMs: number;
  /** Restarts so far, all time: what "(restart n)" counts. */
  readonly count: number;
}

export type RestartDecision =
  | {
      readonly kind: 'restart';
      readonly delayMs: number;
      /** 1 for the first restart of this daemon. */
      readonly number: number;
      readonly history: RestartHistory;
    }
  | { readonly kind: 'giveUp'; readonly restartsInWindow: number };

export function freshHistory(options: RestartPolicyOptions): RestartHistory {
  return { recentMs: [], nextBackoffMs: options.initialBackoffMs, count: 0 };
}

/**
 * Decides what to do about a daemon that started at `startedAtMs` and exited at
 * `exitedAtMs`, given its `history`: restart it after a delay (with the history
 * to keep), or give up because it already restarted `maxRestarts` times within
 * the window.
 */
export function decideRestart(
  history: RestartHistory,
  startedAtMs: number,
  exitedAtMs: number,
  options: RestartPolicyOptions = DEFAULT_RESTART_POLICY,
): RestartDecision {
  const wasHealthy = exitedAtMs - startedAtMs >= options.healthyAfterMs;
  const recentMs = history.recentMs.filter((atMs) => atMs > exitedAtMs - options.windowMs);
  if (recentMs.length >= options.maxRestarts)
    return { kind: 'giveUp', restartsInWindow: recentMs.length };
  const delayMs = wasHealthy ? options.initialBackoffMs : history.nextBackoffMs;
  return {
    kind: 'restart',
    delayMs,
    number: history.count + 1,
    history: {
      recentMs: [...recentMs, exitedAtMs],
      nextBackoffMs: Math.min(delayMs * 2, options.maxBackoffMs),
      count: history.count + 1,
    },
  };
}
