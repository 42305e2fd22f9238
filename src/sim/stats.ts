// What a run did to utilisation and waiting time.
import assert from 'node:assert';
import type { Quantities } from '../placement/index.js';
import type { SimTask, TaskClass } from './workload.js';

/** Waiting times (start − submission) of a set of tasks, in ms. All 0 when `count` is 0. */
export interface WaitStats {
  readonly count: number;
  readonly meanMs: number;
  /** Nearest rank: the ceil(p · count)-th smallest. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface SimStats {
  readonly tasksSubmitted: number;
  /** Tasks that finished by the end of the run. */
  readonly tasksCompleted: number;
  /** Tasks still pending when the run stopped at `maxSimulatedMs` (0 when it drained). */
  readonly tasksNeverStarted: number;
  /**
   * Mean utilisation per resource over the arrival window [0, arrivalWindowMs): time-weighted
   * Σ_tasks r_k × (time it ran inside the window) / (C_k × window), in [0, 1].
   */
  readonly utilization: Quantities;
  /** Waiting times of the tasks that started. */
  readonly wait: WaitStats;
  /** The same, per task class. */
  readonly waitByClass: Readonly<Record<string, WaitStats>>;
  /**
   * Tasks that waited longer than `starvationThresholdMs`, counting those never started by
   * their wait until the end of the run.
   */
  readonly starvedCount: number;
  /** When the last task finished; the end of the run if some never did. */
  readonly makespanMs: number;
}

export interface StatsContext {
  readonly classes: readonly TaskClass[];
  readonly arrivalWindowMs: number;
  readonly starvationThresholdMs: number;
  readonly clusterCapacity: Quantities;
  /** When the run stopped. */
  readonly endMs: number;
}

/** The statistics of a run from its tasks and the start of each task that started. */
export function statsOf(
  tasks: readonly SimTask[],
  started: readonly { readonly task: SimTask; readonly startedAtMs: number }[],
  context: StatsContext,
): SimStats {
  const startedIds = new Set(started.map(({ task }) => task.id));
  const neverStarted = tasks.filter((task) => !startedIds.has(task.id));
  const waits = started.map(({ task, startedAtMs }) => {
    const waitMs = startedAtMs - task.submittedAtMs;
    assert(waitMs >= 0, `task ${task.id} started before it was submitted`);
    return waitMs;
  });
  const waitByClass: Record<string, WaitStats> = {};
  for (const c of context.classes)
    waitByClass[c.name] = waitStats(
      started.flatMap(({ task, startedAtMs }) =>
        task.className === c.name ? [startedAtMs - task.submittedAtMs] : [],
      ),
    );
  const utilization: Record<string, number> = {};
  for (const [name, capacity] of Object.entries(context.clusterCapacity)) {
    let used = 0;
    for (const { task, startedAtMs } of started) {
      const inWindowMs =
        Math.min(startedAtMs + task.durationMs, context.arrivalWindowMs) -
        Math.min(startedAtMs, context.arrivalWindowMs);
      used += (task.demand[name] ?? 0) * inWindowMs;
    }
    utilization[name] = capacity > 0 ? used / (capacity * context.arrivalWindowMs) : 0;
  }
  const ends = started.map(({ task, startedAtMs }) => startedAtMs + task.durationMs);
  const completed = ends.filter((endMs) => endMs <= context.endMs).length;
  const starvedStarted = waits.filter((waitMs) => waitMs > context.starvationThresholdMs).length;
  const starvedPending = neverStarted.filter(
    (task) => context.endMs - task.submittedAtMs > context.starvationThresholdMs,
  ).length;
  return {
    tasksSubmitted: tasks.length,
    tasksCompleted: completed,
    tasksNeverStarted: neverStarted.length,
    utilization,
    wait: waitStats(waits),
    waitByClass,
    starvedCount: starvedStarted + starvedPending,
    makespanMs:
      completed === tasks.length ? ends.reduce((a, b) => Math.max(a, b), 0) : context.endMs,
  };
}

/** Mean and nearest-rank percentiles of `waitsMs`. */
export function waitStats(waitsMs: readonly number[]): WaitStats {
  const sorted = [...waitsMs].sort((a, b) => a - b);
  const count = sorted.length;
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil(p * count) - 1)] ?? 0;
  return {
    count,
    meanMs: count === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / count,
    p50Ms: rank(0.5),
    p95Ms: rank(0.95),
    p99Ms: rank(0.99),
    maxMs: sorted.at(-1) ?? 0,
  };
}
