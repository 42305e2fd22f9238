// One placement problem as vectors over a fixed list of resource names, with the
// dominant-resource weighting every policy scores with. Quantities are integer thousandths,
// so fit checks and the agents' books are exact.
import assert from 'node:assert';
import { millisVector, type Quantities } from './quantities.js';
import type { AgentFree, PendingTask } from './types.js';

export interface TaskRow {
  readonly task: PendingTask;
  /** r_ik in thousandths, per name of the problem. */
  readonly demandMillis: readonly number[];
  /** d_i = max_k r_ik / C_k over names with C_k > 0; 0 if it needs none of them. */
  readonly dominantShare: number;
  /** ω_ik = (r_ik / C_k) / d_i, so the dominant resource weighs 1; 0 where r_ik or C_k is 0. */
  readonly weights: readonly number[];
}

export interface AgentRow {
  readonly agent: AgentFree;
  /** s_jk in thousandths: what is free now, reduced as tasks are placed (the only mutation). */
  readonly freeMillis: number[];
}

export interface Model {
  readonly names: readonly string[];
  /** C_k in thousandths. */
  readonly capacityMillis: readonly number[];
  readonly tasks: readonly TaskRow[];
  readonly agents: readonly AgentRow[];
}

/**
 * The model of one call. Asserts that ids are unique and every quantity is finite and >= 0:
 * the SDK builds these from offers it validated, so a bad one is a bug.
 */
export function buildModel(
  tasks: readonly PendingTask[],
  agents: readonly AgentFree[],
  clusterCapacity: Quantities,
): Model {
  assertUniqueIds(
    'task',
    tasks.map((task) => task.id),
  );
  assertUniqueIds(
    'agent',
    agents.map((agent) => agent.id),
  );
  const nameSet = new Set(Object.keys(clusterCapacity));
  for (const task of tasks) for (const name of Object.keys(task.demand)) nameSet.add(name);
  for (const agent of agents) for (const name of Object.keys(agent.free)) nameSet.add(name);
  const names = [...nameSet].sort(compareText);
  const capacityMillis = millisVector(clusterCapacity, names);
  return {
    names,
    capacityMillis,
    tasks: tasks.map((task) => taskRow(task, millisVector(task.demand, names), capacityMillis)),
    agents: agents.map((agent) => ({ agent, freeMillis: millisVector(agent.free, names) })),
  };
}

function taskRow(
  task: PendingTask,
  demandMillis: readonly number[],
  capacityMillis: readonly number[],
): TaskRow {
  assert(Number.isFinite(task.submittedAtMs), `task ${task.id}: submittedAtMs must be finite`);
  const shares = demandMillis.map((r, k) => {
    const c = capacityMillis[k] ?? 0;
    return c > 0 ? r / c : 0;
  });
  const dominantShare = Math.max(0, ...shares);
  const weights = shares.map((share) => (dominantShare > 0 ? share / dominantShare : 0));
  return { task, demandMillis, dominantShare, weights };
}

/**
 * d = max_k r_k / C_k over the names the cluster holds some of (C_k > 0), from quantities
 * rounded to thousandths; 0 if the demand needs none of them.
 */
export function dominantShare(demand: Quantities, clusterCapacity: Quantities): number {
  const [row] = buildModel([{ id: '', demand, submittedAtMs: 0 }], [], clusterCapacity).tasks;
  return row?.dominantShare ?? 0;
}

/** True if every demanded quantity of `row` is free on `agent`. */
export function fits(row: TaskRow, agent: AgentRow): boolean {
  const { demandMillis } = row;
  for (let k = 0; k < demandMillis.length; k++)
    if ((demandMillis[k] ?? 0) > (agent.freeMillis[k] ?? 0)) return false;
  return true;
}

/** Books `row` on `agent`: s_j −= r_i. Asserts it fits, so no agent is ever over-committed. */
export function book(row: TaskRow, agent: AgentRow): void {
  assert(fits(row, agent), `task ${row.task.id} does not fit on agent ${agent.agent.id}`);
  for (let k = 0; k < row.demandMillis.length; k++)
    agent.freeMillis[k] = (agent.freeMillis[k] ?? 0) - (row.demandMillis[k] ?? 0);
}

/**
 * Delay of `row` landing on `agent` now: Σ_k ω_ik · r_ik / s_jk, with s the free before the task
 * is subtracted. Call only where it fits (so s_jk >= r_ik > 0 wherever ω_ik > 0).
 */
export function delayCost(row: TaskRow, agent: AgentRow): number {
  let cost = 0;
  for (let k = 0; k < row.weights.length; k++) {
    const weight = row.weights[k] ?? 0;
    if (weight > 0) cost += (weight * (row.demandMillis[k] ?? 0)) / (agent.freeMillis[k] ?? 0);
  }
  return cost;
}

/**
 * What `agent` would have left after `row`, dominant-weighted: Σ_k ω_ik · (s_jk − r_ik) / C_k.
 * Only the task's own resources count, each by its weight, in shares of the cluster so that
 * cpus and mem add up. Call only where it fits.
 */
export function leftAfter(
  row: TaskRow,
  agent: AgentRow,
  capacityMillis: readonly number[],
): number {
  let left = 0;
  for (let k = 0; k < row.weights.length; k++) {
    const weight = row.weights[k] ?? 0;
    if (weight > 0)
      left +=
        (weight * ((agent.freeMillis[k] ?? 0) - (row.demandMillis[k] ?? 0))) /
        (capacityMillis[k] ?? 1);
  }
  return left;
}

/** Submission order: `submittedAtMs`, then id (by code unit, independent of locale). */
export function bySubmission(a: PendingTask, b: PendingTask): number {
  return a.submittedAtMs - b.submittedAtMs || compareText(a.id, b.id);
}

/** min-delay's order: largest dominant share first, then submission order. */
export function byDominantShareDescending(a: TaskRow, b: TaskRow): number {
  return b.dominantShare - a.dominantShare || bySubmission(a.task, b.task);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function assertUniqueIds(what: string, ids: readonly string[]): void {
  const seen = new Set<string>();
  for (const id of ids) {
    assert(!seen.has(id), `${what} id ${id} appears twice`);
    seen.add(id);
  }
}
