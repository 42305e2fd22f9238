// Jobs framework benchmark (#13).
//
//   npm run bench:jobs [-- --tasks 10000] [-- --sim-agents 1000] [-- --only real,sim,queue]
//                      [-- --profile DIR]   (a CPU profile of the framework process)
//                      [-- --isolation posix/cpu,posix/mem]   (the real agent's; default: its own)
//                      [-- --timeline]      (the run's counts at each poll, on stderr)
//                      [-- --call-sockets 64]   (sockets the simulated agents' calls share)
//
// - real: one real master and one real agent (`cpus:8;mem:8192`), the jobs framework as its own
//   process (`agora jobs serve`, the bundled CLI), and one array job of `--tasks` tasks of
//   `true` (0.1 cpu, 32 MB): tasks per second from POST …/runs to the run's SUCCESS (polled
//   every 100 ms), and the framework's memory (VmHWM, and VmRSS at the end).
// - sim: the same against `--sim-agents` simulated agents (src/sim's SimAgentPool, as in
//   bench/master.ts; each `cpus:8;mem:8192`, tasks end at once).
// - queue: src/sim's mixed workload (bench/placement.ts's) queued as one-task jobs by the jobs
//   framework's queue rule (`planCycle`: priority 1/d with aging τ = 60 s) against first come
//   first served with the same holding back, each placed every 1 s: waiting times. Pure and
//   seeded: the same on every machine.
//
// Daemons are stopped by PID (SIGTERM, SIGKILL after 10 s); the temp dir is removed.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type OfferSlot, planCycle, type QueueEntry } from '../src/frameworks/jobs/index.js';
import {
  clusterCapacityOf,
  DEFAULT_SIM_CONFIG,
  generateWorkload,
  mulberry32,
  SimAgentPool,
  type SimStats,
  type SimTask,
  statsOf,
} from '../src/sim/index.js';
import type { Resource } from '../src/wire/index.js';
import { Bed, clockTicks, procSample } from './master/processes.js';

const ROOT = join(import.meta.dirname, '..');
/** AGORA_BENCH_BIN: another build's `bin/agora.js` (a copy made before a change), for pairs. */
const AGORA = process.env.AGORA_BENCH_BIN ?? join(ROOT, 'bin', 'agora.js');
const AGENT_RESOURCES = 'cpus:8;mem:8192';
const RUN_TIMEOUT_MS = 15 * 60_000;

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    'sim-agents': { type: 'string', default: '1000' },
    only: { type: 'string', default: 'real,sim,queue' },
    json: { type: 'boolean' },
    /** Writes a V8 CPU profile of the framework process into this directory. */
    profile: { type: 'string' },
    /**
     * The real agent's --isolation. Unset: the agent's default, as `npm start` runs it (as
     * root: cgroups/cpu,mem,pids and filesystem/linux; otherwise posix). `posix/cpu,posix/mem`
     * is bench/agent.ts's posix row.
     */
    isolation: { type: 'string' },
    /**
     * Kept-alive sockets the simulated agents' calls (their status updates) share; calls
     * beyond them queue. 1,000 real agents would each have their own connection.
     */
    'call-sockets': { type: 'string', default: '64' },
    /** Prints the run's counts (succeeded / running / queued) at each poll, to stderr. */
    timeline: { type: 'boolean' },
  },
});
const TASKS = Number(values.tasks);
const SIM_AGENTS = Number(values['sim-agents']);
const CALL_SOCKETS = Number(values['call-sockets']);
const only = new Set(values.only.split(','));

