// What a framework failing over says while its first SUBSCRIBE finds no master (#7's
// hardening): it keeps trying until its failover timeout, which may be days, and said
// nothing meanwhile, so an operator could not tell a framework waiting for its master
// from one that hung. One line once the wait is more than a blip, then at most one a
// minute, so a long wait does not flood the log. Pure: the caller gives the times.

/** How long the first SUBSCRIBE fails quietly: a master restarting is back within this. */
export const MASTER_AWAY_FIRST_NOTICE_MS = 3000;
/** The least time between two notices of one wait. */
export const MASTER_AWAY_NOTICE_EVERY_MS = 60_000;

/**
 * Whether to say the master is away now, `waitedMs` into the wait, the last notice having
 * been given at `lastNoticeAtMs` into it (undefined: none yet).
 */
export function isMasterAwayNoticeDue(
  waitedMs: number,
  lastNoticeAtMs: number | undefined,
): boolean {
  if (waitedMs < MASTER_AWAY_FIRST_NOTICE_MS) return false;
  return lastNoticeAtMs === undefined || waitedMs - lastNoticeAtMs >= MASTER_AWAY_NOTICE_EVERY_MS;
}

/** The notice: which master, and until when (wall time, ISO 8601) it is tried. */
export function masterAwayNotice(master: string, untilEpochMs: number): string {
  return `master ${master} not reachable, retrying until ${new Date(untilEpochMs).toISOString()}`;
}
