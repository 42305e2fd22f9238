// Master benchmark (#8): one real master process under simulated load over loopback HTTP.
//
//   npm run bench:master [-- --quick] [-- --json] [-- --seconds N] [-- --shape 10000x100,state]
//   node --import tsx bench/master.ts --shape one-agent --cpu-prof /tmp/prof
//   node --import tsx bench/master.ts --quick --shape 1000x100 --unbatched-updates  (one UPDATE call per update)
//   node --import tsx bench/master.ts --quick --shape 10000x10 --pipeline 1  (no pipelined calls)
//
// The master is the bundled CLI (`node bin/agora.js master --registry in_memory --port 0`),
// started afresh for every row; its port comes from its `listening` log line, its logs go
// to a file in a temp dir. Agents and frameworks are simulated in this process (src/sim):
// each agent holds its own SUBSCRIBE stream on /master/api/v1/agent and reports task
// statuses by UPDATE calls, retried until acknowledged; each framework is a plain v1
// scheduler that accepts every offer with as many 0.1-cpu / 32 MB tasks as fit and
// acknowledges every update. Rows:
//
// - load, <agents>x<frameworks>: agents of AGENT_RESOURCES (2 such tasks each), tasks
//   that end after a uniform 0–2 s. After a warm-up, a measured window: tasks launched
//   (RUN_TASK reaching an agent) and finished per second, ACCEPT → TASK_RUNNING and
//   TASK_FINISHED → the next offer of that agent (both as the frameworks see them),
//   offers per second, the master's RSS (VmRSS at the end, VmHWM) and CPU (utime + stime
//   from /proc/<pid>/stat over the window), and this process's own CPU.
// - state: 10,000 agents filled with 100,000 tasks that never end; then the RSS and
//   GET /master/state (time to the last byte, and size).
// - one-agent (#8 §3b): one agent of 'cpus:8;mem:8192' and one framework launching 1,000
//   tasks of `true` (0.1 cpu, then 1 cpu: 8 at a time): tasks per second from the first
//   ACCEPT to the last TASK_FINISHED, and TASK_FINISHED → next offer. Once with a REAL
//   agent process (`agora agent`, tasks run as processes) and once with a simulated one.
//
// Modules: master/shapes.ts (rows, goals), master/processes.ts (daemons, /proc, the bed),
// master/profile.ts (CPU profiles), master/report.ts (table, JSON).
//
// Ctrl-C (or a failure) closes the simulated streams, stops the master (and the real
// agent) by PID (SIGTERM, SIGKILL after 10 s) and removes the temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  LoadRecorder,
  type LoadSummary,
  mulberry32,
  type Random,
  SimAgentPool,
  type SimAgentStats,
  SimFramework,
  type SimFrameworkStats,
  type SimNetwork,
  type SimTaskShape,
} from '../src/sim/index.js';
import { assertNever, type Resource } from '../src/wire/index.js';
import {
  Bed,
  type CallPlan,
  describe,
  getBody,
  load1m,
  openFilesLimit,
  postBody,
  probeMemory,
  procSample,
  unlessAborted,
  waitFor,
} from './master/processes.js';
import { monotonicUs, profileSummaries } from './master/profile.js';
import {
  count,
  type GetStateSample,
  type LoadRow,
  type OneAgentRow,
  printLogTails,
  progress,
  type Results,
  render,
  type StateRow,
} from './master/report.js';
import {
  AGENT_RESOURCES,
  AGENT_TASKS,
  GET_STATE_FETCHES,
  LOAD_SHAPES,
  type LoadShape,
  ONE_AGENT_RESOURCES,
  ONE_AGENT_SHAPES,
  ONE_AGENT_TASKS,
  type OneAgentShape,
  QUICK_ONE_AGENT_TASKS,
  STATE_AGENT_RESOURCES,
  STATE_AGENTS,
  STATE_FETCHES,
  STATE_FRAMEWORKS,
  STATE_TASKS_PER_AGENT,
  TASK,
  TASK_MAX_DURATION_MS,
} from './master/shapes.js';

/**
 * Long enough for the first burst (every agent offered at once, every offer filled) to
 * drain, and for a window to average over the waves that follow: with more room than the
 * master can serve, launches come in waves a queue-length apart.
 */
