// The Mesos containerizer, as Agora does it: each task runs under a shim
// (shim.ts) that outlives the agent, isolated by POSIX means (a session and
// process group of its own) or by cgroups (cpu shares and CFS quota, memory
// and pids limits, the whole cgroup killed), chosen by --isolation. A
// restarted agent re-attaches to the shims it finds running (#9).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Resources } from '../resources/index.js';
import { commandArgv } from '../wire/index.js';
import { CgroupLedger } from './cgroup-ledger.js';
import {
  type CgroupLimits,
  type CgroupsHierarchy,
  type CgroupWrite,
  ContainerCgroup,
  existingContainerCgroups,
  warmCgroupMoves,
} from './cgroups.js';
import { containerLimits, memoryLimitation } from './container-limits.js';
import { killAll, signalGroup, signalPid } from './container-signals.js';
import { type LaunchedShim, ShimLauncher } from './launcher.js';
import { readStat } from './process-identity.js';
import { joinArgv, RUNTIME_FILES, runtimeFile, SHIM_FAILED_STATUS } from './shim.js';
import { type ClaimedShim, ShimParking } from './shim-parking.js';
import { appendStartTime, isSameProcess, readPid, readRecorded } from './task-record.js';
import { terminationFromShellStatus } from './termination.js';
import type {
  Container,
  Containerizer,
  KnownContainer,
  LaunchSpec,
  ResourceLimits,
  RunAsUser,
  Termination,
} from './types.js';
import { usageOf } from './usage.js';

const CLEANUP_RETRIES = 8; // more kill-and-remove rounds for a cgroup that stays (~5 s in all)
/** How often a re-attached container is checked for its end (its shim is not our child). */
const RECOVERED_POLL_MS = 250;
/** How long recovery waits for the shims of tasks found just ended to record their ends. */
const RECOVER_RECORD_GRACE_MS = 1000;
/** How long a re-attached task's shim gets to record its end once the task is gone. */
const SHIM_RECORD_GRACE_MS = 5000;
const NO_CGROUP = { cgroup: undefined, directories: [], limits: [] } as const;
/** How long after a warm-up of cgroup moves another launch counts as warmed by it. */
const WARM_UP_REUSE_MS = 20;

export type Isolation =
  | { readonly kind: 'posix' }
  | {
      readonly kind: 'cgroups';
      readonly hierarchy: CgroupsHierarchy;
      /** --cgroups_root: the parent of every container's cgroup. */
      readonly root: string;
      /** --cgroups_enable_cfs: cap CPU at the task's cpus, not only weigh it. */
      readonly enableCfs: boolean;
      /** Processes a container may have (the pids controller). */
      readonly pidsMax: number;
    };

export interface MesosContainerizerOptions {
  readonly isolation: Isolation;
  /**
   * Where this containerizer records each cgroup before making it (cgroup-ledger.ts). Recovery
   * removes only cgroups recorded here: agents on one host share `--cgroups_root` (a local
   * cluster does), and a sweep of the whole root would kill the others' tasks. Without it, none.
   */
  readonly ledgerDir?: string;
  /**
   * Keep a shim parked in a cgroup of its own for the next launch (shim-parking.ts; cgroups
   * v1 with a ledger only). On by default; off for a paired benchmark of the two paths.
   */
  readonly parkShims?: boolean;
  /** How long launches must stop before the next shim parks after a burst; 50 ms if not given. */
  readonly parkQuietMs?: number;
}

interface Watched {
  readonly shimPid: number | undefined;
  /** True once the container has ended (and its end is being read). */
  readonly check: () => boolean;
}

interface Running {
  readonly shimPid: number | undefined;
  readonly taskPid: number;
  readonly cgroup: ContainerCgroup | undefined;
  readonly resources: Resources;
}

export class MesosContainerizer implements Containerizer {
  private readonly running = new Map<string, Running>();
  /** Re-attached containers: their shims are not our children, so they are polled. */
  private readonly watched = new Map<string, Watched>();
  private poller: NodeJS.Timeout | undefined;
  private readonly launcher = new ShimLauncher();
  private warmedAtMs = Number.NEGATIVE_INFINITY;
  /** A shim parked in a cgroup of its own for the next launch (cgroups v1 with a ledger). */
  private readonly parking: ShimParking | undefined;
  private readonly ledger: CgroupLedger | undefined;

