// Tasks as the master sees them: launched on an agent, their states as agents
// report them (wire/task-state.ts has the table), killed, acknowledged,
// reconciled, and retired to the completed list once their terminal update is
// acknowledged. Statuses the master makes itself carry no uuid and need no
// acknowledgement (WIRE §4).
import type { Resources } from '../../resources/index.js';
import {
  type AgentID,
  canTransition,
  InvalidTransitionError,
  isTerminalState,
  agentId as mintAgentId,
  frameworkId as mintFrameworkId,
  taskId as mintTaskId,
  type Reconcile,
  type TaskID,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
  type TaskStatusReason,
} from '../../wire/index.js';
import {
  allocatorHandle,
  type CoreContext,
  nowSec,
  observe,
  toAgent,
  toFramework,
} from './context.js';
import { hasCapability } from './framework-info.js';
import { keptStatus, keptTaskInfo, keptUuid } from './kept.js';
import { type AgentRecord, type FrameworkRecord, NO_STATUSES, type TaskRecord } from './records.js';

/** How a status the master makes names its cause. */
export interface MasterStatusCause {
  readonly reason: TaskStatusReason;
  readonly message: string;
}

/** States a framework that is not PARTITION_AWARE sees as TASK_LOST (WIRE §4.2). */
const PARTITION_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
]);

/**
 * Records `status` on the task if the state table allows it. Returns false, and
 * changes nothing, for a transition the table refuses (an agent's report the
 * master cannot take). A repeated terminal status changes nothing but is legal.
 */
export function applyStatus(core: CoreContext, task: TaskRecord, status: TaskStatus): boolean {
  const wasTerminal = isTerminalState(task.state);
  if (wasTerminal && status.state === task.state && task.statuses.length > 0) return true;
  if (status.state !== task.state && !canTransition(task.state, status.state)) return false;
  // A repeated state replaces the status before it, as Mesos' master does: a health-checked
  // task reports RUNNING on every failed check, and the list would grow without bound.
  const isRepeat = task.statuses.at(-1)?.state === status.state;
  // The kept status's state: the one copy of the string (the parsed status's is its own).
  task.state = appendStatus(task, status, isRepeat).state;
  if (!wasTerminal && isTerminalState(task.state))
    core.metrics.countTerminalTask(task.state, core.books.frameworks.get(task.frameworkId.value));
  observe(core, { kind: 'taskUpdated', task, state: task.state, status });
  return true;
}

/**
 * Keeps `status` as the task's latest (kept.ts), in place of the last one when `replaces`.
 * A new array of the exact length each time: a task has a handful of statuses, and an array
 * grown by push reserves 17 slots for as long as the task is kept.
 */
function appendStatus(task: TaskRecord, status: TaskStatus, replaces: boolean): TaskStatus {
  const kept = keptStatus(task, status);
  const before = replaces ? task.statuses.slice(0, -1) : task.statuses;
  // concat, not a spread: a spread's array reserves room to grow, concat's is exact.
  task.statuses = before.concat(kept);
  return kept;
}

/** A status the master itself decides; the table must allow it (else a core bug). */
export function decideStatus(
  core: CoreContext,
  task: TaskRecord,
  state: TaskState,
  cause: MasterStatusCause,
): void {
  const status: TaskStatus = {
    task_id: task.taskId,
    state,
    source: 'SOURCE_MASTER',
    reason: cause.reason,
    message: cause.message,
    agent_id: task.agentId,
    timestamp: nowSec(core),
  };
  if (!applyStatus(core, task, status))
    throw new InvalidTransitionError(task.taskId.value, task.state, state);
}

/**
 * An unreachable agent came back holding the task: the task is in whatever
 * state the agent reports, and uses its resources again. Not a transition of
 * the state table (UNREACHABLE may not become STARTING there), but the
 * master's explicit decision, as Mesos makes it since 1.5 (WIRE §4.2).
 */