const WARM_UP_SECONDS = 45;
const WINDOW_SECONDS = 60;
const QUICK_WARM_UP_SECONDS = 10;
const QUICK_WINDOW_SECONDS = 20;
/** The longest a warm-up waits for every slot to turn over once. */
const WARM_UP_MAX_SECONDS = 600;
const QUICK_WARM_UP_MAX_SECONDS = 120;
const FILL_TIMEOUT_MS = 30 * 60_000;
const ONE_AGENT_TIMEOUT_MS = 10 * 60_000;
/** File descriptors needed beyond one per agent stream (calls, logs, Node's own). */
const FD_MARGIN = 1_000;
/** TASK_STARTING, TASK_RUNNING, TASK_FINISHED: each acknowledged once per task. */
const UPDATES_PER_TASK = 3;
/** Keep-alive sockets for every simulated call; calls beyond them queue in order. */
const DEFAULT_CALL_SOCKETS = 64;
/**
 * Calls a connection may have unanswered (HTTP/1.1 pipelining). 16 lets a loop round's calls
 * go out in one write per connection, which keeps the simulation (one process for 10,000
 * agents and the frameworks) cheaper than the master it drives; `--pipeline 1` is
 * node:http's client (each call waits for the answer to the one before it).
 */
const DEFAULT_PIPELINE = 16;

function wireResources(text: string): Resource[] {
  return text.split(';').map((part) => {
    const [name = '', value = ''] = part.split(':');
    return { name, type: 'SCALAR', scalar: { value: Number(value) } };
  });
}

// ---------------------------------------------------------------- load rows

interface Options {
  readonly warmUpSeconds: number;
  /** The warm-up's cap while it waits for one turnover. */
  readonly warmUpMaxSeconds: number;
  readonly windowSeconds: number;
  readonly oneAgentTasks: number;
  readonly seed: number;
  readonly cpuProfDir: string | undefined;
  /** Connections the simulated agents' and frameworks' calls share, and their pipelining. */
  readonly calls: CallPlan;
  /** --unbatched-updates: each simulated agent sends one UPDATE call per status update. */
  readonly batchUpdates: boolean;
}

function sumFrameworkStats(frameworks: readonly SimFramework[]): SimFrameworkStats {
  const sum = {
    offersReceived: 0,
    offersAccepted: 0,
    offersDeclined: 0,
    rescinds: 0,
    tasksLaunched: 0,
    acceptCallsFailed: 0,
    declineCallsFailed: 0,
    updatesReceived: 0,
    updatesToAcknowledge: 0,
    acknowledged: 0,
    acknowledgeCallsFailed: 0,
    tasksFinished: 0,
    disconnects: 0,
    errorEvents: 0,
  };
  const failed: Record<string, number> = {};
  for (const framework of frameworks) {
    const stats = framework.stats;
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += stats[key];
    for (const [state, count] of Object.entries(stats.tasksFailed))
      failed[state] = (failed[state] ?? 0) + count;
  }
  return { ...sum, tasksFailed: failed };
}

/** Counters that should stay at zero in a healthy run, as deltas over a window. */
function troubleOf(
  agentsBefore: SimAgentStats,
  agentsAfter: SimAgentStats,
  frameworksBefore: SimFrameworkStats,
  frameworksAfter: SimFrameworkStats,
): Record<string, number> {
  const trouble: Record<string, number> = {
    'updates resent': agentsAfter.updatesResent - agentsBefore.updatesResent,
    'UPDATE calls failed': agentsAfter.updateCallsFailed - agentsBefore.updateCallsFailed,
    'stale acknowledgements':
      agentsAfter.staleAcknowledgements - agentsBefore.staleAcknowledgements,
    'agent streams lost': agentsAfter.disconnects - agentsBefore.disconnects,
    'agent ERROR events': agentsAfter.errorEvents - agentsBefore.errorEvents,
    'ACCEPT calls failed': frameworksAfter.acceptCallsFailed - frameworksBefore.acceptCallsFailed,
    'DECLINE calls failed':
      frameworksAfter.declineCallsFailed - frameworksBefore.declineCallsFailed,
    'ACKNOWLEDGE calls failed':
      frameworksAfter.acknowledgeCallsFailed - frameworksBefore.acknowledgeCallsFailed,
    'framework streams lost': frameworksAfter.disconnects - frameworksBefore.disconnects,
    'framework ERROR events': frameworksAfter.errorEvents - frameworksBefore.errorEvents,
    rescinds: frameworksAfter.rescinds - frameworksBefore.rescinds,
  };
  for (const [state, count] of Object.entries(frameworksAfter.tasksFailed))
    trouble[state] = count - (frameworksBefore.tasksFailed[state] ?? 0);
  return Object.fromEntries(Object.entries(trouble).filter(([, count]) => count !== 0));
}

