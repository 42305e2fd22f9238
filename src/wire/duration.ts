// What a Mesos duration can be. Mesos keeps durations as int64 nanoseconds
// (stout's Duration): a FrameworkInfo.failover_timeout it cannot represent is
// refused ("The framework failover_timeout (…) is invalid", master/validation.cpp),
// as is anything negative, NaN or infinite here (#7).

/** The largest duration Mesos represents: 2^63 - 1 ns, about 292 years. */
export const MAX_DURATION_NANOSECONDS = 2 ** 63 - 1;
export const MAX_DURATION_SECONDS = MAX_DURATION_NANOSECONDS / 1e9;

/** Why `seconds` is not a duration Mesos accepts, or undefined when it is one. */
export function durationSecondsProblem(seconds: number): string | undefined {
  if (!Number.isFinite(seconds)) return 'must be a finite number of seconds';
  if (seconds < 0) return 'must not be negative';
  if (seconds > MAX_DURATION_SECONDS)
    return `must be at most ${MAX_DURATION_SECONDS} seconds (2^63-1 nanoseconds)`;
  return undefined;
}

/** As durationSecondsProblem, for a DurationInfo's nanoseconds. */
export function durationNanosecondsProblem(nanoseconds: number): string | undefined {
  if (!Number.isFinite(nanoseconds)) return 'must be a finite number of nanoseconds';
  if (nanoseconds < 0) return 'must not be negative';
  if (nanoseconds > MAX_DURATION_NANOSECONDS) return 'must be at most 2^63-1 nanoseconds';
  return undefined;
}
