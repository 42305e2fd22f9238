// What a re-registration storm after a kill is made of (bench:failover's simulated rows):
// when the agents' detector heard of the new leader, when the leader logged its
// re-registrations (first, half, 90 %, last: from the time in each log line, which a busy
// bench loop does not delay), and how much CPU the leader and this process spent meanwhile.
// The leader's CPU over the wall time says whether the storm was the leader's work (busy
// ~100 %) or waiting for agents (the spread, the backoff, this process's own loop).
import { readFileSync } from 'node:fs';
import type { BedDaemon } from '../../test/ha/bed.js';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these. */
const TICKS_PER_SECOND = 100;

/** CPU ms (user + system) of process `pid` so far; undefined once it is gone. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * The kernel's counts of connections dropped because a listen queue was full
 * (TcpExt ListenOverflows) and of SYNs sent again (TCPSynRetrans): machine-wide, so other
 * processes' connections count too. A dropped SYN costs its agent 1 s, then 3 s, … before
 * its connection is tried again. In bench:failover the SYNs sent again were all the
 * simulated agents' tries of the killed leader before the election, meeting the TIME_WAITs
 * of its 10,000 closed connections (bench/RESULTS.md, 2026-12-07 18:00): not the new
 * leader's storm.
 */
export function listenOverflows(): { readonly overflows: number; readonly synRetrans: number } {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const at = lines.findIndex((line) => line.startsWith('TcpExt:'));
    const names = (lines[at] ?? '').split(' ');
    const values = (lines[at + 1] ?? '').split(' ');
    const value = (name: string) => Number(values[names.indexOf(name)] ?? Number.NaN);
    return { overflows: value('ListenOverflows'), synRetrans: value('TCPSynRetrans') };
  } catch {
    return { overflows: Number.NaN, synRetrans: Number.NaN };
  }
}

/** The bench process's own CPU ms so far. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Collects the epoch ms of every 'agent reregistered' line `masters` log until stop().
 * Call before the kill. Cheap per line: a substring test and a fixed-offset slice.
 */
export function reregistrationsLogged(masters: readonly BedDaemon[]): {
  readonly times: readonly number[];
  readonly stop: () => void;
} {
  const times: number[] = [];
  const listener = (line: string) => {
    if (!line.includes('"msg":"agent reregistered"')) return;
    const at = line.indexOf('"time":"');
    if (at < 0) return;
    const parsed = Date.parse(line.slice(at + 8, line.indexOf('"', at + 8)));
    if (Number.isFinite(parsed)) times.push(parsed);
  };
  for (const master of masters) master.lineListeners.add(listener);
  return {
    times,
    stop: () => {
      for (const master of masters) master.lineListeners.delete(listener);
    },
  };
}

/** The `q` quantile (0..1) of `sorted`, ascending; NaN when empty. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? Number.NaN;
}

export interface StormBreakdown {
  /** ms past the election log line at which this process's detector named the new leader. */
  readonly detectedMs: number | undefined;
  /** ms past the election: the leader's first, median, 90th percentile and last re-registration. */
  readonly firstMs: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly lastMs: number;
  readonly count: number;
  /** The new leader's CPU ms from the kill to every agent back (election and recovery too). */
  readonly leaderCpuMs: number | undefined;
  /** This process's CPU ms, and the wall time, from the detection to every agent back. */
  readonly benchCpuMs: number;
  readonly wallMs: number;
  /** Listen-queue overflows and SYN retransmissions on the machine from the kill to all back. */
  readonly overflows: number;
  readonly synRetrans: number;
}

export function describeStorm(storm: StormBreakdown): string {
  const s = (ms: number | undefined) =>
    ms === undefined || Number.isNaN(ms) ? '-' : `${(ms / 1000).toFixed(2)} s`;
  const busy = (cpu: number | undefined) =>
    cpu === undefined ? '-' : `${s(cpu)} (${Math.round((100 * cpu) / storm.wallMs)} %)`;
  const perAgent = (cpu: number | undefined) =>
    cpu === undefined || storm.count === 0 ? '-' : `${(cpu / storm.count).toFixed(3)} ms`;
  return `detector +${s(storm.detectedMs)}; ${storm.count} re-registrations logged at +${s(storm.firstMs)} first, +${s(storm.medianMs)} half, +${s(storm.p90Ms)} 90 %, +${s(storm.lastMs)} last; leader CPU from the kill to all back ${s(storm.leaderCpuMs)} (${perAgent(storm.leaderCpuMs)} per re-registration); over the ${s(storm.wallMs)} from detection to all back: bench process CPU ${busy(storm.benchCpuMs)}; machine-wide from the kill: ${storm.overflows} listen-queue overflows, ${storm.synRetrans} SYNs sent again (mostly to the killed leader)`;
}

/** Times relative to `electedAtMs` (epoch ms) from the collected log times. */
export function stormTimes(
  times: readonly number[],
  electedAtMs: number,
): Pick<StormBreakdown, 'firstMs' | 'medianMs' | 'p90Ms' | 'lastMs' | 'count'> {
  const sorted = times.map((t) => t - electedAtMs).sort((a, b) => a - b);
  return {
    firstMs: quantile(sorted, 0),
    medianMs: quantile(sorted, 0.5),
    p90Ms: quantile(sorted, 0.9),
    lastMs: quantile(sorted, 1),
    count: sorted.length,
  };
}
