// The cluster as the operator event stream tells it (WIRE §6.2): SUBSCRIBED
// carries the whole state, then TASK_ADDED/UPDATED, AGENT_ADDED/REMOVED and
// FRAMEWORK_ADDED/UPDATED/REMOVED change it. Pure: `apply` returns a new Cluster,
// so the pages re-render from values and the reducer is tested under node.
// The types name only the fields the pages read; the JSON is Mesos v1 as on the wire.

export interface Id {
  readonly value: string;
}
export interface Scalar {
  readonly value: number;
}
export interface Resource {
  readonly name: string;
  readonly type?: string;
  readonly scalar?: Scalar;
  readonly ranges?: { readonly range?: readonly { begin: number; end: number }[] };
  readonly role?: string;
  readonly reservations?: readonly { readonly role?: string }[];
}
export interface Attribute {
  readonly name: string;
  readonly type?: string;
  readonly scalar?: Scalar;
  readonly text?: { readonly value: string };
  readonly ranges?: { readonly range?: readonly { begin: number; end: number }[] };
  readonly set?: { readonly item?: readonly string[] };
}
export interface TaskStatus {
  readonly task_id: Id;
  readonly state: string;
  readonly message?: string;
  readonly reason?: string;
  readonly timestamp?: number;
  readonly agent_id?: Id;
  readonly container_status?: { readonly container_id?: { readonly value: string } };
}
export interface Task {
  readonly name: string;
  readonly task_id: Id;
  readonly framework_id: Id;
  readonly executor_id?: Id;
  readonly agent_id: Id;
  readonly state: string;
  readonly resources?: readonly Resource[];
  readonly statuses?: readonly TaskStatus[];
}
export interface AgentInfo {
  readonly id?: Id;
  readonly hostname: string;
  readonly port?: number;
  readonly attributes?: readonly Attribute[];
  readonly resources?: readonly Resource[];
}
export interface Agent {
  readonly agent_info: AgentInfo;
  readonly active: boolean;
  readonly deactivated?: boolean;
  readonly version?: string;
  readonly pid?: string;
  readonly registered_time?: { readonly nanoseconds: number };
  readonly total_resources?: readonly Resource[];
  readonly allocated_resources?: readonly Resource[];
  readonly offered_resources?: readonly Resource[];
  readonly drain_info?: { readonly state: string };
}
export interface FrameworkInfo {
  readonly id?: Id;
  readonly name: string;
  readonly user?: string;
  readonly roles?: readonly string[];
  readonly role?: string;
  readonly principal?: string;
  readonly webui_url?: string;
}
export interface Framework {
  readonly framework_info: FrameworkInfo;
  readonly active: boolean;
  readonly connected: boolean;
  readonly recovered?: boolean;
  readonly allocated_resources?: readonly Resource[];
  readonly offered_resources?: readonly Resource[];
}

export type OperatorEvent =
  | {
      readonly type: 'SUBSCRIBED';
      readonly subscribed: {
        readonly get_state?: {
          readonly get_tasks?: {
            readonly tasks?: readonly Task[];
            readonly completed_tasks?: readonly Task[];
            readonly unreachable_tasks?: readonly Task[];
          };
          readonly get_agents?: { readonly agents?: readonly Agent[] };
          readonly get_frameworks?: {
            readonly frameworks?: readonly Framework[];
            readonly completed_frameworks?: readonly Framework[];
          };
        };
        readonly heartbeat_interval_seconds?: number;
      };
    }
  | { readonly type: 'TASK_ADDED'; readonly task_added: { readonly task: Task } }
  | {
      readonly type: 'TASK_UPDATED';
      readonly task_updated: {
        readonly framework_id: Id;
        readonly status: TaskStatus;
        readonly state: string;
      };
    }
  | { readonly type: 'AGENT_ADDED'; readonly agent_added: { readonly agent: Agent } }
  | { readonly type: 'AGENT_REMOVED'; readonly agent_removed: { readonly agent_id: Id } }
  | {
      readonly type: 'FRAMEWORK_ADDED';
      readonly framework_added: { readonly framework: Framework };
    }
  | {
      readonly type: 'FRAMEWORK_UPDATED';
      readonly framework_updated: { readonly framework: Framework };
    }
  | {
      readonly type: 'FRAMEWORK_REMOVED';
      readonly framework_removed: { readonly framework_info: FrameworkInfo };
    }
  | { readonly type: 'HEARTBEAT' };

export interface Cluster {
  /** Tasks by `<framework id>/<task id>` (task ids are unique per framework only). */
  readonly tasks: ReadonlyMap<string, Task>;
  readonly agents: ReadonlyMap<string, Agent>;
  readonly frameworks: ReadonlyMap<string, Framework>;
  /** Frameworks removed (torn down) while watched, or completed before. */
  readonly completedFrameworks: ReadonlyMap<string, FrameworkInfo>;
}

/** Completed tasks kept in memory: a long-lived page must not grow without end. */
export const MAX_COMPLETED_TASKS = 5000;

export const EMPTY: Cluster = {
  tasks: new Map(),
  agents: new Map(),
  frameworks: new Map(),
  completedFrameworks: new Map(),
};

export const taskKey = (task: { framework_id: Id; task_id: Id }) =>
  `${task.framework_id.value}/${task.task_id.value}`;

const TERMINAL = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);
export const isTerminal = (state: string) => TERMINAL.has(state);

