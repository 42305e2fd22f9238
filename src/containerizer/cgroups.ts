// Control groups, v1 or v2, as the cgroups isolator uses them: one cgroup per
// container under `--cgroups_root` (Mesos' layout: `<mount>/<root>/<container>`),
// with cpu shares (and a CFS quota when asked), a memory limit and a pids limit,
// and read back for statistics, OOM kills and the processes to kill. The host
// decides the version: this machine has v1 (a mount per controller); systemd
// hosts have v2 (one unified mount); both are detected from /proc/self/mountinfo.
// Long file: ContainerCgroup is every read and write of a container's cgroup in both versions
// (create, limits, resize, statistics, kill, remove), which share its paths and file names.
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type CgroupController = 'cpu' | 'cpuacct' | 'memory' | 'pids';
const CONTROLLERS: readonly CgroupController[] = ['cpu', 'cpuacct', 'memory', 'pids'];

/** Where the controllers are, and how: v1 mounts each (or a few together); v2 has one tree. */
export type CgroupsHierarchy =
  | { readonly version: 'v1'; readonly mounts: Readonly<Record<CgroupController, string>> }
  | { readonly version: 'v2'; readonly mount: string };

export type CgroupsDetection =
  | { readonly kind: 'available'; readonly hierarchy: CgroupsHierarchy }
  | { readonly kind: 'unavailable'; readonly reason: string };

/**
 * Finds the cgroup mounts in `mountinfo` (the text of /proc/self/mountinfo).
 * v1 wins when it has every controller Agora uses; else v2 if its root lists
 * them in cgroup.controllers (read through `readControllers`).
 */
export function detectCgroups(
  mountinfo: string,
  readControllers: (mount: string) => string | undefined = readCgroupControllers,
): CgroupsDetection {
  const v1 = new Map<CgroupController, string>();
  let v2: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const mount = parseMountinfoLine(line);
    if (mount === undefined) continue;
    if (mount.fsType === 'cgroup2') v2 ??= mount.mountPoint;
    else if (mount.fsType === 'cgroup')
      for (const option of mount.superOptions.split(','))
        if ((CONTROLLERS as readonly string[]).includes(option))
          v1.set(option as CgroupController, mount.mountPoint);
  }
  const missing = CONTROLLERS.filter((c) => !v1.has(c));
  if (missing.length === 0)
    return {
      kind: 'available',
      hierarchy: {
        version: 'v1',
        mounts: Object.fromEntries(v1) as Record<CgroupController, string>,
      },
    };
  if (v2 !== undefined) {
    const controllers = (readControllers(v2) ?? '').split(/\s+/);
    const lacking = ['cpu', 'memory', 'pids'].filter((c) => !controllers.includes(c));
    if (lacking.length === 0) return { kind: 'available', hierarchy: { version: 'v2', mount: v2 } };
    return {
      kind: 'unavailable',
      reason: `the cgroup v2 tree at ${v2} does not offer ${lacking.join(', ')}`,
    };
  }
  return {
    kind: 'unavailable',
    reason:
      v1.size > 0
        ? `cgroup v1 controllers ${missing.join(', ')} are not mounted`
        : 'no cgroup filesystem is mounted',
  };
}

/** One line of /proc/self/mountinfo: the fields the cgroup code reads. */
interface MountinfoEntry {
  /** The part of the filesystem shown at the mount point (`/`: all of it). */
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: string;
}

function parseMountinfoLine(line: string): MountinfoEntry | undefined {
  const [before, after] = line.split(' - ');
  if (before === undefined || after === undefined) return undefined;
  const [, , , root, mountPoint] = before.split(' ');
  const [fsType, , superOptions] = after.split(' ');
  if (root === undefined || mountPoint === undefined || fsType === undefined) return undefined;
  return { root, mountPoint, fsType, superOptions: superOptions ?? '' };
}

