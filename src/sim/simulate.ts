// A deterministic discrete-event simulation of one framework placing a queue of tasks on a
// cluster with one policy: arrivals and completions happen at their own times; every tick the
// framework places its pending queue on what is free, as it would on the offers of one
// allocation interval.
import assert from 'node:assert';
import {
  type AgentFree,
  DEFAULT_AGING_MS,
  type PlacementPolicy,
  place,
} from '../placement/index.js';
import { type SimStats, statsOf } from './stats.js';
import {
  clusterCapacityOf,
  DEFAULT_WORKLOAD,
  generateWorkload,
  type SimTask,
  type WorkloadConfig,
} from './workload.js';

export interface SimConfig extends WorkloadConfig {
  /** How often the queue is placed: tasks arriving between ticks wait for the next. */
  readonly tickMs: number;
  /** τ of the `priority` policy. */
  readonly agingMs: number;
  /** A task that waits longer than this counts as starved. */
  readonly starvationThresholdMs: number;
  /**
   * The run stops here even if tasks are left (a bound on the loop): those still pending count
   * as starved, with their wait so far.
   */
  readonly maxSimulatedMs: number;
}

export const DEFAULT_SIM_CONFIG: SimConfig = Object.freeze({
  ...DEFAULT_WORKLOAD,
  tickMs: 1000,
  agingMs: DEFAULT_AGING_MS,
  starvationThresholdMs: 10 * 60 * 1000,
  maxSimulatedMs: 8 * 60 * 60 * 1000,
});

/** One task's fate in a run. */
export interface TaskOutcome {
  readonly task: SimTask;
  readonly agentId: string;
  readonly startedAtMs: number;
}

export interface SimResult extends SimStats {
  readonly policy: PlacementPolicy;
  readonly seed: number;
}

/**
 * Runs `config`'s workload under `policy` until every task has finished or `maxSimulatedMs`
 * is reached. Pure: no clock, no I/O; the same arguments give the same result.
 */
export function simulate(
  policy: PlacementPolicy,
  config: SimConfig = DEFAULT_SIM_CONFIG,
): SimResult {
  const run = runSimulation(policy, config);
  return { policy, seed: config.seed, ...run.stats };
}

/**
 * `simulate`, with every started task and where and when it started. `tasks` (in arrival order)
 * replaces the workload drawn from `config`; their class names should be among `config.classes`.
 */
export function runSimulation(
  policy: PlacementPolicy,
  config: SimConfig,
  tasks: readonly SimTask[] = generateWorkload(config),
): { readonly stats: SimStats; readonly outcomes: readonly TaskOutcome[] } {
  assert(config.tickMs > 0 && config.maxSimulatedMs > 0);
  for (let i = 1; i < tasks.length; i++)
    assert(
      (tasks[i - 1]?.submittedAtMs ?? 0) <= (tasks[i]?.submittedAtMs ?? 0),
      'tasks must come in arrival order',
    );
  const clusterCapacity = clusterCapacityOf(config);
  const names = Object.keys(config.agentCapacity);
  const agentIds = Array.from(
    { length: config.agentCount },
    (_, i) => `a${String(i).padStart(3, '0')}`,
  );
  // Free per agent in thousandths, so that the books stay exact over thousands of tasks.
  const freeMillis = new Map(
    agentIds.map((id) => [id, names.map((name) => toMillis(config.agentCapacity[name] ?? 0))]),
  );
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const pending: SimTask[] = [];
  const running: { readonly task: SimTask; readonly agentId: string; readonly endMs: number }[] =
    [];
  const outcomes: TaskOutcome[] = [];
  let nextArrival = 0;
  let nowMs = 0;
  for (; nowMs <= config.maxSimulatedMs; nowMs += config.tickMs) {
    let isChanged = false;
    for (let i = running.length - 1; i >= 0; i--) {
      const run = running[i];
      if (run === undefined || run.endMs > nowMs) continue;
      addDemand(freeMillis.get(run.agentId), run.task, names, +1);
      running.splice(i, 1);
      isChanged = true;
    }
    for (; nextArrival < tasks.length; nextArrival++) {
      const task = tasks[nextArrival];
      if (task === undefined || task.submittedAtMs > nowMs) break;
      pending.push(task);
      isChanged = true;
    }
    if (nextArrival === tasks.length && pending.length === 0 && running.length === 0) break;
    // Nothing arrived and nothing was freed: every pending task fit nowhere at the end of the
    // last tick and still fits nowhere, whatever the policy. Skipping is only a speed-up.
    if (!isChanged || pending.length === 0) continue;
    const agents: AgentFree[] = agentIds.map((id) => ({
      id,
      free: toQuantities(freeMillis.get(id), names),
    }));
    const placements = place(policy, pending, agents, {
      nowMs,
      clusterCapacity,
      agingMs: config.agingMs,
    });
    const placed = new Set<string>();
    for (const { taskId, agentId } of placements) {
      const task = byId.get(taskId);
      assert(task !== undefined, `placement of unknown task ${taskId}`);
      addDemand(freeMillis.get(agentId), task, names, -1);
      running.push({ task, agentId, endMs: nowMs + task.durationMs });
      outcomes.push({ task, agentId, startedAtMs: nowMs });
      placed.add(taskId);
    }
    if (placed.size > 0) {
      const left = pending.filter((task) => !placed.has(task.id));
      pending.length = 0;
      pending.push(...left);
    }
  }
  const endMs = Math.min(nowMs, config.maxSimulatedMs);
  return {
    stats: statsOf(tasks, outcomes, { ...config, endMs, clusterCapacity }),
    outcomes,
  };
}

function toMillis(value: number): number {
  return Math.round(value * 1000);
}

function toQuantities(millis: readonly number[] | undefined, names: readonly string[]) {
  assert(millis !== undefined);
  const free: Record<string, number> = {};
  names.forEach((name, k) => {
    free[name] = (millis[k] ?? 0) / 1000;
  });
  return free;
}

/** free += sign × the task's demand; asserts nothing goes negative (no over-commit). */
function addDemand(
  free: number[] | undefined,
  task: SimTask,
  names: readonly string[],
  sign: 1 | -1,
): void {
  assert(free !== undefined);
  names.forEach((name, k) => {
    const next = (free[k] ?? 0) + sign * toMillis(task.demand[name] ?? 0);
    assert(next >= 0, `agent over-committed in ${name} by task ${task.id}`);
    free[k] = next;
  });
}
