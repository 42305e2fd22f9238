// The master benchmark's report (#8): its rows, the table it prints, and the JSON.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WaitStats } from '../../src/sim/index.js';
import type { MemoryProbe } from './processes.js';
import type { MonotonicSpan, SelfTime } from './profile.js';
import {
  AGENT_RESOURCES,
  GOAL_FINISHED_TO_OFFER_P50_MS,
  GOAL_LAUNCHED_PER_SECOND_10K,
  GOAL_ONE_AGENT_LARGE_PER_SECOND,
  GOAL_ONE_AGENT_SMALL_PER_SECOND,
  GOAL_STATE_MS,
  GOAL_STATE_RSS_MB,
  ONE_AGENT_RESOURCES,
  type OneAgentKind,
  STATE_AGENT_RESOURCES,
  TASK,
  TASK_MAX_DURATION_MS,
} from './shapes.js';

export interface LoadRow {
  readonly agents: number;
  readonly frameworks: number;
  readonly registerSeconds: number;
  /** From the frameworks' start to the window: at least --warm-up, and one turnover. */
  readonly warmUpSeconds: number;
  /** Whether every slot turned over once before the window (else the warm-up hit its cap). */
  readonly isTurnedOver: boolean;
  readonly windowSeconds: number;
  readonly launchedPerSecond: number;
  readonly finishedPerSecond: number;
  /**
   * Acknowledged status updates per second over the 3 each task needs: the task throughput
   * of the update work, steady even when launches and finishes come in waves longer than
   * the window (each pass over the queue brings one kind of update).
   */
  readonly updateTasksPerSecond: number;
  readonly offersPerSecond: number;
  readonly acceptToRunning: WaitStats;
  readonly finishedToOffer: WaitStats;
  readonly masterRssMb: number;
  readonly masterHwmMb: number;
  /** Percent of one core over the window. */
  readonly masterCpuPercent: number;
  readonly simCpuPercent: number;
  readonly callsPerSecond: number;
  /** HTTP calls to the master per task (updates/3), over the window. */
  readonly callsPerTask: number;
  /** The master's write syscalls per task (updates/3): flushes of its streams and its answers. */
  readonly masterWritesPerTask: number;
  /** Calls waiting in the simulator's queues at the end of the window: the backlog. */
  readonly callsQueuedAtEnd: { readonly agents: number; readonly frameworks: number };
  /** The measured window, to pick it out of a CPU profile. */
  readonly windowSpan: MonotonicSpan;
  readonly load1m: { readonly start: number; readonly end: number };
  /** Anything that should be zero, with its count: resends, failed calls, lost streams… */
  readonly trouble: Readonly<Record<string, number>>;
}

export interface GetStateSample {
  readonly accept: string;
  readonly ms: number;
  readonly cpuMs: number;
  readonly bytes: number;
}

export interface StateRow {
  readonly agents: number;
  readonly frameworks: number;
  readonly tasksRunning: number;
  readonly fillSeconds: number;
  readonly masterRssMb: number;
  readonly masterHwmMb: number;
  readonly stateMs: readonly number[];
  /** The master's CPU (utime + stime) over each GET, which load does not stretch as it does wall time. */
  readonly stateCpuMs: readonly number[];
  /** The slowest GET /health answered while a GET /master/state was under way. */
  readonly healthMaxMs: number;
  readonly stateBytes: number;
  /** RSS after the GETs of /master/state, and after the GET_STATEs that followed them. */
  readonly rssAfterStateMb: number;
  readonly rssAfterGetStateMb: number;
  /** POST /api/v1 GET_STATE, protobuf then JSON, after the GETs of /master/state. */
  readonly getState: readonly GetStateSample[];
  /** When the GETs ran, to pick them out of a CPU profile. */
  readonly fetchSpan: MonotonicSpan;
  readonly load1m: { readonly start: number; readonly end: number };
  /**
   * The master's memory after two full collections (bench/master/memory-probe.cjs), after
   * the fill (RSS above read first), after the GETs of /master/state, after the GET_STATEs.
   */
  readonly memory: {
    readonly afterFill: MemoryProbe;
    readonly afterState: MemoryProbe;
    readonly afterGetState: MemoryProbe;
  };
}

export interface OneAgentRow {
  readonly kind: OneAgentKind;
  readonly taskCpus: number;
  readonly tasks: number;
  readonly tasksFinished: number;
  readonly seconds: number;
  readonly tasksPerSecond: number;
  readonly acceptToRunning: WaitStats;
  readonly finishedToOffer: WaitStats;
  readonly load1m: { readonly start: number; readonly end: number };
  readonly trouble: Readonly<Record<string, number>>;
}

