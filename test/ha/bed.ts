// A highly available cluster of real processes for failover tests, the fault
// loop and bench:failover: a coordinator (ZooKeeper or etcd, restartable on its
// port and data), masters and agents, each kept running as `agora up` keeps its
// daemons (the same Supervisor, with a quick restart policy): a master that
// exits (70, when its session is lost) or is killed comes back on its port, an
// agent on its port and work dir. Faults are signals sent to them by PID.
// Each daemon writes its output to a file in the bed's work dir, which the bed
// tails: a pipe that this process reads late (a bench running 10,000 simulated
// agents on the same loop) fills, and a master's synchronous log write then
// blocks its loop (~0.5 s of a re-registration storm, #10's ninth pass).
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoordinatorKind } from '../../src/cli/local-coordinator.js';
import { masterNodeFlags } from '../../src/cli/master-node-flags.js';
import type { RestartPolicyOptions } from '../../src/cli/restart-policy.js';
import { type Exit, type SupervisedProcess, Supervisor } from '../../src/cli/supervisor.js';
import type { Clock } from '../../src/runtime/index.js';
import { type Server, startEtcd, startZooKeeper } from '../coordination/servers.js';
import { AGORA, stopSignalOf, waitFor } from '../integration/harness.js';

/** Restarts within a fraction of a second, and never gives up: faults come by the dozen. */
const QUICK_RESTARTS: RestartPolicyOptions = {
  initialBackoffMs: 200,
  maxBackoffMs: 1000,
  healthyAfterMs: 5000,
  maxRestarts: 10_000,
  windowMs: 60_000,
};
/** Lines of a daemon's output kept for failure messages. */
const KEPT_LINES = 5000;
const STOP_TIMEOUT_MS = 10_000;
/** How often a daemon's log file is read for new lines. */
const TAIL_INTERVAL_MS = 20;

const realClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

export interface HaBedOptions {
  readonly kind: CoordinatorKind;
  readonly masters?: number;
  readonly agents?: number;
  /** --zk_session_timeout of every master (and what clients take as theirs). */
  readonly sessionTimeout?: string;
  readonly agentResources?: string;
  readonly masterArgs?: readonly string[];
  readonly agentArgs?: readonly string[];
  /**
   * Node's own flags for the masters (`--cpu-prof …`), before the CLI. The masters also get
   * the young generation `agora up` gives its masters, unless these (or NODE_OPTIONS) size it.
   */
  readonly masterNodeArgs?: readonly string[];
  /** Of masters and agents: debug (the default) to read a failure, info for a benchmark. */
  readonly logLevel?: 'debug' | 'info';
  /** Where supervisor messages go (restarts); silent by default. */
  readonly say?: (line: string) => void;
}

/** One master or agent, restarted whenever it exits until the bed stops. */
export class BedDaemon {
  /** The port of its first run, kept for every restart. */
  private port = 0;
  private urlValue: string | undefined;
  private child: ChildProcess | undefined;
  /** Bumped on each run: a wait for "listening" knows which run answered. */
  private runs = 0;
  private listeningRun = 0;
  private paused = false;
  readonly output: string[] = [];
  /** Told every line of output as it comes (output keeps only the last KEPT_LINES). */
  readonly lineListeners = new Set<(line: string) => void>();
  readonly supervisor: Supervisor;
  private readonly log: LogTail;

  /** `logFile`: where every run's stdout and stderr go (appended), tailed into `output`. */
  constructor(
    readonly name: string,
    private readonly args: (port: number) => readonly string[],
    say: (line: string) => void,
    logFile: string,
    private readonly nodeArgs: readonly string[] = [],
  ) {
    this.log = new LogTail(logFile, (line) => this.onLine(line));
    this.supervisor = new Supervisor({
      name,
      spawn: () => this.spawnRun(),
      clock: realClock,
      say,
      policy: QUICK_RESTARTS,
      stopTimeoutMs: STOP_TIMEOUT_MS,
      stopSignal: stopSignalOf(args(0)),
    });
  }

  get url(): string {
    if (this.urlValue === undefined) throw new Error(`${this.name} never listened`);
    return this.urlValue;
  }

