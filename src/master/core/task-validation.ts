import { isDeepStrictEqual } from 'node:util';
import { Resources } from '../../resources/index.js';
import {
  checkInfoError,
  type ExecutorInfo,
  healthCheckError,
  type TaskInfo,
} from '../../wire/index.js';

// Task and executor ids become directory names in the sandbox path (WIRE §1.9).
const MAX_ID_LENGTH = 255;

export function idError(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_ID_LENGTH) return `must be at most ${MAX_ID_LENGTH} characters`;
  if (value === '.' || value === '..') return "must not be '.' or '..'";
  if (hasControlCharacter(value)) return 'must not contain control characters';
  if (value.includes('/') || value.includes('\\')) return "must not contain '/' or '\\'";
  return undefined;
}

export interface LaunchContext {
  readonly agentIdValue: string;
  /** What is left of the offered resources for this and the following tasks. */
  readonly available: Resources;
  readonly isTaskIdInUse: (taskIdValue: string) => boolean;
  /** The framework launching: a custom executor must be its own. */
  readonly frameworkIdValue?: string;
  /** The executor with the task's executor id already on the agent, if any. */
  readonly existingExecutor?: ExecutorInfo | undefined;
  /** A new custom executor's own resources, allocated to the offers' role. */
  readonly executorResources?: Resources;
}

/**
 * Validates one task of a LAUNCH against its offer. Returns the reason it is
 * invalid (the task gets TASK_ERROR with REASON_TASK_INVALID), or undefined.
 */
export function taskError(
  task: TaskInfo,
  resources: Resources,
  context: LaunchContext,
): string | undefined {
  const idReason = idError(task.task_id.value);
  if (idReason !== undefined) return `Task ID '${task.task_id.value}' ${idReason}`;
  if (context.isTaskIdInUse(task.task_id.value))
    return `Task has duplicate ID: ${task.task_id.value}`;
  if (task.agent_id.value !== context.agentIdValue)
    return `Task uses agent ${task.agent_id.value} but the offers are for agent ${context.agentIdValue}`;
  const checkReason = task.check === undefined ? undefined : checkInfoError(task.check);
  if (checkReason !== undefined) return `Task uses invalid check: ${checkReason}`;
  const healthReason =
    task.health_check === undefined ? undefined : healthCheckError(task.health_check);
  if (healthReason !== undefined) return `Task uses invalid health check: ${healthReason}`;
  const limitsReason = limitsError(task.limits, resources);
  if (limitsReason !== undefined) return limitsReason;
  if ((task.command === undefined) === (task.executor === undefined))
    return "Task must have exactly one of 'command' or 'executor'";
  if (task.executor !== undefined) {
    const executorReason = customExecutorError(task.executor, context);
    if (executorReason !== undefined) return executorReason;
  } else if (task.command?.value === undefined || task.command.value === '')
    return "Task's 'command.value' must name the command to run";
  if (resources.isEmpty()) return 'Task uses no resources';
  // A new executor's resources come out of the offers with its first task's (Mesos' MIN_CPUS
  // check for executors only warns, so an executor may bring none).
  const needed =
    task.executor === undefined || context.existingExecutor !== undefined
      ? resources
      : resources.plus(context.executorResources ?? Resources.EMPTY);
  if (!context.available.contains(needed))
    return `Task uses more resources (${needed.unallocate().toString()}) than available in the offers (${context.available.unallocate().toString()})`;
  return undefined;
}

/** The resources a task may have limits for (Mesos' validateResourceLimits). */
const LIMITED_RESOURCES: ReadonlySet<string> = new Set(['cpus', 'mem']);

/**
 * A task's `limits` as Mesos checks them (validateResourceLimits): cpus and mem only, each
 * with a request of its own and at least that request ('Infinity' always is). The reason
 * names the field.
 */
export function limitsError(limits: TaskInfo['limits'], resources: Resources): string | undefined {
  for (const [name, limit] of Object.entries(limits ?? {})) {
    if (!LIMITED_RESOURCES.has(name))
      return `Task's 'limits.${name}': only cpus and mem may be included in a task's resource limits`;
    if (!resources.names().includes(name))
      return `Task's 'limits.${name}': a ${name} limit needs a ${name} request in 'resources'`;
    const requested = resources.scalar(name);
    if (limit !== 'Infinity' && limit < requested)
      return `Task's 'limits.${name}' (${limit}) must be greater than or equal to its request (${requested})`;
  }
  return undefined;
}

