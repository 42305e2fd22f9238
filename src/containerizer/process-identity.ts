// Telling a process apart from a later one that got the same PID (Linux /proc).
// A PID alone names whichever process holds it now; PIDs are recycled, so an
// agent that kills "the task it started before its restart" by PID alone could
// kill a stranger. The start time (in clock ticks since boot, /proc/<pid>/stat
// field 22) is fixed for a process's life, and with the boot id it names one
// process for good.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessStat {
  readonly pid: number;
  /** The parent's PID (field 4). */
  readonly ppid: number;
  /** The process group (field 5). */
  readonly pgid: number;
  /** Clock ticks after boot at which the process started (field 22), as /proc prints it. */
  readonly startTime: string;
  /** True for a zombie (state Z): dead, waiting for its parent to reap it. */
  readonly isZombie: boolean;
}

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) may hold
 * spaces and parentheses, so fields are counted from the last ')'. Undefined
 * when the text is not a stat line.
 */
export function parseStat(text: string): ProcessStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // Fields from 3 on; field n is at index n - 3.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const state = fields[0];
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  const startTime = fields[19];
  if (
    !Number.isInteger(pid) ||
    state === undefined ||
    !Number.isInteger(ppid) ||
    !Number.isInteger(pgid) ||
    startTime === undefined ||
    !/^\d+$/.test(startTime)
  )
    return undefined;
  return { pid, ppid, pgid, startTime, isZombie: state === 'Z' };
}

/** The stat of a live process, or undefined if there is none with this PID (or it is a zombie). */
export function readStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const stat = parseStat(text);
  return stat === undefined || stat.isZombie ? undefined : stat;
}

/** This boot of the host; after a reboot every PID and start time means something else. */
export function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Whether an environ block (NUL-separated `NAME=value` entries) holds exactly `entry`. */
export function environHas(environ: Buffer, entry: string): boolean {
  const needle = Buffer.from(`${entry}\0`);
  let at = environ.indexOf(needle);
  while (at !== -1) {
    if (at === 0 || environ[at - 1] === 0) return true;
    at = environ.indexOf(needle, at + 1);
  }
  return false;
}

/**
 * Live processes (not this one) whose environment holds one of `entries`,
 * grouped by entry. A process the agent may not read (another user's) is
 * skipped: the agent could not signal it either.
 */
export function processesWithEnvironment(entries: readonly string[]): Map<string, number[]> {
  const found = new Map<string, number[]>();
  if (entries.length === 0) return found;
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    for (const entry of entries)
      if (environHas(environ, entry) && readStat(pid) !== undefined)
        found.set(entry, [...(found.get(entry) ?? []), pid]);
  }
  return found;
}
