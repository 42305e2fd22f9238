// Agent benchmark (#9): one real agent under one framework, through a real master.
//
//   npm run bench:agent [-- --tasks N] [-- --isolation posix|cgroups|both] [-- --json]
//   node --import tsx bench/agent.ts --task-cpus 1      # #8 §3's 1-cpu tasks (8 at once)
//   node --import tsx bench/agent.ts --isolation posix --cpu-prof /tmp/prof   # profile the agent
//
// Per row (isolation `posix/cpu,posix/mem`, then `cgroups/cpu,cgroups/mem,cgroups/pids`) a
// fresh master (`agora master --registry in_memory`) and a fresh agent of 'cpus:8;mem:8192'
// (`agora agent --isolation …`), both processes of the bundled CLI logging to files in a temp
// dir (bench/master/processes.ts's Bed). Frameworks are plain v1 schedulers in this process
// (src/sim SimFramework). Two phases:
//
// 1. Memory: the agent's RSS once registered and idle, then with HELD_TASKS tasks of
//    `sleep` running at once (all it has room for): (RSS held − RSS idle) / tasks running.
// 2. Throughput: one framework launches N tasks of `true` (0.1 cpu, 32 MB), as many at once as
//    the offers hold (80), accepting every offer. Tasks launched per second (first ACCEPT to
//    the last TASK_RUNNING) and finished per second (to the last TASK_FINISHED); ACCEPT →
//    TASK_RUNNING, ACCEPT → TASK_FINISHED and TASK_FINISHED → the agent's next offer (median,
//    p99), as the framework sees them; the agent's and the master's CPU over the phase.
//
// The agent's log (stdout and stderr together) is then read for lines that are not its JSON
// log: a Node warning (MaxListenersExceededWarning, #9) lands there. The floor: the same N
// `true` through a bare child_process.spawn loop in this process, as many at once (80).
//
// Ctrl-C (or a failure) stops the agent, then the master, by PID and removes the temp dir.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LoadRecorder, mulberry32, SimFramework, type WaitStats } from '../src/sim/index.js';
import {
  Bed,
  type Daemon,
  describe,
  load1m,
  procSample,
  unlessAborted,
  waitFor,
} from './master/processes.js';
import { profileSummaries, type SelfTime } from './master/profile.js';

const AGENT_RESOURCES = 'cpus:8;mem:8192';
const TASK = { cpus: 0.1, memMb: 32, command: 'true' } as const;
/** Room on the agent for this many tasks of TASK at once (cpus bind first). */
const SLOTS = 80;
const HELD_TASK = { ...TASK, command: 'sleep 10' } as const;
const DEFAULT_TASKS = 1_000;
const ISOLATIONS = {
  posix: 'posix/cpu,posix/mem',
  cgroups: 'cgroups/cpu,cgroups/mem,cgroups/pids',
} as const;
type Isolation = keyof typeof ISOLATIONS;
const GOAL_TASKS_PER_SECOND: Readonly<Record<Isolation, number>> = { posix: 300, cgroups: 150 };
const GOAL_RSS_PER_TASK_MB = 2;
const PHASE_TIMEOUT_MS = 10 * 60_000;
const CALL_SOCKETS = 64;

interface Row {
  readonly isolation: Isolation;
  readonly tasks: number;
  readonly tasksFinished: number;
  readonly tasksFailed: Readonly<Record<string, number>>;
  readonly launchedPerSecond: number;
  readonly finishedPerSecond: number;
  readonly acceptToRunning: WaitStats;
  readonly acceptToFinished: WaitStats;
  readonly finishedToOffer: WaitStats;
  readonly idleRssMb: number;
  readonly heldRssMb: number;
  readonly heldTasks: number;
  readonly rssPerTaskMb: number;
  readonly agentPeakRssMb: number;
  readonly agentCpuSeconds: number;
  readonly masterCpuSeconds: number;
  /** The launcher's, its shims' and their tasks' CPU (all but the agent's and master's). */
  readonly shimsCpuSeconds: number;
  /** The agent's CPU in the kernel (stime), part of agentCpuSeconds. */
  readonly agentSystemSeconds: number;
  /** This process's CPU: the framework (SimFramework) and the bench's own polling. */
  readonly frameworkCpuSeconds: number;
  readonly seconds: number;
  readonly strayLines: readonly string[];
  readonly load1m: { readonly start: number; readonly end: number };
}

