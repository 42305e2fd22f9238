// Task start latency (#3): how long `agora run -- <command>` takes to start a task
// on a running local cluster, timed from the moment the CLI process is spawned,
// so the CLI's own start-up counts, as it does for `srun`.
//
//   npm run bench:latency [-- --runs N] [-- --isolation posix|cgroups] [-- --json]
//                         [-- --baseline <other build's bin/agora.js> [--baseline-cluster]]
//
// Each run spawns `node bin/agora.js run --master <url> -- 'date +%s%N'` and records
//   (a) when the CLI's stderr line `agora: task <id> is TASK_RUNNING` reaches us,
//   (b) the wall-clock time the task process wrote (its own start),
//   (c) the CLI's `exit` event,
// each minus the wall-clock time just before spawn(). The whole measurement runs
// twice: with the CLI's environment as it is, and with NODE_EXTRA_CA_CERTS removed
// from the CLI's environment only (Node 20 builds its whole TLS root store at
// start-up when that variable is set, though Agora makes no TLS connection).
// Beside the times, the CPU each process used (user + system, all its threads),
// which a busy machine stretches far less than wall time; with --baseline, the
// median over rounds of this build's time minus the baseline's in the same round.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const AGORA = join(ROOT, 'bin', 'agora.js');
const AGENT_COUNT = 2;
const WARM_UP_RUNS = 2;
/** `date +%s%N` prints the epoch in nanoseconds, the same clock as performance.timeOrigin. */
const TASK_COMMAND = 'date +%s%N';
/** How long the cluster may take to come up. */
const START_TIMEOUT_MS = 30_000;
/** How long one measured process may take before the run is declared stuck. */
const RUN_TIMEOUT_MS = 30_000;
/** How long a daemon gets to stop after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
const CA_VARIABLE = 'NODE_EXTRA_CA_CERTS';
/** `--isolation` of the bench to the agents' flag; `default` leaves the agents' choice. */
const ISOLATIONS: Readonly<Record<string, string | null>> = {
  default: null,
  posix: 'posix/cpu,posix/mem',
  cgroups: 'cgroups/cpu,cgroups/mem,cgroups/pids',
};
/** #7 item 17: task start (b) at most this, and at most GOAL_OVER_NODE_MS over `node -e 0`. */
const GOAL_TASK_START_MS = 45;
const GOAL_OVER_NODE_MS = 10;

/** Measured on this kind of machine with the same method (#3). */
const REFERENCES: readonly { readonly what: string; readonly medianMs: number }[] = [
  { what: 'Slurm srun (to task start)', medianMs: 77 },
  { what: 'Slurm sbatch (to task start)', medianMs: 683 },
  { what: 'Docker Swarm job (to task start)', medianMs: 407 },
  { what: 'bare child_process.spawn (to task start)', medianMs: 2 },
];

/** Wall clock in epoch milliseconds with sub-millisecond precision. */
function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** `date +%s%N` output to epoch milliseconds (µs precision: epoch µs fit a double exactly). */
function epochNsTextToMs(text: string): number {
  const line = text.trim().split('\n')[0] ?? '';
  if (!/^\d{19}$/.test(line)) throw new Error(`expected an epoch in nanoseconds, got '${line}'`);
  return Number(BigInt(line) / 1000n) / 1000;
}

// ------------------------------------------------------------------ statistics

interface Summary {
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
}

/** Median: mean of the two middle samples for an even count. p90, p99: nearest rank. */
function summarize(samplesMs: readonly number[]): Summary {
  if (samplesMs.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samplesMs].sort((x, y) => x - y);
  const at = (i: number): number => {
    const value = sorted[i];
    if (value === undefined) throw new Error(`no sample at rank ${i}`);
    return value;
  };
  const middle = sorted.length / 2;
  const medianMs =
    sorted.length % 2 === 1 ? at(Math.floor(middle)) : (at(middle - 1) + at(middle)) / 2;
  // Nearest rank: the ceil(0.99 n)-th smallest; for n <= 100 that is the maximum.
  const p90Ms = at(Math.ceil(0.9 * sorted.length) - 1);
  const p99Ms = at(Math.ceil(0.99 * sorted.length) - 1);
  return { medianMs, p90Ms, p99Ms };
}

// ------------------------------------------------------------------ processes

interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function startDaemon(name: string, args: readonly string[], cli = AGORA): Daemon {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Registered at once: a child that exits before anyone awaits must not be missed.
  const exited = once(child, 'exit').then(() => undefined);
  return { name, child, exited };
}

