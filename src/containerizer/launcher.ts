// The launcher: one long-lived /bin/sh per containerizer that forks the shims.
// Starting a process from the agent blocks its event loop until the child has
// exec'd (libuv waits to report an exec failure): ~4 ms of a ~100 MB agent per
// task, plus the fork's page-table copy, which capped a 2-core agent far below
// the 300 launches/s it must reach. The launcher is a small shell that costs a
// fraction of that per fork and blocks no one: it reads commands from its stdin,
// and the agent writes each launch's shim (shim.ts) there as a background subshell
// (`( … ) &`: a fork, no exec) and goes on. The shim writes `task` and `end` lines
// to the launcher's stdout, a pipe the agent reads.
// The shim's text goes through the pipe, not through a file the launcher is told of:
// a file was one inode made and freed per task, and dash's `read` takes the line
// naming it one byte per system call; the shell reads its own input in blocks.
// Shims do not depend on the launcher: when it exits (the agent closed its
// stdin, or died), they keep running, and their lines still reach the agent
// while it keeps the pipe's read end open.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { CgroupWrite } from './cgroups.js';
import {
  type ParkSpec,
  parkScript,
  parseShimEvent,
  RUNTIME_FILES,
  SHIM_FAILED_STATUS,
  type ShimEvent,
  shellQuote,
  shimScript,
} from './shim.js';

/** Launchers a launch may be sent to before it fails: each one it was sent to died. */
const MAX_SENDS = 3;
/** After a shim reports its end, how long before the launcher is asked to reap it. */
const REAP_DELAY_MS = 20;
/** The reap after that, for shims that had not exited yet. */
const LATE_REAP_DELAY_MS = 500;
/** How long a shim gets to report its task's PID: it forks at once, unless the host is stuck. */
const REPORT_TIMEOUT_MS = 10_000;

/** Asks the launcher to reap the shims that have ended. */
const REAP = 'jobs >/dev/null\n';

/**
 * What the launcher is given for one launch: the shim in a background subshell, its fd 3
 * the pipe to the agent (the shim redirects the task's stdout and stderr itself), then a
 * reap of the shims that have ended (`jobs` frees them from the job table, which otherwise
 * grows and slows every later fork). The text is whole shell (shellQuote quotes every
 * value), so the launcher never stops at a syntax error.
 */
function launcherInput(script: string): string {
  return `(
${script}
) 3>&1 7>&- >/dev/null 2>&1 </dev/null &
${REAP}`;
}

/**
 * What the launcher is given to park a shim (parkScript): it makes the FIFO and keeps it
 * open for reading and writing as its file descriptor 7 (until the next park, or its own
 * end), and the shim opens it for reading as its 4 before it closes its copy of 7. So the
 * shim's open never blocks, and the FIFO always has a writer tied to the agent's life until
 * the agent holds it itself: when the agent dies, even before it opened the FIFO, the
 * launcher's input ends, the launcher exits, and the shim's read ends. (A shim that opened
 * the FIFO itself waited for a writer forever if the agent died before opening it.) Every
 * other shim closes 7 (launcherInput): no task inherits it.
 */
function parkInput(spec: ParkSpec): string {
  const fifo = shellQuote(spec.fifo);
  return `exec 7>&-
if mkfifo -m 600 ${fifo} 2>/dev/null && { command exec 7<>${fifo}; } 2>/dev/null; then
(
${parkScript(spec)}
) 4<${fifo} 7>&- 3>&1 >/dev/null 2>&1 </dev/null &
else echo 'end ${spec.tag} ${SHIM_FAILED_STATUS}' 2>/dev/null; fi
${REAP}`;
}

/** The task's record (RUNTIME_FILES), made empty as the launch's claim; removed before a launch. */
const claimFile = (runtimeDir: string) => `${runtimeDir}/${RUNTIME_FILES.taskPid}`;

/** The first of these that exists; the bare name (looked up in PATH) if none does. */
function firstExisting(paths: readonly string[], name: string): string {
  return paths.find((path) => existsSync(path)) ?? name;
}