async function runRow(
  isolation: Isolation,
  tasks: number,
  taskCpus: number,
  workDir: string,
  cpuProfDir: string | undefined,
  signal: AbortSignal,
): Promise<Row> {
  const name = `agent-${isolation}`;
  const bed = new Bed(workDir, name, undefined, CALL_SOCKETS);
  let agent: Daemon | undefined;
  try {
    const { url, master, frameworks: network } = await bed.startMaster(signal);
    agent = await bed.startAgent(url, AGENT_RESOURCES, signal, {
      extraArgs: ['--isolation', ISOLATIONS[isolation]],
      nodeArgs:
        cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, name)],
    });
    const agentPid = agent.pid;
    const random = mulberry32(1);
    const framework = (
      taskName: string,
      task: { readonly cpus: number; readonly memMb: number; readonly command: string },
      budget: number,
    ) => {
      const recorder = new LoadRecorder();
      recorder.startWindow(performance.now());
      const made = new SimFramework({
        network,
        wheel: bed.wheel,
        random,
        name: taskName,
        task,
        durationMs: () => undefined,
        taskBudget: budget,
        recorder,
      });
      bed.defer(() => made.stop());
      return { framework: made, recorder };
    };
    const ended = (f: SimFramework) =>
      f.stats.tasksFinished + Object.values(f.stats.tasksFailed).reduce((a, b) => a + b, 0);

    // 1. Memory: idle, then with every slot held by a running task.
    const idle = procSample(agentPid);
    const held = framework('bench-hold', HELD_TASK, SLOTS);
    await unlessAborted(held.framework.start(), signal);
    const heldTasks = await waitFor(
      `${SLOTS} held tasks to run`,
      () => {
        bed.assertMasterRunning();
        const running = held.recorder.summary().acceptToRunning.count - ended(held.framework);
        return running >= SLOTS || ended(held.framework) > 0 ? running : undefined;
      },
      PHASE_TIMEOUT_MS,
      signal,
    );
    const heldRssMb = procSample(agentPid).rssMb;
    held.framework.stopLaunching();
    await waitFor(
      'the held tasks to end',
      () => (ended(held.framework) >= SLOTS ? true : undefined),
      PHASE_TIMEOUT_MS,
      signal,
    );
    held.framework.stop();
    await waitFor(
      'the launcher to reap the held tasks’ shims',
      () => (launcherChildren(agentPid) === 0 ? true : undefined),
      PHASE_TIMEOUT_MS,
      signal,
    );

    // 2. Throughput.
    const loadStart = load1m();
    const agentBefore = procSample(agentPid);
    const masterBefore = procSample(master.pid);
    const shimsBefore = launcherTreeCpuSeconds(agentPid);
    const agentSystemBefore = systemCpuSeconds(agentPid);
    const frameworkBefore = process.cpuUsage();
    let peakRssMb = agentBefore.rssMb;
    const run = framework('bench-agent', { ...TASK, cpus: taskCpus }, tasks);
    await unlessAborted(run.framework.start(), signal);
    await waitFor(
      `${tasks} tasks to end`,
      () => {
        bed.assertMasterRunning();
        peakRssMb = Math.max(peakRssMb, procSample(agentPid).rssMb);
        return ended(run.framework) >= tasks ? true : undefined;
      },
      PHASE_TIMEOUT_MS,
      signal,
    );
    const agentAfter = procSample(agentPid);
    const masterAfter = procSample(master.pid);
    const agentSystemAfter = systemCpuSeconds(agentPid);
    const frameworkCpu = process.cpuUsage(frameworkBefore);
    // A shim's CPU reaches its launcher's account once the launcher has reaped it.
    await waitFor(
      'the launcher to reap every shim',
      () => (launcherChildren(agentPid) === 0 ? true : undefined),
      PHASE_TIMEOUT_MS,
      signal,
    );
    const shimsAfter = launcherTreeCpuSeconds(agentPid);
    const summary = run.recorder.summary();
    const first = summary.firstAcceptAtMs ?? Number.NaN;
    const stats = run.framework.stats;
    const seconds = ((summary.lastFinishedAtMs ?? Number.NaN) - first) / 1000;
    const row: Omit<Row, 'strayLines'> = {
      isolation,
      tasks,
      tasksFinished: stats.tasksFinished,
      tasksFailed: stats.tasksFailed,
      launchedPerSecond:
        summary.acceptToRunning.count / (((summary.lastRunningAtMs ?? Number.NaN) - first) / 1000),
      finishedPerSecond: stats.tasksFinished / seconds,
      acceptToRunning: summary.acceptToRunning,
      acceptToFinished: summary.acceptToFinished,
      finishedToOffer: summary.finishedToOffer,
      idleRssMb: idle.rssMb,
      heldRssMb,
      heldTasks,
      rssPerTaskMb: (heldRssMb - idle.rssMb) / heldTasks,
      agentPeakRssMb: Math.max(peakRssMb, agentAfter.hwmMb),
      agentCpuSeconds: agentAfter.cpuSeconds - agentBefore.cpuSeconds,
      masterCpuSeconds: masterAfter.cpuSeconds - masterBefore.cpuSeconds,
      shimsCpuSeconds: shimsAfter - shimsBefore,
      agentSystemSeconds: agentSystemAfter - agentSystemBefore,
      frameworkCpuSeconds: (frameworkCpu.user + frameworkCpu.system) / 1e6,
      seconds,
      load1m: { start: loadStart, end: load1m() },
    };
    await bed.stop();
    return { ...row, strayLines: strayLines(agent.logPath) };
  } finally {
    await bed.stop();
  }
}

