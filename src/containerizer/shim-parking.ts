// One shim parked ahead of the next launch, with cgroups v1 (#7 item 17). A
// process's first write to a cgroup.procs file waits for an RCU grace period
// (the kernel's cgroup_threadgroup_rwsem, 5-20 ms on this 2-vCPU VM,
// bench/RESULTS.md "Task start, third pass"), and every task's shim paid it on
// the path to the task's start. A parked shim pays it before any launch: it
// joins a cgroup of its own (`parked-<uuid>` under the containers' root), then
// waits on a FIFO. A launch renames that cgroup to the container's id (a v1
// rename moves no process and takes no threadgroup lock), writes the launch to a
// file the shim knows and a newline into the FIFO; the shim, already in place, writes the limits
// and forks the task. With none ready (a burst of launches, the first launch,
// cgroup v2, which has no rename), the launch goes the usual way.
//
// Nothing leaks: the cgroup is recorded in the containerizer's ledger before it
// is made (a restarted agent's recovery removes an unused one); the shim makes it
// after its fork, so no agent death leaves it without a shim; the shim's read
// ends with end of file when the agent dies, so no parked process outlives the
// agent, and the shim then removes its cgroups itself (parkScript); and close()
// kills and removes the slot.
import { randomUUID } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, rmSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type CgroupsHierarchy, ContainerCgroup } from './cgroups.js';
import type { ShimLauncher } from './launcher.js';
import { readStat } from './process-identity.js';

/** The prefix of a parked cgroup's name; container ids are UUIDs, never this. */
export const PARKED_PREFIX = 'parked-';
/**
 * How long after the last launch the next shim is parked: a burst of launches takes the
 * usual path instead of paying a park (a fork and a mkfifo) per task.
 */
const PARK_DELAY_MS = 50;
/**
 * A lone launch parks the next shim this long after its own shim reported the task's fork,
 * not after the quiet spell: the task's own execs (setsid, sh, the command) run in these
 * few ms, and the park's fork and mkfifo would compete with them for the CPU.
 */
const PARK_AFTER_LONE_LAUNCH_MS = 10;
/** How long a shim gets to report it is parked before the slot is given up. */
const PARK_TIMEOUT_MS = 5000;
/** How long the slot's processes get to go when it is given up. */
const REMOVE_TRIES = 40;
/**
 * How long a slot given up before its shim reported waits for that report before its
 * cgroup is removed anyway (a launcher that died never sends it).
 */
const REPORT_WAIT_MS = 2000;
/** Parks that fail in a row before parking stops (no mkfifo, a cgroup that refuses joins). */
const MAX_FAILED_PARKS = 3;

export interface ShimParkingOptions {
  readonly hierarchy: CgroupsHierarchy;
  readonly root: string;
  /** Where the parked shim's FIFO and the launch handed to it live. */
  readonly dir: string;
  readonly launcher: ShimLauncher;
  /** The quiet spell after a burst of launches before a shim parks (PARK_DELAY_MS). */
  readonly quietMs?: number;
  /** The ledger: a cgroup is recorded before it is made, forgotten once it is gone or renamed. */
  record(containerId: string): void;
  forget(containerId: string): void;
}

interface Slot {
  readonly id: string;
  readonly cgroup: ContainerCgroup;
  readonly fifo: string;
  /** Where the launch handed to it goes (parkScript). */
  readonly launchFile: string;
  isMade: boolean;
  isDiscarded: boolean;
  fd: number | undefined;
  shimPid: number | undefined;
  stopListening: (() => void) | undefined;
  timeout: NodeJS.Timeout | undefined;
  /**
   * Settles when the shim asked for has reported parked or ended. Until then its cgroup
   * stays: a shim that finds its cgroup gone moves itself into the containers' root on the
   * way out (parkScript's abandon), and the root could not be removed while it is there.
   */
  reported: Promise<void> | undefined;
}

/** A parked shim handed to a launch: its cgroup, now the container's, and its FIFO. */
export interface ClaimedShim {
  readonly cgroup: ContainerCgroup;
  readonly fifoFd: number;
  /** Where the launch's script goes: the shim runs it once the FIFO gives the go. */
  readonly launchFile: string;
  /** Closes the agent's end of the FIFO, once the go is written. */
  release(): void;
  /** Removes the launch's script, once the shim has reported (it has the file open). */
  forget(): void;
}

export class ShimParking {
  private slot: Slot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private isClosed = false;
  private isDirClean = false;
  private failedParks = 0;
  /** When the latest launch began (performance.now()): a lone launch is one with none before it within the quiet spell. */
  private lastLaunchAtMs = Number.NEGATIVE_INFINITY;
  /** The park under way, if any. */
  private inFlight: Promise<void> | undefined;
  private readonly discarding = new Set<Promise<void>>();

