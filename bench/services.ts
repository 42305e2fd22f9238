// Services framework benchmark (issue 12): how fast `agora services` brings up
// and rolls out many instances, and what the framework costs in memory.
//
//   npm run bench:services [-- --quick] [-- --skip-real] [-- --framework-state embedded]
//
// Rows, each on a fresh master (the bundled CLI, in-memory registry) and a fresh
// services framework process (`agora services serve --state in_memory --no_dns`):
// - 1 app x 1000 and 100 apps x 10 instances of `sleep` on 100 simulated agents
//   (src/sim, over loopback HTTP; a simulated task runs until killed);
// - 1 app x 200 instances of `sleep 3600` on 2 real agents (real processes).
// For each: seconds from POST /v2/apps until every instance is TASK_RUNNING (as
// /v2/apps counts them), seconds of a rolling deploy of all of them (a new cmd,
// minimumHealthCapacity 0.5, maximumOverCapacity 0.5, until no deployment is left
// and every instance is of the new version), and the framework's RSS (VmRSS at
// the end, VmHWM the peak). Goal: 1,000 running in <= 5 s; <= 200 MiB at that size.
// --framework-state embedded: the framework keeps its state on disk (fsync per
// batch), as `agora up` runs it, instead of in memory.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32, SimAgentPool } from '../src/sim/index.js';
import type { Resource } from '../src/wire/index.js';
import { Bed, load1m, procSample } from './master/processes.js';

/** Polls an async probe every 100 ms until it yields a value; throws at the deadline or on abort. */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    signal.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // Not up yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const ROOT = join(import.meta.dirname, '..');
const AGORA = join(ROOT, 'bin', 'agora.js');
const SIM_AGENT_RESOURCES: Resource[] = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 32 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 65536 } },
  { name: 'disk', type: 'SCALAR', scalar: { value: 100000 } },
];
const ROW_TIMEOUT_MS = 180_000;

interface Row {
  readonly name: string;
  readonly instances: number;
  readonly runningSeconds: number;
  readonly deploySeconds: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  /** CPU seconds from the first POST until all run: the framework's and the master's. */
  readonly frameworkCpuSeconds: number;
  readonly masterCpuSeconds: number;
  /** 1-minute load average when the row started and when it ended. */
  readonly loadStart: number;
  readonly loadEnd: number;
}

interface Shape {
  readonly name: string;
  readonly apps: number;
  readonly perApp: number;
  readonly real: boolean;
}