/** /proc/<pid>/stat after the command name (which may hold spaces): field 3 on. */
function statFields(pid: string | number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** PIDs whose parent is `ppid`. */
function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && statFields(name)?.[1] === String(ppid))
    .map(Number);
}

/** The agent's launcher (src/containerizer/launcher.ts): the child named in its argv. */
function launcherOf(agentPid: number): number | undefined {
  return childrenOf(agentPid).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agora-launcher');
    } catch {
      return false;
    }
  });
}

function launcherChildren(agentPid: number): number {
  const launcher = launcherOf(agentPid);
  return launcher === undefined ? 0 : childrenOf(launcher).filter((pid) => !isParked(pid)).length;
}

/** A shim parked for the next launch (src/containerizer/shim-parking.ts): no task's, not ended. */
function isParked(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes('/parked-');
  } catch {
    return false;
  }
}

/**
 * CPU seconds of the launcher and of every shim it reaped (with the tasks each shim
 * reaped): utime + stime + cutime + cstime, in USER_HZ (100 a second on Linux).
 */
function launcherTreeCpuSeconds(agentPid: number): number {
  const launcher = launcherOf(agentPid);
  const fields = launcher === undefined ? undefined : statFields(launcher);
  if (fields === undefined) return 0;
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
}

/** A process's CPU in the kernel (stime, field 15), in seconds. */
function systemCpuSeconds(pid: number): number {
  return Number(statFields(pid)?.[12] ?? Number.NaN) / 100;
}

/** Lines of a daemon's log that are not its JSON log lines, or that log a warning or worse. */
function strayLines(logPath: string): string[] {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => {
      if (line.trim() === '') return false;
      if (!line.startsWith('{')) return true;
      try {
        const level = (JSON.parse(line) as { level?: unknown }).level;
        return typeof level === 'number' && level >= 40;
      } catch {
        return true;
      }
    });
}

