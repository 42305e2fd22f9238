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

/** stout's Duration units (Duration::parse), in milliseconds. */
const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1000,
  mins: 60_000,
  hrs: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

/**
 * A duration as Mesos writes one in a query (`5secs`, `1.5mins`, `100ms`), in
 * milliseconds, or a reason it is not one. As stout's Duration::parse: a
 * non-negative number, then exactly one of ns, us, ms, secs, mins, hrs, days,
 * weeks; nothing longer than Mesos can represent.
 */
export function parseDuration(
  text: string,
): { readonly ms: number } | { readonly problem: string } {
  const match = /^(\d+(?:\.\d+)?)([a-z]+)$/.exec(text);
  const unitMs = match?.[2] === undefined ? undefined : DURATION_UNIT_MS[match[2]];
  if (match?.[1] === undefined || unitMs === undefined)
    return { problem: 'expected a number and a unit of ns, us, ms, secs, mins, hrs, days, weeks' };
  const ms = Number(match[1]) * unitMs;
  const problem = durationSecondsProblem(ms / 1000);
  return problem === undefined ? { ms } : { problem };
}