export function resurrect(
  core: CoreContext,
  task: TaskRecord,
  state: TaskState,
  cause: MasterStatusCause,
): void {
  const status: TaskStatus = {
    task_id: task.taskId,
    state,
    source: 'SOURCE_MASTER',
    reason: cause.reason,
    message: cause.message,
    agent_id: task.agentId,
    timestamp: nowSec(core),
  };
  task.state = appendStatus(task, status, false).state;
  task.isRecovered = isTerminalState(state);
  observe(core, { kind: 'taskUpdated', task, state, status });
}

/**
 * Tells a framework a status the master generated (no uuid, so no
 * acknowledgement). Frameworks that are not PARTITION_AWARE see TASK_LOST for
 * the partition states.
 */
export function sendMasterStatus(
  core: CoreContext,
  framework: FrameworkRecord,
  taskId: TaskID,
  agentId: AgentID | undefined,
  state: TaskState,
  cause: MasterStatusCause,
  options: { readonly isReconciliation?: boolean; readonly unreachableSinceSec?: number } = {},
): void {
  const isPartitionAware = hasCapability(framework.info, 'PARTITION_AWARE');
  const shown = !isPartitionAware && PARTITION_STATES.has(state) ? 'TASK_LOST' : state;
  const status: TaskStatus = {
    task_id: taskId,
    state: shown,
    source: 'SOURCE_MASTER',
    reason: cause.reason,
    message: cause.message,
    ...(agentId !== undefined ? { agent_id: agentId } : {}),
    timestamp: nowSec(core),
    ...(shown === 'TASK_UNREACHABLE' && options.unreachableSinceSec !== undefined
      ? { unreachable_time: { nanoseconds: Math.round(options.unreachableSinceSec * 1e9) } }
      : {}),
  };
  toFramework(core, framework, { type: 'UPDATE', update: { status } });
  if (options.isReconciliation !== true) core.metrics.countTaskStatus(status);
}

/** A task reached a terminal state: its resources go back to the allocator, once. */
export function recoverTask(core: CoreContext, task: TaskRecord): void {
  if (task.isRecovered) return;
  task.isRecovered = true;
  if (!core.books.agents.has(task.agentId.value)) return;
  allocatorHandle(core, {
    kind: 'resourcesRecovered',
    frameworkId: task.frameworkId,
    agentId: task.agentId,
    resources: task.resources,
  });
  core.allocation.resourcesFreed();
}

/** Adds a task to the books and asks its agent to run it. */
export function launchTask(
  core: CoreContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  info: TaskInfo,
  resources: Resources,
  role: string,
): void {
  const task: TaskRecord = {
    taskId: info.task_id,
    frameworkId: framework.id,
    agentId: agent.id,
    info: keptTaskInfo(info),
    role,
    resources: resources.shared(),
    state: 'TASK_STAGING',
    statuses: NO_STATUSES,
    statusUpdateState: undefined,
    statusUpdateUuid: undefined,
    acknowledgedUuids: undefined,
    isRecovered: false,
  };
  core.books.addTask(task);
  observe(core, { kind: 'taskAdded', task, state: task.state });
  toAgent(core, agent, {
    type: 'RUN_TASK',
    run_task: {
      framework_info: framework.info,
      task: { ...info, resources: resources.toWire('post-refinement') },
    },
  });
  core.log.info(
    { framework_id: framework.id.value, task_id: info.task_id.value, agent_id: agent.id.value },
    'task launched',
  );
}