function startFrameworks(
  bed: Bed,
  network: SimNetwork,
  count: number,
  random: Random,
  recorder: LoadRecorder,
  task: SimTaskShape,
  durationMs: () => number | undefined,
  taskBudget?: number,
): SimFramework[] {
  const frameworks = Array.from(
    { length: count },
    (_, i) =>
      new SimFramework({
        network,
        wheel: bed.wheel,
        random,
        name: `bench-framework-${i}`,
        task,
        durationMs,
        recorder,
        ...(taskBudget !== undefined ? { taskBudget } : {}),
      }),
  );
  bed.defer(() => {
    for (const framework of frameworks) framework.stop();
  });
  return frameworks;
}

function startPool(
  bed: Bed,
  network: SimNetwork,
  count: number,
  resources: string,
  random: Random,
  batchUpdates: boolean,
) {
  const pool = new SimAgentPool({
    network,
    count,
    resources: wireResources(resources),
    wheel: bed.wheel,
    random,
    batchUpdates,
  });
  bed.defer(() => pool.stop());
  return pool;
}

async function runLoad(
  shape: LoadShape,
  options: Options,
  workDir: string,
  signal: AbortSignal,
): Promise<LoadRow> {
  const name = `${shape.agents}x${shape.frameworks}`;
  const bed = new Bed(workDir, name, options.cpuProfDir, options.calls);
  try {
    const { master, agents, frameworks: frameworksNetwork } = await bed.startMaster(signal);
    const random = mulberry32(options.seed);
    const pool = startPool(
      bed,
      agents,
      shape.agents,
      AGENT_RESOURCES,
      random,
      options.batchUpdates,
    );
    const registerStart = performance.now();
    await unlessAborted(pool.start(), signal);
    const registerSeconds = (performance.now() - registerStart) / 1000;
    progress(`${name}: ${shape.agents} agents registered in ${registerSeconds.toFixed(1)} s`);
    const recorder = new LoadRecorder();
    const frameworks = startFrameworks(
      bed,
      frameworksNetwork,
      shape.frameworks,
      random,
      recorder,
      TASK,
      () => random() * TASK_MAX_DURATION_MS,
    );
    await unlessAborted(Promise.all(frameworks.map((f) => f.start())), signal);
    // Warm up for the time asked, and until every slot has turned over once (as many tasks
    // finished as the agents hold): before that, launches come only from the first burst.
    const warmUpStart = performance.now();
    const slots = shape.agents * AGENT_TASKS;
    await delay(options.warmUpSeconds * 1000, undefined, { signal });
    let lastReportMs = performance.now();
    const turnedOver = await waitFor(
      `${slots} tasks to finish (one turnover)`,
      () => {
        bed.assertMasterRunning();
        const finished = sumFrameworkStats(frameworks).tasksFinished;
        if (finished >= slots) return true;
        if (performance.now() - warmUpStart > options.warmUpMaxSeconds * 1000) return false;
        if (performance.now() - lastReportMs > 30_000) {
          lastReportMs = performance.now();
          progress(`${name}: warming up, ${count(finished)} of ${count(slots)} tasks finished`);
        }
        return undefined;
      },
      options.warmUpMaxSeconds * 1000 + 60_000,
      signal,
    );
    const warmUpSeconds = (performance.now() - warmUpStart) / 1000;
    if (!turnedOver)
      progress(`${name}: not one turnover after ${warmUpSeconds.toFixed(0)} s; measuring anyway`);

    const agentsBefore = pool.stats;
    const frameworksBefore = sumFrameworkStats(frameworks);
    const callsBefore = agents.stats.calls + frameworksNetwork.stats.calls;
    const procBefore = procSample(master.pid);
    const cpuBefore = process.cpuUsage();
    const loadStart = load1m();
    const startedMs = performance.now();
    const fromUs = monotonicUs();
    recorder.startWindow(startedMs);
    await delay(options.windowSeconds * 1000, undefined, { signal });
    const endedMs = performance.now();
    const windowSpan = { fromUs, toUs: monotonicUs() };
    recorder.endWindow(endedMs);
    const cpu = process.cpuUsage(cpuBefore);
    const procAfter = procSample(master.pid);
    const agentsAfter = pool.stats;
    const frameworksAfter = sumFrameworkStats(frameworks);
    const callsAfter = agents.stats.calls + frameworksNetwork.stats.calls;
    const queued = {
      agents: agents.stats.callsQueued,
      frameworks: frameworksNetwork.stats.callsQueued,
    };
    bed.assertMasterRunning();

    const seconds = (endedMs - startedMs) / 1000;
    const summary: LoadSummary = recorder.summary();
    return {
      agents: shape.agents,
      frameworks: shape.frameworks,
      registerSeconds,
      warmUpSeconds,
      isTurnedOver: turnedOver,
      windowSeconds: seconds,
      launchedPerSecond: (agentsAfter.tasksLaunched - agentsBefore.tasksLaunched) / seconds,
      finishedPerSecond: (frameworksAfter.tasksFinished - frameworksBefore.tasksFinished) / seconds,
      updateTasksPerSecond:
        (agentsAfter.updatesAcknowledged - agentsBefore.updatesAcknowledged) /
        UPDATES_PER_TASK /
        seconds,
      offersPerSecond: summary.offers / seconds,
      acceptToRunning: summary.acceptToRunning,
      finishedToOffer: summary.finishedToOffer,
      masterRssMb: procAfter.rssMb,
      masterHwmMb: procAfter.hwmMb,
      masterCpuPercent: ((procAfter.cpuSeconds - procBefore.cpuSeconds) / seconds) * 100,
      simCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      callsPerSecond: (callsAfter - callsBefore) / seconds,
      callsPerTask:
        (callsAfter - callsBefore) /
        ((agentsAfter.updatesAcknowledged - agentsBefore.updatesAcknowledged) / UPDATES_PER_TASK),
      masterWritesPerTask:
        (procAfter.writeSyscalls - procBefore.writeSyscalls) /
        ((agentsAfter.updatesAcknowledged - agentsBefore.updatesAcknowledged) / UPDATES_PER_TASK),
      callsQueuedAtEnd: queued,
      windowSpan,
      load1m: { start: loadStart, end: load1m() },
      trouble: troubleOf(agentsBefore, agentsAfter, frameworksBefore, frameworksAfter),
    };
  } finally {
    await bed.stop();
  }
}
// ---------------------------------------------------------------- state row

