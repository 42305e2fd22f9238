// The `priority` policy's order: smaller dominant share first, aged so big tasks are not starved.
import assert from 'node:assert';
import { buildModel, bySubmission, type TaskRow } from './model.js';
import { DEFAULT_AGING_MS, type PendingTask, type PlaceOptions } from './types.js';

/**
 * p_i = (1 / d_i) · (1 + wait_i / τ), with d_i the task's dominant share of the cluster,
 * wait_i = max(0, now − submittedAt) and τ = `agingMs` (60 s unless told). A task that needs
 * none of the cluster's resources (d_i = 0) has p_i = Infinity. Higher goes first.
 */
export function priorityScore(task: PendingTask, options: PlaceOptions): number {
  const [row] = buildModel([task], [], options.clusterCapacity).tasks;
  assert(row !== undefined);
  return scoreOf(row, options);
}

/**
 * `tasks` in priority order: p_i descending, then submission time, then id. A new array;
 * `tasks` is not touched.
 *
 * Aging is why no task waits for ever behind smaller ones: p_i grows without bound as the task
 * waits, while a fresh task's priority is fixed at 1 / d. A task of share d_big outranks every
 * fresh task of share d_small or more once it has waited τ · (d_big / d_small − 1). Aging orders;
 * it does not make room: a task first in line still waits while no agent has room for it.
 */
export function priorityOrder(tasks: readonly PendingTask[], options: PlaceOptions): PendingTask[] {
  return orderByPriority(buildModel(tasks, [], options.clusterCapacity).tasks, options).map(
    (row) => row.task,
  );
}

/** The rows of a model in priority order (a new array). */
export function orderByPriority(rows: readonly TaskRow[], options: PlaceOptions): TaskRow[] {
  const scores = new Map(rows.map((row) => [row, scoreOf(row, options)]));
  const score = (row: TaskRow): number => scores.get(row) ?? 0;
  return [...rows].sort((a, b) => {
    const pa = score(a);
    const pb = score(b);
    if (pa !== pb) return pa > pb ? -1 : 1;
    return bySubmission(a.task, b.task);
  });
}

function scoreOf(row: TaskRow, options: PlaceOptions): number {
  const agingMs = options.agingMs ?? DEFAULT_AGING_MS;
  assert(Number.isFinite(agingMs) && agingMs > 0, `agingMs must be > 0, not ${agingMs}`);
  assert(Number.isFinite(options.nowMs), `nowMs must be finite, not ${options.nowMs}`);
  if (row.dominantShare === 0) return Number.POSITIVE_INFINITY;
  const waitMs = Math.max(0, options.nowMs - row.task.submittedAtMs);
  return (1 / row.dominantShare) * (1 + waitMs / agingMs);
}