  /** The PID of the current run; undefined between runs. */
  get pid(): number | undefined {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null
      ? child.pid
      : undefined;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** True while a run is up, listening and not paused. */
  get isServing(): boolean {
    return this.pid !== undefined && !this.paused && this.listeningRun === this.runs;
  }

  async start(): Promise<void> {
    this.supervisor.start();
    this.supervisor.enableRestarts();
    await this.listening();
  }

  /** Resolves once the current run listens. */
  listening(timeoutMs = 60_000): Promise<void> {
    return waitFor(
      `${this.name} to listen`,
      () => (this.pid !== undefined && this.listeningRun === this.runs ? true : undefined),
      timeoutMs,
    ).then(() => undefined);
  }

  /** Sends `signal` to the current run. SIGSTOP and SIGCONT are tracked. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    process.kill(pid, signal);
    if (signal === 'SIGSTOP') this.paused = true;
    if (signal === 'SIGCONT') this.paused = false;
  }

  async stop(): Promise<void> {
    if (this.paused) this.signal('SIGCONT');
    await this.supervisor.stop();
    this.log.close();
  }

  /** The last lines it wrote, for failure messages. */
  tail(lines = 40): string {
    return this.output.slice(-lines).join('\n');
  }

  /** The run whose lines the log holds now (a restart appends to the same file). */
  private runOfLines = 0;

  private onLine(line: string): void {
    this.output.push(line);
    if (this.output.length > KEPT_LINES) this.output.shift();
    for (const listener of this.lineListeners) listener(line);
    if (!line.includes('"listening"')) return;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
      if (entry.msg === 'listening' && typeof entry.url === 'string') {
        this.urlValue = entry.url;
        this.port = Number(new URL(entry.url).port);
        this.listeningRun = this.runOfLines;
      }
    } catch {
      // Not a log line.
    }
  }

  private spawnRun(): SupervisedProcess {
    const run = ++this.runs;
    this.paused = false;
    const out = this.log.appender();
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...this.nodeArgs, AGORA, ...this.args(this.port)], {
        stdio: ['ignore', out, out],
      });
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(out);
    }
    this.child = child;
    this.runOfLines = run;
    const exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.log.drain();
        this.output.push(`[${this.name} exited: ${signal ?? code}]`);
        resolve({ code, signal });
      });
      child.once('error', () => {
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
    });
    return {
      exited,
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  }
}

/**
 * A log file read as it grows: every complete line is handed to `onLine`, in order, every
 * TAIL_INTERVAL_MS and when asked (drain). The writer never waits for the reader.
 */
