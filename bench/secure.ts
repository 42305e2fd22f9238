// The cost of security (#14, "Benchmark"): task start latency and tasks per second on a real
// local cluster (a master and two agents, real processes) with everything off, and with HTTP
// authentication on every daemon (--authenticate_http_readonly/readwrite/frameworks/agents)
// plus TLS on every endpoint (master, agents, agent-to-master, the CLI and the framework).
// The goal in #14: TLS and authentication together cost at most 10% of tasks per second.
//
//   npm run bench:secure [-- --runs N] [-- --tasks N]
//
// Latency: `agora run -- true` spawned N times in a row; the time from spawn() to the CLI's
// `is TASK_RUNNING` line (the CLI's own start-up counts, as in bench:latency). Throughput: one
// in-process framework launches --tasks short tasks (`true`, 0.01 cpu) on every offer as fast
// as they fit, and the rate is tasks finished per second of the whole batch. The two
// configurations alternate, twice each, and the 1-minute load is printed beside every row.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { subscribe, useCredential } from '../src/sdk/index.js';
import { type Offer, type TaskInfo, taskId } from '../src/wire/index.js';
import { AGORA, type Daemon, startDaemon, waitFor } from '../test/integration/harness.js';
import { makeTestPki, type TestPki } from '../test/integration/tls-certs.js';

const OPS = { principal: 'ops', secret: 'ops-secret' };
const AGENT_CREDENTIAL = { principal: 'agent', secret: 'agent-secret' };
const AGENT_RESOURCES = 'cpus:8;mem:8192;disk:1024';
const TASK_CPUS = 0.01;
const TASK_MEM_MB = 8;

type Config = 'off' | 'auth+TLS';

interface Cluster {
  readonly masterUrl: string;
  /** The environment a client of this cluster runs with (TLS CA and client certificate). */
  readonly clientEnv: NodeJS.ProcessEnv;
  readonly cliArgs: readonly string[];
  /** The daemons' pids by name (master, agent-1, agent-2). */
  readonly pids: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/** CPU ms (user + system) a process has used, from /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU ms by process (the daemons and this process, which runs the framework) since `from`. */
function cpuSince(cluster: Cluster, from?: ReadonlyMap<string, number>): Map<string, number> {
  const now = new Map<string, number>();
  for (const [name, pid] of cluster.pids) now.set(name, cpuMs(pid));
  const own = process.cpuUsage();
  now.set('framework', (own.user + own.system) / 1000);
  if (from !== undefined) for (const [name, ms] of now) now.set(name, ms - (from.get(name) ?? 0));
  return now;
}

/** Given (`--profile <dir>`), each daemon writes a CPU profile there when it stops. */
const PROFILER = join(import.meta.dirname, 'cpu-profile.cjs');
let profileDir: string | undefined;

function daemonEnv(config: Config, name: string): NodeJS.ProcessEnv {
  if (profileDir === undefined) return process.env;
  const dir = join(profileDir, `${config === 'off' ? 'off' : 'secure'}-${name}`);
  // --cpu-prof is not allowed in NODE_OPTIONS: a preloaded inspector session does the same.
  return { ...process.env, NODE_OPTIONS: `--require ${PROFILER}`, AGORA_PROF_DIR: dir };
}

async function startBenchCluster(config: Config, pki: TestPki): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'agora-bench-secure-'));
  const credentials = join(dir, 'credentials.json');
  writeFileSync(credentials, JSON.stringify({ credentials: [OPS, AGENT_CREDENTIAL] }));
  const agentCredential = join(dir, 'agent-credential');
  writeFileSync(agentCredential, `${AGENT_CREDENTIAL.principal} ${AGENT_CREDENTIAL.secret}\n`);
  const isSecure = config === 'auth+TLS';
  const tls = isSecure
    ? ['--ssl_cert_file', pki.certFile, '--ssl_key_file', pki.keyFile, '--ssl_ca_file', pki.caFile]
    : [];
  const httpAuth = isSecure
    ? ['--authenticate_http_readonly', '--authenticate_http_readwrite']
    : [];
  const started: Daemon[] = [];
  const stop = async () => {
    for (const daemon of started.reverse()) await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
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
        ...tls,
        ...(isSecure
          ? [...httpAuth, '--authenticate_http_frameworks', '--authenticate_agents']
          : []),
        ...(isSecure ? ['--credentials', credentials] : []),
      ],
      daemonEnv(config, 'master'),
    );
    started.push(master);
    for (const name of ['agent-1', 'agent-2'])
      started.push(
        await startDaemon(
          name,
          [
            'agent',
            '--master',
            master.url,
            '--port',
            '0',
            '--work_dir',
            join(dir, name),
            '--resources',
            AGENT_RESOURCES,
            ...tls,
            ...(isSecure
              ? [...httpAuth, '--http_credentials', credentials, '--credential', agentCredential]
              : []),
          ],
          daemonEnv(config, name),
        ),
      );
    const clientEnv: NodeJS.ProcessEnv = isSecure
      ? { ...process.env, LIBPROCESS_SSL_CA_FILE: pki.caFile }
      : { ...process.env };
    const cliArgs = isSecure ? ['--principal', OPS.principal, '--secret', OPS.secret] : [];
    const pids = new Map(started.map((d) => [d.name, d.pid]));
    return { masterUrl: master.url, clientEnv, cliArgs, pids, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One `agora run -- true`: ms from spawn() to its `is TASK_RUNNING` line. */
function timeRun(cluster: Cluster): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [AGORA, 'run', '--master', cluster.masterUrl, ...cluster.cliArgs, '--', 'true'],
      { env: cluster.clientEnv, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let runningMs: number | undefined;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (runningMs === undefined && stderr.includes(' is TASK_RUNNING'))
        runningMs = performance.now() - started;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && runningMs !== undefined) resolve(runningMs);
      else reject(new Error(`agora run exited ${code}: ${stderr.slice(-400)}`));
    });
  });
}

