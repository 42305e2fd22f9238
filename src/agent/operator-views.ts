// What the agent's operator API reads (WIRE §6.3): its tasks, executors, frameworks and
// containers as v1's GET_* replies have them. Pure over the agent's books.
import type { ResourceStatistics } from '../containerizer/index.js';
import type { Acls, Visibility } from '../runtime/index.js';
import {
  type AgentInfo,
  type ExecutorInfo,
  type FrameworkInfo,
  isTerminalState,
  agentId as mintAgentId,
  containerId as mintContainerId,
  executorId as mintExecutorId,
  type Task,
} from '../wire/index.js';
import { type ContainerAcls, isTaskShown } from './container-acls.js';
import type { Executors, ExecutorTask } from './executors.js';
import type { SandboxFiles } from './files.js';
import type { ContainerSessions } from './sessions.js';
import type { StandaloneContainers } from './standalone.js';
import type { TaskRun, TaskRuns } from './task-runs.js';
import { executorUserName, frameworkUserName } from './task-user.js';

/** What the handlers read off the agent. */
export interface AgentView {
  readonly runs: TaskRuns;
  readonly executors: Executors;
  readonly files: SandboxFiles;
  readonly sessions: ContainerSessions;
  readonly standalone: StandaloneContainers;
  readonly containerAcls: ContainerAcls;
  /** --acls (permissive when none): the calls objects are implicit for (flags, log level). */
  readonly acls: Acls;
  readonly flags: Readonly<Record<string, string>>;
  agentId(): string | undefined;
  agentInfo(): AgentInfo | undefined;
  metrics(): Record<string, number>;
}

/**
 * GET_CONTAINERS as `principal` may see it: a task's container by view_containers on its
 * executor's user (a nested one by its root's), standalone ones by view_standalone_containers.
 */
export function containersOf(
  agent: AgentView,
  options: { readonly show_nested?: boolean; readonly show_standalone?: boolean } | undefined,
  principal: string | undefined,
) {
  return {
    containers: [
      ...agent.runs
        .usage()
        .filter(({ run }) => agent.containerAcls.mayView(principal, run.containerIdValue))
        .map(({ run, statistics }) => ({
          framework_id: run.frameworkId,
          executor_id: mintExecutorId(run.address.executorIdValue),
          executor_name: executorName(run),
          container_id: mintContainerId(run.containerIdValue),
          container_status: {
            container_id: mintContainerId(run.containerIdValue),
            ...(run.container !== undefined && run.container.pid > 0
              ? { executor_pid: run.container.pid }
              : {}),
          },
          resource_statistics: v1Statistics(statistics),
        })),
      // Nested ones only when asked for, as Mesos lists them: their id and status.
      ...(options?.show_nested === true
        ? agent.sessions
            .running()
            .filter(({ id }) => agent.containerAcls.mayView(principal, id.value))
            .map(({ id, pid }) => ({
              container_id: id,
              container_status: {
                container_id: id,
                ...(pid !== undefined ? { executor_pid: pid } : {}),
              },
            }))
        : []),
      // Standalone ones only when asked for (show_standalone), as Mesos lists them.
      ...(options?.show_standalone === true && agent.standalone.mayView(principal)
        ? agent.standalone.running().map(({ idValue, pid }) => ({
            container_id: mintContainerId(idValue),
            container_status: {
              container_id: mintContainerId(idValue),
              ...(pid > 0 ? { executor_pid: pid } : {}),
            },
          }))
        : []),
    ],
  };
}

/**
 * Usage as v1's ResourceStatistics has it: without the peak memory that Agora adds to
 * /monitor/statistics, a field v1 does not define (a protobuf client could never see it,
 * and the JSON reply says what the protobuf one says).
 */
function v1Statistics(
  statistics: ResourceStatistics,
): Omit<ResourceStatistics, 'mem_max_total_bytes'> {
  const { mem_max_total_bytes: _peak, ...v1 } = statistics;
  return v1;
}

function executorName(run: TaskRun): string {
  return `Command Executor (Task: ${run.task.task_id.value})`;
}

/** The command executor the agent stands in for, as Mesos describes it. */
function executorInfo(run: TaskRun): ExecutorInfo {
  return {
    type: 'DEFAULT',
    executor_id: mintExecutorId(run.address.executorIdValue),
    framework_id: run.frameworkId,
    name: executorName(run),
    command: run.task.command ?? {},
  };
}

function taskOf(run: TaskRun, agentIdValue: string): Task {
  return {
    name: run.task.name,
    task_id: run.task.task_id,
    framework_id: run.frameworkId,
    executor_id: mintExecutorId(run.address.executorIdValue),
    agent_id: mintAgentId(agentIdValue),
    state: run.state,
    resources: run.task.resources ?? [],
    statuses: [],
  } as Task;
}

