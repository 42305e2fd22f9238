// The three shapes of what an agent reports in its SUBSCRIBE (agent-protocol.ts, AgentReport):
// which one an agent sends to which master, the frameworks-once and compact shapes made from
// the tasks an agent holds, and the tasks and their FrameworkInfo read back from any of them.
import type {
  AgentEvent,
  AgentReport,
  AgentTask,
  CompactTask,
  CompactTaskInfo,
  ReportedFramework,
  ReportedTask,
} from './agent-protocol.js';
import type { AgentID } from './ids.js';
import type { FrameworkInfo, Resource, TaskInfo } from './messages.js';
import { isTerminalState } from './task-state.js';

/**
 * Per task (each task with its framework's FrameworkInfo), each framework listed once, or
 * compact (frameworks once, and each distinct resources list of the tasks once).
 */
export type ReportShape = 'perTask' | 'frameworksOnce' | 'compact';

/**
 * The shape an agent reports in once it was SUBSCRIBED: what that master said it takes.
 * Kept across leader changes, since at a failover the agent re-registers with a new leader
 * it has heard nothing from, and that is the storm the smaller shape is for (#10). Mesos
 * upgrades masters before agents, so the new leader mostly takes it too; one that does not
 * answers 4xx, and `shapeAfterRefusal` falls back. An agent that has heard from no master
 * (its first SUBSCRIBE ever, or after its own restart) sends per task: any master takes it.
 */
export function shapeAfterSubscribed(
  subscribed: Extract<AgentEvent, { type: 'SUBSCRIBED' }>['subscribed'],
): ReportShape {
  if (subscribed.takes_compact_report === true) return 'compact';
  return subscribed.takes_frameworks_once === true ? 'frameworksOnce' : 'perTask';
}

/**
 * The shape to send again after a SUBSCRIBE was answered with HTTP `status`: a master of
 * an older Agora refuses a shape it does not know with 400 (its schema wants each task's
 * framework_info, or its agent_id), so any 4xx to it steps down one shape (compact, then
 * frameworks once: the version before this one takes that), down to per task, which every
 * master takes, until a SUBSCRIBED says otherwise. A 4xx to the per-task shape is not the
 * shape's fault.
 */
export function shapeAfterRefusal(sent: ReportShape, status: number): ReportShape {
  if (status < 400 || status >= 500) return sent;
  return sent === 'compact' ? 'frameworksOnce' : 'perTask';
}

/** Whether an answer to a SUBSCRIBE sent in `sent` calls for the other shape at once. */
export function isShapeRefused(sent: ReportShape, status: number): boolean {
  return shapeAfterRefusal(sent, status) !== sent;
}

/** The shape `report` has. */
export function shapeOf(report: AgentReport): ReportShape {
  if (report.frameworks === undefined) return 'perTask';
  return report.task_resources === undefined ? 'frameworksOnce' : 'compact';
}

/**
 * The tasks an agent holds (each with its framework's FrameworkInfo, as its runs keep them),
 * reported in `shape`. Frameworks once: each framework listed once, in the order its first
 * task comes, with the FrameworkInfo of its first task that is not terminal (else of its
 * first task), the one a master reading the per-task shape takes for a framework it does not
 * know (master/core/agents.ts, adoptTasks): either shape leaves the master the same books.
 */
export function reportIn(shape: ReportShape, tasks: readonly AgentTask[]): AgentReport {
  if (shape === 'perTask') return { tasks };
  const once = frameworksOnce(tasks);
  return shape === 'compact' ? compactOf(once.frameworks, once.tasks) : once;
}

function frameworksOnce(tasks: readonly AgentTask[]): {
  readonly frameworks: readonly ReportedFramework[];
  readonly tasks: readonly ReportedTask[];
} {
  const listed = new Map<string, { framework: ReportedFramework; isChosen: boolean }>();
  const reported: ReportedTask[] = [];
  for (const held of tasks) {
    const idValue = held.framework_id.value;
    const isActive = !isTerminalState(held.state);
    const known = listed.get(idValue);
    if (known === undefined)
      listed.set(idValue, {
        framework: { framework_id: held.framework_id, framework_info: held.framework_info },
        isChosen: isActive,
      });
    else if (!known.isChosen && isActive)
      listed.set(idValue, {
        framework: {
          framework_id: known.framework.framework_id,
          framework_info: held.framework_info,
        },
        isChosen: true,
      });
    reported.push({ framework_id: held.framework_id, task: held.task, state: held.state });
  }
  return { frameworks: [...listed.values()].map((entry) => entry.framework), tasks: reported };
}

/**
 * The compact report of frameworks-once `frameworks` and `tasks`: each distinct resources
 * list (equal as JSON) given once in `task_resources`, in the order of the first task naming
 * it, and each task's own list replaced by its index there; a task without a list names none.
 * reportedTasksOf gives the tasks back as they were, equal as JSON.
 */