/**
 * A LAUNCH's own executor (a framework's custom executor): a command to run, an id fit for a
 * path, the framework's id (the master fills it in when absent, as Mesos does), and, if the
 * agent runs an executor with this id already, the same ExecutorInfo.
 */
function customExecutorError(executor: ExecutorInfo, context: LaunchContext): string | undefined {
  const id = executor.executor_id.value;
  const idReason = idError(id);
  if (idReason !== undefined) return `Executor ID '${id}' ${idReason}`;
  if (executor.type === 'DEFAULT')
    return "'ExecutorInfo.type' must not be 'DEFAULT' for a LAUNCH: use LAUNCH_GROUP";
  if (executor.type === 'UNKNOWN') return 'Unknown executor type';
  if (executor.command?.value === undefined || executor.command.value === '')
    return "'ExecutorInfo.command' must be set for 'CUSTOM' executor";
  if (context.frameworkIdValue !== undefined && executor.framework_id !== undefined)
    if (executor.framework_id.value !== context.frameworkIdValue)
      return `ExecutorInfo has an invalid FrameworkID (Actual: ${executor.framework_id.value} vs Expected: ${context.frameworkIdValue})`;
  if (executor.container?.type === 'DOCKER')
    return 'Docker ContainerInfo is not supported on the executor';
  if (
    context.existingExecutor !== undefined &&
    !isDeepStrictEqual(context.existingExecutor, executor)
  )
    return 'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID';
  return undefined;
}

export interface GroupContext {
  readonly frameworkIdValue: string;
  readonly agentIdValue: string;
  /** The offers' allocation role: every resource of the group must be allocated to it. */
  readonly role: string;
  /** What is left of the offered resources (allocated to `role`). */
  readonly available: Resources;
  /** The executor with this id the framework already runs on the agent, if any. */
  readonly existingExecutor: ExecutorInfo | undefined;
  readonly isTaskIdInUse: (taskIdValue: string) => boolean;
}

/** Mesos' MIN_CPUS and MIN_MEM (src/master/constants.hpp): what an executor must bring. */
const MIN_EXECUTOR_CPUS = 0.01;
const MIN_EXECUTOR_MEM_MB = 32;

/**
 * Validates a LAUNCH_GROUP as Mesos' task::group::validate does, in its order: each task,
 * then the executor, then whether the offers hold the tasks and (for a new executor) the
 * executor. Returns the first reason (every task gets TASK_ERROR with
 * REASON_TASK_GROUP_INVALID), or undefined. Health checks and share_cgroups are not
 * checked here: the schema does not carry them yet. Limits are refused: Mesos takes them
 * only with share_cgroups false (a cgroup per task), and this agent's task groups share
 * their executor's, so they would be dropped without a word.
 */
export function taskGroupError(
  executor: ExecutorInfo,
  tasks: readonly TaskInfo[],
  context: GroupContext,
): string | undefined {
  if (tasks.length === 0) return 'Task group has no tasks';
  const inGroup = new Set<string>();
  for (const task of tasks) {
    const reason = groupTaskError(task, executor, context, inGroup);
    if (reason !== undefined) return `Task '${task.task_id.value}' is invalid: ${reason}`;
    inGroup.add(task.task_id.value);
  }
  const executorReason = executorError(executor, context);
  if (executorReason !== undefined) return executorReason;
  let total = Resources.EMPTY;
  for (const task of tasks) total = total.plus(allocatedTo(task.resources, context.role));
  if (context.existingExecutor === undefined)
    total = total.plus(allocatedTo(executor.resources, context.role));
  if (!context.available.contains(total))
    return `Total resources ${total.unallocate().toString()} required by task group and its executor are more than available ${context.available.unallocate().toString()}`;
  return undefined;
}

function allocatedTo(resources: TaskInfo['resources'], role: string): Resources {
  return Resources.fromWire(resources ?? [])
    .unallocate()
    .allocate(role);
}