/** Launches `count` short tasks as fast as offers take them; tasks finished per second. */
async function tasksPerSecond(cluster: Cluster, count: number): Promise<number> {
  const saved = process.env.LIBPROCESS_SSL_CA_FILE;
  if (cluster.clientEnv.LIBPROCESS_SSL_CA_FILE !== undefined)
    process.env.LIBPROCESS_SSL_CA_FILE = cluster.clientEnv.LIBPROCESS_SSL_CA_FILE;
  useCredential(cluster.cliArgs.length > 0 ? OPS : undefined);
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: {
      user: 'root',
      name: 'bench-secure',
      ...(cluster.cliArgs.length > 0 ? { principal: OPS.principal } : {}),
    },
  });
  try {
    let launched = 0;
    let finished = 0;
    const started = performance.now();
    for await (const event of framework.events()) {
      if (event.type === 'OFFERS') {
        for (const offer of event.offers.offers) {
          const tasks = fill(offer, count - launched, launched);
          launched += tasks.length;
          await framework.accept(
            [offer.id],
            tasks.length === 0 ? [] : [{ type: 'LAUNCH', launch: { task_infos: tasks } }],
            { refuse_seconds: 0 },
          );
        }
      } else if (event.type === 'UPDATE') {
        const state = event.update.status.state;
        if (state === 'TASK_FINISHED') finished += 1;
        else if (state !== 'TASK_STARTING' && state !== 'TASK_RUNNING')
          throw new Error(`a task ended ${state}: ${event.update.status.message ?? ''}`);
        if (finished === count) break;
      }
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    await framework.close({ drainMs: 0 });
    useCredential(undefined);
    if (saved === undefined) delete process.env.LIBPROCESS_SSL_CA_FILE;
    else process.env.LIBPROCESS_SSL_CA_FILE = saved;
  }
}

/** As many tasks of TASK_CPUS and TASK_MEM_MB as `offer` holds, at most `wanted`. */
function fill(offer: Offer, wanted: number, firstIndex: number): TaskInfo[] {
  const scalar = (name: string) =>
    offer.resources.find((r) => r.name === name && r.scalar !== undefined)?.scalar?.value ?? 0;
  const fits = Math.floor(
    Math.min(scalar('cpus') / TASK_CPUS, scalar('mem') / TASK_MEM_MB) * 0.999,
  );
  return Array.from({ length: Math.max(0, Math.min(fits, wanted)) }, (_, i) => ({
    name: 'bench',
    task_id: taskId(`bench-${firstIndex + i}`),
    agent_id: offer.agent_id,
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: TASK_CPUS } },
      { name: 'mem', type: 'SCALAR', scalar: { value: TASK_MEM_MB } },
    ],
    command: { value: 'true' },
  }));
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const load1 = () => loadavg()[0]?.toFixed(1) ?? '?';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      tasks: { type: 'string', default: '300' },
      rounds: { type: 'string', default: '2' },
      profile: { type: 'string' },
    },
  });
  profileDir = values.profile;
  const runs = Number(values.runs);
  const taskCount = Number(values.tasks);
  const pki = makeTestPki();
  const results = new Map<Config, { latencyMs: number[]; perSecond: number[]; loads: string[] }>();
  try {
    for (let round = 1; round <= Number(values.rounds); round++)
      for (const config of ['off', 'auth+TLS'] as const) {
        const cluster = await startBenchCluster(config, pki);
        try {
          // A first run once the agents are in (and to warm the page cache for the CLI).
          await waitFor(
            'a first task to start',
            () => timeRun(cluster).catch(() => undefined),
            60_000,
          );
          const latencyMs: number[] = [];
          for (let i = 0; i < runs; i++) latencyMs.push(await timeRun(cluster));
          const cpuBefore = cpuSince(cluster);
          const perSecond = await tasksPerSecond(cluster, taskCount);
          const cpuPerTask = [...cpuSince(cluster, cpuBefore)].map(
            ([name, ms]) => `${name} ${(ms / taskCount).toFixed(2)}`,
          );
          console.error(`  CPU ms per task: ${cpuPerTask.join(', ')}`);
          const entry = results.get(config) ?? { latencyMs: [], perSecond: [], loads: [] };
          entry.latencyMs.push(...latencyMs);
          entry.perSecond.push(perSecond);
          entry.loads.push(load1());
          results.set(config, entry);
          console.error(
            `round ${round} ${config}: start ${median(latencyMs).toFixed(0)} ms, ${perSecond.toFixed(0)} tasks/s (load ${load1()})`,
          );
        } finally {
          await cluster.stop();
        }
      }
  } finally {
    pki.remove();
  }
  console.log('| configuration | task start, median ms | tasks/s (per round) | 1-min load |');
  console.log('|---|---|---|---|');
  for (const [config, r] of results)
    console.log(
      `| ${config} | ${median(r.latencyMs).toFixed(0)} | ${r.perSecond.map((v) => v.toFixed(0)).join(', ')} | ${r.loads.join(', ')} |`,
    );
  const off = results.get('off');
  const secure = results.get('auth+TLS');
  if (off !== undefined && secure !== undefined) {
    const cost = 1 - median(secure.perSecond) / median(off.perSecond);
    console.log(`\ntasks/s cost of auth+TLS: ${(cost * 100).toFixed(1)}% (goal <= 10%)`);
    console.log(
      `task start cost: ${(median(secure.latencyMs) - median(off.latencyMs)).toFixed(0)} ms`,
    );
  }
}

await main();
