/** The longest a DECLINE filter holds: anything above is capped (WIRE §2.1). */
export const MAX_REFUSE_SECONDS = 365 * 24 * 60 * 60;
export const DEFAULT_REFUSE_SECONDS = 5;

/**
 * Turns `Filters.refuse_seconds` into milliseconds as Mesos does: unset, negative
 * or not a number gives the 5 s default; above 365 days is capped; 0 means no
 * filter at all.
 */
export function refuseMsFrom(refuseSeconds: number | undefined): number {
  if (refuseSeconds === undefined || !Number.isFinite(refuseSeconds) || refuseSeconds < 0) {
    if (refuseSeconds === Number.POSITIVE_INFINITY) return MAX_REFUSE_SECONDS * 1000;
    return DEFAULT_REFUSE_SECONDS * 1000;
  }
  return Math.round(Math.min(refuseSeconds, MAX_REFUSE_SECONDS) * 1000);
}
