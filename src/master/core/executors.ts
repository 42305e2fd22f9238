// Executors and the calls that address them: LAUNCH_GROUP (a task group under its DEFAULT
// executor, whose resources come out of the offer once per agent), SHUTDOWN and MESSAGE
// (forwarded to the agent), an executor's exit (FAILURE to its framework), and an agent's
// loss (FAILURE with only the agent id). Command tasks have no executor record: the agent
// runs them itself, and Mesos sends no FAILURE for their generated executors either.
import { Resources } from '../../resources/index.js';
import {
  type AgentID,
  type ExecutorInfo,
  executorId as mintExecutorId,
  type TaskInfo,
} from '../../wire/index.js';
import { allocatorHandle, type CoreContext, observe, toAgent, toFramework } from './context.js';
import { keptTaskInfo } from './kept.js';
import {
  type AgentRecord,
  type ExecutorRecord,
  executorKey,
  type FrameworkRecord,
  type TaskRecord,
} from './records.js';
import { taskGroupError } from './task-validation.js';
import { sendMasterStatus } from './tasks.js';

/** The part of an ACCEPT that LAUNCH_GROUP needs: its offers' agent and role, and what is left. */
export interface GroupLaunch {
  readonly agentIdValue: string;
  readonly role: string;
  readonly available: Resources;
}

/**
 * LAUNCH_GROUP: validated as Mesos' task::group::validate does; an invalid group gets
 * TASK_ERROR (REASON_TASK_GROUP_INVALID) for every task and nothing is used. A valid one is
 * added to the books whole and sent to the agent. Returns what the offers still hold.
 */
export function launchTaskGroup(
  core: CoreContext,
  framework: FrameworkRecord,
  agent: AgentRecord | undefined,
  executor: ExecutorInfo,
  tasks: readonly TaskInfo[],
  launch: GroupLaunch,
): Resources {
  const existing =
    agent?.executors.get(executorKey(framework.id.value, executor.executor_id.value)) ?? undefined;
  const problem = taskGroupError(executor, tasks, {
    frameworkIdValue: framework.id.value,
    agentIdValue: launch.agentIdValue,
    role: launch.role,
    available: launch.available,
    existingExecutor: existing?.info,
    isTaskIdInUse: (id) => framework.tasks.has(id),
  });
  if (problem !== undefined) {
    for (const task of tasks)
      sendMasterStatus(core, framework, task.task_id, task.agent_id, 'TASK_ERROR', {
        reason: 'REASON_TASK_GROUP_INVALID',
        message: problem,
      });
    return launch.available;
  }
  if (agent?.link.state !== 'connected') {
    for (const task of tasks)
      sendMasterStatus(core, framework, task.task_id, task.agent_id, 'TASK_DROPPED', {
        reason: 'REASON_AGENT_DISCONNECTED',
        message: 'Agent disconnected',
      });
    return launch.available;
  }
  const allocated = (resources: TaskInfo['resources']) =>
    Resources.fromWire(resources ?? [])
      .unallocate()
      .allocate(launch.role);
  let used = Resources.EMPTY;
  if (existing === undefined) {
    const record: ExecutorRecord = {
      executorId: executor.executor_id,
      frameworkId: framework.id,
      agentId: agent.id,
      info: executor,
      role: launch.role,
      resources: allocated(executor.resources),
    };
    agent.executors.set(executorKey(framework.id.value, executor.executor_id.value), record);
    used = used.plus(record.resources);
  }
  const taskIds = tasks.map((task) => task.task_id.value);
  const sent: TaskInfo[] = [];
  for (const info of tasks) {
    const resources = allocated(info.resources);
    used = used.plus(resources);
    // Mesos puts the group's executor into each task, so operators see which runs it.
    const withExecutor: TaskInfo = {
      ...info,
      executor,
      resources: resources.toWire('post-refinement'),
    };
    const task: TaskRecord = {
      taskId: info.task_id,
      frameworkId: framework.id,
      agentId: agent.id,
      info: keptTaskInfo(withExecutor),
      role: launch.role,
      resources: resources.shared(),
      state: 'TASK_STAGING',
      statuses: [],
      statusUpdateState: undefined,
      statusUpdateUuid: undefined,
      acknowledgedUuids: undefined,
      isRecovered: false,
      group: { executorId: executor.executor_id, taskIds },
    };
    core.books.addTask(task);
    observe(core, { kind: 'taskAdded', task, state: task.state });
    sent.push(withExecutor);
  }
  toAgent(core, agent, {
    type: 'RUN_TASK_GROUP',
    run_task_group: {
      framework_info: framework.info,
      executor: {
        ...executor,
        resources: allocated(executor.resources).toWire('post-refinement'),
      },
      task_group: { tasks: sent },
    },
  });
  core.log.info(
    {
      framework_id: framework.id.value,
      executor_id: executor.executor_id.value,
      agent_id: agent.id.value,
      task_ids: taskIds.slice(0, 10),
      tasks: taskIds.length,
      new_executor: existing === undefined,
    },
    'task group launched',
  );
  return launch.available.minus(used);
}

/**
 * The agent says an executor ended: its resources go back, and its framework hears FAILURE
 * with the executor id and status (Mesos' exitedExecutor). Unknown executors are ignored.
 */