export interface ShimLaunch {
  readonly sandbox: string;
  readonly runtimeDir: string;
  /** The whole environment of the task: nothing of the launcher's is passed on. */
  readonly environment: Readonly<Record<string, string>>;
  /** Directories the shim makes before it writes the limits and joins (v1, not parked). */
  readonly cgroupDirs: readonly string[];
  readonly cgroupLimits: readonly CgroupWrite[];
  readonly cgroupProcsFiles: readonly string[];
  readonly command: readonly string[];
}

/**
 * The shell the launcher runs for one launch: the claim, then the shim (shim.ts) with
 * exactly the task's environment, its stdout and stderr appended to the sandbox's files.
 */
export function launchScript(
  tag: number,
  launch: ShimLaunch,
  tools: { readonly setsid: string; readonly env: string; readonly mkdir: string },
): string {
  return [
    // A launch is sent again when its launcher dies before the shim reports in, and the
    // first sending may have forked after all: whichever runs first claims the launch (an
    // exclusive create, noclobber, of the task's record, which the shim then fills), the
    // other leaves without a word.
    `set -C; { : > ${shellQuote(claimFile(launch.runtimeDir))}; } 2>/dev/null || exit 0; set +C`,
    shimScript({ ...launch, tag, ...tools }),
  ].join('\n');
}

/** A shim the launcher started. */
export type LaunchedShim =
  | {
      readonly kind: 'running';
      readonly shimPid: number;
      readonly taskPid: number;
      /** The task's wait status, once the shim reports how it ended. Never rejects. */
      readonly end: Promise<number>;
      /** Stops listening for this shim's lines (its end was learnt otherwise). */
      release(): void;
    }
  /** It ended before starting the task: the sandbox or a cgroup could not be entered. */
  | { readonly kind: 'failed'; readonly status: number };

/** A shim asked to park (parkScript): told when it waits on its FIFO, or when it ended. */
export interface ParkListener {
  parked(shimPid: number): void;
  ended(status: number): void;
}

/** A launch sent to a launcher, until its shim reports in. */
interface Pending {
  /** The launcher's input for it (launcherInput), sent again if that launcher dies. */
  readonly input: string;
  sends: number;
  task(taskPid: number, shimPid: number): void;
  end(status: number): void;
  fail(reason: string): void;
}

interface Launcher {
  readonly child: ChildProcess;
  /** Launches sent to it whose shims have not reported yet. */
  readonly sent: Set<number>;
}

export class ShimLauncher {
  private current: Launcher | undefined;
  /** Read ends of every launcher's pipe: a shim writes to its launcher's until it ends. */
  private readonly pipes = new Set<Readable>();
  /** Every launch listened for, by tag: pending ones, and running shims until their end. */
  private readonly listeners = new Map<number, Pending>();
  /** Parked shims, by tag, until they report in or end. */
  private readonly parked = new Map<number, ParkListener>();
  private nextTag = 1;
  private isRefed = false;
  private reaper: NodeJS.Timeout | undefined;
  private isReaperLate = false;
  /** Looked up once: the shim names them by path, whatever PATH the task has. */
  private readonly tools = {
    setsid: firstExisting(['/usr/bin/setsid', '/bin/setsid'], 'setsid'),
    env: firstExisting(['/usr/bin/env', '/bin/env'], 'env'),
    mkdir: firstExisting(['/usr/bin/mkdir', '/bin/mkdir'], 'mkdir'),
  };

  /**
   * Starts a shim for `launch` through the launcher (started on first use). Resolves once
   * the shim reports its task forked, or its failure to start it; rejects when its text
   * cannot be made (a NUL byte) or nothing is heard of the launch.
   */
  async launch(launch: ShimLaunch): Promise<LaunchedShim> {
    return this.start(launch, undefined);
  }