  constructor(private readonly options: MesosContainerizerOptions) {
    const { isolation, ledgerDir } = options;
    this.ledger = ledgerDir === undefined ? undefined : new CgroupLedger(ledgerDir);
    // cgroup v2 cannot rename a cgroup; without a ledger a crash would leave the slot.
    if (
      isolation.kind === 'cgroups' &&
      isolation.hierarchy.version === 'v1' &&
      ledgerDir !== undefined &&
      options.parkShims !== false
    )
      this.parking = new ShimParking({
        hierarchy: isolation.hierarchy,
        root: isolation.root,
        dir: join(dirname(ledgerDir), 'parked'),
        launcher: this.launcher,
        ...(options.parkQuietMs !== undefined ? { quietMs: options.parkQuietMs } : {}),
        record: (id) => this.record(id),
        forget: (id) => this.forget(id),
      });
  }

  get description(): string {
    const isolation = this.options.isolation;
    return isolation.kind === 'posix'
      ? 'posix/cpu,posix/mem (no limits enforced)'
      : `cgroups/cpu,cgroups/mem,cgroups/pids on cgroup ${isolation.hierarchy.version} under ${isolation.root}${isolation.enableCfs ? ' with CFS quotas' : ''}`;
  }

  /** Starts the warm-up of cgroup moves (cgroups.ts warmCgroupMoves) for the shim's join. */
  willLaunch(): void {
    const isolation = this.options.isolation;
    if (isolation.kind !== 'cgroups') return;
    // The parked shim has joined already; a warm-up's move would hold the cgroup mutex
    // through its grace period, and the parked cgroup's rename waits for that mutex.
    if (this.parking?.isReady === true) return;
    const nowMs = performance.now();
    // One warm-up serves the launches of the next few milliseconds; each holds a thread
    // of the pool, which the cgroups' directories are made in, until the grace period.
    if (nowMs - this.warmedAtMs < WARM_UP_REUSE_MS) return;
    this.warmedAtMs = nowMs;
    warmCgroupMoves(isolation.hierarchy);
  }

  async launch(spec: LaunchSpec): Promise<Container> {
    const launched = this.parking?.launching();
    const claimed = await this.parking?.claim(spec.containerId);
    // The next launch's shim parks once launches stop coming for a moment.
    this.parking?.parkSoon();
    // Whoever launches without saying so first (task groups, executors) still gets it.
    if (claimed === undefined) this.willLaunch();
    // A container id is new with each launch, so these are not there; one look to be sure.
    // The agent made the directory with its checkpoint: made here only when it did not.
    const stale = new Set<string>(Object.values(RUNTIME_FILES));
    for (const name of entriesMakingDir(spec.runtimeDir))
      if (stale.has(name)) rmSync(join(spec.runtimeDir, name), { force: true });
    // Nothing to wait for: the launcher (or the parked shim) is told to fork before this
    // returns its promise; a new cgroup's directories are the shim's to make, after its fork
    // (createCgroup). Either way spec.onLaunching follows the line, so the caller's
    // TASK_STARTING never runs between the two.
    const { cgroup, directories, limits } =
      claimed !== undefined
        ? {
            cgroup: claimed.cgroup,
            directories: [],
            limits: claimed.cgroup.limitFiles(
              containerLimits(this.options.isolation, spec.resources, spec.limits),
            ),
          }
        : this.options.isolation.kind === 'cgroups'
          ? this.createCgroup(
              spec.containerId,
              containerLimits(this.options.isolation, spec.resources, spec.limits),
            )
          : NO_CGROUP;
    let shim: LaunchedShim;
    try {
      const starting = this.startShim(spec, cgroup, { directories, limits }, claimed);
      // The line to the launcher (or the parked shim's FIFO) is written: the rest is theirs.
      spec.onLaunching?.();
      shim = await starting;
    } catch (error) {
      // A launch lost with its launcher may have started something after all.
      if (cgroup !== undefined) await killAll(cgroup, undefined);
      if (cgroup?.remove() === true) this.forget(spec.containerId);
      throw error;
    } finally {
      launched?.();
    }
    if (shim.kind === 'failed') {
      await this.ended(spec.runtimeDir, cgroup, spec.resources);
      if (cgroup?.remove() === true) this.forget(spec.containerId);
      throw new Error(
        `the task did not start${shim.status === SHIM_FAILED_STATUS ? ' (could not enter its sandbox, or limit or join its cgroups)' : ` (status ${shim.status})`}`,
      );
    }
    // The task's `setsid` may not have run yet: nothing here waits for it (the agent polled
    // /proc until it had, most of its CPU per task; bench/RESULTS.md, #9). Its start time is
    // its fork's, and a signal before it leads its group reaches it alone (signalGroup).
    const { taskPid, shimPid } = shim;
    const startTime = readStat(taskPid)?.startTime;
    if (startTime !== undefined)
      appendStartTime(runtimeFile(spec.runtimeDir, 'taskPid'), startTime);
    const running: Running = { shimPid, taskPid, cgroup, resources: spec.resources };
    this.running.set(spec.containerId, running);
    // The shim's end line is how its end is learnt; a shim killed before it could write one
    // is found gone by the poller (it is the launcher's child, not ours).
    const shimStartTime = readStat(shimPid)?.startTime;
    // The end line carries the status the shim has just recorded: no need to read it back.
    const exited = new Promise<number | undefined>((resolve) => {
      void shim.end.then((status) => {
        if (this.watched.get(spec.containerId)?.shimPid === shimPid)
          this.watched.delete(spec.containerId);
        resolve(status);
      });
      this.watch(spec.containerId, shimPid, () => {
        if (readStat(shimPid)?.startTime === shimStartTime && shimStartTime !== undefined)
          return false;
        shim.release();
        resolve(undefined);
        return true;
      });
    });
    const terminated = exited.then((status) =>
      this.ended(spec.runtimeDir, cgroup, spec.resources, status),
    );
    return this.container(spec.containerId, running, terminated);
  }