export function executorExited(
  core: CoreContext,
  agent: AgentRecord,
  frameworkIdValue: string,
  executorIdValue: string,
  status: number,
): void {
  const key = executorKey(frameworkIdValue, executorIdValue);
  const record = agent.executors.get(key);
  if (record === undefined) {
    core.log.warn(
      { agent_id: agent.id.value, framework_id: frameworkIdValue, executor_id: executorIdValue },
      'exit of an unknown executor ignored',
    );
    return;
  }
  agent.executors.delete(key);
  allocatorHandle(core, {
    kind: 'resourcesRecovered',
    frameworkId: record.frameworkId,
    agentId: agent.id,
    resources: record.resources,
  });
  core.allocation.resourcesFreed();
  core.log.info(
    {
      agent_id: agent.id.value,
      framework_id: frameworkIdValue,
      executor_id: executorIdValue,
      status,
    },
    'executor exited',
  );
  const framework = core.books.frameworks.get(frameworkIdValue);
  if (framework === undefined) return;
  toFramework(core, framework, {
    type: 'FAILURE',
    failure: { agent_id: agent.id, executor_id: mintExecutorId(executorIdValue), status },
  });
}

/**
 * An executor's MESSAGE, relayed by its agent: a MESSAGE event to its framework if that is
 * connected (Mesos' ExecutorToFrameworkMessage, counted as Mesos counts it); else dropped.
 */
export function executorMessage(
  core: CoreContext,
  agent: AgentRecord,
  frameworkIdValue: string,
  executorIdValue: string,
  data: string,
): void {
  core.metrics.count('master/messages_executor_to_framework');
  const framework = core.books.frameworks.get(frameworkIdValue);
  if (framework === undefined || framework.link.state !== 'connected') {
    core.metrics.count('master/invalid_executor_to_framework_messages');
    core.log.warn(
      { framework_id: frameworkIdValue, agent_id: agent.id.value, executor_id: executorIdValue },
      'executor message for a framework that is not connected; dropped',
    );
    return;
  }
  toFramework(core, framework, {
    type: 'MESSAGE',
    message: { agent_id: agent.id, executor_id: mintExecutorId(executorIdValue), data },
  });
  core.metrics.count('master/valid_executor_to_framework_messages');
}

/** The executors of a framework, on every agent, forgotten (the framework was removed). */
export function forgetExecutorsOf(core: CoreContext, framework: FrameworkRecord): void {
  for (const agent of core.books.agents.values())
    for (const [key, record] of agent.executors)
      if (record.frameworkId.value === framework.id.value) {
        agent.executors.delete(key);
        allocatorHandle(core, {
          kind: 'resourcesRecovered',
          frameworkId: record.frameworkId,
          agentId: agent.id,
          resources: record.resources,
        });
      }
}

/** SHUTDOWN: forwarded to a registered agent, as Mesos does; the agent stops the executor. */
export function shutdownExecutor(
  core: CoreContext,
  framework: FrameworkRecord,
  agentIdValue: string,
  executorIdValue: string,
): void {
  const agent = core.books.agents.get(agentIdValue);
  if (agent?.link.state !== 'connected') {
    core.log.warn(
      { framework_id: framework.id.value, agent_id: agentIdValue, executor_id: executorIdValue },
      'shutdown of an executor on an agent that is not registered; dropped',
    );
    return;
  }
  toAgent(core, agent, {
    type: 'SHUTDOWN_EXECUTOR',
    shutdown_executor: { framework_id: framework.id, executor_id: mintExecutorId(executorIdValue) },
  });
  core.log.info(
    { framework_id: framework.id.value, agent_id: agentIdValue, executor_id: executorIdValue },
    'executor shutdown requested',
  );
}

/** MESSAGE: forwarded to a connected agent; best effort (counted as Mesos counts it). */
export function frameworkMessage(
  core: CoreContext,
  framework: FrameworkRecord,
  agentIdValue: string,
  executorIdValue: string,
  data: string,
): void {
  core.metrics.count('master/messages_framework_to_executor');
  const agent = core.books.agents.get(agentIdValue);
  if (agent?.link.state !== 'connected') {
    core.metrics.count('master/invalid_framework_to_executor_messages');
    core.log.warn(
      { framework_id: framework.id.value, agent_id: agentIdValue },
      'framework message for an agent that is not connected; dropped',
    );
    return;
  }
  toAgent(core, agent, {
    type: 'FRAMEWORK_MESSAGE',
    framework_message: {
      framework_id: framework.id,
      executor_id: mintExecutorId(executorIdValue),
      data,
    },
  });
  core.metrics.count('master/valid_framework_to_executor_messages');
}

/**
 * An agent was removed (unreachable, or gone): every connected framework hears FAILURE with
 * only the agent id, as Mesos' sendSlaveLost tells every registered framework (not only
 * those with tasks there). Its executors are forgotten; the allocator dropped the agent whole.
 */
export function agentLost(core: CoreContext, agent: AgentRecord, agentId: AgentID): void {
  agent.executors.clear();
  for (const framework of core.books.frameworks.values())
    toFramework(core, framework, { type: 'FAILURE', failure: { agent_id: agentId } });
}