export interface Results {
  readonly date: string;
  readonly machine: {
    readonly cpus: number;
    readonly model: string;
    readonly memoryGb: number;
    readonly node: string;
  };
  readonly isQuick: boolean;
  readonly warmUpSeconds: number;
  readonly windowSeconds: number;
  readonly callSockets: number;
  /** Calls each of those connections may have unanswered (HTTP/1.1 pipelining). */
  readonly pipeline: number;
  readonly load: readonly LoadRow[];
  readonly state: StateRow | undefined;
  readonly oneAgent: readonly OneAgentRow[];
  /** Rows that failed (a deadline on a busy machine), with why; the others still count. */
  readonly failures: readonly { readonly row: string; readonly message: string }[];
  readonly profiles: Readonly<Record<string, readonly SelfTime[]>>;
  readonly loadAverage1m: { readonly before: number; readonly after: number };
  readonly totalSeconds: number;
}

type Row = readonly string[];

function table(rows: readonly Row[], leftColumns = 1): string {
  const widths = (rows[0] ?? []).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: Row) =>
    row
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return column < leftColumns ? cell.padEnd(width) : cell.padStart(width);
      })
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1));
  const [header, ...body] = rows;
  return [line(header ?? []), rule, ...body.map(line)].join('\n');
}

export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** A percentile of `stats`, or a dash when it has no samples. */
function pct(stats: WaitStats, pick: (s: WaitStats) => number): string {
  return stats.count === 0 ? '–' : ms(pick(stats));
}