/** SIGTERM (SIGUSR1 for an agent), wait for the exit by PID, SIGKILL after the deadline. */
async function stopDaemon(daemon: Daemon): Promise<void> {
  if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
  // An agent leaves its tasks running on SIGTERM; SIGUSR1 stops them with it.
  daemon.child.kill(daemon.child.spawnargs.includes('agent') ? 'SIGUSR1' : 'SIGTERM');
  const deadline = setTimeout(() => daemon.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await daemon.exited;
  } finally {
    clearTimeout(deadline);
  }
}

function getJson(url: URL, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = get(url, { signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(new Error(`${url.href} answered something other than JSON`, { cause: error }));
        }
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Polls `probe` until it yields a value; names what it waited for at the deadline. */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  signal: AbortSignal,
): Promise<T> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    signal.throwIfAborted();
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for ${what}`);
}

/** A master and agents as real child processes on 127.0.0.1, in a fresh temp dir. */
class Cluster {
  /**
   * `isolation`: `--isolation` for the agents; undefined: the agent's default (cgroups as
   * root). `cli`: the bin/agora.js whose daemons run (another build's, for a baseline).
   */
  constructor(
    private readonly isolation?: string,
    private readonly cli = AGORA,
  ) {}

  private readonly undos: (() => Promise<void> | void)[] = [];
  private stopping: Promise<void> | undefined;
  private readonly daemons: Daemon[] = [];
  private workDir: string | undefined;

  /** Starts the cluster; resolves with the master's URL once every agent registered. */
  async start(signal: AbortSignal): Promise<string> {
    const workDir = mkdtempSync(join(tmpdir(), 'agora-bench-'));
    this.workDir = workDir;
    this.undos.push(() => rmSync(workDir, { recursive: true, force: true }));

    // The master logs at info: its `listening` line is how we learn the port it bound.
    const url = await this.launchMaster(signal);
    for (let i = 1; i <= AGENT_COUNT; i++)
      this.launch(`agent-${i}`, [
        'agent',
        '--master',
        url,
        '--port',
        '0',
        '--work_dir',
        join(workDir, `agent-${i}`),
        '--log_level',
        'warn',
        ...(this.isolation !== undefined ? ['--isolation', this.isolation] : []),
      ]);
    await waitFor(
      `${AGENT_COUNT} agents to register`,
      async () => {
        this.assertAllRunning();
        const state = await getJson(new URL('/master/slaves', url), signal);
        const slaves =
          typeof state === 'object' && state !== null && 'slaves' in state ? state.slaves : [];
        return Array.isArray(slaves) && slaves.length >= AGENT_COUNT ? true : undefined;
      },
      signal,
    );
    return url;
  }

  /** Stops agents, then the master, then removes the temp dir. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Agents first, so their tasks end while the master can still hear about it.
      await Promise.all(this.daemons.filter((d) => d.name !== 'master').map(stopDaemon));
      for (const undo of this.undos.reverse()) await undo();
    })();
    return this.stopping;
  }

  /**
   * The launches the agents' cgroup ledgers record and how many took a parked shim
   * (countParkedLaunches); undefined without a ledger (posix isolation: nothing parks).
   */
  parkedLaunches(): ParkedCount | undefined {
    if (this.workDir === undefined) return undefined;
    let total: ParkedCount | undefined;
    for (let i = 1; i <= AGENT_COUNT; i++) {
      let text: string;
      try {
        text = readFileSync(join(this.workDir, `agent-${i}`, 'meta', 'cgroups', '.ledger'), 'utf8');
      } catch {
        continue;
      }
      const count = countParkedLaunches(text);
      total = {
        launches: (total?.launches ?? 0) + count.launches,
        parked: (total?.parked ?? 0) + count.parked,
      };
    }
    return total;
  }

  /** Throws if a daemon died: the numbers of a half-dead cluster mean nothing. */
  assertAllRunning(): void {
    for (const daemon of this.daemons)
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null)
        throw new Error(
          `${daemon.name} exited (${daemon.child.exitCode ?? daemon.child.signalCode})`,
        );
  }

  /** `onLine` sees every line the daemon prints; all are drained, so a full pipe never blocks it. */
  private launch(name: string, args: readonly string[], onLine?: (line: string) => void): Daemon {
    const daemon = startDaemon(name, args, this.cli);
    this.daemons.push(daemon);
    if (name === 'master') this.undos.push(() => stopDaemon(daemon));
    for (const stream of [daemon.child.stdout, daemon.child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        onLine?.(line);
        // Agents disconnecting while we stop them is expected; only earlier trouble is news.
        if (this.stopping !== undefined) return;
        if (/"level":(40|50|60)/.test(line) || !line.startsWith('{'))
          process.stderr.write(`${name}| ${line}\n`);
      });
    }
    return daemon;
  }

  /** Starts the master and resolves with the URL from its `listening` log line. */
  private async launchMaster(signal: AbortSignal): Promise<string> {
    let onListening: (url: string) => void = () => undefined;
    const listening = new Promise<string>((resolve) => {
      onListening = resolve;
    });
    const master = this.launch(
      'master',
      ['master', '--port', '0', '--registry', 'in_memory', '--log_level', 'info'],
      (line) => {
        const url = listeningUrl(line);
        if (url !== undefined) onListening(url);
      },
    );
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(START_TIMEOUT_MS)]);
    const failed = new Promise<never>((_, reject) => {
      const onAbort = () =>
        reject(
          signal.aborted
            ? signal.reason
            : new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for the master to listen`),
        );
      deadline.addEventListener('abort', onAbort, { once: true });
      void master.exited.then(() => reject(new Error('master exited before it listened')));
      void listening.finally(() => deadline.removeEventListener('abort', onAbort));
    });
    return Promise.race([listening, failed]);
  }
}