async function runState(options: Options, workDir: string, signal: AbortSignal): Promise<StateRow> {
  const bed = new Bed(workDir, 'state', options.cpuProfDir, options.calls);
  const probePath = join(workDir, 'master-state-memory.json');
  try {
    const {
      url,
      master,
      agents,
      frameworks: frameworksNetwork,
    } = await bed.startMaster(signal, [], probePath);
    const random = mulberry32(options.seed);
    const pool = startPool(
      bed,
      agents,
      STATE_AGENTS,
      STATE_AGENT_RESOURCES,
      random,
      options.batchUpdates,
    );
    await unlessAborted(pool.start(), signal);
    progress(`state: ${STATE_AGENTS} agents registered`);
    const target = STATE_AGENTS * STATE_TASKS_PER_AGENT;
    const loadStart = load1m();
    const fillStart = performance.now();
    const frameworks = startFrameworks(
      bed,
      frameworksNetwork,
      STATE_FRAMEWORKS,
      random,
      new LoadRecorder(),
      TASK,
      () => undefined,
    );
    await unlessAborted(Promise.all(frameworks.map((f) => f.start())), signal);
    let lastReportMs = performance.now();
    await waitFor(
      `${target} tasks running, every update acknowledged`,
      () => {
        bed.assertMasterRunning();
        const stats = pool.stats;
        if (performance.now() - lastReportMs > 10_000) {
          lastReportMs = performance.now();
          progress(
            `state: ${stats.tasksRunning} tasks running, ${stats.updatesPending} updates pending`,
          );
        }
        return stats.tasksRunning >= target && stats.updatesPending === 0 ? true : undefined;
      },
      FILL_TIMEOUT_MS,
      signal,
    );
    const fillSeconds = (performance.now() - fillStart) / 1000;
    for (const framework of frameworks) framework.stopLaunching();
    progress(`state: ${target} tasks running after ${fillSeconds.toFixed(1)} s`);
    const proc = procSample(master.pid);
    // After the RSS sample above (the probe's collections change it): what of it is kept.
    const memoryAfterFill = await probeMemory(master, probePath, signal);
    const stateMs: number[] = [];
    const stateCpuMs: number[] = [];
    let stateBytes = 0;
    let healthMaxMs = 0;
    const fromUs = monotonicUs();
    for (let i = 0; i < STATE_FETCHES; i++) {
      const started = performance.now();
      const cpuBefore = procSample(master.pid).cpuSeconds;
      // Whether the master keeps serving while it renders: GET /health, one at a time.
      let isFetching = true;
      const probing = (async () => {
        while (isFetching) {
          const probeStarted = performance.now();
          await getBody(new URL('/health', url), signal);
          healthMaxMs = Math.max(healthMaxMs, performance.now() - probeStarted);
          await delay(20, undefined, { signal });
        }
      })();
      const body = await getBody(new URL('/master/state', url), signal).finally(() => {
        isFetching = false;
      });
      stateMs.push(performance.now() - started);
      stateCpuMs.push((procSample(master.pid).cpuSeconds - cpuBefore) * 1000);
      stateBytes = body.length;
      await probing;
    }
    // GET_STATE as operator clients ask for it, protobuf and JSON: each form's renderings
    // are kept as well, so the VmHWM after these holds all three forms.
    const rssAfterStateMb = procSample(master.pid).rssMb;
    const memoryAfterState = await probeMemory(master, probePath, signal);
    const getState: GetStateSample[] = [];
    for (const accept of ['application/x-protobuf', 'application/json'])
      for (let i = 0; i < GET_STATE_FETCHES; i++) {
        const started = performance.now();
        const cpuBefore = procSample(master.pid).cpuSeconds;
        const reply = await postBody(
          new URL('/api/v1', url),
          JSON.stringify({ type: 'GET_STATE' }),
          accept,
          signal,
        );
        getState.push({
          accept,
          ms: performance.now() - started,
          cpuMs: (procSample(master.pid).cpuSeconds - cpuBefore) * 1000,
          bytes: reply.length,
        });
      }
    const fetchSpan = { fromUs, toUs: monotonicUs() };
    const after = procSample(master.pid);
    const memoryAfterGetState = await probeMemory(master, probePath, signal);
    return {
      memory: {
        afterFill: memoryAfterFill,
        afterState: memoryAfterState,
        afterGetState: memoryAfterGetState,
      },
      rssAfterStateMb,
      rssAfterGetStateMb: after.rssMb,
      getState,
      agents: STATE_AGENTS,
      frameworks: STATE_FRAMEWORKS,
      tasksRunning: pool.stats.tasksRunning,
      fillSeconds,
      masterRssMb: proc.rssMb,
      masterHwmMb: after.hwmMb,
      stateMs,
      stateCpuMs,
      healthMaxMs,
      stateBytes,
      fetchSpan,
      load1m: { start: loadStart, end: load1m() },
    };
  } finally {
    await bed.stop();
  }
}
// ---------------------------------------------------------------- one-agent rows (#8 §3b)

