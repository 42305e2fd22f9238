// The one clock the services core reads, for its timestamps and its deadlines alike.

/**
 * Milliseconds since the epoch on a clock that never jumps: the wall clock as it read when
 * this process started, advanced by the monotonic clock since. On the wall clock, a step back
 * by an hour (NTP, an operator, a VM resumed) held every crash-loop backoff, grace period and
 * kill deadline for that hour. The cost: the core's timestamps (versions, events) differ from
 * the wall clock by any step it took while the framework ran.
 */
export function steadyEpochMs(): number {
  return performance.timeOrigin + performance.now();
}