/** A task of a custom executor, as GET_TASKS lists it. */
function customTaskOf(task: ExecutorTask, agentIdValue: string): Task {
  return {
    name: task.task.name,
    task_id: task.task.task_id,
    framework_id: task.frameworkId,
    executor_id: mintExecutorId(task.address.executorIdValue),
    agent_id: mintAgentId(agentIdValue),
    state: task.state,
    resources: task.task.resources ?? [],
    statuses: [],
  } as Task;
}

/** The task runs and custom executors' tasks a caller with `visibility` sees (view_* ACLs). */
function shownOf(agent: AgentView, visibility: Visibility | undefined) {
  const shown = (run: TaskRun) => isTaskShown(visibility, run.task, run.frameworkInfo);
  return {
    active: agent.runs.active.filter(shown),
    finished: agent.runs.finished.filter(shown),
    executors: agent.executors.active.filter(
      (run) =>
        visibility === undefined ||
        (visibility.framework(frameworkUserName(run.frameworkInfo)) &&
          visibility.executor(executorUserName(run.info, run.frameworkInfo))),
    ),
    finishedCustom: agent.executors.finished.filter(({ run, task }) =>
      isTaskShown(visibility, task.task, run.frameworkInfo),
    ),
  };
}

/** GET_TASKS as a caller with `visibility` sees it. */
export function tasksOf(agent: AgentView, visibility: Visibility | undefined) {
  const agentIdValue = agent.agentId() ?? '';
  const shown = shownOf(agent, visibility);
  const active = shown.active;
  const custom = shown.executors.flatMap((run) =>
    [...run.tasks.values()].filter((task) => isTaskShown(visibility, task.task, run.frameworkInfo)),
  );
  return {
    pending_tasks: [],
    queued_tasks: custom
      .filter((task) => task.state === 'TASK_STAGING' && !task.isDelivered)
      .map((task) => customTaskOf(task, agentIdValue)),
    launched_tasks: [
      ...active
        .filter((run) => !isTerminalState(run.state))
        .map((run) => taskOf(run, agentIdValue)),
      ...custom
        .filter((task) => !isTerminalState(task.state) && task.isDelivered)
        .map((task) => customTaskOf(task, agentIdValue)),
    ],
    terminated_tasks: [
      ...active.filter((run) => isTerminalState(run.state)).map((run) => taskOf(run, agentIdValue)),
      ...custom
        .filter((task) => isTerminalState(task.state))
        .map((task) => customTaskOf(task, agentIdValue)),
    ],
    completed_tasks: [
      ...shown.finished.map((run) => taskOf(run, agentIdValue)),
      ...shown.finishedCustom.map(({ task }) => customTaskOf(task, agentIdValue)),
    ],
  };
}

/** GET_EXECUTORS as a caller with `visibility` sees it. */
export function executorsOf(agent: AgentView, visibility: Visibility | undefined) {
  const shown = shownOf(agent, visibility);
  const custom = shown.executors.map((run) => ({
    executor_info: { ...run.info, framework_id: run.frameworkId },
    isDone: run.phase === 'terminated',
  }));
  return {
    executors: [
      ...shown.active
        .filter((run) => !isTerminalState(run.state))
        .map((run) => ({ executor_info: executorInfo(run) })),
      ...custom.filter((e) => !e.isDone).map(({ executor_info }) => ({ executor_info })),
    ],
    completed_executors: [
      ...[...shown.active.filter((run) => isTerminalState(run.state)), ...shown.finished].map(
        (run) => ({ executor_info: executorInfo(run) }),
      ),
      ...custom.filter((e) => e.isDone).map(({ executor_info }) => ({ executor_info })),
    ],
  };
}

/** GET_FRAMEWORKS as a caller with `visibility` sees it (view_frameworks, by their user). */
export function frameworksOf(agent: AgentView, visibility: Visibility | undefined) {
  const isShown = (framework: FrameworkInfo) =>
    visibility === undefined || visibility.framework(framework.user || undefined);
  const active = new Map<string, FrameworkInfo>();
  for (const run of agent.runs.active)
    if (isShown(run.frameworkInfo)) active.set(run.frameworkId.value, run.frameworkInfo);
  const completed = new Map<string, FrameworkInfo>();
  for (const run of agent.runs.finished)
    if (!active.has(run.frameworkId.value) && isShown(run.frameworkInfo))
      completed.set(run.frameworkId.value, run.frameworkInfo);
  return {
    frameworks: [...active.values()].map((framework_info) => ({ framework_info })),
    completed_frameworks: [...completed.values()].map((framework_info) => ({ framework_info })),
  };
}