/** N `true` through child_process.spawn, `concurrency` at a time: tasks per second. */
async function spawnFloor(tasks: number, concurrency: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < tasks) {
      next++;
      await new Promise<void>((resolve, reject) => {
        const child = spawn('true', [], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', () => resolve());
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tasks / ((performance.now() - started) / 1000);
}

// ---------------------------------------------------------------- report

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

function render(
  rows: readonly Row[],
  floorPerSecond: number,
  profiles: Record<string, SelfTime[]>,
  meta: { date: string; machine: string; load: { before: number; after: number } },
  tasks: number,
  taskCpus: number,
): string {
  const lines: string[] = [];
  const line = (label: string, ...cells: string[]) =>
    lines.push(`${label.padEnd(48)}${cells.map((c) => c.padStart(12)).join('')}`);
  line('', ...rows.map((r) => r.isolation));
  line('tasks finished / launched', ...rows.map((r) => `${r.tasksFinished}/${r.tasks}`));
  line(
    'tasks launched per second (to TASK_RUNNING)',
    ...rows.map((r) => fixed(r.launchedPerSecond)),
  );
  line('tasks finished per second', ...rows.map((r) => fixed(r.finishedPerSecond)));
  line(
    '  goal (≥ 300/s posix, ≥ 150/s cgroups)',
    ...rows.map((r) =>
      r.finishedPerSecond >= GOAL_TASKS_PER_SECOND[r.isolation] ? 'met' : 'NOT met',
    ),
  );
  line(
    '  ratio to the spawn floor',
    ...rows.map((r) => fixed(r.finishedPerSecond / floorPerSecond, 2)),
  );
  line('ACCEPT → TASK_RUNNING median ms', ...rows.map((r) => ms(r.acceptToRunning.p50Ms)));
  line('ACCEPT → TASK_RUNNING p99 ms', ...rows.map((r) => ms(r.acceptToRunning.p99Ms)));
  line('ACCEPT → TASK_FINISHED median ms', ...rows.map((r) => ms(r.acceptToFinished.p50Ms)));
  line('ACCEPT → TASK_FINISHED p99 ms', ...rows.map((r) => ms(r.acceptToFinished.p99Ms)));
  line('TASK_FINISHED → offered again median ms', ...rows.map((r) => ms(r.finishedToOffer.p50Ms)));
  line('TASK_FINISHED → offered again p99 ms', ...rows.map((r) => ms(r.finishedToOffer.p99Ms)));
  line('agent RSS idle MiB', ...rows.map((r) => fixed(r.idleRssMb)));
  line(
    `agent RSS with ${SLOTS} tasks running MiB`,
    ...rows.map((r) => `${fixed(r.heldRssMb)} (${r.heldTasks})`),
  );
  line('agent RSS per running task MiB', ...rows.map((r) => fixed(r.rssPerTaskMb, 2)));
  line(
    `  goal (≤ ${GOAL_RSS_PER_TASK_MB} MiB)`,
    ...rows.map((r) => (r.rssPerTaskMb <= GOAL_RSS_PER_TASK_MB ? 'met' : 'NOT met')),
  );
  line('agent peak RSS (throughput phase) MiB', ...rows.map((r) => fixed(r.agentPeakRssMb)));
  line('agent CPU s (throughput phase)', ...rows.map((r) => fixed(r.agentCpuSeconds, 2)));
  line(
    '  agent CPU ms per task',
    ...rows.map((r) => fixed((r.agentCpuSeconds * 1000) / r.tasks, 2)),
  );
  line(
    '    of which in the kernel',
    ...rows.map((r) => fixed((r.agentSystemSeconds * 1000) / r.tasks, 2)),
  );
  line('master CPU s (throughput phase)', ...rows.map((r) => fixed(r.masterCpuSeconds, 2)));
  line(
    '  master CPU ms per task',
    ...rows.map((r) => fixed((r.masterCpuSeconds * 1000) / r.tasks, 2)),
  );
  line(
    'launcher, shims and tasks CPU ms per task',
    ...rows.map((r) => fixed((r.shimsCpuSeconds * 1000) / r.tasks, 2)),
  );
  line(
    'framework (this process) CPU ms per task',
    ...rows.map((r) => fixed((r.frameworkCpuSeconds * 1000) / r.tasks, 2)),
  );
  line(
    'all processes CPU ms per task',
    ...rows.map((r) =>
      fixed(
        ((r.agentCpuSeconds + r.masterCpuSeconds + r.shimsCpuSeconds + r.frameworkCpuSeconds) *
          1000) /
          r.tasks,
        2,
      ),
    ),
  );
  line('agent log lines: warnings, stderr', ...rows.map((r) => String(r.strayLines.length)));
  line(
    '1-min load average start → end',
    ...rows.map((r) => `${fixed(r.load1m.start, 2)}→${fixed(r.load1m.end, 2)}`),
  );
  line(`floor: bare spawn('true'), ${SLOTS} at once, per second`, fixed(floorPerSecond));
  lines.push('');
  lines.push(
    `${tasks} tasks of \`true\` (${taskCpus} cpu, 32 MB) on one agent of '${AGENT_RESOURCES}' through a real master;`,
    `${meta.machine}; ${meta.date}; 1-min load ${fixed(meta.load.before, 2)} before, ${fixed(meta.load.after, 2)} after.`,
  );
  for (const row of rows)
    for (const stray of row.strayLines.slice(0, 5))
      lines.push(`${row.isolation} agent: ${stray.slice(0, 200)}`);
  for (const [name, top] of Object.entries(profiles)) {
    lines.push('', `agent CPU profile, ${name}: top self time`);
    for (const entry of top)
      lines.push(
        `  ${fixed(entry.percent).padStart(5)}%  ${fixed(entry.ms, 0).padStart(6)} ms  ${entry.name}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: String(DEFAULT_TASKS) },
      isolation: { type: 'string', default: 'both' },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'task-cpus': { type: 'string', default: String(TASK.cpus) },
    },
  });
  const usage = (text: string) => {
    process.stderr.write(`agent-bench: ${text}\n`);
    return 2;
  };
  const tasks = Number(values.tasks);
  if (!Number.isInteger(tasks) || tasks < 1)
    return usage(`--tasks: expected a positive whole number, got '${values.tasks}'`);
  const taskCpus = Number(values['task-cpus']);
  if (!(taskCpus > 0 && taskCpus <= 8))
    return usage(`--task-cpus: expected a number in (0, 8], got '${values['task-cpus']}'`);
  const isolations: Isolation[] =
    values.isolation === 'both'
      ? ['posix', 'cgroups']
      : values.isolation === 'posix' || values.isolation === 'cgroups'
        ? [values.isolation]
        : [];
  if (isolations.length === 0)
    return usage(`--isolation: expected posix, cgroups or both, got '${values.isolation}'`);
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const workDir = mkdtempSync(join(tmpdir(), 'agora-bench-agent-'));
  const cpuProfDir = values['cpu-prof'];
  const loadBefore = load1m();
  try {
    const rows: Row[] = [];
    for (const isolation of isolations) {
      process.stderr.write(`agent-bench: ${isolation}…\n`);
      const row = await runRow(isolation, tasks, taskCpus, workDir, cpuProfDir, interrupted.signal);
      process.stderr.write(`agent-bench: ${isolation}: ${fixed(row.finishedPerSecond)} tasks/s\n`);
      rows.push(row);
    }
    const floor = await spawnFloor(tasks, SLOTS);
    const profiles: Record<string, SelfTime[]> = {};
    if (cpuProfDir !== undefined)
      for (const isolation of isolations)
        for (const [file, top] of Object.entries(
          profileSummaries(join(cpuProfDir, `agent-${isolation}`), {}),
        ))
          profiles[`${isolation} (${file})`] = top;
    const meta = {
      date: new Date().toISOString().slice(0, 16).replace('T', ' '),
      machine: `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GB, Node.js ${process.version}`,
      load: { before: loadBefore, after: load1m() },
    };
    process.stdout.write(render(rows, floor, profiles, meta, tasks, taskCpus));
    if (values.json)
      process.stdout.write(`${JSON.stringify({ meta, floorPerSecond: floor, rows }, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (interrupted.signal.aborted) return 130;
    process.stderr.write(`agent-bench: ${describe(error)}\n`);
    return 1;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main();
