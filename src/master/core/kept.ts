// What the books keep of a task's TaskInfo and of its statuses, for as long as the task is
// known (at 100,000 tasks, every byte a task keeps is 100 kB): only the TaskInfo fields that
// are read again, and statuses whose ids are the task's own objects and whose enum-like strings
// are shared. Everything a parsed call holds is otherwise its own copy: JSON.parse shares no
// string longer than 10 characters, so each status would carry its own "TASK_RUNNING",
// "SOURCE_EXECUTOR", agent id (an id of 40 characters) and `{value}` wrappers.
import type { TaskInfo, TaskStatus } from '../../wire/index.js';
import type { KeptTaskInfo, TaskRecord } from './records.js';

/**
 * A fresh object of the kept fields, in the order the renderings read them. A task with none
 * of the optional ones (most: a command, its resources, a name) keeps only its name and user,
 * 40 bytes less per task than the same fields set to undefined (4 MB at a failover's 100,000
 * tasks): the renderings ask each field whether it is undefined, and read absent the same.
 */
export function keptTaskInfo(info: TaskInfo): KeptTaskInfo {
  const user = info.command?.user ?? info.executor?.command?.user;
  if (
    info.executor === undefined &&
    info.labels === undefined &&
    info.container === undefined &&
    info.health_check === undefined &&
    info.limits === undefined
  )
    return { name: info.name, user };
  return {
    name: info.name,
    executor: info.executor,
    labels: info.labels,
    container: info.container,
    health_check: info.health_check,
    limits: info.limits,
    user,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The status to keep in `task.statuses`: the same fields, in the same order, with the task's
 * own id objects where the values are equal and shared strings for states, sources, reasons
 * and messages. `data` is dropped, as Mesos' master drops it (MESOS-1746: executors may put
 * megabytes there); the framework's UPDATE still carries it, and Mesos' state shows none.
 */
export function keptStatus(task: TaskRecord, status: TaskStatus): TaskStatus {
  const kept: Mutable<TaskStatus> = { ...status };
  if (kept.data !== undefined) delete kept.data;
  if (status.task_id.value === task.taskId.value) kept.task_id = task.taskId;
  if (status.agent_id !== undefined && status.agent_id.value === task.agentId.value)
    kept.agent_id = task.agentId;
  if (status.executor_id !== undefined) {
    const before = task.statuses.at(-1)?.executor_id ?? task.info.executor?.executor_id;
    if (before !== undefined && before.value === status.executor_id.value)
      kept.executor_id = before;
  }
  kept.state = shared(status.state);
  if (status.source !== undefined) kept.source = shared(status.source);
  if (status.reason !== undefined) kept.reason = shared(status.reason);
  if (status.message !== undefined) kept.message = shared(status.message);
  return kept;
}

/**
 * One copy of each short string seen, bounded: forgotten all at once when full, which
 * costs only copies (the strings in use stay wherever they are kept).
 */
const MAX_SHARED = 4096;
const MAX_SHARED_LENGTH = 200;
const sharedStrings = new Map<string, string>();

function shared<T extends string>(value: T): T {
  if (value.length > MAX_SHARED_LENGTH) return value;
  const known = sharedStrings.get(value);
  if (known !== undefined) return known as T;
  if (sharedStrings.size >= MAX_SHARED) sharedStrings.clear();
  sharedStrings.set(value, value);
  return value;
}

/**
 * The acknowledged uuid to remember: the task's own copy of it when the task's latest status
 * carries it (the framework's ACKNOWLEDGE parsed another).
 */
export function keptUuid(task: TaskRecord, uuid: string): string {
  const own = task.statusUpdateUuid;
  return own !== undefined && own === uuid ? own : uuid;
}