  /** The launch's shim: forked by the launcher, or the parked one, told through its FIFO. */
  private startShim(
    spec: LaunchSpec,
    cgroup: ContainerCgroup | undefined,
    made: { readonly directories: readonly string[]; readonly limits: readonly CgroupWrite[] },
    claimed: ClaimedShim | undefined,
  ): Promise<LaunchedShim> {
    const launch = {
      sandbox: spec.sandbox,
      runtimeDir: spec.runtimeDir,
      environment: spec.environment,
      cgroupDirs: made.directories,
      cgroupLimits: made.limits,
      cgroupProcsFiles: claimed === undefined ? (cgroup?.procsFiles ?? []) : [],
      command: runAsArgv(spec.user, commandArgv(spec.command)),
    };
    if (claimed === undefined) return this.launcher.launch(launch);
    try {
      // handOver writes the go before it returns its promise; the FIFO can close then.
      const started = this.launcher.handOver(launch, claimed);
      void started.then(claimed.forget, claimed.forget);
      return started;
    } finally {
      claimed.release();
    }
  }

  async recover(known: readonly KnownContainer[]): Promise<Map<string, Container | Termination>> {
    const out = new Map<string, Container | Termination>();
    // A task that ended a moment ago may not have its end recorded yet: its shim writes it
    // just after reaping it (the agent fault loop caught a recovery in between).
    const isJustEnded = (entry: KnownContainer) =>
      readRecorded(entry.runtimeDir) === undefined &&
      readPid(runtimeFile(entry.runtimeDir, 'taskPid')) !== undefined &&
      !isSameProcess(readPid(runtimeFile(entry.runtimeDir, 'taskPid')), entry.runtimeDir) &&
      (this.cgroupOf(entry.containerId)?.pids().length ?? 0) === 0;
    const deadlineMs = performance.now() + RECOVER_RECORD_GRACE_MS;
    while (known.some(isJustEnded) && performance.now() < deadlineMs) await delay(20);
    for (const entry of known) {
      const cgroup = this.cgroupOf(entry.containerId);
      const recorded = readRecorded(entry.runtimeDir);
      const taskPid = readPid(runtimeFile(entry.runtimeDir, 'taskPid'));
      const isAlive = isSameProcess(taskPid, entry.runtimeDir) || (cgroup?.pids().length ?? 0) > 0;
      if (recorded !== undefined || !isAlive || taskPid === undefined) {
        out.set(entry.containerId, await this.ended(entry.runtimeDir, cgroup, entry.resources));
        continue;
      }
      // The shim is the task's parent (it started the task and waits for it); a kill's sweep
      // of the cgroup must spare it here too, or the task's end would go unrecorded.
      const parent = readStat(taskPid)?.ppid;
      const shimPid =
        parent !== undefined && (cgroup?.pids().includes(parent) ?? false) ? parent : undefined;
      const running: Running = { shimPid, taskPid, cgroup, resources: entry.resources };
      this.running.set(entry.containerId, running);
      let goneSinceMs: number | undefined;
      const terminated = new Promise<Termination>((resolve) => {
        this.watch(entry.containerId, shimPid, () => {
          let done = readRecorded(entry.runtimeDir) !== undefined;
          if (!done && !this.isAlive(running)) {
            // Gone, and nothing recorded yet: the shim writes how the task ended just after
            // reaping it, and without cgroups (which hold the shim too) the shim is not
            // watched, so it gets a moment; only a shim that was killed never writes.
            goneSinceMs ??= performance.now();
            done = performance.now() - goneSinceMs >= SHIM_RECORD_GRACE_MS;
          }
          if (done) void this.ended(entry.runtimeDir, cgroup, entry.resources).then(resolve);
          return done;
        });
      });
      out.set(entry.containerId, this.container(entry.containerId, running, terminated));
    }
    // Cgroups this agent made that no known container explains are what a crash left
    // behind: emptied and removed. Another agent's cgroups under the same root are not ours.
    if (this.options.isolation.kind === 'cgroups' && this.ledger !== undefined) {
      const knownIds = new Set(known.map((k) => k.containerId));
      const existing = new Set(
        existingContainerCgroups(this.options.isolation.hierarchy, this.options.isolation.root),
      );
      for (const id of this.ledger.entries())
        if (!knownIds.has(id)) {
          const stray = existing.has(id) ? this.cgroupOf(id) : undefined;
          if (stray !== undefined) await killAll(stray, undefined);
          if (stray === undefined || stray.remove()) this.forget(id);
        }
    }
    // After the sweep, which would take a slot parked before it for a stray.
    this.parking?.parkSoon();
    return out;
  }