/** Keeps the map within MAX_COMPLETED_TASKS terminal tasks, dropping the oldest first. */
function trimCompleted(tasks: Map<string, Task>): void {
  let terminal = 0;
  for (const task of tasks.values()) if (isTerminal(task.state)) terminal += 1;
  for (const [key, task] of tasks) {
    if (terminal <= MAX_COMPLETED_TASKS) break;
    if (isTerminal(task.state)) {
      tasks.delete(key);
      terminal -= 1;
    }
  }
}

interface Draft {
  tasks: Map<string, Task>;
  agents: Map<string, Agent>;
  frameworks: Map<string, Framework>;
  completedFrameworks: Map<string, FrameworkInfo>;
}

/**
 * The cluster after `events`, in order. The maps are copied once per batch, not per
 * event, so a burst of thousands of task updates costs one copy; a batch of
 * heartbeats (or of events this UI does not know) returns `cluster` itself.
 */
export function applyAll(cluster: Cluster, events: readonly OperatorEvent[]): Cluster {
  if (events.every((e) => !KNOWN.has(e.type))) return cluster;
  const draft: Draft = {
    tasks: new Map(cluster.tasks),
    agents: new Map(cluster.agents),
    frameworks: new Map(cluster.frameworks),
    completedFrameworks: new Map(cluster.completedFrameworks),
  };
  let isTaskEnded = false;
  for (const event of events) isTaskEnded = step(draft, event) || isTaskEnded;
  if (isTaskEnded) trimCompleted(draft.tasks);
  return draft;
}

/** The cluster after one event. */
export function apply(cluster: Cluster, event: OperatorEvent): Cluster {
  return applyAll(cluster, [event]);
}

const KNOWN = new Set([
  'SUBSCRIBED',
  'TASK_ADDED',
  'TASK_UPDATED',
  'AGENT_ADDED',
  'AGENT_REMOVED',
  'FRAMEWORK_ADDED',
  'FRAMEWORK_UPDATED',
  'FRAMEWORK_REMOVED',
]);

/** Applies one event to the draft; true when tasks may need trimming. */
function step(draft: Draft, event: OperatorEvent): boolean {
  switch (event.type) {
    case 'SUBSCRIBED': {
      const state = event.subscribed.get_state ?? {};
      draft.tasks.clear();
      draft.agents.clear();
      draft.frameworks.clear();
      draft.completedFrameworks.clear();
      const t = state.get_tasks ?? {};
      for (const task of [
        ...(t.completed_tasks ?? []),
        ...(t.unreachable_tasks ?? []),
        ...(t.tasks ?? []),
      ])
        draft.tasks.set(taskKey(task), task);
      for (const agent of state.get_agents?.agents ?? [])
        if (agent.agent_info.id !== undefined) draft.agents.set(agent.agent_info.id.value, agent);
      for (const framework of state.get_frameworks?.frameworks ?? [])
        if (framework.framework_info.id !== undefined)
          draft.frameworks.set(framework.framework_info.id.value, framework);
      for (const framework of state.get_frameworks?.completed_frameworks ?? [])
        if (framework.framework_info.id !== undefined)
          draft.completedFrameworks.set(
            framework.framework_info.id.value,
            framework.framework_info,
          );
      return true;
    }
    case 'TASK_ADDED':
      draft.tasks.set(taskKey(event.task_added.task), event.task_added.task);
      return false;
    case 'TASK_UPDATED': {
      const { framework_id, status, state } = event.task_updated;
      const key = taskKey({ framework_id, task_id: status.task_id });
      const known = draft.tasks.get(key);
      const updated: Task = known
        ? { ...known, state, statuses: [...(known.statuses ?? []), status] }
        : {
            name: status.task_id.value,
            task_id: status.task_id,
            framework_id,
            agent_id: status.agent_id ?? { value: '' },
            state,
            statuses: [status],
          };
      draft.tasks.delete(key); // re-inserted last: map order is the order of last change
      draft.tasks.set(key, updated);
      return isTerminal(state);
    }
    case 'AGENT_ADDED': {
      const { agent } = event.agent_added;
      if (agent.agent_info.id !== undefined) draft.agents.set(agent.agent_info.id.value, agent);
      return false;
    }
    case 'AGENT_REMOVED':
      draft.agents.delete(event.agent_removed.agent_id.value);
      return false;
    case 'FRAMEWORK_ADDED':
    case 'FRAMEWORK_UPDATED': {
      const framework =
        event.type === 'FRAMEWORK_ADDED'
          ? event.framework_added.framework
          : event.framework_updated.framework;
      if (framework.framework_info.id !== undefined)
        draft.frameworks.set(framework.framework_info.id.value, framework);
      return false;
    }
    case 'FRAMEWORK_REMOVED': {
      const info = event.framework_removed.framework_info;
      if (info.id === undefined) return false;
      draft.frameworks.delete(info.id.value);
      draft.completedFrameworks.set(info.id.value, info);
      return false;
    }
    default:
      // HEARTBEAT, and events a newer master may send that this UI does not know.
      return false;
  }
}

/** Sums the scalar resources of a list by name (cpus, mem, disk, gpus, …). */
export function scalars(resources: readonly Resource[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of resources ?? [])
    if (r.scalar !== undefined) out[r.name] = (out[r.name] ?? 0) + r.scalar.value;
  return out;
}

/** Latest container id of a task, from its statuses: what KILL_CONTAINER names. */
export function containerIdOf(task: Task): string | undefined {
  for (const status of [...(task.statuses ?? [])].reverse()) {
    const id = status.container_status?.container_id?.value;
    if (id !== undefined) return id;
  }
  return undefined;
}