function foreignRole(resources: TaskInfo['resources'], role: string): string | undefined {
  return (resources ?? []).find(
    (r) => r.allocation_info !== undefined && r.allocation_info.role !== role,
  )?.allocation_info?.role;
}

function groupTaskError(
  task: TaskInfo,
  executor: ExecutorInfo,
  context: GroupContext,
  inGroup: ReadonlySet<string>,
): string | undefined {
  const idReason = idError(task.task_id.value);
  if (idReason !== undefined) return `Task ID '${task.task_id.value}' ${idReason}`;
  if (context.isTaskIdInUse(task.task_id.value) || inGroup.has(task.task_id.value))
    return `Task has duplicate ID: ${task.task_id.value}`;
  if (task.agent_id.value !== context.agentIdValue)
    return `Task uses invalid agent ${task.agent_id.value} while agent ${context.agentIdValue} is expected`;
  if ((task.resources ?? []).length === 0) return 'Task uses no resources';
  const foreign = foreignRole(task.resources, context.role);
  if (foreign !== undefined)
    return `Invalid task resources: The resources have multiple allocation roles ('${foreign}' and '${context.role}') but only one allocation role is allowed`;
  if (task.executor !== undefined && !isDeepStrictEqual(task.executor, executor))
    return `The \`ExecutorInfo\` of task '${task.task_id.value}' is different from executor '${executor.executor_id.value}'`;
  if (task.container?.type === 'DOCKER') return 'Docker ContainerInfo is not supported on the task';
  if (Object.keys(task.limits ?? {}).length > 0)
    return "Task's 'limits' are not supported in a task group by this agent (its tasks share the executor's cgroups)";
  return undefined;
}

function executorError(executor: ExecutorInfo, context: GroupContext): string | undefined {
  const id = executor.executor_id.value;
  const idReason = idError(id);
  if (idReason !== undefined) return `Executor ID '${id}' ${idReason}`;
  const container = executor.container;
  switch (executor.type) {
    case undefined:
      return "'ExecutorInfo.type' must be set";
    case 'UNKNOWN':
      return 'Unknown executor type';
    case 'DEFAULT':
      if (executor.command !== undefined)
        return "'ExecutorInfo.command' must not be set for 'DEFAULT' executor";
      if (container !== undefined && container.type !== 'MESOS')
        return "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor";
      if (
        typeof container?.mesos === 'object' &&
        container.mesos !== null &&
        'image' in container.mesos
      )
        return "'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor";
      break;
    case 'CUSTOM':
      if (executor.command === undefined)
        return "'ExecutorInfo.command' must be set for 'CUSTOM' executor";
      break;
  }
  if (executor.framework_id === undefined) return "'ExecutorInfo.framework_id' must be set";
  if (executor.framework_id.value !== context.frameworkIdValue)
    return `ExecutorInfo has an invalid FrameworkID (Actual: ${executor.framework_id.value} vs Expected: ${context.frameworkIdValue})`;
  const foreign = foreignRole(executor.resources, context.role);
  if (foreign !== undefined)
    return `Invalid executor resources: The resources have multiple allocation roles ('${foreign}' and '${context.role}') but only one allocation role is allowed`;
  if (
    context.existingExecutor !== undefined &&
    !isDeepStrictEqual(context.existingExecutor, executor)
  )
    return 'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID';
  if (container?.type === 'DOCKER') return 'Docker ContainerInfo is not supported on the executor';
  const resources = Resources.fromWire(executor.resources ?? []);
  const cpus = resources.scalar('cpus');
  if (cpus < MIN_EXECUTOR_CPUS)
    return `Executor '${id}' uses less CPUs (${cpus === 0 ? 'None' : cpus}) than the minimum required (${MIN_EXECUTOR_CPUS})`;
  const mem = resources.scalar('mem');
  if (mem < MIN_EXECUTOR_MEM_MB)
    return `Executor '${id}' uses less memory (${mem === 0 ? 'None' : `${mem}MB`}) than the minimum required (${MIN_EXECUTOR_MEM_MB}MB)`;
  if (!resources.names().includes('disk')) return `Executor '${id}' uses no disk`;
  return undefined;
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