interface ArrayRow {
  readonly name: string;
  readonly tasks: number;
  readonly seconds: number;
  readonly tasksPerSecond: number;
  readonly frameworkHwmMb: number;
  readonly frameworkRssMb: number;
  readonly frameworkCpuSeconds: number;
  /** The master's CPU from the run's POST to its end. */
  readonly masterCpuSeconds: number;
  /**
   * The agent's (real: its own and its reaped children's, the executors and tasks) or this
   * process's, which runs the simulated agents (sim), from the run's POST to its end.
   */
  readonly agentCpuSeconds: number;
  /**
   * The real agent's main thread (its event loop, which serialises launches, updates and
   * exits) over the run; undefined for simulated agents.
   */
  readonly agentLoopCpuSeconds: number | undefined;
  /** The framework's CPU from the run's POST to its end (frameworkCpuSeconds: its whole life). */
  readonly frameworkRunCpuSeconds: number;
  /** Write syscalls (syscw) per task, over the run: framework, master. */
  readonly frameworkWritesPerTask: number;
  readonly masterWritesPerTask: number;
  /** The framework's calls and events per task over the run, from the master's metrics. */
  readonly perTask: Readonly<Record<string, number>>;
  readonly status: string;
}

/** CPU seconds of a process's main thread (its event loop, for node), from /proc. */
function mainThreadCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** The jobs framework's `calls/*` and `events/*` counters and the allocator's runs. */
async function masterCounters(masterUrl: string): Promise<Map<string, number>> {
  const response = await fetch(new URL('/metrics/snapshot', masterUrl));
  const snapshot = (await response.json()) as Record<string, number>;
  const counters = new Map<string, number>();
  for (const [key, value] of Object.entries(snapshot)) {
    const framework = /^master\/frameworks\/agora-jobs\/[^/]+\/((calls|events)\/[a-z_]+)$/.exec(
      key,
    );
    if (framework?.[1] !== undefined) counters.set(framework[1], value);
    else if (key === 'allocator/mesos/allocation_runs') counters.set('allocation runs', value);
  }
  return counters;
}

/** The fields of GET /v1/jobs/<job>/runs/<run> the bench reads. */
interface RunView {
  readonly status: string;
  readonly succeeded: number;
  readonly running: number;
  readonly queued: number;
}

/** CPU of a process's reaped children (cutime + cstime of /proc/<pid>/stat), seconds. */
function reapedCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // USER_HZ is 100 on Linux.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function wireResources(text: string): Resource[] {
  return text.split(';').map((part) => {
    const [name = '', value = ''] = part.split(':');
    return { name, type: 'SCALAR', scalar: { value: Number(value) } };
  });
}