  constructor(private readonly options: ShimParkingOptions) {}

  /** Whether a parked shim is ready to take the next launch. */
  get isReady(): boolean {
    const slot = this.slot;
    return slot?.fd !== undefined && slot.shimPid !== undefined && !slot.isDiscarded;
  }

  /** Parks a shim after a short quiet spell, unless one is parked or on its way. */
  parkSoon(delayMs = this.options.quietMs ?? PARK_DELAY_MS): void {
    if (this.isClosed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const parking = this.park();
      this.inFlight = parking;
      void parking.finally(() => {
        if (this.inFlight === parking) this.inFlight = undefined;
      });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Called as a launch begins; the caller calls what it returns once that launch's shim
   * has reported (or failed). After a lone launch the next shim parks then, instead of
   * after the quiet spell: a park takes 10-30 ms (a join's grace period, a fork, a
   * mkfifo), so with the spell a shim was ready only 60-80 ms after a launch, and one
   * `agora run` after another (about 60 ms apart on a quiet machine, bench/latency.ts)
   * missed it and paid the usual path's join; worse, the park's join then held the
   * kernel's cgroup mutex through its grace period just as the next launch needed it. A
   * launch with another before it within the spell is part of a burst: the quiet-spell
   * timer (parkSoon) parks once the burst is over, so a burst pays for one park, not one
   * per task.
   */
  launching(): () => void {
    const atMs = performance.now();
    const isLone = atMs - this.lastLaunchAtMs >= (this.options.quietMs ?? PARK_DELAY_MS);
    this.lastLaunchAtMs = atMs;
    if (!isLone) return () => undefined;
    return () => {
      // Another launch since: a burst after all, left to the quiet spell.
      if (this.lastLaunchAtMs === atMs) this.parkSoon(PARK_AFTER_LONE_LAUNCH_MS);
    };
  }

  /**
   * The parked shim for `containerId`, its cgroup renamed to the container's (recorded in
   * the ledger first); undefined when none is ready or the rename fails. The caller writes
   * the launch's path to `fifoFd` and then calls release(). The renames run in the thread
   * pool: each waits for the kernel's cgroup mutex, which other shims' joins hold, and the
   * agent's loop must not stall behind them (tens of ms each on a busy agent).
   */
  async claim(containerId: string): Promise<ClaimedShim | undefined> {
    const slot = this.slot;
    if (slot === undefined || !this.isReady) return undefined;
    const { fd, shimPid } = slot;
    if (fd === undefined || shimPid === undefined) return undefined;
    this.slot = undefined;
    slot.stopListening?.();
    clearTimeout(slot.timeout);
    // Gone (killed by someone): the FIFO would take the line and nobody would read it.
    if (readStat(shimPid) === undefined) {
      this.discard(slot);
      return undefined;
    }
    this.options.record(containerId);
    let cgroup: ContainerCgroup;
    try {
      cgroup = await renameCgroup(slot.cgroup, containerId);
    } catch {
      this.options.forget(containerId);
      this.discard(slot);
      return undefined;
    }
    this.options.forget(slot.id);
    return {
      cgroup,
      fifoFd: fd,
      launchFile: slot.launchFile,
      release: () => {
        closeSync(fd);
        // The shim holds the FIFO open (it read, or is reading, the go): the names can go.
        rmSync(slot.fifo, { force: true });
      },
      forget: () => rmSync(slot.launchFile, { force: true }),
    };
  }

  /** Kills and removes the parked shim and its cgroup; no more are parked. */
  async close(): Promise<void> {
    this.isClosed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const slot = this.slot;
    if (slot !== undefined) this.discard(slot);
    // A park still making its directories removes them itself once they are made: waited
    // for, or a stopping agent would exit first and leave them (its ledger names them).
    await this.inFlight;
    await Promise.all([...this.discarding]);
  }

  private async park(): Promise<void> {
    if (this.isClosed || this.slot !== undefined) return;
    const { hierarchy, root, dir, launcher } = this.options;
    if (!this.isDirClean) {
      // What an earlier life of the agent left (its cgroups go with the ledger's sweep).
      rmSync(dir, { recursive: true, force: true });
      this.isDirClean = true;
    }
    mkdirSync(dir, { recursive: true });
    const id = `${PARKED_PREFIX}${randomUUID()}`;
    const slot: Slot = {
      id,
      cgroup: new ContainerCgroup(hierarchy, root, id),
      fifo: join(dir, `${id}.fifo`),
      launchFile: join(dir, `${id}.launch`),
      isMade: false,
      isDiscarded: false,
      fd: undefined,
      shimPid: undefined,
      stopListening: undefined,
      timeout: undefined,
      reported: undefined,
    };
    this.slot = slot;
    try {
      this.options.record(id);
      // Made now, empty: the launch then writes its script into a file that exists. A new
      // inode on the task's path cost 0.1-0.5 ms where the disk had freed many lately (ext4
      // looks past each; bench/RESULTS.md), and the launch makes a dozen already.
      closeSync(openSync(slot.launchFile, 'w', 0o600));
      // The shim makes the cgroup's directories itself, after its fork (parkScript): made here,
      // an agent SIGKILLed before the launcher forked left them empty with nobody to remove
      // them until it started again (which may be never). From here on they may exist.
      slot.isMade = true;
      slot.timeout = setTimeout(() => this.discard(slot), PARK_TIMEOUT_MS);
      slot.timeout.unref();
      let report = (): void => {};
      slot.reported = new Promise<void>((resolve) => {
        report = resolve;
      });
      slot.stopListening = launcher.park(
        { cgroupProcsFiles: slot.cgroup.procsFiles, fifo: slot.fifo, launchFile: slot.launchFile },
        {
          parked: (shimPid) => {
            report();
            clearTimeout(slot.timeout);
            // Given up meanwhile: remove() kills it, in the cgroup it has joined.
            if (slot.isDiscarded) return;
            this.failedParks = 0;
            try {
              // Read and write: never blocks, and the shim's open of the FIFO returns.
              slot.fd = openSync(slot.fifo, constants.O_RDWR);
              slot.shimPid = shimPid;
            } catch {
              this.discard(slot);
            }
          },
          ended: () => {
            report();
            this.discard(slot);
          },
        },
      );
    } catch {
      slot.isMade = true;
      this.discard(slot);
    }
  }

  private discard(slot: Slot): void {
    if (slot.isDiscarded) return;
    slot.isDiscarded = true;
    if (slot.shimPid === undefined) this.failedParks += 1;
    if (this.slot === slot) this.slot = undefined;
    clearTimeout(slot.timeout);
    if (slot.fd !== undefined) {
      // Killed before its FIFO closes: end of file tells a parked shim the agent died, and it
      // would start removing its cgroups from under remove() below.
      killAll(slot.cgroup);
      closeSync(slot.fd);
    }
    slot.fd = undefined;
    // Still being made: park() removes it once its directories are there.
    if (slot.isMade) this.track(this.remove(slot));
    if (!this.isClosed && this.failedParks < MAX_FAILED_PARKS) this.parkSoon();
  }

  private track(work: Promise<void>): void {
    this.discarding.add(work);
    void work.finally(() => this.discarding.delete(work));
  }

  /**
   * Once its shim has reported (or not within REPORT_WAIT_MS), SIGKILLs what is in the
   * slot's cgroup, removes it, and forgets it in the ledger.
   */
  private async remove(slot: Slot): Promise<void> {
    if (slot.reported !== undefined) {
      // Refed: a stopping agent waits for the line (its pipe does not hold the loop open).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        slot.reported,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, REPORT_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    slot.stopListening?.();
    for (let attempt = 0; attempt < REMOVE_TRIES; attempt += 1) {
      killAll(slot.cgroup);
      if (await slot.cgroup.removeInBackground()) {
        this.options.forget(slot.id);
        break;
      }
      await delay(Math.min(5 * 2 ** attempt, 100));
    }
    rmSync(slot.fifo, { force: true });
    rmSync(slot.launchFile, { force: true });
  }
}

/** SIGKILLs every process in `cgroup`. */
function killAll(cgroup: ContainerCgroup): void {
  for (const pid of cgroup.pids())
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
}

/**
 * Renames `cgroup` to `containerId` in every hierarchy, processes and all: on v1 a rename
 * within the parent takes no threadgroup lock, so the parked shim stays in the cgroup with
 * no move. cgroup v2 refuses renames. Throws, with the renames undone, if one fails. The
 * hierarchies' renames are asked for all at once: one after another, each waited for a
 * thread-pool hop, and on a busy host each hop was milliseconds on the task's path.
 */
async function renameCgroup(
  cgroup: ContainerCgroup,
  containerId: string,
): Promise<ContainerCgroup> {
  const target = new ContainerCgroup(cgroup.hierarchy, cgroup.root, containerId);
  const from = cgroup.directories;
  const to = target.directories;
  const outcomes = await Promise.allSettled(from.map((path, i) => rename(path, to[i] as string)));
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed === undefined) return target;
  await Promise.all(
    outcomes.map((outcome, i) =>
      outcome.status === 'fulfilled'
        ? // Left under the new name if this fails too: removed with the container's cgroup.
          rename(to[i] as string, from[i] as string).catch(() => undefined)
        : undefined,
    ),
  );
  throw failed.reason;
}