interface ParkedCount {
  readonly launches: number;
  readonly parked: number;
}

/**
 * An agent's cgroup ledger (lines `+<id>` when a cgroup is recorded, `-<id>` when it is
 * forgotten) to its launches and those that took a parked shim: a claim records the
 * container's id and then forgets the parked slot's (`+<container>` right before
 * `-parked-…`, src/containerizer/shim-parking.ts); the usual path records the container
 * alone. Runs one at a time, as here, so no other line comes between. Pure.
 */
function countParkedLaunches(text: string): ParkedCount {
  const lines = text.split('\n');
  let launches = 0;
  let parked = 0;
  lines.forEach((line, i) => {
    if (!line.startsWith('+') || line.startsWith('+parked-')) return;
    launches += 1;
    if (lines[i + 1]?.startsWith('-parked-') === true) parked += 1;
  });
  return { launches, parked };
}

/**
 * Median microseconds to create an empty file in `dir`, over `count` files (removed after).
 * ext4 pays on every new inode for the inodes freed lately near it (bench/RESULTS.md, #9):
 * under a /tmp that other runs have churned this was 300-500 µs, against 15-25 µs beside
 * it, and a launch makes about a dozen on the task's path.
 */
function createCostUs(dir: string, count = 50): number {
  const probe = mkdtempSync(join(dir, 'create-probe-'));
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      closeSync(openSync(join(probe, String(i)), 'w'));
      samples.push((performance.now() - t0) * 1000);
    }
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  return summarize(samples).medianMs;
}

function listeningUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry: unknown = JSON.parse(line);
    if (typeof entry !== 'object' || entry === null) return undefined;
    if (!('msg' in entry) || entry.msg !== 'listening') return undefined;
    return 'url' in entry && typeof entry.url === 'string' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ one timed process

interface Timed {
  readonly spawnedAtMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  /** Wall clock at the stderr `data` event after which the output first contains `marker`. */
  readonly markAtMs: ReadonlyMap<string, number>;
  readonly exitAtMs: number;
  /** CPU the process used, user + system (childrenCpuMs: in whole clock ticks). */
  readonly cpuMs: number;
}

/** Clock ticks per second of /proc's times. */
const CLOCK_TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU of this process's reaped children so far (cutime + cstime of /proc/self/stat): a
 * child's user and system time, all its threads, is added when it is reaped. Whole clock
 * ticks (10 ms here), so one sample is coarse and only the mean over many runs is reported.
 */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_S;
}

/**
 * Spawns `file args`, timing from just before spawn(). Records when each of
 * `markers` first appears on stderr (at the `data` event, so a pipe hop and an
 * event-loop turn are included) and when the process exits.
 */
async function timeProcess(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  markers: readonly string[],
  signal: AbortSignal,
): Promise<Timed> {
  const markAtMs = new Map<string, number>();
  let stdout = '';
  let stderr = '';
  const cpuBeforeMs = childrenCpuMs();
  const spawnedAtMs = wallClockMs();
  const child = spawn(file, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: AbortSignal.any([signal, AbortSignal.timeout(RUN_TIMEOUT_MS)]),
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const nowMs = wallClockMs();
    stderr += chunk;
    for (const marker of markers)
      if (!markAtMs.has(marker) && stderr.includes(marker)) markAtMs.set(marker, nowMs);
  });
  let exitAtMs = 0;
  child.once('exit', () => {
    exitAtMs = wallClockMs();
  });
  // `close` comes after `exit` and after both pipes ended: all output is in.
  // once() rejects if `error` comes first (spawn failed, deadline, interrupt).
  try {
    await once(child, 'close');
  } catch (error) {
    throw new Error(`${file} ${args.join(' ')} failed: ${String(error)}`, { cause: error });
  }
  const cpuMs = childrenCpuMs() - cpuBeforeMs;
  return { spawnedAtMs, stdout, stderr, exitCode: child.exitCode, markAtMs, exitAtMs, cpuMs };
}