async function runOneAgent(
  shape: OneAgentShape,
  options: Options,
  workDir: string,
  signal: AbortSignal,
): Promise<OneAgentRow> {
  const name = `one-agent-${shape.kind}-${shape.taskCpus}cpu`;
  const bed = new Bed(workDir, name, options.cpuProfDir, options.calls);
  try {
    const { url, agents, frameworks: frameworksNetwork } = await bed.startMaster(signal);
    const random = mulberry32(options.seed);
    let pool: SimAgentPool | undefined;
    if (shape.kind === 'real') await bed.startAgent(url, ONE_AGENT_RESOURCES, signal);
    else {
      pool = startPool(bed, agents, 1, ONE_AGENT_RESOURCES, random, options.batchUpdates);
      await unlessAborted(pool.start(), signal);
    }
    const recorder = new LoadRecorder();
    const tasks = options.oneAgentTasks;
    const [framework] = startFrameworks(
      bed,
      frameworksNetwork,
      1,
      random,
      recorder,
      { ...TASK, cpus: shape.taskCpus },
      () => 0,
      tasks,
    );
    if (framework === undefined) throw new Error('no framework');
    const loadStart = load1m();
    recorder.startWindow(performance.now());
    await unlessAborted(framework.start(), signal);
    const ended = () => {
      const stats = framework.stats;
      let failed = 0;
      for (const count of Object.values(stats.tasksFailed)) failed += count;
      return stats.tasksFinished + failed;
    };
    await waitFor(
      `${tasks} tasks to end`,
      () => {
        bed.assertMasterRunning();
        return ended() >= tasks ? true : undefined;
      },
      ONE_AGENT_TIMEOUT_MS,
      signal,
    );
    recorder.endWindow(performance.now());
    const summary = recorder.summary();
    const seconds =
      summary.firstAcceptAtMs !== undefined && summary.lastFinishedAtMs !== undefined
        ? (summary.lastFinishedAtMs - summary.firstAcceptAtMs) / 1000
        : Number.NaN;
    const stats = framework.stats;
    const trouble: Record<string, number> = { ...stats.tasksFailed };
    if (stats.acceptCallsFailed > 0) trouble['ACCEPT calls failed'] = stats.acceptCallsFailed;
    if (stats.acknowledgeCallsFailed > 0)
      trouble['ACKNOWLEDGE calls failed'] = stats.acknowledgeCallsFailed;
    if (pool !== undefined && pool.stats.updatesResent > 0)
      trouble['updates resent'] = pool.stats.updatesResent;
    return {
      kind: shape.kind,
      taskCpus: shape.taskCpus,
      tasks,
      tasksFinished: stats.tasksFinished,
      seconds,
      tasksPerSecond: stats.tasksFinished / seconds,
      acceptToRunning: summary.acceptToRunning,
      finishedToOffer: summary.finishedToOffer,
      load1m: { start: loadStart, end: load1m() },
      trouble,
    };
  } finally {
    await bed.stop();
  }
}
// ---------------------------------------------------------------- main

