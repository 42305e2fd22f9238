// The process of a detached nested container: its keeper (nested-records.ts), started
// by this agent or found running by a restarted one. Signals go to the command itself,
// checked by its start time (a PID freed and reused belongs to a stranger); its end is
// the keeper's exit, or, for a keeper this agent did not start, the keeper's PID going
// away and the status it wrote.
import { type ChildProcess, spawn } from 'node:child_process';
import { type Termination, terminationFromShellStatus } from '../containerizer/index.js';
import {
  keeperArgv,
  type NestedRecord,
  nestedStatusFile,
  type ProcessMark,
  readNestedStatus,
  writeNestedPids,
  writeNestedTermination,
} from './nested-records.js';
import { readStat } from './process-identity.js';

/** How long a launch waits for the command's shell to write its PID. */
const COMMAND_PID_WAIT_MS = 5_000;
/** How often a keeper this agent did not start is looked for. */
const ADOPTED_POLL_MS = 250;

export interface NestedProcess {
  readonly ended: Promise<Termination>;
  /** The command's PID, when known. */
  readonly pid: number | undefined;
  /** Sends `signal` to the command (not to its keeper, which must live to write its end). */
  signal(signal: NodeJS.Signals): void;
}

export interface KeptSpawn {
  readonly entry: { readonly file: string; readonly args: readonly string[] };
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly stdout: number;
  readonly stderr: number;
  /** Its record directory (config written already). */
  readonly dir: string;
}

/** Starts a keeper running `entry`; resolves once the command's PID is known (or it ended). */
export async function startKept(spec: KeptSpawn): Promise<NestedProcess> {
  const argv = keeperArgv(nestedStatusFile(spec.dir), spec.entry);
  const child = spawn(argv.file, [...argv.args], {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['ignore', spec.stdout, spec.stderr],
    // A session of its own: the agent's terminal and process group are not the container's.
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  // The agent may stop and leave the container running (detach): nothing here holds it.
  child.unref();
  const keeper = markOf(child.pid);
  if (keeper !== undefined) writeNestedPids(spec.dir, { keeper });
  const ended = new Promise<Termination>((resolve) =>
    child.once('close', (code, signal) => {
      const termination =
        signal !== null
          ? { exitCode: null, signal }
          : (terminationFromShellStatus(String(code)) ?? { exitCode: code, signal: null });
      writeNestedTermination(spec.dir, termination);
      resolve(termination);
    }),
  );
  let isEnded = false;
  void ended.then(() => {
    isEnded = true;
  });
  let command: ProcessMark | undefined;
  const deadline = performance.now() + COMMAND_PID_WAIT_MS;
  for (let pause = 1; command === undefined && !isEnded && performance.now() < deadline; ) {
    command = markOf(readNestedStatus(spec.dir).pid);
    if (command !== undefined) break;
    await Promise.race([delay(pause), ended]);
    pause = Math.min(pause * 2, 50);
  }
  if (command !== undefined && keeper !== undefined) writeNestedPids(spec.dir, { keeper, command });
  return { ended, pid: command?.pid, signal: (signal) => signalCommand(command, child, signal) };
}

/**
 * A keeper the previous agent started, found in its record: watched until it goes, then
 * its end read from what it wrote. Undefined when it is not running any more.
 */
export function adoptKept(record: NestedRecord): NestedProcess | undefined {
  const keeper = record.pids.keeper;
  if (keeper === undefined || !isAlive(keeper)) return undefined;
  const command = record.pids.command ?? markOf(record.status.pid);
  const ended = new Promise<Termination>((resolve) => {
    const timer = setInterval(() => {
      if (isAlive(keeper)) return;
      clearInterval(timer);
      const termination = endOf(record.dir);
      writeNestedTermination(record.dir, termination);
      resolve(termination);
    }, ADOPTED_POLL_MS);
    timer.unref();
  });
  return {
    ended,
    pid: command?.pid,
    signal: (signal) => signalCommand(command, undefined, signal),
  };
}

/** How a container whose keeper is gone ended: what its keeper wrote, or unknown. */
export function endOf(dir: string): Termination {
  const exit = readNestedStatus(dir).exit;
  return (
    (exit === undefined ? undefined : terminationFromShellStatus(exit)) ?? {
      exitCode: null,
      signal: null,
      isUnknown: true,
    }
  );
}

/** SIGKILL to a recorded process still running; quiet when it is gone. */
export function killMarked(mark: ProcessMark | undefined): void {
  if (mark !== undefined && isAlive(mark)) sendSignal(mark.pid, 'SIGKILL');
}

function signalCommand(
  command: ProcessMark | undefined,
  keeper: ChildProcess | undefined,
  signal: NodeJS.Signals,
): void {
  if (command !== undefined) {
    if (isAlive(command)) sendSignal(command.pid, signal);
    return;
  }
  // The command's PID never showed up: its keeper's group holds it.
  if (keeper?.pid !== undefined && keeper.exitCode === null && keeper.signalCode === null)
    sendSignal(-keeper.pid, signal);
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export function markOf(pid: number | undefined): ProcessMark | undefined {
  if (pid === undefined) return undefined;
  const stat = readStat(pid);
  return stat === undefined || stat.isZombie ? undefined : { pid, startTime: stat.startTime };
}

function isAlive(mark: ProcessMark): boolean {
  const stat = readStat(mark.pid);
  return stat !== undefined && !stat.isZombie && stat.startTime === mark.startTime;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
