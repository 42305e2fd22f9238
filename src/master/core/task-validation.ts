import type { Resources } from '../../resources/index.js';
import { checkInfoError, healthCheckError, type TaskInfo } from '../../wire/index.js';

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
  if ((task.command === undefined) === (task.executor === undefined))
    return "Task must have exactly one of 'command' or 'executor'";
  if (task.executor !== undefined)
    return 'Custom executors are not supported yet; use a command task';
  if (task.command?.value === undefined || task.command.value === '')
    return "Task's 'command.value' must name the command to run";
  if (resources.isEmpty()) return 'Task uses no resources';
  if (!context.available.contains(resources))
    return `Task uses more resources (${resources.unallocate().toString()}) than available in the offers (${context.available.unallocate().toString()})`;
  return undefined;
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