class LogTail {
  private fd: number | undefined;
  private offset = 0;
  private partial = '';
  private readonly buffer = Buffer.allocUnsafe(256 * 1024);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
  ) {}

  /** A descriptor appending to the file, for a child's stdout and stderr; starts the tail. */
  appender(): number {
    const fd = openSync(this.path, 'a');
    this.fd ??= openSync(this.path, 'r');
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.drain(), TAIL_INTERVAL_MS);
      this.timer.unref();
    }
    return fd;
  }

  /** Hands over every complete line written so far. */
  drain(): void {
    if (this.fd === undefined) return;
    for (;;) {
      const read = readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
      if (read === 0) return;
      this.offset += read;
      const lines = (this.partial + this.buffer.toString('utf8', 0, read)).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    }
  }

  close(): void {
    this.drain();
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export class HaBed {
  /** Every bed started and not stopped yet: what a bench interrupted must stop. */
  static readonly running = new Set<HaBed>();
  readonly masters: BedDaemon[] = [];
  readonly agents: BedDaemon[] = [];
  private isStopped = false;

  private constructor(
    readonly options: HaBedOptions,
    readonly workDir: string,
    readonly coordinator: Server,
  ) {}

  /** zk://…/agora or etcd://…/agora: what agents and frameworks are given. */
  get clientUrl(): string {
    return `${this.options.kind === 'zookeeper' ? 'zk' : 'etcd'}://${this.coordinator.address}/agora`;
  }

  static async start(options: HaBedOptions): Promise<HaBed> {
    const workDir = mkdtempSync(join(tmpdir(), `agora-ha-bed-${options.kind}-`));
    const coordinator = options.kind === 'zookeeper' ? await startZooKeeper() : await startEtcd();
    const bed = new HaBed(options, workDir, coordinator);
    HaBed.running.add(bed);
    try {
      const say = options.say ?? (() => {});
      const masterCount = options.masters ?? 3;
      const masterFlag =
        options.kind === 'zookeeper'
          ? ['--zk', bed.clientUrl]
          : ['--etcd', `http://${coordinator.address}/agora`];
      for (let i = 1; i <= masterCount; i++)
        bed.masters.push(
          new BedDaemon(
            `master-${i}`,
            (port) => [
              'master',
              ...masterFlag,
              '--quorum',
              String(Math.floor(masterCount / 2) + 1),
              '--zk_session_timeout',
              options.sessionTimeout ?? '2secs',
              '--port',
              String(port),
              '--allocation_interval',
              '100ms',
              '--log_level',
              options.logLevel ?? 'debug',
              ...(options.masterArgs ?? []),
            ],
            say,
            join(workDir, `master-${i}.log`),
            bedMasterNodeArgs(options.masterNodeArgs ?? []),
          ),
        );
      await Promise.all(bed.masters.map((m) => m.start()));
      await bed.leader();
      for (let i = 1; i <= (options.agents ?? 2); i++)
        bed.agents.push(
          new BedDaemon(
            `agent-${i}`,
            (port) => [
              'agent',
              '--switch_user=false', // the workload's user 'test' is not on this host
              '--master',
              bed.clientUrl,
              '--port',
              String(port),
              '--work_dir',
              join(workDir, `agent-${i}`),
              '--resources',
              options.agentResources ?? 'cpus:4;mem:4096;disk:1024',
              '--log_level',
              options.logLevel ?? 'debug',
              // Faults SIGKILL agents, and no agent comes back at the end to remove the
              // cgroups of the tasks it left: isolation is not what these tests are about.
              '--isolation',
              'posix/cpu,posix/mem',
              ...(options.agentArgs ?? []),
            ],
            say,
            join(workDir, `agent-${i}.log`),
          ),
        );
      await Promise.all(bed.agents.map((a) => a.start()));
      await bed.agentsRegistered();
      return bed;
    } catch (error) {
      await bed.stop();
      throw error;
    }
  }

  /** The one master that says it leads (master/elected), once exactly one does. */
  leader(timeoutMs = 60_000): Promise<BedDaemon> {
    return waitFor(
      'exactly one leading master',
      async () => {
        const serving = this.masters.filter((m) => m.isServing);
        const flags = await Promise.all(serving.map((m) => elected(m.url)));
        const leading = serving.filter((_, i) => flags[i] === 1);
        return leading.length === 1 && flags.every((f) => f !== undefined) ? leading[0] : undefined;
      },
      timeoutMs,
    );
  }

  /** Resolves with the leader once every agent is registered and active with it. */
  agentsRegistered(timeoutMs = 60_000): Promise<BedDaemon> {
    return waitFor(
      `${this.agents.length} agents active with the leader`,
      async () => {
        const leader = await this.leader(timeoutMs);
        const { slaves } = (await (await fetch(new URL('/master/slaves', leader.url))).json()) as {
          slaves: { active: boolean }[];
        };
        return slaves.filter((s) => s.active).length === this.agents.length ? leader : undefined;
      },
      timeoutMs,
    );
  }

  /** Writes every daemon's kept output to `<dir>/<name>.log`, for a failure to be read later. */
  dumpLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const daemon of [...this.masters, ...this.agents])
      writeFileSync(join(dir, `${daemon.name}.log`), `${daemon.output.join('\n')}\n`);
    writeFileSync(join(dir, 'coordinator.log'), this.coordinator.output());
  }

  /** Agents, then masters, then the coordinator; the work dir goes last. Idempotent. */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    HaBed.running.delete(this);
    await Promise.all(this.agents.map((a) => a.stop()));
    await Promise.all(this.masters.map((m) => m.stop()));
    this.coordinator.kill('SIGCONT');
    await this.coordinator.stop();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/**
 * master/elected of the master at `url`; undefined when it does not answer within 2 s, and
 * while an elected master still recovers its registry (it says elected, as Mesos' does, and
 * answers 503 to everything else until recovered: not a leader to send calls to yet).
 */
export async function elected(url: string): Promise<number | undefined> {
  const response = await fetch(new URL('/metrics/snapshot', url), {
    signal: AbortSignal.timeout(2000),
  }).catch(() => undefined);
  if (response?.ok !== true) return undefined;
  const metrics = (await response.json().catch(() => undefined)) as
    | Record<string, number>
    | undefined;
  const flag = metrics?.['master/elected'];
  if (flag !== 1) return flag;
  const serving = await fetch(new URL('/master/roles', url), {
    signal: AbortSignal.timeout(2000),
  }).catch(() => undefined);
  await serving?.body?.cancel();
  return serving?.status === 200 ? 1 : undefined;
}

/**
 * A bed's masters run as `agora up --ha` starts them (src/cli/master-node-flags.ts), so what
 * the failover bench measures is the master an operator runs; flags of the caller's that size
 * a space of the heap themselves replace that default for that space.
 */
function bedMasterNodeArgs(extra: readonly string[]): readonly string[] {
  const own = masterNodeFlags(process.env.NODE_OPTIONS, extra);
  return [...own.filter((flag) => !extra.includes(flag)), ...extra];
}