  /**
   * Starts `launch` through a parked shim (parkScript) instead of a fork of the launcher:
   * the script goes to the shim's `launchFile`, a newline to the FIFO it reads (`fifoFd`,
   * open for writing), and the shim, already in the container's cgroup (renamed to it), runs it. `launch` has
   * no cgroupProcsFiles then. Not sent again: the parked shim does not depend on a launcher.
   */
  async handOver(
    launch: ShimLaunch,
    parked: { readonly fifoFd: number; readonly launchFile: string },
  ): Promise<LaunchedShim> {
    return this.start(launch, parked);
  }

  /**
   * Asks the launcher to fork a parked shim (parkScript) that makes and joins `spec`'s cgroups.
   * Returns a function that stops listening to it. Its lines do not keep the agent alive.
   */
  park(spec: Omit<ParkSpec, 'tag' | 'mkdir'>, listener: ParkListener): () => void {
    const tag = this.nextTag++;
    this.parked.set(tag, listener);
    try {
      this.launcher().child.stdin?.write(parkInput({ ...spec, tag, mkdir: this.tools.mkdir }));
    } catch (error) {
      this.parked.delete(tag);
      throw error;
    }
    return () => this.parked.delete(tag);
  }

  private async start(
    launch: ShimLaunch,
    parked: { readonly fifoFd: number; readonly launchFile: string } | undefined,
  ): Promise<LaunchedShim> {
    const tag = this.nextTag++;
    const script = launchScript(tag, launch, this.tools);
    // A parked shim reads its launch from the file it was told of; the launcher, from its input.
    if (parked !== undefined) writeFileSync(parked.launchFile, script, { mode: 0o600 });
    const input = parked === undefined ? launcherInput(script) : '';
    let resolveEnd: (status: number) => void = () => {};
    const end = new Promise<number>((resolve) => {
      resolveEnd = resolve;
    });
    return new Promise<LaunchedShim>((resolve, reject) => {
      let isSettled = false;
      const silence = setTimeout(
        () => pending.fail(`the shim did not report in ${REPORT_TIMEOUT_MS} ms`),
        REPORT_TIMEOUT_MS,
      );
      const settle = () => {
        clearTimeout(silence);
        const wasSettled = isSettled;
        isSettled = true;
        this.forgetSent(tag);
        return !wasSettled;
      };
      const pending: Pending = {
        input,
        sends: 0,
        task: (taskPid, shimPid) => {
          if (settle())
            resolve({ kind: 'running', shimPid, taskPid, end, release: () => this.release(tag) });
        },
        end: (status) => {
          this.release(tag);
          resolveEnd(status);
          if (settle()) resolve({ kind: 'failed', status });
        },
        fail: (reason) => {
          if (!settle()) return;
          this.release(tag);
          reject(new Error(reason));
        },
      };
      this.listeners.set(tag, pending);
      this.updateRef();
      if (parked === undefined) this.send(tag, pending);
      else {
        try {
          // Into a pipe the shim holds open: one write, no wait.
          writeSync(parked.fifoFd, '\n');
        } catch (error) {
          pending.fail(`the parked shim could not be told: ${(error as Error).message}`);
        }
      }
    });
  }

  /** Lets the launcher go (it exits on end of input); running shims are not touched. */
  close(): void {
    const launcher = this.current;
    this.current = undefined;
    launcher?.child.stdin?.end();
    clearTimeout(this.reaper);
    this.reaper = undefined;
  }

  private send(tag: number, pending: Pending): void {
    pending.sends += 1;
    try {
      const launcher = this.launcher();
      launcher.sent.add(tag);
      launcher.child.stdin?.write(pending.input);
    } catch (error) {
      pending.fail(`the launcher could not be started: ${(error as Error).message}`);
    }
  }

  private forgetSent(tag: number): void {
    this.current?.sent.delete(tag);
  }

  /**
   * A shim that has ended stays a zombie until its parent, the launcher, reaps it. A shim
   * writes its end line just before it exits, so on a busy host the first reap can come
   * too soon for it: a second one follows, later, unless more ends came in between.
   */
  private reapSoon(isLate = false): void {
    if (this.reaper !== undefined) {
      // A new end brings the late reap forward.
      if (isLate || !this.isReaperLate) return;
      clearTimeout(this.reaper);
    }
    this.isReaperLate = isLate;
    this.reaper = setTimeout(
      () => {
        this.reaper = undefined;
        this.current?.child.stdin?.write(REAP);
        if (!isLate) this.reapSoon(true);
      },
      isLate ? LATE_REAP_DELAY_MS : REAP_DELAY_MS,
    );
    this.reaper.unref();
  }

