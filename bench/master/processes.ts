// The master benchmark's processes (#8): the daemons it starts and stops by PID, what
// /proc says about them, and the bed one row runs on.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { get, request } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MASTER_NODE_FLAGS } from '../../src/cli/master-node-flags.js';
import { SimNetwork, TimingWheel, WheelDriver } from '../../src/sim/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * AGORA_BENCH_BIN picks another build's `bin/agora.js` (a copy of bin/ and dist/ made
 * before a change), so a before/after pair runs back to back under the same load.
 */
const AGORA = process.env.AGORA_BENCH_BIN ?? join(ROOT, 'bin', 'agora.js');
/**
 * AGORA_BENCH_MASTER_NODE_ARGS: node flags for the master process only, space-separated
 * (`--max-semi-space-size=32`), to pair a runtime setting against the default. Unset, the
 * master runs with the flags the README and `agora up` give a master (MASTER_NODE_FLAGS);
 * set to nothing (`AGORA_BENCH_MASTER_NODE_ARGS=`), with node's own defaults.
 */
const MASTER_NODE_ARGS =
  process.env.AGORA_BENCH_MASTER_NODE_ARGS === undefined
    ? [...MASTER_NODE_FLAGS]
    : process.env.AGORA_BENCH_MASTER_NODE_ARGS.split(' ').filter((arg) => arg !== '');
/**
 * AGORA_BENCH_MASTER_ARGS: more master flags, space-separated, for every row
 * (`--agent_ping_timeout 60secs`: on a machine too loaded for the master to answer 10,000
 * agents' pings every 15 s, the state row's fill otherwise never converges).
 */
const MASTER_ARGS = (process.env.AGORA_BENCH_MASTER_ARGS ?? '')
  .split(' ')
  .filter((arg) => arg !== '');
const MEMORY_PROBE = join(ROOT, 'bench', 'master', 'memory-probe.cjs');
const START_TIMEOUT_MS = 30_000;
/** Two full collections of a 1 GB heap on a loaded machine, or a heap snapshot. */
const PROBE_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 10_000;
const WHEEL_TICK_MS = 5;

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Rejects with the signal's reason when it aborts first. */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Polls `probe` every 50 ms until it yields a value; names what it waited for at the deadline. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await delay(50, undefined, { signal });
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

let clockTicksPerSecond: number | undefined;
export function clockTicks(): number {
  if (clockTicksPerSecond === undefined) {
    const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(answer.stdout.trim());
    clockTicksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return clockTicksPerSecond;
}

export interface ProcSample {
  readonly rssMb: number;
  readonly hwmMb: number;
  /** utime + stime, seconds. */
  readonly cpuSeconds: number;
  /** syscw of /proc/<pid>/io. */
  readonly writeSyscalls: number;
}

/** The master's memory (/proc/<pid>/status) and CPU time so far (/proc/<pid>/stat). */
export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces: state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  // Write syscalls (socket writes: each event-stream flush and each answer is one), a count
  // that load does not stretch as it does time.
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return {
    rssMb: kb('VmRSS') / 1024,
    hwmMb: kb('VmHWM') / 1024,
    cpuSeconds: (utime + stime) / clockTicks(),
    writeSyscalls: Number(/^syscw:\s+(\d+)/m.exec(io)?.[1] ?? Number.NaN),
  };
}

/** What bench/master/memory-probe.cjs reports (sizes in MB), after two full collections. */
export interface MemoryProbe {
  readonly collected: boolean;
  readonly gcMs: number;
  readonly rssBeforeGcMb: number;
  readonly rssMb: number;
  readonly hwmMb: number;
  readonly heapTotalMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
  readonly arrayBuffersMb: number;
  readonly mallocedMb: number;
  readonly spaces: Readonly<Record<string, { readonly sizeMb: number; readonly usedMb: number }>>;
  readonly execArgv: readonly string[];
}

/**
 * Asks a master started with a memory probe (Bed.startMaster) to collect its garbage and
 * say what its memory is made of, and waits for the answer.
 */
export async function probeMemory(
  daemon: Daemon,
  outPath: string,
  signal: AbortSignal,
): Promise<MemoryProbe> {
  rmSync(outPath, { force: true });
  daemon.child.kill('SIGUSR2');
  return waitFor(
    'the master to write its memory probe',
    () => {
      if (hasExited(daemon)) throw new Error(`${daemon.name} exited; see ${daemon.logPath}`);
      if (!existsSync(outPath)) return undefined;
      return JSON.parse(readFileSync(outPath, 'utf8')) as MemoryProbe;
    },
    PROBE_TIMEOUT_MS,
    signal,
  );
}

