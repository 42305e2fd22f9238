// Real processes for integration tests: the master and agents run as child
// processes of the bundled CLI (dist/), on ephemeral loopback ports, and are
// stopped by PID. Nothing here is a mock.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const AGORA = join(ROOT, 'bin', 'agora.js');

if (!existsSync(join(ROOT, 'dist', 'agora.cjs')))
  throw new Error(
    'dist/ is missing: integration tests run the bundled CLI; run `npm run build` first',
  );

/** How long a process gets after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;

export interface Daemon {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly lines: readonly Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The signal that stops `agora <argv>` and everything it started: an agent leaves its tasks
 * running on SIGTERM (as Mesos' does, for restarts), so tests stop agents with SIGUSR1.
 */
export function stopSignalOf(argv: readonly string[]): NodeJS.Signals {
  return argv.includes('agent') ? 'SIGUSR1' : 'SIGTERM';
}

/** Polls `probe` until it returns a value; the error names what was awaited. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  while (performance.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** Starts `agora <args>` as a daemon and resolves once it logs `listening`. */
export async function startDaemon(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Daemon> {
  // Tests name users this host lacks ('test', 'u'): their agents run tasks as the agent's
  // own user unless a test asks for --switch_user (Mesos' default, on).
  const argv =
    args[0] === 'agent' && !args.some((a) => a.startsWith('--switch_user'))
      ? [...args, '--switch_user=false']
      : args;
  const child = spawn(process.execPath, [AGORA, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  if (child.stdout !== null)
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        stderr.push(line);
      }
    });
  if (child.stderr !== null)
    createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const url = await waitFor(`${name} to listen`, () => {
    if (hasExited) throw new Error(`${name} exited: ${stderr.join('\n')}`);
    const listening = lines.find((l) => l.msg === 'listening');
    return typeof listening?.url === 'string' ? listening.url : undefined;
  });
  const pid = child.pid ?? -1;
  return {
    name,
    process: child,
    pid,
    url,
    lines,
    exited,
    async stop(signal: NodeJS.Signals = stopSignalOf(argv)) {
      if (!hasExited) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface Cluster {
  readonly master: Daemon;
  readonly agents: Daemon[];
  readonly workDir: string;
  readonly masterUrl: string;
  addAgent(name: string, extraArgs?: readonly string[], workDir?: string): Promise<Daemon>;
  /** Stops agents, then the master; removes the work dir. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly agents?: number;
  readonly agentResources?: string;
  readonly masterArgs?: readonly string[];
  /** The master's environment (e.g. NODE_OPTIONS to cap its heap); the test's by default. */
  readonly masterEnv?: NodeJS.ProcessEnv;
}

/** A master (in-memory registry) and agents, each a real process on an ephemeral port. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-it-'));
  const started: Daemon[] = [];
  let isStopped = false;
  const stop = async () => {
    if (isStopped) return;
    isStopped = true;
    const agents = started.filter((d) => d.name !== 'master');
    await Promise.all(agents.map((d) => d.stop()));
    await Promise.all(started.filter((d) => d.name === 'master').map((d) => d.stop()));
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const master = await startDaemon(
      'master',
      [
        'master',
        '--port',
        '0',
        '--registry',
        'in_memory',
        '--log_level',
        'debug',
        ...(options.masterArgs ?? []),
      ],
      options.masterEnv,
    );
    started.push(master);
    const agents: Daemon[] = [];
    const addAgent = async (
      name: string,
      extraArgs: readonly string[] = [],
      agentWorkDir = join(workDir, name),
    ) => {
      const agent = await startDaemon(name, [
        'agent',
        '--master',
        master.url,
        '--port',
        '0',
        '--work_dir',
        agentWorkDir,
        ...(options.agentResources !== undefined ? ['--resources', options.agentResources] : []),
        ...extraArgs,
      ]);
      started.push(agent);
      agents.push(agent);
      return agent;
    };
    for (let i = 1; i <= (options.agents ?? 2); i++) await addAgent(`agent-${i}`);
    await waitFor(`${agents.length} agents to register`, async () => {
      const state = await getState(master.url);
      return state.slaves.filter((s) => s.active).length >= agents.length ? true : undefined;
    });
    return { master, agents, workDir, masterUrl: master.url, addAgent, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  readonly process: ChildProcess;
  /** SIGKILLs the process and, if it was started detached, everything in its process group. */
  readonly killAll: () => void;
  readonly result: Promise<CliResult>;
  /** Resolves once stderr has printed something matching. */
  readonly stderrMatches: (pattern: RegExp) => Promise<string>;
}

/**
 * Runs `agora <args>`; the result resolves at exit. Killed after `timeoutMs`.
 * `detached` puts it in a process group of its own, so killAll() reaches its children too.
 */
export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; detached?: boolean } = {},
): CliRun {
  const child = spawn(process.execPath, [AGORA, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    detached: options.detached ?? false,
  });
  const killAll = () => {
    const pid = child.pid;
    if (pid === undefined) return;
    try {
      process.kill(options.detached === true ? -pid : pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const result = once(child, 'close').then(([code]) => {
    clearTimeout(timer);
    return { code: code as number | null, stdout, stderr };
  });
  return {
    process: child,
    killAll,
    result,
    stderrMatches: (pattern) =>
      waitFor(`agora ${args[0]} to print ${pattern}`, () => pattern.exec(stderr)?.[0]),
  };
}

export interface StateTask {
  id: string;
  state: string;
  framework_id: string;
  slave_id: string;
  statuses: { state: string; container_status?: { executor_pid?: number } }[];
}
export interface StateFramework {
  id: string;
  name: string;
  active: boolean;
  offers: { id: string; slave_id: string }[];
  tasks: StateTask[];
  completed_tasks: StateTask[];
}
export interface MasterState {
  id: string;
  pid: string;
  version: string;
  activated_slaves: number;
  slaves: {
    id: string;
    hostname: string;
    pid: string;
    active: boolean;
    resources: Record<string, number | string>;
  }[];
  frameworks: StateFramework[];
  completed_frameworks: StateFramework[];
}

export async function getState(masterUrl: string): Promise<MasterState> {
  const response = await fetch(new URL('/master/state', masterUrl));
  if (response.status !== 200) throw new Error(`/master/state answered ${response.status}`);
  return (await response.json()) as MasterState;
}

export function allTasks(state: MasterState): StateTask[] {
  return [...state.frameworks, ...state.completed_frameworks].flatMap((f) => [
    ...f.tasks,
    ...f.completed_tasks,
  ]);
}

/** True while a process with this PID exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** PIDs of every live descendant of `pid`. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirNumbers('/proc')) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), entry]);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const visit = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      out.push(child);
      visit(child);
    }
  };
  visit(pid);
  return out.filter(isAlive);
}

function readdirNumbers(dir: string): number[] {
  return readdirSync(dir)
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

const deferred = new WeakMap<TestContext, (() => unknown)[]>();

/**
 * Registers a cleanup for the end of test `t`. Unlike `t.after`, cleanups run
 * last-registered first (a work dir made before its daemons is removed after
 * they stop) and each runs even when one before it threw.
 */
export function defer(t: TestContext, cleanup: () => unknown): void {
  let stack = deferred.get(t);
  if (stack === undefined) {
    const fresh: (() => unknown)[] = [];
    deferred.set(t, fresh);
    t.after(async () => {
      const errors: unknown[] = [];
      for (const fn of fresh.reverse())
        try {
          await fn();
        } catch (error) {
          errors.push(error);
        }
      if (errors.length > 0) throw new AggregateError(errors, `${errors.length} cleanups failed`);
    });
    stack = fresh;
  }
  stack.push(cleanup);
}

/**
 * Kills a task process the test left behind on purpose (its agent was killed, so no
 * agent will clean up after it), then removes the container cgroups it was in.
 */
export async function killStrandedTask(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  let cgroups: string[] = [];
  try {
    // Lines like `4:memory:/agora/<container>` (v1) or `0::/agora/<container>` (v2).
    cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      // Only the agent's (--cgroups_root agora): never a cgroup the host's other processes share.
      .filter(([, , path]) => path?.startsWith('/agora/') === true && !path.includes('..'))
      .map(([, controllers, path]) => join('/sys/fs/cgroup', controllers ?? '', path ?? ''));
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
  await waitFor(`task process ${pid} to die`, () => (isAlive(pid) ? undefined : true));
  // What the task forked (and its shim) is in the cgroup too: killed until it is empty.
  for (const dir of cgroups)
    await waitFor(`cgroup ${dir} to be emptied and removed`, () => {
      try {
        for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n'))
          if (line !== '')
            try {
              process.kill(Number(line), 'SIGKILL');
            } catch {
              // Gone since the list was read.
            }
        rmdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EBUSY') return undefined;
      }
      return true;
    });
}