/** KILL: forwarded to the task's agent; an unknown task is reconciled instead (WIRE §2.1). */
export function killTask(
  core: CoreContext,
  framework: FrameworkRecord,
  taskIdValue: string,
  agentIdValue: string | undefined,
  gracePeriodNs?: number,
): void {
  const task = framework.tasks.get(taskIdValue);
  if (task === undefined) {
    reconcile(core, framework, {
      tasks: [
        {
          task_id: mintTaskId(taskIdValue),
          ...(agentIdValue !== undefined ? { agent_id: mintAgentId(agentIdValue) } : {}),
        },
      ],
    });
    return;
  }
  if (agentIdValue !== undefined && agentIdValue !== task.agentId.value) return;
  if (isTerminalState(task.state)) return;
  const agent = core.books.agents.get(task.agentId.value);
  if (agent === undefined) return;
  // Killing one task of a group kills the group (WIRE §2.1). Mesos' default executor does
  // this on the agent, and Agora's agent does too; the master still asks for each task, so
  // an agent of an older release (which kills only the one) ends the group whole as well.
  const targets = (task.group?.taskIds ?? [taskIdValue]).flatMap((id) => {
    const member = id === taskIdValue ? task : framework.tasks.get(id);
    return member !== undefined && !isTerminalState(member.state) ? [member] : [];
  });
  for (const target of targets)
    toAgent(core, agent, {
      type: 'KILL_TASK',
      kill_task: {
        framework_id: framework.id,
        task_id: target.taskId,
        ...(gracePeriodNs !== undefined
          ? { kill_policy: { grace_period: { nanoseconds: gracePeriodNs } } }
          : {}),
      },
    });
  core.log.info(
    { framework_id: framework.id.value, task_id: taskIdValue, tasks: targets.length },
    'task kill requested',
  );
}

/** Acknowledged uuids a task remembers (a task has few updates; checks add some). */
const MAX_ACKNOWLEDGED_UUIDS = 16;

/** ACKNOWLEDGE: forwarded to the agent; an acknowledged terminal update retires the task. */
export function acknowledge(
  core: CoreContext,
  framework: FrameworkRecord,
  agentIdValue: string,
  taskIdValue: string,
  uuid: string,
): void {
  const task = framework.tasks.get(taskIdValue);
  const agent = core.books.agents.get(agentIdValue);
  // As Mesos judges an acknowledgement: its agent must be connected, and the master must have
  // sent the update it acknowledges (if it knows the task).
  const isValid =
    agent?.link.state === 'connected' &&
    (task === undefined || task.statusUpdateState !== undefined);
  core.metrics.count(
    isValid
      ? 'master/valid_status_update_acknowledgements'
      : 'master/invalid_status_update_acknowledgements',
  );
  if (task !== undefined) {
    // A new array of the exact size each time (concat): a pushed-to array reserves 17
    // slots, kept for as long as the task.
    const acknowledged = task.acknowledgedUuids ?? [];
    const kept = keptUuid(task, uuid);
    task.acknowledgedUuids =
      acknowledged.length >= MAX_ACKNOWLEDGED_UUIDS
        ? acknowledged.slice(1 - MAX_ACKNOWLEDGED_UUIDS).concat(kept)
        : acknowledged.concat(kept);
  }
  if (task !== undefined && task.statusUpdateUuid === uuid) {
    task.statusUpdateUuid = undefined;
    if (task.statusUpdateState !== undefined && isTerminalState(task.statusUpdateState))
      core.books.completeTask(task);
  }
  // Checked first: the line's object would be made for every ACKNOWLEDGE, the most frequent call.
  if (core.log.isLevelEnabled('debug'))
    core.log.debug(
      {
        framework_id: framework.id.value,
        agent_id: agentIdValue,
        task_id: taskIdValue,
        uuid,
        link: agent?.link.state,
      },
      'status update acknowledgement forwarded',
    );
  if (agent !== undefined)
    toAgent(core, agent, {
      type: 'ACKNOWLEDGE',
      acknowledge: {
        framework_id: framework.id,
        task_id: task?.taskId ?? mintTaskId(taskIdValue),
        uuid,
      },
    });
}

