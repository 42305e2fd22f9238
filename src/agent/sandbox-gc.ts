// Garbage collection of finished runs' sandboxes, as Mesos' agent does it
// (src/slave/gc.cpp; docs/configuration/agent.md): a sandbox is removed
// --gc_delay after its run was retired (its terminal update acknowledged), or
// sooner when the work dir's disk fills: every --disk_watch_interval the agent
// measures the disk's usage and removes, oldest first, every sandbox older than
//
//     gc_delay * max(0, 1 - gc_disk_headroom - usage)
//
// A retired sandbox's modification time is set to its retirement, so a
// restarted agent schedules what it finds from the sandboxes' mtimes and the
// schedule survives restarts.
//
// Nothing outside the sandboxes is ever removed: a path is removed only if it
// has the exact shape of a run directory under <work_dir>/slaves, and no part
// of it between there and the run is a symbolic link; the removal itself
// unlinks links inside the sandbox rather than following them. Emptied parent
// directories (the run's executor, its framework) go too, only when empty.
import { lstat, readdir, readlink, rm, rmdir, statfs, unlink, utimes } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { type Clock, every, type Logger, type Timer } from '../runtime/index.js';

/** Mesos' defaults (WIRE §9; docs/configuration/agent.md). */
export const GC_DEFAULTS = {
  gcDelayMs: 7 * 24 * 3_600_000,
  diskHeadroom: 0.1,
  diskWatchIntervalMs: 60_000,
} as const;

/** The oldest a sandbox may get at this disk usage (a fraction of the disk in use). */
export function maxSandboxAgeMs(gcDelayMs: number, diskHeadroom: number, usage: number): number {
  return gcDelayMs * Math.max(0, 1 - diskHeadroom - usage);
}

export interface ScheduledRemoval {
  readonly path: string;
  readonly removeAtMs: number;
}

/**
 * How many of `scheduled` (sorted by removeAtMs) to remove now because the disk
 * is filling: those at least `maxAgeMs` old, i.e. due within `gcDelayMs -
 * maxAgeMs` (each was scheduled gcDelayMs after it was retired).
 */
export function prunableCount(
  scheduled: readonly ScheduledRemoval[],
  nowMs: number,
  gcDelayMs: number,
  maxAgeMs: number,
): number {
  let count = 0;
  while (count < scheduled.length) {
    const entry = scheduled[count];
    if (entry === undefined || entry.removeAtMs - nowMs > gcDelayMs - maxAgeMs) break;
    count += 1;
  }
  return count;
}

/** The used fraction of the filesystem holding `path`, as Mesos' fs::usage measures it. */
export async function diskUsage(path: string): Promise<number> {
  const stats = await statfs(path);
  return stats.blocks === 0 ? 0 : (stats.blocks - stats.bfree) / stats.blocks;
}

export interface SandboxGcOptions {
  /** `<work_dir>/slaves`: the only tree anything is removed from. */
  readonly slavesDir: string;
  /** Whose filesystem's usage is watched. */
  readonly workDir: string;
  readonly gcDelayMs: number;
  readonly diskHeadroom: number;
  readonly diskWatchIntervalMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** The used fraction of the work dir's disk (tests replace it); diskUsage by default. */
  readonly diskUsage?: (path: string) => Promise<number>;
}

export class SandboxGc {
  /** Sorted by removeAtMs: runs retire in time order, so most schedules append. */
  private readonly scheduled: ScheduledRemoval[] = [];
  private timer: Timer | undefined;
  private watch: Timer | undefined;
  /** Removals run one at a time, in order: a burst cannot flood the disk with I/O. */
  private removing: Promise<void> = Promise.resolve();
  private isStopped = false;
  private succeeded = 0;
  private failed = 0;

  constructor(private readonly options: SandboxGcOptions) {}

  /** Starts watching the disk. */
  start(): void {
    this.watch = every(this.options.clock, this.options.diskWatchIntervalMs, () => {
      void this.checkDiskUsage();
    });
  }

  /** Stops the timers and waits for a removal under way; idempotent. */
  async stop(): Promise<void> {
    this.isStopped = true;
    this.timer?.cancel();
    this.watch?.cancel();
    await this.removing;
  }

  /** `gc/path_removals_*`, as Mesos names them. */
  get metrics(): Record<string, number> {
    return {
      'gc/path_removals_succeeded': this.succeeded,
      'gc/path_removals_failed': this.failed,
      'gc/path_removals_pending': this.scheduled.length,
    };
  }

  /** Resolves once the removals under way and queued now are done. */
  idle(): Promise<void> {
    return this.removing;
  }

  /** The removals waiting, soonest first (for tests and debugging). */
  get pending(): readonly ScheduledRemoval[] {
    return this.scheduled;
  }

  /**
   * A run was retired: its sandbox goes `gc_delay` from now. Its mtime is set
   * to now, so that an agent restarted meanwhile schedules it the same way.
   */
  retired(sandbox: string): void {
    const nowMs = this.options.clock.now();
    const at = new Date(nowMs);
    utimes(sandbox, at, at).catch(() => undefined);
    this.schedule(sandbox, nowMs);
  }