  /** Its cgroup resized (cgroups.ts resize); with POSIX isolation there is nothing to size. */
  update(containerId: string, resources: Resources, limits?: ResourceLimits): void {
    this.cgroupOf(containerId)?.resize(containerLimits(this.options.isolation, resources, limits));
  }

  async cleanup(containerId: string): Promise<void> {
    const running = this.running.get(containerId);
    this.running.delete(containerId);
    this.watched.delete(containerId);
    const cgroup = running?.cgroup ?? this.cgroupOf(containerId);
    if (cgroup === undefined) return;
    // The rmdir first: it fails while anything is in the cgroup, and at a container's end
    // its processes were killed already (ended), so the sweep's reads of every hierarchy
    // are paid only when it fails. A probe entering the container as it ends can join after
    // the last kill round: kill and remove again for a few seconds; else the ledger keeps it
    // for a restart.
    if (await cgroup.removeInBackground()) return this.forget(containerId);
    for (let attempt = 0; attempt <= CLEANUP_RETRIES; attempt += 1) {
      if (attempt > 0) await delay(Math.min(25 * 2 ** attempt, 1000));
      await killAll(cgroup, undefined);
      if (await cgroup.removeInBackground()) return this.forget(containerId);
    }
  }

  /** Records, before it exists, a cgroup this containerizer is about to make. */
  private record(containerId: string): void {
    this.ledger?.record(containerId);
  }

  private forget(containerId: string): void {
    this.ledger?.forget(containerId);
  }

  enter(
    containerId: string,
    command: readonly string[],
    user?: RunAsUser,
  ): { readonly file: string; readonly args: readonly string[] } | undefined {
    const running = this.running.get(containerId);
    if (running === undefined) return undefined;
    return joinArgv(running.cgroup?.procsFiles ?? [], runAsArgv(user, command));
  }

  /**
   * Lets the launcher go and stops polling (containers keep running; the ends of those
   * it launched are still reported, by their shims' lines).
   */
  async close(): Promise<void> {
    // The parked shim and its cgroup go first, the launcher after: it holds the shim's FIFO
    // open, and a shim whose FIFO ends before it is killed leaves its cgroup for the
    // containers' root on its way out (parkScript's abandon), where the root's removal
    // would find it.
    const parked = this.parking?.close();
    if (this.poller !== undefined) clearInterval(this.poller);
    this.poller = undefined;
    this.watched.clear();
    await parked;
    this.launcher.close();
  }