type Selected =
  | { readonly kind: 'load'; readonly shape: LoadShape }
  | { readonly kind: 'state' }
  | { readonly kind: 'one-agent'; readonly shape: OneAgentShape };

/** A row's name, as in --shape and in the names of its logs and profile. */
function rowName(item: Selected): string {
  switch (item.kind) {
    case 'load':
      return `${item.shape.agents}x${item.shape.frameworks}`;
    case 'state':
      return 'state';
    case 'one-agent':
      return `one-agent-${item.shape.kind}-${item.shape.taskCpus}cpu`;
    default:
      return assertNever(item);
  }
}

function parseShapes(text: string | undefined): Selected[] | string {
  if (text === undefined)
    return [
      ...LOAD_SHAPES.map((shape): Selected => ({ kind: 'load', shape })),
      { kind: 'state' },
      ...ONE_AGENT_SHAPES.map((shape): Selected => ({ kind: 'one-agent', shape })),
    ];
  const selected: Selected[] = [];
  for (const part of text.split(',')) {
    const name = part.trim().replaceAll('_', '');
    const load = /^(\d+)x(\d+)$/.exec(name);
    if (load !== null)
      selected.push({
        kind: 'load',
        shape: { agents: Number(load[1]), frameworks: Number(load[2]) },
      });
    else if (name === 'state') selected.push({ kind: 'state' });
    else if (name === 'one-agent')
      selected.push(...ONE_AGENT_SHAPES.map((shape): Selected => ({ kind: 'one-agent', shape })));
    else if (name === 'one-agent-real' || name === 'one-agent-sim') {
      const kind = name === 'one-agent-real' ? 'real' : 'sim';
      selected.push(
        ...ONE_AGENT_SHAPES.filter((s) => s.kind === kind).map(
          (shape): Selected => ({ kind: 'one-agent', shape }),
        ),
      );
    } else
      return `'${part}': expected <agents>x<frameworks>, state, one-agent, one-agent-real or one-agent-sim`;
  }
  return selected;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      'warm-up': { type: 'string' },
      shape: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'cpu-prof': { type: 'string' },
      'call-sockets': { type: 'string', default: String(DEFAULT_CALL_SOCKETS) },
      pipeline: { type: 'string', default: String(DEFAULT_PIPELINE) },
      'unbatched-updates': { type: 'boolean', default: false },
    },
  });
  const usage = (text: string) => {
    process.stderr.write(`master-bench: ${text}\n`);
    return 2;
  };
  const selected = parseShapes(values.shape);
  if (typeof selected === 'string') return usage(`--shape: ${selected}`);
  const isQuick = values.quick;
  const windowSeconds = Number(values.seconds ?? (isQuick ? QUICK_WINDOW_SECONDS : WINDOW_SECONDS));
  const warmUpSeconds = Number(
    values['warm-up'] ?? (isQuick ? QUICK_WARM_UP_SECONDS : WARM_UP_SECONDS),
  );
  if (!(windowSeconds > 0))
    return usage(`--seconds: expected a positive number, got '${values.seconds}'`);
  if (!(warmUpSeconds >= 0))
    return usage(`--warm-up: expected a number ≥ 0, got '${values['warm-up']}'`);
  const callSockets = Number(values['call-sockets']);
  if (!Number.isInteger(callSockets) || callSockets < 1)
    return usage(
      `--call-sockets: expected a positive whole number, got '${values['call-sockets']}'`,
    );
  const pipeline = Number(values.pipeline);
  if (!Number.isInteger(pipeline) || pipeline < 1)
    return usage(`--pipeline: expected a positive whole number, got '${values.pipeline}'`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) return usage(`--seed: expected an integer, got '${values.seed}'`);

  const mostAgents = Math.max(
    1,
    ...selected.map((s) =>
      s.kind === 'load' ? s.shape.agents : s.kind === 'state' ? STATE_AGENTS : 1,
    ),
  );
  const limit = openFilesLimit();
  if (limit < mostAgents + FD_MARGIN)
    return usage(
      `${count(mostAgents)} agents need about ${count(mostAgents + FD_MARGIN)} open files in this process and in the master, ` +
        `but 'ulimit -n' is ${count(limit)}: raise it (npm run bench:master raises it to the hard limit)`,
    );

  const options: Options = {
    warmUpSeconds,
    warmUpMaxSeconds: isQuick ? QUICK_WARM_UP_MAX_SECONDS : WARM_UP_MAX_SECONDS,
    windowSeconds,
    oneAgentTasks: isQuick ? QUICK_ONE_AGENT_TASKS : ONE_AGENT_TASKS,
    seed,
    cpuProfDir: values['cpu-prof'],
    calls: { sockets: callSockets, pipeline },
    batchUpdates: values['unbatched-updates'] !== true,
  };
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const signal = interrupted.signal;
  const workDir = mkdtempSync(join(tmpdir(), 'agora-bench-master-'));
  const started = performance.now();
  const loadBefore = load1m();
  const load: LoadRow[] = [];
  const oneAgent: OneAgentRow[] = [];
  const failures: { row: string; message: string }[] = [];
  let state: StateRow | undefined;
  try {
    for (const item of selected) {
      const name = rowName(item);
      progress(name);
      try {
        switch (item.kind) {
          case 'load': {
            const row = await runLoad(item.shape, options, workDir, signal);
            load.push(row);
            progress(`${name}: ${count(row.launchedPerSecond)} launched/s`);
            break;
          }
          case 'state':
            state = await runState(options, workDir, signal);
            break;
          case 'one-agent': {
            const row = await runOneAgent(item.shape, options, workDir, signal);
            oneAgent.push(row);
            progress(`${name}: ${row.tasksPerSecond.toFixed(1)} tasks/s`);
            break;
          }
        }
      } catch (error) {
        if (signal.aborted) throw error;
        // One row's failure (a deadline on a busy machine) must not lose the others.
        failures.push({ row: name, message: describe(error) });
        progress(`${name} failed: ${describe(error)}`);
        printLogTails(workDir, name);
      }
    }
    const results: Results = {
      date: new Date().toISOString().slice(0, 10),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      isQuick,
      warmUpSeconds,
      windowSeconds,
      callSockets,
      pipeline,
      load,
      state,
      oneAgent,
      failures,
      profiles: profileSummaries(options.cpuProfDir, {
        ...Object.fromEntries(
          load.map((row) => [
            `${row.agents}x${row.frameworks}`,
            { what: 'the measured window', span: row.windowSpan },
          ]),
        ),
        ...(state === undefined
          ? {}
          : { state: { what: 'GET /master/state', span: state.fetchSpan } }),
      }),
      loadAverage1m: { before: loadBefore, after: load1m() },
      totalSeconds: (performance.now() - started) / 1000,
    };
    process.stdout.write(render(results));
    if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return failures.length === 0 ? 0 : 1;
  } catch (error) {
    if (signal.aborted) {
      progress('interrupted; stopped everything');
      return 130;
    }
    progress(describe(error));
    return 1;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main();