function readCgroupControllers(mount: string): string | undefined {
  try {
    return readFileSync(join(mount, 'cgroup.controllers'), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The procs file of the cgroup a process is in (`procSelfCgroup`: the text of its
 * /proc/<pid>/cgroup), in the hierarchy whose procs file a container's shim writes
 * first: v1's cpu controller (the first of `ContainerCgroup.directories`), or v2's
 * one tree. Undefined when the text names no such cgroup.
 */
export function ownProcsFile(
  hierarchy: CgroupsHierarchy,
  procSelfCgroup: string,
): string | undefined {
  for (const line of procSelfCgroup.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (!path.startsWith('/')) continue;
    if (hierarchy.version === 'v2' ? controllers === '' : controllers.split(',').includes('cpu'))
      return join(
        hierarchy.version === 'v2' ? hierarchy.mount : hierarchy.mounts.cpu,
        path,
        'cgroup.procs',
      );
  }
  return undefined;
}

/**
 * Starts, in the thread pool, a move of this process into the cgroup it is already in:
 * a move that moves nothing, made only for its lock. Every write to a cgroup.procs file
 * takes the kernel's cgroup_threadgroup_rwsem for writing, which, when no move happened
 * in the last few milliseconds, first waits for an RCU grace period: 5-20 ms on this
 * 2-vCPU VM, paid by a shim's first join, on the path of every task's start (#7 item
 * 17, bench/RESULTS.md). Started as a launch begins, the wait runs alongside the
 * agent's own work for the launch, and the shim's join shares the grace period in
 * flight instead of starting its own. Errors are ignored: the launch does not depend
 * on it. The cgroup is read again each time, just before the write, so the process
 * is put back only where it was a moment ago.
 */
export function warmCgroupMoves(hierarchy: CgroupsHierarchy): void {
  if (!mountsWholeTree(hierarchy)) return;
  let file: string | undefined;
  try {
    file = ownProcsFile(hierarchy, readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    return;
  }
  if (file !== undefined) writeFile(file, String(process.pid)).catch(() => undefined);
}

const wholeTree = new WeakMap<CgroupsHierarchy, boolean>();

/**
 * Whether the mount that ownProcsFile joins paths onto shows its hierarchy from the
 * top (mountinfo's root field `/`), so that /proc/self/cgroup's path names the cgroup
 * this process is in there. A mount of a subtree (a container's bind mount) would make
 * that path name another cgroup, or none: no warm-up then. Read once per hierarchy.
 */
function mountsWholeTree(hierarchy: CgroupsHierarchy): boolean {
  const known = wholeTree.get(hierarchy);
  if (known !== undefined) return known;
  const mount = hierarchy.version === 'v2' ? hierarchy.mount : hierarchy.mounts.cpu;
  let isWhole = false;
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const entry = parseMountinfoLine(line);
      if (entry?.mountPoint === mount && entry.fsType.startsWith('cgroup'))
        isWhole = entry.root === '/';
    }
  } catch {
    isWhole = false;
  }
  wholeTree.set(hierarchy, isWhole);
  return isWhole;
}

/** What a container may use, in kernel units. */
export interface CgroupLimits {
  /** cpus × 1024 (v1 cpu.shares); v2 maps it onto cpu.weight. */
  readonly cpuShares: number;
  /** With --cgroups_enable_cfs: the hard cap, µs of CPU per 100 ms period. */
  readonly cfsQuotaUs?: number;
  /** Infinity: none (v1 `-1`, v2 `max`), for a task whose memory limit is "Infinity". */
  readonly memoryLimitBytes: number;
  readonly pidsMax: number;
}

/** One value for one of a cgroup's files (a limit), written by whoever joins first. */
export interface CgroupWrite {
  readonly file: string;
  readonly value: string;
}

/** A cgroup's counters, as ResourceStatistics needs them; undefined where the kernel has none. */
export interface CgroupStatistics {
  readonly cpuUserSecs: number | undefined;
  readonly cpuSystemSecs: number | undefined;
  readonly nrPeriods: number | undefined;
  readonly nrThrottled: number | undefined;
  readonly throttledSecs: number | undefined;
  readonly memoryBytes: number | undefined;
  readonly memoryRssBytes: number | undefined;
  readonly memoryCacheBytes: number | undefined;
  readonly memoryPeakBytes: number | undefined;
  readonly oomKills: number;
  readonly processes: number;
}

export const CFS_PERIOD_US = 100_000;
/** USER_HZ: cpuacct.stat counts in these. */
const CLOCK_TICKS_PER_SECOND = 100;

/** One container's cgroup(s). Operations on a missing cgroup read as empty. */
export class ContainerCgroup {
  /** The paths below, joined once: a container's launch and end asked for them a dozen times. */
  private paths: { readonly directories: string[]; readonly procsFiles: string[] } | undefined;

  constructor(
    readonly hierarchy: CgroupsHierarchy,
    readonly root: string,
    readonly containerId: string,
  ) {}

  /** The directories of this container's cgroup: one per v1 controller, or one v2 directory. */
  get directories(): string[] {
    return [...this.joinedPaths().directories];
  }

  /** The files a process writes its PID to, to join every hierarchy of this container. */
  get procsFiles(): string[] {
    return [...this.joinedPaths().procsFiles];
  }

  private joinedPaths(): { readonly directories: string[]; readonly procsFiles: string[] } {
    if (this.paths !== undefined) return this.paths;
    const directories =
      this.hierarchy.version === 'v2'
        ? [join(this.hierarchy.mount, this.root, this.containerId)]
        : [...new Set(CONTROLLERS.map((c) => this.dir(c)))];
    this.paths = { directories, procsFiles: directories.map((dir) => join(dir, 'cgroup.procs')) };
    return this.paths;
  }

  private dir(controller: CgroupController): string {
    if (this.hierarchy.version === 'v2')
      return join(this.hierarchy.mount, this.root, this.containerId);
    return join(this.hierarchy.mounts[controller], this.root, this.containerId);
  }

  /** Creates the cgroup (and, on v2, delegates the controllers to it) and sets its limits. */
  create(limits: CgroupLimits): void {
    if (this.hierarchy.version === 'v2') {
      const top = join(this.hierarchy.mount, this.root);
      mkdirSync(top, { recursive: true });
      enableControllers(this.hierarchy.mount);
      enableControllers(top);
    }
    for (const dir of this.directories) mkdirSync(dir, { recursive: true });
    this.setLimits(limits);
  }

  setLimits(limits: CgroupLimits): void {
    for (const [dir, file, value] of this.limitWrites(limits)) write(dir, file, value);
  }

  /**
   * The cgroup of a container whose first process (its shim) makes it, writes the limits and
   * joins (shim.ts): returns the directories to make and the writes. v1's are the shim's to
   * make, after its fork: made by the agent before asking for the fork, an agent SIGKILLed in
   * between left them empty with nobody to remove them until it started again (on the event
   * loop each mkdir had also cost a cgroups agent a quarter of its time per task, bench:agent,
   * #9). The limits were written from the thread pool once, one turn of the agent's event
   * loop apiece (#7 item 17); the shim's shell writes them with builtins, off the agent. v2
   * (delegation first, in order) is created and limited here, as create() does, and leaves
   * nothing to make or write.
   */
  forShim(limits: CgroupLimits): {
    readonly directories: readonly string[];
    readonly writes: readonly CgroupWrite[];
  } {
    if (this.hierarchy.version === 'v2') {
      this.create(limits);
      return { directories: [], writes: [] };
    }
    return { directories: this.directories, writes: this.limitFiles(limits) };
  }

  /**
   * A running container's new `limits`, as Mesos' isolators update them when its executor's
   * tasks change: CPU weight and quota either way (a quota no longer asked for is removed),
   * the memory limit only raised (lowered below what the container uses, the kernel would
   * kill it), the pids limit left as it was set.
   */
  resize(limits: CgroupLimits): void {
    const memoryFile = this.hierarchy.version === 'v1' ? 'memory.limit_in_bytes' : 'memory.max';
    const current = read(this.dir('memory'), memoryFile)?.trim();
    const currentBytes = current === undefined || current === 'max' ? Infinity : Number(current);
    // v1 reads its "no limit" back as a huge page-aligned number, not -1.
    const isUnlimited = !Number.isFinite(currentBytes) || currentBytes >= 2 ** 62;
    for (const [dir, file, value] of this.limitWrites(limits)) {
      if (file.startsWith('pids.')) continue;
      if (file === memoryFile && (isUnlimited || limits.memoryLimitBytes <= currentBytes)) continue;
      write(dir, file, value);
    }
    if (limits.cfsQuotaUs === undefined) {
      if (this.hierarchy.version === 'v1') write(this.dir('cpu'), 'cpu.cfs_quota_us', '-1');
      else write(this.dir('cpu'), 'cpu.max', `max ${CFS_PERIOD_US}`);
    }
  }

  /** The writes that set `limits` (v1: the shim writes them before the task starts). */
  limitFiles(limits: CgroupLimits): CgroupWrite[] {
    return this.limitWrites(limits).map(([dir, file, value]) => ({ file: join(dir, file), value }));
  }

  /**
   * The files to write for `limits` into a fresh cgroup. The CFS period and quota are left
   * at the kernel's defaults (no quota) unless a quota is asked for.
   */
  private limitWrites(limits: CgroupLimits): [dir: string, file: string, value: string][] {
    const shares = Math.max(2, Math.round(limits.cpuShares));
    const quotaUs =
      limits.cfsQuotaUs === undefined ? undefined : Math.max(1000, Math.round(limits.cfsQuotaUs));
    // None: each version's word for no limit.
    const bytes = limits.memoryLimitBytes;
    const memory = Number.isFinite(bytes) ? String(bytes) : undefined;
    if (this.hierarchy.version === 'v1') {
      const cpu = this.dir('cpu');
      return [
        [cpu, 'cpu.shares', String(shares)],
        ...(quotaUs === undefined
          ? []
          : ([
              [cpu, 'cpu.cfs_period_us', String(CFS_PERIOD_US)],
              [cpu, 'cpu.cfs_quota_us', String(quotaUs)],
            ] as [string, string, string][])),
        [this.dir('memory'), 'memory.limit_in_bytes', memory ?? '-1'],
        [this.dir('pids'), 'pids.max', String(limits.pidsMax)],
      ];
    }
    const dir = this.dir('cpu');
    return [
      // cgroup v2's weight (1-10000, default 100) for v1's shares (2-262144, default 1024),
      // as the kernel's own conversion and systemd do.
      [
        dir,
        'cpu.weight',
        String(Math.min(10_000, 1 + Math.floor(((shares - 2) * 9999) / 262_142))),
      ],
      ...(quotaUs === undefined
        ? []
        : ([[dir, 'cpu.max', `${quotaUs} ${CFS_PERIOD_US}`]] as [string, string, string][])),
      [dir, 'memory.max', memory ?? 'max'],
      [dir, 'pids.max', String(limits.pidsMax)],
    ];
  }

  /** Every process in the container now, in any of its hierarchies. */
  pids(): number[] {
    const out = new Set<number>();
    for (const dir of this.joinedPaths().directories)
      for (const line of read(dir, 'cgroup.procs')?.split('\n') ?? [])
        if (/^\d+$/.test(line)) out.add(Number(line));
    return [...out];
  }

  /**
   * The processes in the container's first hierarchy: every way into a container (the
   * shim, a parked shim, joinArgv) joins the directories in order, the first first, and
   * whatever a member forks is born in all of them, so this is every process that is in
   * the container or on its way in, read from one file instead of one per v1 hierarchy
   * (four here; a container's end read them twice, 8 of its ~10 cgroup reads). A process
   * moved out of that hierarchy alone by someone else is missed: the rmdir of the
   * cgroup then fails, and cleanup sweeps with pids().
   */
  leadPids(): number[] {
    const out: number[] = [];
    const dir = this.joinedPaths().directories[0];
    if (dir === undefined) return out;
    for (const line of read(dir, 'cgroup.procs')?.split('\n') ?? [])
      if (/^\d+$/.test(line)) out.push(Number(line));
    return out;
  }

  /** The OOM kills in the container so far, and a reader of its peak memory (for the message). */
  oomKills(): { readonly oomKills: number; memoryPeakBytes(): number | undefined } {
    const v1 = this.hierarchy.version === 'v1';
    const dir = this.dir(v1 ? 'memory' : 'cpu');
    const counters = keyed(read(dir, v1 ? 'memory.oom_control' : 'memory.events'));
    return {
      oomKills: counters.get('oom_kill') ?? 0,
      memoryPeakBytes: () => number(read(dir, v1 ? 'memory.max_usage_in_bytes' : 'memory.peak')),
    };
  }

  statistics(): CgroupStatistics {
    const processes = this.pids().length;
    if (this.hierarchy.version === 'v1') {
      const cpuacct = keyed(read(this.dir('cpuacct'), 'cpuacct.stat'));
      const cpuStat = keyed(read(this.dir('cpu'), 'cpu.stat'));
      const memoryStat = keyed(read(this.dir('memory'), 'memory.stat'));
      const oom = keyed(read(this.dir('memory'), 'memory.oom_control'));
      const ticks = (n: number | undefined) =>
        n === undefined ? undefined : n / CLOCK_TICKS_PER_SECOND;
      const ns = cpuStat.get('throttled_time');
      return {
        cpuUserSecs: ticks(cpuacct.get('user')),
        cpuSystemSecs: ticks(cpuacct.get('system')),
        nrPeriods: cpuStat.get('nr_periods'),
        nrThrottled: cpuStat.get('nr_throttled'),
        throttledSecs: ns === undefined ? undefined : ns / 1e9,
        memoryBytes: number(read(this.dir('memory'), 'memory.usage_in_bytes')),
        memoryRssBytes: memoryStat.get('total_rss') ?? memoryStat.get('rss'),
        memoryCacheBytes: memoryStat.get('total_cache') ?? memoryStat.get('cache'),
        memoryPeakBytes: number(read(this.dir('memory'), 'memory.max_usage_in_bytes')),
        oomKills: oom.get('oom_kill') ?? 0,
        processes,
      };
    }
    const dir = this.dir('cpu');
    const cpuStat = keyed(read(dir, 'cpu.stat'));
    const memoryStat = keyed(read(dir, 'memory.stat'));
    const events = keyed(read(dir, 'memory.events'));
    const us = (n: number | undefined) => (n === undefined ? undefined : n / 1e6);
    return {
      cpuUserSecs: us(cpuStat.get('user_usec')),
      cpuSystemSecs: us(cpuStat.get('system_usec')),
      nrPeriods: cpuStat.get('nr_periods'),
      nrThrottled: cpuStat.get('nr_throttled'),
      throttledSecs: us(cpuStat.get('throttled_usec')),
      memoryBytes: number(read(dir, 'memory.current')),
      memoryRssBytes: memoryStat.get('anon'),
      memoryCacheBytes: memoryStat.get('file'),
      memoryPeakBytes: number(read(dir, 'memory.peak')),
      oomKills: events.get('oom_kill') ?? 0,
      processes,
    };
  }

  /** Removes the cgroup; false while processes are still in it. */
  remove(): boolean {
    let removed = true;
    for (const dir of this.directories) {
      try {
        rmdirSync(dir);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') removed = false;
      }
    }
    return removed;
  }

  /**
   * remove(), in the thread pool: an rmdir on cgroupfs waits for the kernel to
   * take the cgroup offline, and on the event loop that wait was a tenth of a
   * cgroups agent's time per task (bench:agent, #9). False while processes are
   * still in it.
   */
  async removeInBackground(): Promise<boolean> {
    const results = await Promise.all(
      this.directories.map((dir) =>
        rmdir(dir).then(
          () => true,
          (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
        ),
      ),
    );
    return results.every((isGone) => isGone);
  }
}

/** Container ids that have a cgroup under `root` now (for cleaning up after a crash). */
export function existingContainerCgroups(hierarchy: CgroupsHierarchy, root: string): string[] {
  const tops =
    hierarchy.version === 'v2'
      ? [join(hierarchy.mount, root)]
      : [...new Set(CONTROLLERS.map((c) => join(hierarchy.mounts[c], root)))];
  const ids = new Set<string>();
  for (const top of tops) {
    try {
      for (const entry of readdirSync(top, { withFileTypes: true }))
        if (entry.isDirectory()) ids.add(entry.name);
    } catch {
      // No root yet: nothing was ever created here.
    }
  }
  return [...ids];
}

function enableControllers(dir: string): void {
  const available = (read(dir, 'cgroup.controllers') ?? '').split(/\s+/);
  const wanted = ['cpu', 'memory', 'pids'].filter((c) => available.includes(c));
  if (wanted.length > 0) write(dir, 'cgroup.subtree_control', wanted.map((c) => `+${c}`).join(' '));
}

function write(dir: string, file: string, value: string): void {
  writeFileSync(join(dir, file), value);
}

function read(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

function number(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

/** `key value` lines (cpu.stat, memory.stat, memory.events, oom_control) as a map. */
function keyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text?.split('\n') ?? []) {
    const [key, value] = line.trim().split(/\s+/);
    if (key !== undefined && value !== undefined && /^\d+$/.test(value))
      out.set(key, Number(value));
  }
  return out;
}