function goal(met: boolean): string {
  return met ? 'met' : 'NOT met';
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

function troubleText(trouble: Readonly<Record<string, number>>): string {
  const entries = Object.entries(trouble);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${count(v)}`).join(', ');
}

export function render(results: Results): string {
  const out: string[] = [];
  if (results.load.length > 0) {
    const rows: Row[] = [
      [
        'agents × frameworks',
        'launched/s',
        'finished/s',
        'updates/3 per s',
        'ACCEPT→RUNNING p50 ms',
        'p99 ms',
        'FINISHED→offer p50 ms',
        'p99 ms',
        'offers/s',
        'master RSS MB',
        'master CPU %',
        'tasks per master CPU-s',
        'sim CPU %',
        'load 1m',
      ],
    ];
    for (const row of results.load)
      rows.push([
        `${count(row.agents)} × ${count(row.frameworks)}`,
        count(row.launchedPerSecond),
        count(row.finishedPerSecond),
        count(row.updateTasksPerSecond),
        pct(row.acceptToRunning, (s) => s.p50Ms),
        pct(row.acceptToRunning, (s) => s.p99Ms),
        pct(row.finishedToOffer, (s) => s.p50Ms),
        pct(row.finishedToOffer, (s) => s.p99Ms),
        count(row.offersPerSecond),
        count(row.masterRssMb),
        count(row.masterCpuPercent),
        row.masterCpuPercent > 0
          ? count(row.updateTasksPerSecond / (row.masterCpuPercent / 100))
          : '–',
        count(row.simCpuPercent),
        `${row.load1m.start.toFixed(1)}→${row.load1m.end.toFixed(1)}`,
      ]);
    out.push(
      `Load: agents '${AGENT_RESOURCES}', tasks ${TASK.cpus} cpu / ${TASK.memMb} MB running 0–${TASK_MAX_DURATION_MS / 1000} s; ` +
        `warm-up ≥ ${results.warmUpSeconds} s and one turnover, ${results.windowSeconds} s measured`,
      table(rows),
    );
    const tenK = results.load.filter((r) => r.agents === 10_000);
    if (tenK.length > 0) {
      const launched = Math.max(...tenK.map((r) => r.launchedPerSecond));
      const sustained = Math.max(...tenK.map((r) => r.updateTasksPerSecond));
      out.push(
        `goal: ≥ ${count(GOAL_LAUNCHED_PER_SECOND_10K)} tasks launched/s with 10,000 agents: ` +
          `${count(launched)} launched/s, ${count(sustained)} updates/3 per s at best: ` +
          goal(Math.min(launched, sustained) >= GOAL_LAUNCHED_PER_SECOND_10K),
      );
    }
    for (const row of results.load)
      out.push(
        `  ${count(row.agents)} × ${count(row.frameworks)}: registered in ${row.registerSeconds.toFixed(1)} s; ` +
          `warm-up ${row.warmUpSeconds.toFixed(0)} s${row.isTurnedOver ? '' : ' (NOT one turnover: the window saw the first burst)'}; ` +
          `${count(row.callsPerSecond)} calls/s (${row.callsPerTask.toFixed(1)} per task; master write syscalls per task ${row.masterWritesPerTask.toFixed(1)}), ${count(row.callsQueuedAtEnd.agents)} + ${count(row.callsQueuedAtEnd.frameworks)} queued at the end (agents + frameworks); master VmHWM ${count(row.masterHwmMb)} MB; trouble: ${troubleText(row.trouble)}`,
      );
    out.push(
      'launched: RUN_TASK events reaching the simulated agents; finished: TASK_FINISHED updates reaching the frameworks.',
      'ACCEPT→RUNNING: ACCEPT call sent → TASK_RUNNING at the framework (TASK_STARTING must be acknowledged first).',
      'FINISHED→offer: TASK_FINISHED at a framework → the first offer of that agent to any framework after it.',
      'CPU: % of one core over the window; master from /proc/<pid>/stat, sim = this process (agents + frameworks).',
      'updates/3 per s: acknowledged status updates per second over the 3 each task needs (STARTING, RUNNING,',
      '  FINISHED): the task throughput of the update work, steady when launches and finishes come in waves',
      '  longer than the window (with a long backlog, each pass over the queue brings one kind of update).',
      'tasks per master CPU-s: updates/3 per s over the share of a core the master got: what it does with',
      '  one CPU-second (on a shared machine it gets only a share of a core).',
      `Calls share ${results.callSockets} keep-alive sockets, up to ${results.pipeline} unanswered on each; each agent and framework stream has its own.`,
    );
  }
  const state = results.state;
  if (state !== undefined) {
    const stateMedian = median(state.stateMs);
    out.push(
      '',
      `State: ${count(state.agents)} agents '${STATE_AGENT_RESOURCES}', ${count(state.tasksRunning)} running tasks (${count(state.frameworks)} frameworks; filled in ${state.fillSeconds.toFixed(1)} s)`,
      table([
        ['what', 'value', 'goal', ''],
        [
          'master RSS MB',
          count(state.masterRssMb),
          `≤ ${count(GOAL_STATE_RSS_MB)}`,
          goal(state.masterRssMb <= GOAL_STATE_RSS_MB),
        ],
        ['master VmHWM MB (after the GETs)', count(state.masterHwmMb), '', ''],
        [
          `GET /master/state ms (median of ${state.stateMs.length})`,
          ms(stateMedian),
          `≤ ${count(GOAL_STATE_MS)}`,
          goal(stateMedian <= GOAL_STATE_MS),
        ],
        ['GET /master/state ms (max)', ms(Math.max(...state.stateMs)), '', ''],
        ['master CPU ms per GET (median)', ms(median(state.stateCpuMs)), '', ''],
        ['GET /health ms during the GETs (max)', ms(state.healthMaxMs), '', ''],
        ['/master/state size MB', (state.stateBytes / 2 ** 20).toFixed(1), '', ''],
        ['master RSS MB after the GETs', count(state.rssAfterStateMb), '', ''],
        ...(['application/x-protobuf', 'application/json'] as const).flatMap((accept): Row[] => {
          const samples = state.getState.filter((s) => s.accept === accept);
          if (samples.length === 0) return [];
          const kind = accept === 'application/json' ? 'JSON' : 'protobuf';
          return [
            [
              `GET_STATE ${kind} ms (median of ${samples.length})`,
              ms(median(samples.map((s) => s.ms))),
              '',
              '',
            ],
            [
              `GET_STATE ${kind}: master CPU ms (median)`,
              ms(median(samples.map((s) => s.cpuMs))),
              '',
              '',
            ],
            [`GET_STATE ${kind} size MB`, ((samples[0]?.bytes ?? 0) / 2 ** 20).toFixed(1), '', ''],
          ];
        }),
        ['master RSS MB after the GET_STATEs', count(state.rssAfterGetStateMb), '', ''],
        ['load 1m', `${state.load1m.start.toFixed(1)}→${state.load1m.end.toFixed(1)}`, '', ''],
      ]),
      '',
      'The master after two full collections (MB): after the fill / the GETs / the GET_STATEs',
      table([
        ['what', 'after fill', 'after GETs', 'after GET_STATEs'],
        ...memoryRows(state.memory),
      ]),
    );
  }
  if (results.oneAgent.length > 0) {
    const rows: Row[] = [
      [
        'agent',
        'task cpus',
        'tasks',
        'seconds',
        'tasks/s',
        'goal tasks/s',
        'FINISHED→offer p50 ms',
        'p99 ms',
        'ACCEPT→RUNNING p50 ms',
        'load 1m',
      ],
    ];
    for (const row of results.oneAgent) {
      const goalPerSecond =
        row.taskCpus < 1 ? GOAL_ONE_AGENT_SMALL_PER_SECOND : GOAL_ONE_AGENT_LARGE_PER_SECOND;
      rows.push([
        row.kind === 'real' ? 'real process' : 'simulated',
        String(row.taskCpus),
        `${count(row.tasksFinished)}/${count(row.tasks)}`,
        row.seconds.toFixed(2),
        row.tasksPerSecond.toFixed(1),
        `≥ ${goalPerSecond}: ${goal(row.tasksPerSecond >= goalPerSecond)}`,
        pct(row.finishedToOffer, (s) => s.p50Ms),
        pct(row.finishedToOffer, (s) => s.p99Ms),
        pct(row.acceptToRunning, (s) => s.p50Ms),
        `${row.load1m.start.toFixed(1)}→${row.load1m.end.toFixed(1)}`,
      ]);
    }
    out.push(
      '',
      `One agent '${ONE_AGENT_RESOURCES}' (#8 §3b): one framework, tasks of 'true' (${TASK.memMb} MB), as many at a time as fit`,
      table(rows),
      `goal: TASK_FINISHED → next offer p50 ≤ ${GOAL_FINISHED_TO_OFFER_P50_MS} ms: ` +
        results.oneAgent
          .map(
            (r) =>
              `${r.kind} ${r.taskCpus} cpu ${ms(r.finishedToOffer.p50Ms)} ms ${goal(r.finishedToOffer.p50Ms <= GOAL_FINISHED_TO_OFFER_P50_MS)}`,
          )
          .join('; '),
      'seconds: first ACCEPT → last TASK_FINISHED at the framework. Simulated tasks end at once.',
    );
    for (const row of results.oneAgent)
      if (Object.keys(row.trouble).length > 0)
        out.push(`  ${row.kind} ${row.taskCpus} cpu trouble: ${troubleText(row.trouble)}`);
  }
  for (const [name, top] of Object.entries(results.profiles)) {
    out.push('', `Master CPU profile, ${name}: top self time (idle excluded)`);
    out.push(
      table(
        [
          ['function', 'ms', '%'],
          ...top.map((entry) => [entry.name, ms(entry.ms), entry.percent.toFixed(1)]),
        ],
        1,
      ),
    );
  }
  for (const failure of results.failures) out.push('', `FAILED ${failure.row}: ${failure.message}`);
  const { machine } = results;
  out.push(
    '',
    `Machine: ${machine.cpus} CPUs, ${machine.model}, ${machine.memoryGb} GB, Node.js ${machine.node}; ${results.date}.`,
    `1-minute load average: ${results.loadAverage1m.before.toFixed(2)} before, ` +
      `${results.loadAverage1m.after.toFixed(2)} after; ${results.totalSeconds.toFixed(0)} s in all.`,
  );
  return `${out.join('\n')}\n`;
}