  /**
   * After a restart: every run directory under the slaves dir that no live run
   * holds is scheduled from its mtime (one retired long ago goes at once).
   */
  async recover(live: ReadonlySet<string>): Promise<void> {
    const { slavesDir } = this.options;
    let count = 0;
    for (const agent of await directories(slavesDir))
      for (const framework of await directories(join(slavesDir, agent, 'frameworks')))
        for (const executor of await directories(
          join(slavesDir, agent, 'frameworks', framework, 'executors'),
        )) {
          const runs = join(
            slavesDir,
            agent,
            'frameworks',
            framework,
            'executors',
            executor,
            'runs',
          );
          for (const run of await directories(runs)) {
            const sandbox = join(runs, run);
            if (live.has(sandbox)) continue;
            const info = await lstat(sandbox).catch(() => undefined);
            if (info === undefined) continue;
            this.schedule(sandbox, info.mtimeMs);
            count += 1;
          }
        }
    if (count > 0)
      this.options.log.info({ sandboxes: count }, 'old sandboxes scheduled for removal');
  }

  private schedule(path: string, retiredAtMs: number): void {
    const entry = { path, removeAtMs: retiredAtMs + this.options.gcDelayMs };
    let at = this.scheduled.length;
    while (at > 0 && (this.scheduled[at - 1]?.removeAtMs ?? 0) > entry.removeAtMs) at -= 1;
    this.scheduled.splice(at, 0, entry);
    if (at === 0) this.arm();
  }

  /** The timer for the soonest removal. */
  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const head = this.scheduled[0];
    if (head === undefined || this.isStopped) return;
    this.timer = this.options.clock.setTimeout(
      () => {
        this.timer = undefined;
        const nowMs = this.options.clock.now();
        this.removeFirst(prunableCount(this.scheduled, nowMs, 0, 0), 'gc_delay passed');
      },
      Math.max(0, head.removeAtMs - this.options.clock.now()),
    );
  }

  /** Measures the disk and prunes what is older than it now allows. */
  async checkDiskUsage(): Promise<void> {
    const { gcDelayMs, diskHeadroom, workDir, log } = this.options;
    let usage: number;
    try {
      usage = await (this.options.diskUsage ?? diskUsage)(workDir);
    } catch (error) {
      log.error({ err: (error as Error).message }, 'could not measure disk usage');
      return;
    }
    if (this.isStopped) return;
    const maxAgeMs = maxSandboxAgeMs(gcDelayMs, diskHeadroom, usage);
    const count = prunableCount(this.scheduled, this.options.clock.now(), gcDelayMs, maxAgeMs);
    log.debug({ usage, max_age_ms: maxAgeMs, prunable: count }, 'disk usage checked');
    if (count > 0) this.removeFirst(count, 'disk usage');
  }

  /** Takes the first `count` entries off the schedule and removes them, in order. */
  private removeFirst(count: number, why: string): void {
    const due = this.scheduled.splice(0, count);
    this.arm();
    if (due.length === 0) return;
    this.removing = this.removing.then(async () => {
      for (const { path } of due) {
        try {
          await removeSandbox(this.options.slavesDir, path);
          this.succeeded += 1;
          this.options.log.info({ sandbox: path, why }, 'sandbox removed');
        } catch (error) {
          this.failed += 1;
          this.options.log.error(
            { sandbox: path, err: (error as Error).message },
            'sandbox not removed',
          );
        }
      }
    });
  }
}

/**
 * Removes a run directory `<slavesDir>/<agent>/frameworks/<f>/executors/<e>/runs/<c>`
 * and whatever parents it leaves empty, after checking that it has that shape
 * and that nothing on the way is a link. A path already gone is not an error.
 */
export async function removeSandbox(slavesDir: string, path: string): Promise<void> {
  const inside = relative(slavesDir, path);
  const parts = inside.split(sep);
  const isRunDir =
    !isAbsolute(inside) &&
    parts.length === 7 &&
    parts[1] === 'frameworks' &&
    parts[3] === 'executors' &&
    parts[5] === 'runs' &&
    parts[6] !== 'latest' &&
    parts.every((part) => part !== '' && part !== '.' && part !== '..');
  if (!isRunDir) throw new Error(`'${path}' is not a sandbox under ${slavesDir}`);
  let current = slavesDir;
  for (const part of ['', ...parts]) {
    current = part === '' ? current : join(current, part);
    const info = await lstat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info === undefined) return;
    if (info.isSymbolicLink() || !info.isDirectory())
      throw new Error(`'${current}' is not a directory (a link?): not removed`);
  }
  // fs.rm unlinks the links it meets inside; it never follows them.
  await rm(path, { recursive: true, force: true });
  const runs = join(path, '..');
  const latest = join(runs, 'latest');
  if ((await readlink(latest).catch(() => undefined)) === parts[6])
    await unlink(latest).catch(() => undefined);
  // The run's executor and framework directories, once nothing else is in them.
  let parent = runs;
  for (let depth = 0; depth < 4; depth++) {
    try {
      await rmdir(parent);
    } catch {
      return;
    }
    parent = join(parent, '..');
  }
}

async function directories(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}
