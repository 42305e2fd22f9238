// `/master/state-summary` (WIRE §7.2): what Mesos tools poll instead of the
// whole state (readonly_handler.cpp `stateSummary`).
import type { ReadonlyBooks as Books } from '../core/books.js';
import { frameworkSummary, isListed, type Json, legacyAgent, type MasterView } from './render.js';

/** The task states `/master/state-summary` counts, per agent and per framework, as Mesos does. */
const SUMMARY_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_KILLED',
  'TASK_FAILED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_UNREACHABLE',
] as const;

/** Tasks by state, and the ids on the other side (frameworks of an agent, agents of a framework). */
interface Summary {
  readonly counts: Map<string, number>;
  readonly ids: Set<string>;
}

function summaryFields(summary: Summary | undefined, idsKey: string): Json {
  return {
    ...Object.fromEntries(SUMMARY_STATES.map((s) => [s, summary?.counts.get(s) ?? 0])),
    [idsKey]: [...(summary?.ids ?? [])],
  };
}

/**
 * `/master/state-summary` (WIRE §7.2), what Mesos tools poll instead of the
 * whole state: the registered agents and frameworks, each with its tasks
 * counted by state (active, unreachable and the completed ones still kept) and
 * the ids of the frameworks it runs, or the agents it runs on.
 */
export function legacyStateSummary(books: Books, master: MasterView): Json {
  const byAgent = new Map<string, Summary>();
  const byFramework = new Map<string, Summary>();
  const count = (map: Map<string, Summary>, key: string, state: string, other: string) => {
    let summary = map.get(key);
    if (summary === undefined) {
      summary = { counts: new Map(), ids: new Set() };
      map.set(key, summary);
    }
    summary.counts.set(state, (summary.counts.get(state) ?? 0) + 1);
    summary.ids.add(other);
  };
  for (const framework of books.frameworks.values())
    for (const task of [...framework.tasks.values(), ...framework.completedTasks]) {
      count(byAgent, task.agentId.value, task.state, framework.id.value);
      count(byFramework, framework.id.value, task.state, task.agentId.value);
    }
  return {
    hostname: master.hostname,
    ...(master.flags.cluster !== undefined ? { cluster: master.flags.cluster } : {}),
    slaves: [...books.agents.values()]
      .filter((a) => isListed(a))
      .map((a) => ({
        ...legacyAgent(books, a),
        ...summaryFields(byAgent.get(a.id.value), 'framework_ids'),
      })),
    frameworks: [...books.frameworks.values()].map((f) => ({
      ...frameworkSummary(books, f),
      ...summaryFields(byFramework.get(f.id.value), 'slave_ids'),
    })),
  };
}