// ------------------------------------------------------------------ measurements

type Environment = 'as-is' | 'no-extra-ca';

const ENVIRONMENT_LABEL: Readonly<Record<Environment, string>> = {
  'as-is': `CLI env as is (${CA_VARIABLE} set)`,
  'no-extra-ca': `CLI env without ${CA_VARIABLE}`,
};

function environmentOf(kind: Environment): NodeJS.ProcessEnv {
  switch (kind) {
    case 'as-is':
      return process.env;
    case 'no-extra-ca': {
      const { [CA_VARIABLE]: _removed, ...rest } = process.env;
      return rest;
    }
    default:
      return assertNever(kind);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}

/** One `agora run`, as offsets in ms from the spawn of the CLI. */
interface RunSample {
  /** `launched` line: the CLI subscribed, got an offer and accepted it. */
  readonly launchedMs: number;
  readonly taskStartingMs: number;
  /** (a) */
  readonly taskRunningMs: number;
  /** (b) */
  readonly taskStartMs: number;
  /** (c) */
  readonly exitMs: number;
  /** CPU the CLI used, whole run. */
  readonly cpuMs: number;
}

const LAUNCHED = ' launched on ';
const STARTING = ' is TASK_STARTING';
const RUNNING = ' is TASK_RUNNING';

async function runOnce(
  masterUrl: string,
  environment: Environment,
  signal: AbortSignal,
  cli = AGORA,
): Promise<RunSample> {
  const timed = await timeProcess(
    process.execPath,
    [cli, 'run', '--master', masterUrl, '--', TASK_COMMAND],
    environmentOf(environment),
    [LAUNCHED, STARTING, RUNNING],
    signal,
  );
  if (timed.exitCode !== 0)
    throw new Error(`agora run exited with ${timed.exitCode}; its stderr:\n${timed.stderr}`);
  const offsetOf = (marker: string): number => {
    const at = timed.markAtMs.get(marker);
    if (at === undefined)
      throw new Error(`agora run never printed '${marker.trim()}':\n${timed.stderr}`);
    return at - timed.spawnedAtMs;
  };
  return {
    launchedMs: offsetOf(LAUNCHED),
    taskStartingMs: offsetOf(STARTING),
    taskRunningMs: offsetOf(RUNNING),
    taskStartMs: epochNsTextToMs(timed.stdout) - timed.spawnedAtMs,
    exitMs: timed.exitAtMs - timed.spawnedAtMs,
    cpuMs: timed.cpuMs,
  };
}

async function repeat<T>(
  times: number,
  measure: () => Promise<T>,
  signal: AbortSignal,
): Promise<T[]> {
  const samples: T[] = [];
  for (let i = 0; i < times; i++) {
    signal.throwIfAborted();
    samples.push(await measure());
  }
  return samples;
}

const ENVIRONMENTS: readonly Environment[] = ['as-is', 'no-extra-ca'];

/**
 * Measures each environment `times` times, alternating between them, so a change
 * in the machine's load (other builds on a shared box) falls on both alike.
 */
async function alternate<T>(
  times: number,
  measure: (kind: Environment) => Promise<T>,
  signal: AbortSignal,
): Promise<Record<Environment, T[]>> {
  const samples: Record<Environment, T[]> = { 'as-is': [], 'no-extra-ca': [] };
  for (let i = 0; i < times; i++)
    for (const kind of ENVIRONMENTS) {
      signal.throwIfAborted();
      samples[kind].push(await measure(kind));
    }
  return samples;
}

/** One process's time to exit and CPU. */
interface Measured {
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function nodeStartUp(environment: Environment, signal: AbortSignal): Promise<Measured> {
  const timed = await timeProcess(
    process.execPath,
    ['-e', '0'],
    environmentOf(environment),
    [],
    signal,
  );
  if (timed.exitCode !== 0) throw new Error(`node -e 0 exited with ${timed.exitCode}`);
  return { wallMs: timed.exitAtMs - timed.spawnedAtMs, cpuMs: timed.cpuMs };
}

/** The CLI's start-up floor: load, parse flags, one refused connection, exit 125. */
async function cliRefused(
  environment: Environment,
  signal: AbortSignal,
  cli = AGORA,
): Promise<Measured> {
  const timed = await timeProcess(
    process.execPath,
    [cli, 'run', '--master', '127.0.0.1:1', '--', TASK_COMMAND],
    environmentOf(environment),
    [],
    signal,
  );
  if (timed.exitCode !== 125)
    throw new Error(
      `agora run against a closed port exited with ${timed.exitCode}: ${timed.stderr}`,
    );
  return { wallMs: timed.exitAtMs - timed.spawnedAtMs, cpuMs: timed.cpuMs };
}

async function bareSpawnMs(signal: AbortSignal): Promise<number> {
  const timed = await timeProcess('/bin/sh', ['-c', TASK_COMMAND], process.env, [], signal);
  if (timed.exitCode !== 0)
    throw new Error(`/bin/sh -c '${TASK_COMMAND}' exited with ${timed.exitCode}`);
  return epochNsTextToMs(timed.stdout) - timed.spawnedAtMs;
}

// ------------------------------------------------------------------ report

interface Results {
  readonly runs: number;
  readonly warmUpRuns: number;
  readonly configurations: Readonly<Record<Environment, readonly RunSample[]>>;
  readonly context: {
    readonly nodeStartUpMs: Readonly<Record<Environment, readonly number[]>>;
    readonly cliRefusedMs: Readonly<Record<Environment, readonly number[]>>;
    readonly bareSpawnMs: readonly number[];
    /** CPU of each `node -e 0` and refused `agora run`, without NODE_EXTRA_CA_CERTS. */
    readonly nodeStartUpCpuMs: readonly number[];
    readonly cliRefusedCpuMs: readonly number[];
  };
  /**
   * Another build's CLI (`--baseline <bin/agora.js>`), measured without
   * NODE_EXTRA_CA_CERTS in the same alternation, so a before/after comparison
   * sees the same load.
   */
  readonly baseline?: {
    readonly cli: string;
    /** True when the baseline runs against a cluster of its own build's daemons. */
    readonly ownCluster: boolean;
    readonly runs: readonly RunSample[];
    readonly cliRefusedMs: readonly number[];
    readonly cliRefusedCpuMs: readonly number[];
  };
  /** The agents' --isolation, or 'default' (cgroups where the agent is root). */
  readonly isolation: string;
  /** Launches that took a parked shim, per cluster (none counted without a ledger). */
  readonly parkedLaunches: {
    readonly thisBuild: ParkedCount | undefined;
    readonly baseline: ParkedCount | undefined;
  };
  /** Where the clusters' work dirs are, and what making a file there costs (createCostUs). */
  readonly workDisk: { readonly tmpDir: string; readonly createUs: number };
  /** Other work on a shared machine skews every row; this says how busy it was. */
  readonly loadAverage1m: { readonly before: number; readonly after: number };
}

type Row = readonly [string, string, string, string, string];

function ms(value: number): string {
  return value.toFixed(1);
}

function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('no samples to average');
  return samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

/** Differences of two sample lists taken in the same rounds, index by index. */
function pairedDifferences(these: readonly number[], those: readonly number[]): number[] {
  if (these.length !== those.length) throw new Error('paired samples of different counts');
  return these.map((x, i) => x - (those[i] ?? Number.NaN));
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${ms(value)}`;
}

function summaryRow(label: string, metric: string, samplesMs: readonly number[]): Row {
  const { medianMs, p90Ms, p99Ms } = summarize(samplesMs);
  return [label, metric, ms(medianMs), ms(p90Ms), ms(p99Ms)];
}

function render(results: Results): string {
  const rows: Row[] = [['configuration', 'metric', 'median ms', 'p90 ms', 'p99 ms']];
  const rules: number[] = [];
  for (const kind of ENVIRONMENTS) {
    const samples = results.configurations[kind];
    const label = ENVIRONMENT_LABEL[kind];
    const pick = (f: (s: RunSample) => number) => samples.map(f);
    const taskStart = summarize(pick((s) => s.taskStartMs));
    rules.push(rows.length);
    rows.push(
      summaryRow(
        label,
        '(a) TASK_RUNNING seen by the CLI',
        pick((s) => s.taskRunningMs),
      ),
      summaryRow(
        '',
        '(b) task process started',
        pick((s) => s.taskStartMs),
      ),
      summaryRow(
        '',
        '(c) CLI exited',
        pick((s) => s.exitMs),
      ),
      summaryRow(
        '',
        "    · 'launched' line (ACCEPT answered)",
        pick((s) => s.launchedMs),
      ),
      summaryRow(
        '',
        '    · TASK_STARTING seen by the CLI',
        pick((s) => s.taskStartingMs),
      ),
      summaryRow(
        '',
        "    · 'launched' line → task process started",
        pick((s) => s.taskStartMs - s.launchedMs),
      ),
      [
        '',
        `goal (b) median ≤ ${GOAL_TASK_START_MS} ms`,
        taskStart.medianMs <= GOAL_TASK_START_MS ? 'met' : 'NOT met',
        '',
        '',
      ],
    );
  }
  rules.push(rows.length);
  const { nodeStartUpMs, cliRefusedMs, bareSpawnMs } = results.context;
  rows.push(
    summaryRow('context', 'node -e 0, env as is (to exit)', nodeStartUpMs['as-is']),
    summaryRow('', `node -e 0, without ${CA_VARIABLE} (to exit)`, nodeStartUpMs['no-extra-ca']),
    summaryRow('', 'agora run, refused at once, env as is (to exit)', cliRefusedMs['as-is']),
    summaryRow(
      '',
      `agora run, refused at once, without ${CA_VARIABLE}`,
      cliRefusedMs['no-extra-ca'],
    ),
    summaryRow('', `spawn('/bin/sh', ['-c', '${TASK_COMMAND}']) (to timestamp)`, bareSpawnMs),
    [
      '',
      `a new file under ${results.workDisk.tmpDir} (median µs)`,
      results.workDisk.createUs.toFixed(0),
      '',
      '',
    ],
  );
  const parkedRow = (label: string, count: ParkedCount | undefined): Row => [
    '',
    `launches that took a parked shim, ${label}`,
    count === undefined ? 'none' : `${count.parked} of ${count.launches}`,
    '',
    '',
  ];
  rows.push(parkedRow('this build', results.parkedLaunches.thisBuild));
  if (results.baseline?.ownCluster === true)
    rows.push(parkedRow('baseline', results.parkedLaunches.baseline));
  rules.push(rows.length);
  const nodeMs = summarize(nodeStartUpMs['no-extra-ca']).medianMs;
  const ratio = (label: string, metric: string, samplesMs: readonly number[]): Row => {
    const medianMs = summarize(samplesMs).medianMs;
    return [
      label,
      metric,
      `${(medianMs / nodeMs).toFixed(2)}x`,
      `${medianMs - nodeMs >= 0 ? '+' : ''}${ms(medianMs - nodeMs)}`,
      '',
    ];
  };
  const noCa = results.configurations['no-extra-ca'];
  rows.push(
    ['vs node -e 0', `(medians, without ${CA_VARIABLE})`, 'ratio', '+ms', ''],
    ratio(
      '',
      '(b) task process started',
      noCa.map((s) => s.taskStartMs),
    ),
    ratio('', 'agora run, refused at once', cliRefusedMs['no-extra-ca']),
    [
      '',
      `goal (b) within ${GOAL_OVER_NODE_MS} ms of node -e 0`,
      summarize(noCa.map((s) => s.taskStartMs)).medianMs - nodeMs <= GOAL_OVER_NODE_MS
        ? 'met'
        : 'NOT met',
      '',
      '',
    ],
  );
  rules.push(rows.length);
  const { nodeStartUpCpuMs, cliRefusedCpuMs } = results.context;
  rows.push(
    ['CPU (user + system)', `mean per process, without ${CA_VARIABLE}`, 'mean ms', '', ''],
    ['', 'node -e 0', ms(mean(nodeStartUpCpuMs)), '', ''],
    ['', 'agora run, refused at once', ms(mean(cliRefusedCpuMs)), '', ''],
    ['', 'agora run, whole run', ms(mean(noCa.map((s) => s.cpuMs))), '', ''],
  );
  const baseline = results.baseline;
  if (baseline !== undefined) {
    rules.push(rows.length);
    rows.push(
      summaryRow(
        `baseline: ${baseline.cli}`,
        '(b) task process started',
        baseline.runs.map((s) => s.taskStartMs),
      ),
      summaryRow(
        baseline.ownCluster ? "(its own cluster's daemons)" : "(this build's daemons)",
        "    · 'launched' line (ACCEPT answered)",
        baseline.runs.map((s) => s.launchedMs),
      ),
      summaryRow(
        '',
        "    · 'launched' line → task process started",
        baseline.runs.map((s) => s.taskStartMs - s.launchedMs),
      ),
      summaryRow(
        `(without ${CA_VARIABLE})`,
        '(c) CLI exited',
        baseline.runs.map((s) => s.exitMs),
      ),
      summaryRow('', 'agora run, refused at once', baseline.cliRefusedMs),
      ratio(
        '',
        '(b) vs node -e 0 (ratio, +ms)',
        baseline.runs.map((s) => s.taskStartMs),
      ),
      ratio('', 'refused at once vs node -e 0 (ratio, +ms)', baseline.cliRefusedMs),
      ['', 'CPU, refused at once (mean)', ms(mean(baseline.cliRefusedCpuMs)), '', ''],
      ['', 'CPU, whole run (mean)', ms(mean(baseline.runs.map((s) => s.cpuMs))), '', ''],
    );
    // Each round ran both builds one after the other: a difference within a round is
    // what load changes least.
    const pairedRow = (metric: string, differences: readonly number[]): Row => {
      const { medianMs, p90Ms } = summarize(differences);
      return ['', metric, signed(medianMs), signed(p90Ms), ''];
    };
    const pick = (samples: readonly RunSample[], f: (s: RunSample) => number) => samples.map(f);
    rules.push(rows.length);
    rows.push(
      [
        'this build − baseline',
        'paired by round (median, p90 of differences)',
        'median',
        'p90',
        '',
      ],
      pairedRow(
        '(b) task process started',
        pairedDifferences(
          pick(noCa, (s) => s.taskStartMs),
          pick(baseline.runs, (s) => s.taskStartMs),
        ),
      ),
      pairedRow(
        "    · 'launched' line (ACCEPT answered)",
        pairedDifferences(
          pick(noCa, (s) => s.launchedMs),
          pick(baseline.runs, (s) => s.launchedMs),
        ),
      ),
      pairedRow(
        "    · 'launched' line → task process started",
        pairedDifferences(
          pick(noCa, (s) => s.taskStartMs - s.launchedMs),
          pick(baseline.runs, (s) => s.taskStartMs - s.launchedMs),
        ),
      ),
      pairedRow(
        'agora run, refused at once',
        pairedDifferences(cliRefusedMs['no-extra-ca'], baseline.cliRefusedMs),
      ),
      [
        '',
        'CPU, whole run (mean of differences)',
        signed(
          mean(
            pairedDifferences(
              pick(noCa, (s) => s.cpuMs),
              pick(baseline.runs, (s) => s.cpuMs),
            ),
          ),
        ),
        '',
        '',
      ],
      [
        '',
        'CPU, refused at once (mean of differences)',
        signed(mean(pairedDifferences(cliRefusedCpuMs, baseline.cliRefusedCpuMs))),
        '',
        '',
      ],
    );
  }
  rules.push(rows.length);
  REFERENCES.forEach((reference, i) => {
    rows.push([i === 0 ? 'reference (#3)' : '', reference.what, ms(reference.medianMs), '', '']);
  });

  const widths = [0, 1, 2, 3, 4].map((column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: Row) =>
    row
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return column >= 2 ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1));
  const out: string[] = [];
  rows.forEach((row, i) => {
    if (rules.includes(i)) out.push(rule);
    out.push(line(row));
  });
  out.push(rule);
  const n = results.runs;
  const { before, after } = results.loadAverage1m;
  out.push(
    `agora run -- '${TASK_COMMAND}' against 1 master + ${AGENT_COUNT} agents on 127.0.0.1: ${n} runs per row, one at a time,`,
    `after ${results.warmUpRuns} warm-up runs per configuration; the two configurations alternate run by run.`,
    'Every time is from just before spawn() of the process. (a) is when the stderr line reached the bench, a',
    "pipe hop and an event-loop turn after the CLI wrote it; (b) is the task's own `date +%s%N` minus the start.",
    "Only the CLI's environment differs between configurations; the cluster keeps the environment as is.",
    `median: mean of the two middle samples; p90, p99: nearest rank, the ceil(0.9 n)-th and ceil(0.99 n)-th smallest.`,
    `Agents' isolation: ${results.isolation}.`,
    `1-minute load average: ${before.toFixed(2)} before, ${after.toFixed(2)} after.`,
  );
  return `${out.join('\n')}\n`;
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      isolation: { type: 'string' },
      json: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      'baseline-cluster': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(
      `latency: --runs: expected a positive whole number, got '${values.runs}'\n`,
    );
    return 2;
  }

  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const signal = interrupted.signal;
  const isolation = ISOLATIONS[values.isolation ?? 'default'];
  if (isolation === undefined && values.isolation !== undefined) {
    process.stderr.write(
      `latency: --isolation: expected posix or cgroups, got '${values.isolation}'\n`,
    );
    return 2;
  }
  const agentIsolation = isolation === null ? undefined : isolation;
  const cluster = new Cluster(agentIsolation);
  const baselineCli = values.baseline;
  if (values['baseline-cluster'] && baselineCli === undefined) {
    process.stderr.write('latency: --baseline-cluster needs --baseline <bin/agora.js>\n');
    return 2;
  }
  // With --baseline-cluster the baseline's runs go to a cluster of the baseline build's
  // daemons, beside this build's, both idle between runs: a change in the master or the
  // agent is then compared in the same run, under the same load.
  const baselineCluster =
    values['baseline-cluster'] && baselineCli !== undefined
      ? new Cluster(agentIsolation, baselineCli)
      : undefined;
  try {
    const masterUrl = await cluster.start(signal);
    const baselineUrl = (await baselineCluster?.start(signal)) ?? masterUrl;
    process.stderr.write(`latency: cluster up at ${masterUrl}; ${runs} runs per row\n`);

    const createUs = createCostUs(tmpdir());
    const loadAverageBefore = loadavg()[0] ?? 0;
    const baselineRuns: RunSample[] = [];
    const baselineRefused: Measured[] = [];
    // The baseline is measured beside this build's run without the CA variable, first
    // on every other round: what the cluster does after a run (reaping, teardown)
    // falls on the next one, and must not always fall on the same build.
    let round = 0;
    const withBaseline = async <T>(
      kind: Environment,
      measure: (cli: string, url: string) => Promise<T>,
      into: T[],
    ): Promise<T> => {
      if (baselineCli === undefined || kind !== 'no-extra-ca') return measure(AGORA, masterUrl);
      round += 1;
      if (round % 2 === 0) into.push(await measure(baselineCli, baselineUrl));
      const sample = await measure(AGORA, masterUrl);
      if (round % 2 === 1) into.push(await measure(baselineCli, baselineUrl));
      return sample;
    };
    await alternate(
      WARM_UP_RUNS,
      (kind) => withBaseline(kind, (cli, url) => runOnce(url, kind, signal, cli), []),
      signal,
    );
    const configurations = await alternate(
      runs,
      (kind) => withBaseline(kind, (cli, url) => runOnce(url, kind, signal, cli), baselineRuns),
      signal,
    );
    cluster.assertAllRunning();
    baselineCluster?.assertAllRunning();
    const parkedLaunches = {
      thisBuild: cluster.parkedLaunches(),
      baseline: baselineCluster?.parkedLaunches(),
    };
    process.stderr.write('latency: agora run done; context rows next\n');
    const nodeStartUps = await alternate(runs, (kind) => nodeStartUp(kind, signal), signal);
    const refused = await alternate(
      runs,
      (kind) => withBaseline(kind, (cli) => cliRefused(kind, signal, cli), baselineRefused),
      signal,
    );
    const wallOf = (samples: readonly Measured[]) => samples.map((s) => s.wallMs);
    const cpuOf = (samples: readonly Measured[]) => samples.map((s) => s.cpuMs);
    const results: Results = {
      runs,
      warmUpRuns: WARM_UP_RUNS,
      configurations,
      context: {
        nodeStartUpMs: {
          'as-is': wallOf(nodeStartUps['as-is']),
          'no-extra-ca': wallOf(nodeStartUps['no-extra-ca']),
        },
        cliRefusedMs: {
          'as-is': wallOf(refused['as-is']),
          'no-extra-ca': wallOf(refused['no-extra-ca']),
        },
        bareSpawnMs: await repeat(runs, () => bareSpawnMs(signal), signal),
        nodeStartUpCpuMs: cpuOf(nodeStartUps['no-extra-ca']),
        cliRefusedCpuMs: cpuOf(refused['no-extra-ca']),
      },
      ...(baselineCli !== undefined
        ? {
            baseline: {
              cli: baselineCli,
              ownCluster: baselineCluster !== undefined,
              runs: baselineRuns,
              cliRefusedMs: wallOf(baselineRefused),
              cliRefusedCpuMs: cpuOf(baselineRefused),
            },
          }
        : {}),
      isolation: isolation ?? 'default',
      parkedLaunches,
      workDisk: { tmpDir: tmpdir(), createUs },
      loadAverage1m: { before: loadAverageBefore, after: loadavg()[0] ?? 0 },
    };
    process.stdout.write(render(results));
    if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (signal.aborted) {
      process.stderr.write('latency: interrupted; stopping the cluster\n');
      return 130;
    }
    process.stderr.write(`latency: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await Promise.all([cluster.stop(), baselineCluster?.stop()]);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main();
