// Places pending tasks on agents' free resources by one of four policies (README.md).
import assert from 'node:assert';
import { assertNever } from '../wire/index.js';
import {
  type AgentRow,
  book,
  buildModel,
  byDominantShareDescending,
  bySubmission,
  delayCost,
  fits,
  leftAfter,
  type Model,
  type TaskRow,
} from './model.js';
import { orderByPriority } from './priority.js';
import type { Quantities } from './quantities.js';
import type { AgentFree, PendingTask, Placement, PlacementPolicy, PlaceOptions } from './types.js';

/** Picks the agent for `row` among those it fits on; undefined if none. */
type Choose = (row: TaskRow, model: Model) => AgentRow | undefined;

/**
 * Where each of `tasks` goes on `agents` under `policy`. The placements come in the order the
 * policy placed them. A task that fits on no agent (given those placed before it) is left out;
 * the caller keeps it pending. No agent is ever given more than its `free`, per resource, to
 * the thousandth. Ties between agents go to the first in `agents`' order, so the result is a
 * function of the arguments alone. A task of zero demand fits on any agent: it goes on the first.
 * Pure: the arguments are not touched. Asserts on duplicate ids and on a quantity that is
 * negative or not finite.
 */
export function place(
  policy: PlacementPolicy,
  tasks: readonly PendingTask[],
  agents: readonly AgentFree[],
  options: PlaceOptions,
): Placement[] {
  const model = buildModel(tasks, agents, options.clusterCapacity);
  switch (policy) {
    case 'min-delay':
      return placeInOrder(model, [...model.tasks].sort(byDominantShareDescending), leastDelay);
    case 'priority':
      return placeInOrder(model, orderByPriority(model.tasks, options), firstFit);
    case 'binpack':
      return placeInOrder(model, inSubmissionOrder(model), bestFit);
    case 'spread':
      return placeInOrder(model, inSubmissionOrder(model), worstFit);
    default:
      return assertNever(policy);
  }
}

/**
 * The min-delay objective of `placements`: Σ_i Σ_k ω_ik · r_ik / s_jk, where the tasks land in
 * min-delay's order (largest dominant share first, then submission order) whatever the order of
 * `placements`, and s_jk is what is free on agent j when task i lands, before its own demand is
 * subtracted. Asserts that every placement names a known task (once) and agent and that each
 * fits when it lands.
 */
export function totalDelay(
  placements: readonly Placement[],
  tasks: readonly PendingTask[],
  agents: readonly AgentFree[],
  clusterCapacity: Quantities,
): number {
  const model = buildModel(tasks, agents, clusterCapacity);
  const taskRows = new Map(model.tasks.map((row) => [row.task.id, row]));
  const agentRows = new Map(model.agents.map((row) => [row.agent.id, row]));
  const landing: [TaskRow, AgentRow][] = [];
  const placed = new Set<string>();
  for (const { taskId, agentId } of placements) {
    const row = taskRows.get(taskId);
    const agent = agentRows.get(agentId);
    assert(row !== undefined, `placement of unknown task ${taskId}`);
    assert(agent !== undefined, `placement on unknown agent ${agentId}`);
    assert(!placed.has(taskId), `task ${taskId} is placed twice`);
    placed.add(taskId);
    landing.push([row, agent]);
  }
  landing.sort(([a], [b]) => byDominantShareDescending(a, b));
  let delay = 0;
  for (const [row, agent] of landing) {
    delay += delayCost(row, agent);
    book(row, agent);
  }
  return delay;
}

function inSubmissionOrder(model: Model): TaskRow[] {
  return [...model.tasks].sort((a, b) => bySubmission(a.task, b.task));
}

function placeInOrder(model: Model, order: readonly TaskRow[], choose: Choose): Placement[] {
  const placements: Placement[] = [];
  // The largest free quantity of each resource on any agent: a task needing more of one fits
  // nowhere, found without looking at every agent. Queues of big tasks that fit nowhere are
  // the common case when a cluster is full.
  const maxFree = model.names.map((_, k) => maxFreeOf(model.agents, k));
  for (const row of order) {
    if (row.demandMillis.some((r, k) => r > (maxFree[k] ?? 0))) continue;
    const agent = choose(row, model);
    if (agent === undefined) continue;
    book(row, agent);
    placements.push({ taskId: row.task.id, agentId: agent.agent.id });
    row.demandMillis.forEach((r, k) => {
      if (r > 0) maxFree[k] = maxFreeOf(model.agents, k);
    });
  }
  return placements;
}

function maxFreeOf(agents: readonly AgentRow[], k: number): number {
  let max = 0;
  for (const agent of agents) max = Math.max(max, agent.freeMillis[k] ?? 0);
  return max;
}

/** `priority`: the first agent, in the given order, where the task fits. */
const firstFit: Choose = (row, model) => model.agents.find((agent) => fits(row, agent));

/** `min-delay`: the agent where the task's delay Σ_k ω_ik · r_ik / s_jk is least. */
const leastDelay: Choose = (row, model) => argMin(row, model, (agent) => delayCost(row, agent));

/** `binpack`: the agent with the least dominant-weighted capacity left after the task. */
const bestFit: Choose = (row, model) =>
  argMin(row, model, (agent) => leftAfter(row, agent, model.capacityMillis));

/** `spread`: the agent with the most dominant-weighted capacity left after the task. */
const worstFit: Choose = (row, model) =>
  argMin(row, model, (agent) => -leftAfter(row, agent, model.capacityMillis));

/** The agent the task fits on with the least `score`; the first in order on a tie. */
function argMin(
  row: TaskRow,
  model: Model,
  score: (agent: AgentRow) => number,
): AgentRow | undefined {
  let best: AgentRow | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const agent of model.agents) {
    if (!fits(row, agent)) continue;
    const value = score(agent);
    if (best === undefined || value < bestScore) {
      best = agent;
      bestScore = value;
    }
  }
  return best;
}