/** RECONCILE (WIRE §4.4): implicit with no tasks, explicit otherwise. */
export function reconcile(core: CoreContext, framework: FrameworkRecord, call: Reconcile): void {
  const latest = (task: TaskRecord) =>
    sendMasterStatus(
      core,
      framework,
      task.taskId,
      task.agentId,
      task.state,
      { reason: 'REASON_RECONCILIATION', message: 'Reconciliation: Latest task state' },
      { isReconciliation: true },
    );
  const tasks = call.tasks ?? [];
  if (tasks.length === 0) {
    for (const task of framework.tasks.values())
      if (task.state !== 'TASK_UNREACHABLE') latest(task);
    return;
  }
  for (const { task_id, agent_id } of tasks) {
    const task = framework.tasks.get(task_id.value);
    if (task !== undefined) {
      latest(task);
      continue;
    }
    const agent = agent_id === undefined ? undefined : core.books.agents.get(agent_id.value);
    const reply = (state: TaskState, message: string, unreachableSinceSec?: number) =>
      sendMasterStatus(
        core,
        framework,
        task_id,
        agent_id,
        state,
        { reason: 'REASON_RECONCILIATION', message },
        {
          isReconciliation: true,
          ...(unreachableSinceSec !== undefined ? { unreachableSinceSec } : {}),
        },
      );
    const link = agent?.link;
    if (link?.state === 'connected' || link?.state === 'disconnected')
      reply('TASK_GONE', 'Reconciliation: Task is unknown to the agent');
    else if (link?.state === 'unreachable')
      reply('TASK_UNREACHABLE', 'Reconciliation: Task is unreachable', link.sinceSec);
    else if (link?.state === 'gone') reply('TASK_GONE_BY_OPERATOR', 'Reconciliation: Task is gone');
    // An agent still re-registering after a master restart gets no reply (WIRE §4.4).
    else if (link?.state !== 'recovered') reply('TASK_UNKNOWN', 'Reconciliation: Task is unknown');
  }
}

/** A status update from an agent: recorded, then forwarded to the framework for acknowledgement. */
export function statusUpdate(
  core: CoreContext,
  agent: AgentRecord,
  frameworkIdValue: string,
  status: TaskStatus,
): void {
  core.metrics.count('master/messages_status_update');
  const framework = core.books.frameworks.get(frameworkIdValue);
  const task = framework?.tasks.get(status.task_id.value);
  if (framework === undefined || task === undefined) {
    // Nobody will acknowledge this: acknowledge it for the framework, so the agent stops retrying.
    if (status.uuid !== undefined)
      toAgent(core, agent, {
        type: 'ACKNOWLEDGE',
        acknowledge: {
          framework_id: mintFrameworkId(frameworkIdValue),
          task_id: status.task_id,
          uuid: status.uuid,
        },
      });
    core.metrics.count('master/invalid_status_updates');
    return;
  }
  if (status.uuid !== undefined && task.acknowledgedUuids?.includes(status.uuid) === true) {
    // An agent killed before it recorded the framework's acknowledgement resends the
    // update: acknowledged again for the framework, which must not see it twice.
    toAgent(core, agent, {
      type: 'ACKNOWLEDGE',
      acknowledge: { framework_id: framework.id, task_id: status.task_id, uuid: status.uuid },
    });
    core.log.debug(
      { framework_id: frameworkIdValue, task_id: status.task_id.value, uuid: status.uuid },
      'status update acknowledged before, acknowledged again',
    );
    return;
  }
  const from = task.state;
  if (!applyStatus(core, task, status)) {
    core.metrics.count('master/invalid_status_updates');
    core.log.warn(
      { framework_id: frameworkIdValue, task_id: status.task_id.value, from, to: status.state },
      'invalid task state transition refused',
    );
  } else {
    core.metrics.count('master/valid_status_updates');
    if (from !== task.state) core.metrics.countTaskStatus(status);
  }
  if (isTerminalState(task.state)) recoverTask(core, task);
  task.statusUpdateState = task.state === status.state ? task.state : status.state;
  task.statusUpdateUuid = status.uuid;
  toFramework(core, framework, { type: 'UPDATE', update: { status } });
  core.log.info(
    { framework_id: frameworkIdValue, task_id: status.task_id.value, from, to: status.state },
    'task state changed',
  );
}