export function compactOf(
  frameworks: readonly ReportedFramework[],
  tasks: readonly ReportedTask[],
): AgentReport {
  const table: (readonly Resource[])[] = [];
  // Most tasks share their list with the task before (a framework's tasks mostly have one
  // shape, often one array): the same array is taken without its JSON.
  let lastList: readonly Resource[] | undefined;
  let lastIndex = -1;
  const byJson = new Map<string, number>();
  const compact: CompactTask[] = [];
  for (const entry of tasks) {
    // The master takes each task as the subscribing agent's: agent_id is not sent.
    const { resources, agent_id: _, ...task } = entry.task;
    if (resources === undefined) {
      compact.push({ framework_id: entry.framework_id, task, state: entry.state });
      continue;
    }
    if (resources !== lastList) {
      const json = JSON.stringify(resources);
      let index = byJson.get(json);
      if (index === undefined) {
        index = table.length;
        byJson.set(json, index);
        table.push(resources);
      }
      lastList = resources;
      lastIndex = index;
    }
    compact.push({
      framework_id: entry.framework_id,
      task,
      resources_index: lastIndex,
      state: entry.state,
    });
  }
  return { frameworks, task_resources: table, tasks: compact };
}

/**
 * The tasks of a checked report, each with its TaskInfo whole: the compact report's tasks
 * with `agentId` (the subscribing agent's) and their resources list from the table (a list
 * shared by the tasks naming it), the others as they are. The parse checked every index.
 */
export function reportedTasksOf(report: AgentReport, agentId: AgentID): readonly ReportedTask[] {
  const tasks = report.tasks;
  if (tasks === undefined) return NO_TASKS;
  const table = report.task_resources;
  if (table === undefined) return tasks as readonly ReportedTask[];
  const expanded: ReportedTask[] = new Array(tasks.length);
  for (let i = 0; i < tasks.length; i++) {
    const entry = tasks[i] as CompactTask;
    const index = entry.resources_index;
    expanded[i] = {
      framework_id: entry.framework_id,
      task: withImplied(
        entry.task,
        agentId,
        index === undefined ? undefined : resourcesAt(table, index),
      ),
      state: entry.state,
    };
  }
  return expanded;
}

const NO_TASKS: readonly ReportedTask[] = [];

/**
 * The TaskInfo a compact task stands for, field by field in TaskInfo's order: a spread with
 * the two fields added took V8's slow path, ~1.2 µs a task, as much as the compact report
 * saved the master's parse and check (bench/agent-subscribe-parse.ts).
 */
function withImplied(
  given: CompactTaskInfo,
  agent_id: AgentID,
  resources: readonly Resource[] | undefined,
): TaskInfo {
  const task: { -readonly [K in keyof TaskInfo]: TaskInfo[K] } = {
    name: given.name,
    task_id: given.task_id,
    agent_id,
  };
  if (resources !== undefined) task.resources = resources;
  if (given.executor !== undefined) task.executor = given.executor;
  if (given.command !== undefined) task.command = given.command;
  if (given.container !== undefined) task.container = given.container;
  if (given.limits !== undefined) task.limits = given.limits;
  if (given.kill_policy !== undefined) task.kill_policy = given.kill_policy;
  if (given.health_check !== undefined) task.health_check = given.health_check;
  if (given.check !== undefined) task.check = given.check;
  if (given.data !== undefined) task.data = given.data;
  if (given.labels !== undefined) task.labels = given.labels;
  return task;
}

/** The fields withImplied copies: TaskInfo growing a field fails to compile until it copies it. */
type Copied =
  | 'name'
  | 'task_id'
  | 'executor'
  | 'command'
  | 'container'
  | 'limits'
  | 'kill_policy'
  | 'health_check'
  | 'check'
  | 'data'
  | 'labels';
const EVERY_FIELD_COPIED: [Exclude<keyof CompactTaskInfo, Copied>] extends [never] ? true : never =
  true;
void EVERY_FIELD_COPIED;

function resourcesAt(table: readonly (readonly Resource[])[], index: number): readonly Resource[] {
  const resources = table[index];
  if (resources === undefined)
    throw new Error(`task_resources[${index}] is not in the report: it was not checked`);
  return resources;
}

/**
 * A reported task's FrameworkInfo, from any shape. Frameworks once: the parse checked that
 * every task's framework is listed, once; a map of them is made only if a task's is asked
 * for (a master that knows the framework never asks). Throws if the task's framework is not
 * listed: the report was not checked.
 */
export function frameworkInfoOf(report: AgentReport): (task: ReportedTask) => FrameworkInfo {
  const frameworks = report.frameworks;
  if (frameworks === undefined) return perTaskInfo;
  let byId: Map<string, FrameworkInfo> | undefined;
  return (task) => {
    byId ??= new Map(frameworks.map((f) => [f.framework_id.value, f.framework_info]));
    const info = byId.get(task.framework_id.value);
    if (info === undefined)
      throw new Error(`framework ${task.framework_id.value} is not listed in the report`);
    return info;
  };
}

/** The per-task report's tasks carry it (one function for every report: nothing made per agent). */
const perTaskInfo = (task: ReportedTask): FrameworkInfo => (task as AgentTask).framework_info;
