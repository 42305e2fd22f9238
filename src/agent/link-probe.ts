// A bare TCP connection to the master, tried again and again while it cannot be reached:
// the first that gets through says the link is back (#15).
import { connect, type Socket } from 'node:net';
import type { Clock } from '../runtime/index.js';
import { ConnectionError } from '../sdk/index.js';

/**
 * While the master cannot be reached, the wait before the next attempt (growing to a minute)
 * is cut short when a bare TCP connection to it gets through: the link is back (#15: after a
 * 2-minute partition an agent otherwise waited up to a minute more), and so is an attempt
 * still waiting on a SYN the partition dropped. Then the agent waits a random part of the
 * spread the master last told it (reregisterSpreadMs: small for a few agents, a second for a
 * thousand), so agents of one partition do not all come back in the same instant. A probe
 * that cannot get through costs the master nothing; every 100 ms (a probe lives 1 s at most:
 * up to ten SYNs in flight) so the probe is not what a heal waits for (#15's goal: 1 s + 2 RTT).
 */
const LINK_PROBE_INTERVAL_MS = 100;
/**
 * Once a probe is refused the master's host answers and its master is not up yet (restarting,
 * recovering: seconds): probes go slower, so a thousand agents of a restarting master do not
 * send its host ten thousand SYNs a second.
 */
const REFUSED_PROBE_INTERVAL_MS = 500;
/** A probe's life: up to ten SYNs in flight at the fastest pace. */
const LINK_PROBE_TIMEOUT_MS = 1_000;
/**
 * Tries a bare TCP connection to `master` every LINK_PROBE_INTERVAL_MS (slower once refused)
 * and calls `onReachable` once, for the first that gets through. Stopped by the caller, or
 * by itself once through.
 */
export function probeUntilReachable(
  master: URL,
  clock: Clock,
  onReachable: () => void,
): { stop(): void } {
  const host = master.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(master.port !== '' ? master.port : master.protocol === 'https:' ? 443 : 80);
  const sockets = new Set<Socket>();
  let isStopped = false;
  let timer: { cancel(): void } | undefined;
  let intervalMs = LINK_PROBE_INTERVAL_MS;
  const stop = () => {
    isStopped = true;
    timer?.cancel();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const probe = () => {
    if (isStopped) return;
    const socket = connect({ host, port });
    sockets.add(socket);
    socket.setTimeout(LINK_PROBE_TIMEOUT_MS, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      if (isStopped) return;
      stop();
      onReachable();
    });
    // Unreachable still: the next probe tries again.
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') intervalMs = REFUSED_PROBE_INTERVAL_MS;
    });
    socket.once('close', () => sockets.delete(socket));
    timer = clock.setTimeout(probe, intervalMs);
  };
  timer = clock.setTimeout(probe, LINK_PROBE_INTERVAL_MS);
  return { stop };
}

/** Failures that say the link (or the master's host) is down, not that the master refused. */
const LINK_DOWN_REASONS = new Set([
  'timed out',
  'host unreachable',
  'network unreachable',
  'connection refused',
  'connection reset',
]);
const LINK_DOWN_MESSAGES = new Set(['master pings stopped', 'master heartbeats stopped']);

/** Whether `error` says the link (or the master's host) is down, not that the master refused. */
export function isLinkDownError(error: unknown): boolean {
  if (error instanceof ConnectionError) return LINK_DOWN_REASONS.has(error.reason);
  return error instanceof Error && LINK_DOWN_MESSAGES.has(error.message);
}