  private release(tag: number): void {
    this.listeners.delete(tag);
    this.updateRef();
  }

  /** The pipes keep the process alive only while some shim is being listened to. */
  private updateRef(): void {
    const shouldRef = this.listeners.size > 0;
    if (shouldRef === this.isRefed) return;
    this.isRefed = shouldRef;
    for (const pipe of this.pipes) setRef(pipe, shouldRef);
  }

  private launcher(): Launcher {
    const current = this.current;
    // A launcher killed a moment ago, whose exit Node has not seen yet, still gets the
    // launch: its exit, when seen, sends it again (lose()). It was looked for in /proc before
    // each launch, one open and read per task for a rare case (bench/RESULTS.md, #9).
    const isAlive = current?.child.exitCode === null && current.child.signalCode === null;
    if (current?.child.pid !== undefined && isAlive) return current;
    if (current !== undefined) this.lose(current);
    // Commands from stdin (-s); `agora-launcher` names it in ps (and to the agent bench).
    const child = spawn('/bin/sh', ['-s', 'agora-launcher'], {
      // Nothing of the agent's environment reaches a task through the launcher.
      env: {},
      stdio: ['pipe', 'pipe', 'ignore'],
      // Its own session: a signal to the agent's group does not reach it or its shims.
      detached: true,
    });
    child.unref();
    const launcher: Launcher = { child, sent: new Set() };
    const stdout = child.stdout;
    if (stdout !== null) {
      this.pipes.add(stdout);
      setRef(stdout, this.isRefed);
      this.readEvents(stdout);
    }
    // A write to a launcher that has just died must not throw out of the agent.
    child.stdin?.on('error', () => {});
    child.once('error', () => this.lose(launcher));
    child.once('exit', () => this.lose(launcher));
    this.current = launcher;
    return launcher;
  }

  /**
   * A launcher is gone: what was sent to it and has not reported in is sent to a new one
   * (the claim in each script keeps a launch from running twice), a few times at most.
   */
  private lose(launcher: Launcher): void {
    if (this.current === launcher) this.current = undefined;
    launcher.child.stdin?.destroy();
    const unreported = [...launcher.sent];
    launcher.sent.clear();
    for (const tag of unreported) {
      const pending = this.listeners.get(tag);
      if (pending === undefined) continue;
      if (pending.sends >= MAX_SENDS)
        pending.fail(`${MAX_SENDS} launchers died before the shim started`);
      else this.send(tag, pending);
    }
  }

  private readEvents(pipe: Readable): void {
    let buffered = '';
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const event = parseShimEvent(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (event !== undefined) this.dispatch(event);
        newline = buffered.indexOf('\n');
      }
      // Lines are short; a writer that sends no newline is not a shim.
      if (buffered.length > 4096) buffered = '';
    });
    pipe.on('error', () => {});
    pipe.once('close', () => this.pipes.delete(pipe));
  }

  private dispatch(event: ShimEvent): void {
    if (event.kind === 'end') this.reapSoon();
    const parked = this.parked.get(event.tag);
    if (parked !== undefined) {
      if (event.kind === 'park') parked.parked(event.shimPid);
      else if (event.kind === 'end') {
        this.parked.delete(event.tag);
        parked.ended(event.status);
      }
      return;
    }
    if (event.kind === 'park') return;
    const listener = this.listeners.get(event.tag);
    if (listener === undefined) return;
    if (event.kind === 'task') listener.task(event.taskPid, event.shimPid);
    else listener.end(event.status);
  }
}

function setRef(pipe: Readable, isRefed: boolean): void {
  const handle = pipe as Readable & { ref?: () => void; unref?: () => void };
  if (isRefed) handle.ref?.();
  else handle.unref?.();
}