async function startJobsDaemon(bed: Bed, workDir: string, masterUrl: string) {
  const logPath = join(workDir, 'jobs.log');
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [
        ...(values.profile !== undefined ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : []),
        AGORA,
        'jobs',
        'serve',
        '--master',
        masterUrl,
        '--port',
        '0',
        '--work_dir',
        join(workDir, 'jobs'),
      ],
      { cwd: ROOT, stdio: ['ignore', fd, fd] },
    );
  } finally {
    closeSync(fd);
  }
  const exited = once(child, 'exit');
  bed.defer(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const line = readFileSync(logPath, 'utf8')
      .split('\n')
      .find((l) => l.includes('"msg":"listening"'));
    if (line !== undefined)
      return { url: (JSON.parse(line) as { url: string }).url, pid: child.pid ?? -1 };
    if (child.exitCode !== null) throw new Error(`the jobs framework exited; see ${logPath}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the jobs framework did not listen within 30 s');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function post(url: string, body?: unknown): Promise<{ id: string }> {
  const response = await fetch(url, {
    method: 'POST',
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`${url}: ${response.status} ${text}`);
  return JSON.parse(text) as { id: string };
}

async function runArray(name: string, kind: 'real' | 'sim'): Promise<ArrayRow> {
  const workDir = mkdtempSync(join(tmpdir(), `agora-bench-jobs-${kind}-`));
  const bed = new Bed(workDir, kind, values.profile, CALL_SOCKETS);
  const signal = new AbortController().signal;
  try {
    const { url, agents, master } = await bed.startMaster(signal);
    let agentPid: number | undefined;
    if (kind === 'real')
      agentPid = (
        await bed.startAgent(url, AGENT_RESOURCES, signal, {
          extraArgs: values.isolation !== undefined ? ['--isolation', values.isolation] : [],
        })
      ).pid;
    else {
      const pool = new SimAgentPool({
        network: agents,
        count: SIM_AGENTS,
        resources: wireResources(AGENT_RESOURCES),
        wheel: bed.wheel,
        random: mulberry32(1),
      });
      bed.defer(() => pool.stop());
      await pool.start();
    }
    const jobs = await startJobsDaemon(bed, workDir, url);
    await post(`${jobs.url}/v1/jobs`, {
      id: 'bench',
      run: { cmd: 'true', cpus: 0.1, mem: 32 },
      completions: TASKS,
      maxRetries: 0,
      // Simulated agents end a task after this label's time; a real agent ignores it.
      labels: { agora_sim_duration_ms: '0' },
    });
    let hwm = 0;
    const agentCpu = () => {
      if (agentPid === undefined) {
        const usage = process.cpuUsage();
        return (usage.user + usage.system) / 1e6;
      }
      return procSample(agentPid).cpuSeconds + reapedCpuSeconds(agentPid);
    };
    const agentCpuBefore = agentCpu();
    const agentLoopBefore = agentPid === undefined ? 0 : mainThreadCpuSeconds(agentPid);
    const masterBefore = procSample(master.pid);
    const frameworkBefore = procSample(jobs.pid);
    const countersBefore = await masterCounters(url);
    const startMs = performance.now();
    const run = await post(`${jobs.url}/v1/jobs/bench/runs`);
    let status = 'ACTIVE';
    while (performance.now() - startMs < RUN_TIMEOUT_MS) {
      if (!isAlive(jobs.pid))
        throw new Error(
          `the jobs framework exited:\n${readFileSync(join(workDir, 'jobs.log'), 'utf8').slice(-3000)}`,
        );
      try {
        const response = await fetch(`${jobs.url}/v1/jobs/bench/runs/${run.id}`);
        const view = (await response.json()) as RunView;
        status = view.status;
        if (values.timeline === true)
          process.stderr.write(
            `${((performance.now() - startMs) / 1000).toFixed(2)} s  succeeded ${view.succeeded}  running ${view.running}  queued ${view.queued}\n`,
          );
      } catch {
        // Busy: the next poll tells.
      }
      hwm = Math.max(hwm, procSample(jobs.pid).hwmMb);
      if (status === 'SUCCESS' || status === 'FAILED') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - startMs) / 1000;
    const sample = procSample(jobs.pid);
    const agentCpuSeconds = agentCpu() - agentCpuBefore;
    const agentLoopCpuSeconds =
      agentPid === undefined ? undefined : mainThreadCpuSeconds(agentPid) - agentLoopBefore;
    const masterAfter = procSample(master.pid);
    const countersAfter = await masterCounters(url);
    const perTask: Record<string, number> = {};
    for (const [key, value] of countersAfter) {
      const delta = value - (countersBefore.get(key) ?? 0);
      if (delta > 0) perTask[key] = delta / TASKS;
    }
    return {
      perTask,
      masterCpuSeconds: masterAfter.cpuSeconds - masterBefore.cpuSeconds,
      agentCpuSeconds,
      agentLoopCpuSeconds,
      frameworkRunCpuSeconds: sample.cpuSeconds - frameworkBefore.cpuSeconds,
      frameworkWritesPerTask: (sample.writeSyscalls - frameworkBefore.writeSyscalls) / TASKS,
      masterWritesPerTask: (masterAfter.writeSyscalls - masterBefore.writeSyscalls) / TASKS,
      name,
      tasks: TASKS,
      seconds,
      tasksPerSecond: TASKS / seconds,
      frameworkHwmMb: Math.max(hwm, sample.hwmMb),
      frameworkRssMb: sample.rssMb,
      frameworkCpuSeconds: sample.cpuSeconds,
      status,
    };
  } finally {
    await bed.stop();
    if (process.env.AGORA_BENCH_KEEP === undefined)
      rmSync(workDir, { recursive: true, force: true });
  }
}

/** The mixed workload queued by the jobs framework's rule (`order`), placed every tick. */
function queueSim(order: 'priority' | 'fifo', maxReservations: number, seed: number): SimStats {
  const config = { ...DEFAULT_SIM_CONFIG, seed };
  const tasks = generateWorkload(config);
  const capacity = clusterCapacityOf(config);
  const agentIds = Array.from({ length: config.agentCount }, (_, i) => `a${i}`);
  const free = new Map(
    agentIds.map((id) => [id, { ...config.agentCapacity } as Record<string, number>]),
  );
  const pending = new Map<string, SimTask>();
  const running: { task: SimTask; agentId: string; endMs: number }[] = [];
  const started: { task: SimTask; startedAtMs: number }[] = [];
  const agentCapacities = agentIds.map(() => ({ free: config.agentCapacity, attributes: {} }));
  let next = 0;
  let nowMs = 0;
  for (; nowMs <= config.maxSimulatedMs; nowMs += config.tickMs) {
    let changed = false;
    for (let i = running.length - 1; i >= 0; i--) {
      const r = running[i];
      if (r === undefined || r.endMs > nowMs) continue;
      const f = free.get(r.agentId) ?? {};
      for (const [k, q] of Object.entries(r.task.demand))
        f[k] = Math.round(((f[k] ?? 0) + q) * 1000) / 1000;
      running.splice(i, 1);
      changed = true;
    }
    for (; next < tasks.length && (tasks[next]?.submittedAtMs ?? 0) <= nowMs; next++) {
      const task = tasks[next] as SimTask;
      pending.set(task.id, task);
      changed = true;
    }
    if (next === tasks.length && pending.size === 0 && running.length === 0) break;
    if (!changed || pending.size === 0) continue;
    const entries: QueueEntry[] = [...pending.values()].map((task) => ({
      key: task.id,
      demand: task.demand,
      submittedAtMs: task.submittedAtMs,
      launchable: 1,
      policy: 'min-delay',
      constraints: [],
      role: '*',
    }));
    const offers: OfferSlot[] = agentIds.map((id) => ({
      offerId: id,
      agentId: id,
      free: free.get(id) ?? {},
      attributes: {},
      role: '*',
    }));
    const plan = planCycle(entries, offers, {
      nowMs,
      agingMs: config.agingMs,
      clusterCapacity: capacity,
      agentCapacities,
      order,
      maxReservations,
    });
    for (const [key, perOffer] of plan.placements) {
      const task = pending.get(key);
      const [agentId] = [...perOffer.keys()];
      if (task === undefined || agentId === undefined) continue;
      const f = free.get(agentId) ?? {};
      for (const [k, q] of Object.entries(task.demand))
        f[k] = Math.round(((f[k] ?? 0) - q) * 1000) / 1000;
      running.push({ task, agentId, endMs: nowMs + task.durationMs });
      started.push({ task, startedAtMs: nowMs });
      pending.delete(key);
    }
  }
  return statsOf(tasks, started, {
    ...config,
    endMs: Math.min(nowMs, config.maxSimulatedMs),
    clusterCapacity: capacity,
  });
}

const s = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(1);

async function main(): Promise<void> {
  const rows: ArrayRow[] = [];
  const load = loadavg()[0] ?? 0;
  const isolation = values.isolation !== undefined ? `, ${values.isolation}` : '';
  if (only.has('real'))
    rows.push(await runArray(`one real agent (${AGENT_RESOURCES}${isolation})`, 'real'));
  if (only.has('sim'))
    rows.push(await runArray(`${SIM_AGENTS} simulated agents (${AGENT_RESOURCES} each)`, 'sim'));
  const out: string[] = [];
  if (rows.length > 0) {
    out.push(`array of ${TASKS} tasks of \`true\` (0.1 cpu, 32 MB), submit to all done`);
    out.push(
      '                                              status   seconds  tasks/s  fw HWM MB  fw RSS MB  fw CPU s  master CPU s  agent(s) CPU s',
    );
    for (const r of rows)
      out.push(
        `  ${r.name.padEnd(42)}  ${r.status.padEnd(7)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.tasksPerSecond.toFixed(0).padStart(7)}  ${r.frameworkHwmMb.toFixed(0).padStart(9)}  ${r.frameworkRssMb.toFixed(0).padStart(9)}  ${r.frameworkRunCpuSeconds.toFixed(1).padStart(8)}  ${r.masterCpuSeconds.toFixed(1).padStart(12)}  ${r.agentCpuSeconds.toFixed(1).padStart(14)}`,
      );
    out.push(
      '',
      'CPU per task over the run (POST to done), ms, and write syscalls per task:',
      '                                              framework   master  agent(s)   all   busy cores  fw writes  master writes',
    );
    for (const r of rows) {
      const ms = (cpuSeconds: number) => ((cpuSeconds * 1000) / r.tasks).toFixed(3).padStart(8);
      const all = r.frameworkRunCpuSeconds + r.masterCpuSeconds + r.agentCpuSeconds;
      out.push(
        `  ${r.name.padEnd(42)}  ${ms(r.frameworkRunCpuSeconds)}  ${ms(r.masterCpuSeconds)}  ${ms(r.agentCpuSeconds)}  ${ms(all)}  ${(all / r.seconds).toFixed(2).padStart(10)}  ${r.frameworkWritesPerTask.toFixed(2).padStart(9)}  ${r.masterWritesPerTask.toFixed(2).padStart(13)}`,
      );
      if (r.agentLoopCpuSeconds !== undefined)
        out.push(
          `  ${''.padEnd(42)}  of the agent's, its event loop (main thread): ${ms(r.agentLoopCpuSeconds).trim()}`,
        );
    }
  }
  if (rows.length > 0) {
    out.push(
      '',
      "The framework's calls and events per task (the master's metrics), and allocation runs:",
    );
    for (const r of rows)
      out.push(
        `  ${r.name.padEnd(42)}  ${Object.entries(r.perTask)
          .map(([key, value]) => `${key} ${value.toFixed(3)}`)
          .join(', ')}`,
      );
  }
  if (only.has('queue')) {
    out.push(
      '',
      'queue rule on the mixed workload (bench/placement.ts), one-task jobs, waits in s:',
    );
    out.push(
      '  seed  order      mean   p50    p95     p99     max   small mean  large mean  large p95  large max  >10 min  util cpus',
    );
    for (const seed of [1, 2, 3, 4])
      for (const [order, reservations] of [
        ['priority', 1],
        ['fifo', 1],
        ['priority', Number.POSITIVE_INFINITY],
        ['fifo', Number.POSITIVE_INFINITY],
      ] as const) {
        const r = queueSim(order, reservations, seed);
        const small = r.waitByClass.small;
        const large = r.waitByClass.large;
        out.push(
          `  ${String(seed).padStart(4)}  ${`${order} (${reservations === 1 ? 'head' : 'all'})`.padEnd(19)} ${s(r.wait.meanMs).padStart(6)} ${s(r.wait.p50Ms).padStart(5)} ${s(r.wait.p95Ms).padStart(7)} ${s(r.wait.p99Ms).padStart(7)} ${s(r.wait.maxMs).padStart(7)} ${s(small?.meanMs).padStart(11)} ${s(large?.meanMs).padStart(11)} ${s(large?.p95Ms).padStart(10)} ${s(large?.maxMs).padStart(10)} ${String(r.starvedCount).padStart(8)} ${((r.utilization.cpus ?? 0) * 100).toFixed(1).padStart(9)} %`,
        );
      }
  }
  out.push(
    '',
    `Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, Node.js ${process.version}; 1-minute load ${load.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after.`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  if (values.json === true) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
}

await main();