  private container(id: string, running: Running, terminated: Promise<Termination>): Container {
    let isTerminated = false;
    void terminated.then(() => {
      isTerminated = true;
    });
    return {
      id,
      pid: running.taskPid,
      cgroupProcsFiles: running.cgroup?.procsFiles ?? [],
      terminated,
      signal: (signal) => {
        if (isTerminated) return;
        signalGroup(running.taskPid, signal);
        // Anything that left the task's group (a double fork) is still in its cgroup.
        for (const pid of running.cgroup?.pids() ?? [])
          if (pid !== running.shimPid) signalPid(pid, signal);
      },
      usage: () => usageOf(running),
    };
  }

  /**
   * The container's cgroup, recorded in the ledger first (a restarted agent's recovery then
   * removes it, whoever made it), with the directories its shim is to make after its fork
   * and the limits it is to write before it joins (v2's are made here: cgroups.ts forShim).
   */
  private createCgroup(
    containerId: string,
    wanted: CgroupLimits,
  ): {
    readonly cgroup: ContainerCgroup | undefined;
    readonly directories: readonly string[];
    readonly limits: readonly CgroupWrite[];
  } {
    const isolation = this.options.isolation;
    if (isolation.kind !== 'cgroups') return NO_CGROUP;
    this.record(containerId);
    const cgroup = new ContainerCgroup(isolation.hierarchy, isolation.root, containerId);
    const { directories, writes } = cgroup.forShim(wanted);
    return { cgroup, directories, limits: writes };
  }

  private cgroupOf(containerId: string): ContainerCgroup | undefined {
    const isolation = this.options.isolation;
    return isolation.kind === 'cgroups'
      ? new ContainerCgroup(isolation.hierarchy, isolation.root, containerId)
      : undefined;
  }

  /** How the container ended, once its task is gone; whatever is left in its cgroup is killed. */
  private async ended(
    runtimeDir: string,
    cgroup: ContainerCgroup | undefined,
    resources: Resources,
    reportedStatus?: number,
  ): Promise<Termination> {
    const recorded =
      reportedStatus === undefined
        ? readRecorded(runtimeDir)
        : terminationFromShellStatus(String(reportedStatus));
    // The OOM counter alone (one file), not every statistic (a dozen reads per task's end).
    const memory = cgroup?.oomKills();
    // One hierarchy's procs: cleanup's rmdir tells if anything was missed, and sweeps then.
    if (cgroup !== undefined) await killAll(cgroup, undefined, 'lead');
    const base: Termination = recorded ?? { exitCode: null, signal: null, isUnknown: true };
    const limitation =
      memory !== undefined && memory.oomKills > 0
        ? memoryLimitation(resources, memory.memoryPeakBytes())
        : undefined;
    return limitation === undefined ? base : { ...base, limitation };
  }

  private isAlive(running: Running): boolean {
    // A launched (not re-attached) task's PID stays ours until its shim reaps it.
    return readStat(running.taskPid) !== undefined || (running.cgroup?.pids().length ?? 0) > 0;
  }

  private watch(containerId: string, shimPid: number | undefined, check: () => boolean): void {
    this.watched.set(containerId, { shimPid, check });
    if (this.poller !== undefined) return;
    this.poller = setInterval(() => {
      for (const [id, { check: isDone }] of this.watched) if (isDone()) this.watched.delete(id);
      if (this.watched.size === 0 && this.poller !== undefined) {
        clearInterval(this.poller);
        this.poller = undefined;
      }
    }, RECOVERED_POLL_MS);
    this.poller.unref();
  }
}

/**
 * The argv that runs `argv` as `user` (--switch_user): setpriv(1) drops to the user's ids and
 * groups once the shim has put the task in its cgroups and session, then execs the command,
 * so the task and all it forks run as the user and the shim (and the launcher) stay as they are.
 */
export function runAsArgv(user: RunAsUser | undefined, argv: readonly string[]): string[] {
  if (user === undefined) return [...argv];
  return [
    '/usr/bin/setpriv',
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--init-groups',
    '--',
    ...argv,
  ];
}

/** The names in `dir`, which is made (with its parents) if it is not there. */
function entriesMakingDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dir, { recursive: true });
    return [];
  }
}