function spawnLogged(
  args: readonly string[],
  logPath: string,
  nodeArgs: readonly string[] = [],
): ChildProcess {
  const fd = openSync(logPath, 'a');
  try {
    return spawn(process.execPath, [...nodeArgs, AGORA, ...args], {
      cwd: ROOT,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // An agent leaves its tasks running on SIGTERM; SIGUSR1 stops them with it.
  child.kill(child.spawnargs.includes('agent') ? 'SIGUSR1' : 'SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function listening(logPath: string): string | undefined {
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === 'listening' && typeof entry.url === 'string') return entry.url;
  }
  return undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: the API's replies are read field by field
async function json(url: string, method = 'GET', body?: unknown): Promise<any> {
  const response = await fetch(url, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function runRow(
  shape: Shape,
  workDir: string,
  signal: AbortSignal,
  cpuProfDir?: string,
  frameworkState = 'in_memory',
): Promise<Row> {
  const bed = new Bed(workDir, shape.name, undefined, 64);
  const children: ChildProcess[] = [];
  try {
    const loadStart = load1m();
    const { url: masterUrl, agents, master } = await bed.startMaster(signal);
    if (shape.real) {
      for (const [i, ports] of ['31000-31499', '31500-31999'].entries()) {
        const dir = join(workDir, `${shape.name}-agent-${i}`);
        mkdirSync(dir, { recursive: true });
        const agent = spawnLogged(
          [
            'agent',
            '--master',
            masterUrl,
            '--port',
            '0',
            '--work_dir',
            dir,
            '--resources',
            `cpus:32;mem:65536;disk:10000;ports:[${ports}]`,
          ],
          join(workDir, `${shape.name}-agent-${i}.log`),
        );
        children.push(agent);
      }
      await waitFor(
        '2 real agents',
        async () => {
          const state = await json(new URL('/master/slaves', masterUrl).href);
          return state.slaves.length >= 2 ? true : undefined;
        },
        60_000,
        signal,
      );
    } else {
      const pool = new SimAgentPool({
        network: agents,
        count: 100,
        resources: SIM_AGENT_RESOURCES,
        wheel: bed.wheel,
        random: mulberry32(1),
      });
      bed.defer(() => pool.stop());
      await pool.start();
    }
    const logPath = join(workDir, `${shape.name}-services.log`);
    const services = spawnLogged(
      [
        'services',
        'serve',
        '--master',
        masterUrl,
        '--port',
        '0',
        '--no_dns',
        '--state',
        frameworkState,
        '--work_dir',
        join(workDir, `${shape.name}-services-state`),
        '--log_level',
        'info',
      ],
      logPath,
      // --cpu-prof-dir <dir>: where the framework's CPU profile goes.
      cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir],
    );
    children.push(services);
    const servicesUrl = await waitFor(
      'the services framework',
      () => listening(logPath),
      60_000,
      signal,
    );
    const total = shape.apps * shape.perApp;
    const cmd = shape.real ? 'sleep 3600' : 'sleep 3600 # simulated';
    const cpuBefore = {
      framework: procSample(services.pid ?? -1).cpuSeconds,
      master: procSample(master.pid).cpuSeconds,
    };
    const started = performance.now();
    for (let i = 0; i < shape.apps; i++)
      await json(`${servicesUrl}/v2/apps`, 'POST', {
        id: `/bench/app-${i}`,
        cmd,
        cpus: 0.01,
        mem: 8,
        instances: shape.perApp,
        upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5 },
      });
    const running = async () => {
      const { apps } = await json(`${servicesUrl}/v2/apps`);
      return (apps as { tasksRunning: number }[]).reduce((n, a) => n + a.tasksRunning, 0);
    };
    await waitFor(
      `${total} running`,
      async () => ((await running()) >= total ? true : undefined),
      ROW_TIMEOUT_MS,
      signal,
    );
    const runningSeconds = (performance.now() - started) / 1000;
    const frameworkCpuSeconds = procSample(services.pid ?? -1).cpuSeconds - cpuBefore.framework;
    const masterCpuSeconds = procSample(master.pid).cpuSeconds - cpuBefore.master;
    const deployStarted = performance.now();
    for (let i = 0; i < shape.apps; i++)
      await json(`${servicesUrl}/v2/apps/bench/app-${i}`, 'PUT', {
        cmd: shape.real ? 'sleep 3601' : `${cmd} v2`,
      });
    await waitFor(
      'the rolling deploys',
      async () => {
        const deployments = await json(`${servicesUrl}/v2/deployments`);
        if (deployments.length > 0) return undefined;
        return (await running()) >= total ? true : undefined;
      },
      ROW_TIMEOUT_MS,
      signal,
    ).catch(async (error: unknown) => {
      const deployments = await json(`${servicesUrl}/v2/deployments`).catch(() => []);
      const queue = await json(`${servicesUrl}/v2/queue`).catch(() => ({}));
      throw new Error(
        `${(error as Error).message}: ${JSON.stringify(deployments).slice(0, 600)} ${JSON.stringify(queue).slice(0, 600)}`,
      );
    });
    const deploySeconds = (performance.now() - deployStarted) / 1000;
    const sample = procSample(services.pid ?? -1);
    // Delete everything so a real agent's processes go before it stops.
    for (let i = 0; i < shape.apps; i++)
      await json(`${servicesUrl}/v2/apps/bench/app-${i}`, 'DELETE');
    await waitFor(
      'apps deleted',
      async () => ((await json(`${servicesUrl}/v2/apps`)).apps.length === 0 ? true : undefined),
      ROW_TIMEOUT_MS,
      signal,
    );
    return {
      name: shape.name,
      instances: total,
      runningSeconds,
      deploySeconds,
      rssMiB: sample.rssMb,
      peakRssMiB: sample.hwmMb,
      frameworkCpuSeconds,
      masterCpuSeconds,
      loadStart,
      loadEnd: load1m(),
    };
  } finally {
    for (const child of children.reverse()) await stopChild(child);
    await bed.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      'skip-real': { type: 'boolean' },
      'only-real': { type: 'boolean' },
      'real-instances': { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
      'framework-state': { type: 'string' },
    },
  });
  const realInstances = Number(values['real-instances'] ?? 200);
  const isOnlyReal = values['only-real'] === true;
  const shapes: Shape[] = [
    ...(isOnlyReal ? [] : [{ name: '1x1000 sim', apps: 1, perApp: 1000, real: false }]),
    ...(values.quick === true || isOnlyReal
      ? []
      : [{ name: '100x10 sim', apps: 100, perApp: 10, real: false }]),
    ...(values['skip-real'] === true
      ? []
      : [{ name: `1x${realInstances} real`, apps: 1, perApp: realInstances, real: true }]),
  ];
  const workDir = mkdtempSync(join(tmpdir(), 'agora-bench-services-'));
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort(new Error('interrupted')));
  const rows: Row[] = [];
  try {
    for (const shape of shapes) {
      process.stderr.write(`bench:services: ${shape.name}…\n`);
      try {
        rows.push(
          await runRow(
            shape,
            workDir,
            abort.signal,
            values['cpu-prof-dir'],
            values['framework-state'] ?? 'in_memory',
          ),
        );
      } catch (error) {
        // One row failing leaves the others' numbers standing.
        process.stderr.write(`bench:services: ${shape.name} failed: ${(error as Error).message}\n`);
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const header =
    '| row | instances | all running (s) | rolling deploy (s) | framework RSS (MiB) | peak RSS (MiB) | CPU to all running: framework / master (s) | load 1m start→end |';
  const lines = [header, '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows)
    lines.push(
      `| ${r.name} | ${r.instances} | ${r.runningSeconds.toFixed(2)} | ${r.deploySeconds.toFixed(2)} | ${r.rssMiB.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${r.frameworkCpuSeconds.toFixed(2)} / ${r.masterCpuSeconds.toFixed(2)} | ${r.loadStart.toFixed(1)}→${r.loadEnd.toFixed(1)} |`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
