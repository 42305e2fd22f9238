// The two shapes of what an agent reports in its SUBSCRIBE (agent-protocol.ts, AgentReport):
// which one an agent sends to which master, the frameworks-once shape made from the tasks an
// agent holds, and a reported task's FrameworkInfo read from either.
import type {
  AgentEvent,
  AgentReport,
  AgentTask,
  ReportedFramework,
  ReportedTask,
} from './agent-protocol.js';
import type { FrameworkInfo } from './messages.js';
import { isTerminalState } from './task-state.js';

/** Per task (each task with its framework's FrameworkInfo), or each framework listed once. */
export type ReportShape = 'perTask' | 'frameworksOnce';

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
  return subscribed.takes_frameworks_once === true ? 'frameworksOnce' : 'perTask';
}

/**
 * The shape to send again after a SUBSCRIBE was answered with HTTP `status`: a master of
 * an older Agora refuses the frameworks-once shape with 400 (its schema wants each task's
 * framework_info), so any 4xx to it falls back to per task, which every master takes, until
 * a SUBSCRIBED says otherwise. A 4xx to the per-task shape is not the shape's fault.
 */
export function shapeAfterRefusal(sent: ReportShape, status: number): ReportShape {
  return sent === 'frameworksOnce' && status >= 400 && status < 500 ? 'perTask' : sent;
}

/** Whether an answer to a SUBSCRIBE sent in `sent` calls for the other shape at once. */
export function isShapeRefused(sent: ReportShape, status: number): boolean {
  return shapeAfterRefusal(sent, status) !== sent;
}

/** The shape `report` has. */
export function shapeOf(report: AgentReport): ReportShape {
  return report.frameworks === undefined ? 'perTask' : 'frameworksOnce';
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
 * A reported task's FrameworkInfo, from either shape. Frameworks once: the parse checked that
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