export function openFilesLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return match?.[1] === undefined || match[1] === 'unlimited'
    ? Number.POSITIVE_INFINITY
    : Number(match[1]);
}

export function load1m(): number {
  return loadavg()[0] ?? 0;
}

export interface Started {
  readonly url: string;
  readonly master: Daemon;
  /** The simulated agents' calls and streams. */
  readonly agents: SimNetwork;
  /** The simulated frameworks' calls and streams. */
  readonly frameworks: SimNetwork;
}

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logPath: string;
  readonly exited: Promise<void>;
}

export function hasExited(daemon: Daemon): boolean {
  return daemon.child.exitCode !== null || daemon.child.signalCode !== null;
}

/** Starts `node [nodeArgs] bin/agora.js <args>` with stdout and stderr into `logPath`. */
function startDaemon(
  name: string,
  nodeArgs: readonly string[],
  args: readonly string[],
  logPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Daemon {
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    // A file, not a pipe: the daemons log synchronously, and a pipe this busy process
    // drained late would stall them and the numbers with them.
    child = spawn(process.execPath, [...nodeArgs, AGORA, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name} did not start`);
  // Registered at once: a child that exits before anyone awaits must not be missed.
  const exited = once(child, 'exit').then(() => undefined);
  return { name, child, pid, logPath, exited };
}

/** SIGTERM (SIGUSR1 for an agent), wait for the exit by PID, SIGKILL after the deadline. */
async function stopDaemon(daemon: Daemon): Promise<void> {
  if (hasExited(daemon)) return;
  // An agent leaves its tasks running on SIGTERM; SIGUSR1 stops them with it.
  daemon.child.kill(daemon.child.spawnargs.includes('agent') ? 'SIGUSR1' : 'SIGTERM');
  const deadline = setTimeout(() => daemon.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await daemon.exited;
  } finally {
    clearTimeout(deadline);
  }
}

/** The URL of a daemon's `listening` log line, once it is there. */
async function listeningUrl(daemon: Daemon, signal: AbortSignal): Promise<string> {
  return waitFor(
    `${daemon.name} to log 'listening'`,
    () => {
      if (hasExited(daemon))
        throw new Error(`${daemon.name} exited before it listened; see ${daemon.logPath}`);
      for (const line of readFileSync(daemon.logPath, 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry: unknown = JSON.parse(line);
        if (
          typeof entry === 'object' &&
          entry !== null &&
          'msg' in entry &&
          entry.msg === 'listening' &&
          'url' in entry &&
          typeof entry.url === 'string'
        )
          return entry.url;
      }
      return undefined;
    },
    START_TIMEOUT_MS,
    signal,
  );
}

/** POSTs `body` (JSON) and reads the whole answer, in the media type `accept` asks for. */
export function postBody(
  url: URL,
  body: string,
  accept: string,
  signal: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', signal, headers: { 'content-type': 'application/json', accept } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          response.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`${url.href} answered ${response.statusCode}`)),
        );
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function getBody(url: URL, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = get(url, { signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve(Buffer.concat(chunks))
          : reject(new Error(`${url.href} answered ${response.statusCode}`)),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/**
 * One row's processes and simulation, torn down in reverse by stop(): simulated streams
 * first, then the agent process, then the master (whose CPU profile, if asked for, is
 * written as it exits).
 */
/** The simulated calls' connections: how many, and how many calls each may have unanswered. */
export interface CallPlan {
  readonly sockets: number;
  readonly pipeline: number;
}

export class Bed {
  readonly wheel = new TimingWheel(WHEEL_TICK_MS, performance.now());
  private readonly driver = new WheelDriver(this.wheel);
  private readonly undos: (() => Promise<void> | void)[] = [];
  private stopping: Promise<void> | undefined;
  private master: Daemon | undefined;

  constructor(
    private readonly workDir: string,
    private readonly rowName: string,
    private readonly cpuProfDir: string | undefined,
    callSockets: number | CallPlan,
  ) {
    this.calls =
      typeof callSockets === 'number' ? { sockets: callSockets, pipeline: 1 } : callSockets;
  }

  private readonly calls: CallPlan;

  /**
   * Starts the master and the simulated networks toward it. With `memoryProbe` (a file
   * path), the master runs with bench/master/memory-probe.cjs preloaded: see probeMemory.
   */
  async startMaster(
    signal: AbortSignal,
    masterArgs: readonly string[] = [],
    memoryProbe?: string,
  ): Promise<Started> {
    const nodeArgs = [
      ...MASTER_NODE_ARGS,
      ...(memoryProbe === undefined ? [] : ['--expose-gc', '--require', MEMORY_PROBE]),
      ...(this.cpuProfDir === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-dir', join(this.workDir, `prof-${this.rowName}`)]),
    ];
    const master = startDaemon(
      'master',
      nodeArgs,
      [
        'master',
        '--port',
        '0',
        '--registry',
        'in_memory',
        '--log_level',
        'info',
        ...MASTER_ARGS,
        ...masterArgs,
      ],
      join(this.workDir, `master-${this.rowName}.log`),
      memoryProbe === undefined
        ? process.env
        : { ...process.env, AGORA_MEMORY_PROBE_OUT: memoryProbe },
    );
    this.master = master;
    this.undos.push(async () => {
      await stopDaemon(master);
      this.keepProfile();
    });
    const url = await listeningUrl(master, signal);
    this.driver.start();
    this.undos.push(() => {
      this.driver.stop();
      this.wheel.clear();
    });
    // Two queues of calls, as two kinds of clients: a framework's acknowledgement does not
    // wait behind every agent's update, as it would not with separate connections.
    const network = () =>
      new SimNetwork({
        master: new URL(url),
        maxCallSockets: this.calls.sockets,
        pipelineDepth: this.calls.pipeline,
      });
    const agents = network();
    const frameworks = network();
    this.undos.push(() => {
      agents.close();
      frameworks.close();
    });
    return { url, master, agents, frameworks };
  }

  /**
   * A real agent process registered with the master. `extraArgs` go after the
   * bed's own flags; `nodeArgs` before the CLI (`--cpu-prof …`).
   */
  async startAgent(
    masterUrl: string,
    resources: string,
    signal: AbortSignal,
    options: { readonly extraArgs?: readonly string[]; readonly nodeArgs?: readonly string[] } = {},
  ): Promise<Daemon> {
    const agentDir = join(this.workDir, `agent-${this.rowName}`);
    mkdirSync(agentDir, { recursive: true });
    const agent = startDaemon(
      'agent',
      options.nodeArgs ?? [],
      [
        'agent',
        '--switch_user=false', // the simulated frameworks' user is not on this host
        '--master',
        masterUrl,
        '--port',
        '0',
        '--work_dir',
        agentDir,
        '--resources',
        resources,
        '--log_level',
        'info',
        ...(options.extraArgs ?? []),
      ],
      join(this.workDir, `agent-${this.rowName}.log`),
    );
    this.undos.push(() => stopDaemon(agent));
    await listeningUrl(agent, signal);
    let registered = false;
    const poll = async () => {
      const body = await getBody(new URL('/master/slaves', masterUrl), signal);
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      registered =
        typeof parsed === 'object' &&
        parsed !== null &&
        'slaves' in parsed &&
        Array.isArray(parsed.slaves) &&
        parsed.slaves.length > 0;
    };
    await waitFor(
      'the agent to register',
      () => {
        if (hasExited(agent)) throw new Error(`agent exited; see ${agent.logPath}`);
        void poll().catch(() => undefined);
        return registered ? true : undefined;
      },
      START_TIMEOUT_MS,
      signal,
    );
    return agent;
  }

  /** Registers an undo that runs before everything registered so far. */
  defer(undo: () => Promise<void> | void): void {
    this.undos.push(undo);
  }

  assertMasterRunning(): void {
    if (this.master !== undefined && hasExited(this.master))
      throw new Error(`the master exited; see ${this.master.logPath}`);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const undo of this.undos.reverse()) await undo();
    })();
    return this.stopping;
  }

  /** Moves the master's profile out of the temp dir, as `<row>.cpuprofile`. */
  private keepProfile(): void {
    if (this.cpuProfDir === undefined) return;
    const dir = join(this.workDir, `prof-${this.rowName}`);
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    } catch {
      return;
    }
    const [file] = files;
    if (file === undefined) return;
    mkdirSync(this.cpuProfDir, { recursive: true });
    renameSync(join(dir, file), join(this.cpuProfDir, `${this.rowName}.cpuprofile`));
  }
}