/** After a row failed, the end of each of its daemons' logs, before the temp dir goes. */
export function printLogTails(workDir: string, row: string): void {
  for (const file of readdirSync(workDir).filter((f) => f.endsWith(`-${row}.log`))) {
    const lines = readFileSync(join(workDir, file), 'utf8').trimEnd().split('\n');
    process.stderr.write(`--- last lines of ${file}\n${lines.slice(-20).join('\n')}\n`);
  }
}

export function progress(text: string): void {
  process.stderr.write(`master-bench: ${text}\n`);
}

function memoryRows(memory: StateRow['memory']): Row[] {
  const probes = [memory.afterFill, memory.afterState, memory.afterGetState] as const;
  const row = (what: string, value: (p: MemoryProbe) => number | undefined): Row =>
    [
      what,
      ...probes.map((p) => {
        const v = value(p);
        return v === undefined ? '-' : v.toFixed(0);
      }),
    ] as Row;
  return [
    row('RSS before the collections', (p) => p.rssBeforeGcMb),
    row('RSS after them', (p) => p.rssMb),
    row('V8 heap total (reserved)', (p) => p.heapTotalMb),
    row('V8 heap used', (p) => p.heapUsedMb),
    row('  old space used', (p) => p.spaces.old_space?.usedMb),
    row('  new space size', (p) => p.spaces.new_space?.sizeMb),
    row('  large object space used', (p) => p.spaces.large_object_space?.usedMb),
    row('  code space used', (p) => p.spaces.code_space?.usedMb),
    row('external (Buffers, …)', (p) => p.externalMb),
    row('  of it ArrayBuffers', (p) => p.arrayBuffersMb),
    row("V8's own malloc", (p) => p.mallocedMb),
    row('collections ms', (p) => p.gcMs),
  ];
}
