// A custom executor's container limits from its first task's (Mesos' computeExecutorLimits):
// the task's limit plus what the executor itself requests, so the container is never held
// below its own request; 'Infinity' stays none. The container is sized once, by the task it
// starts with (executors.ts), so only that task's limits count here.
import type { ResourceLimits } from '../containerizer/index.js';
import type { Resources } from '../resources/index.js';
import type { TaskInfo } from '../wire/index.js';
import { resourceLimits } from './task-runs.js';

export function executorLimits(
  executorResources: Resources,
  task: Pick<TaskInfo, 'limits'>,
): ResourceLimits | undefined {
  if (task.limits === undefined || Object.keys(task.limits).length === 0) return undefined;
  const limits = resourceLimits(task.limits);
  const cpus =
    limits.cpus === undefined ? undefined : limits.cpus + executorResources.scalar('cpus');
  const memMb =
    limits.memMb === undefined ? undefined : limits.memMb + executorResources.scalar('mem');
  return { ...(cpus !== undefined ? { cpus } : {}), ...(memMb !== undefined ? { memMb } : {}) };
}
