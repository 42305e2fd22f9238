// A custom executor's container limits from the tasks it runs (Mesos' computeExecutorLimits):
// the sum of its tasks' limits plus what the executor itself requests, so the container is
// never held below its own request, and plus the requests of its tasks that have no limit of
// their own, so they are not squeezed by the others' ('Infinity' stays none). Without CFS
// quotas (--cgroups_enable_cfs), tasks without a CPU limit would be throttled by such a sum:
// there is no CPU limit then, as in Mesos. Recomputed as tasks join and end (executors.ts).
import type { ResourceLimits } from '../containerizer/index.js';
import { Resources } from '../resources/index.js';
import type { TaskInfo } from '../wire/index.js';
import { resourceLimits } from './task-runs.js';

export function executorLimits(
  executorResources: Resources,
  tasks: readonly Pick<TaskInfo, 'limits' | 'resources'>[],
  enableCfs: boolean,
): ResourceLimits | undefined {
  let cpuLimit: number | undefined;
  let memLimit: number | undefined;
  let cpuRequest = 0;
  let memRequest = 0;
  for (const task of tasks) {
    const limits = task.limits === undefined ? {} : resourceLimits(task.limits);
    const requested =
      limits.cpus === undefined || limits.memMb === undefined
        ? Resources.fromWire(task.resources ?? [])
        : Resources.EMPTY;
    if (limits.cpus !== undefined) cpuLimit = (cpuLimit ?? 0) + limits.cpus;
    else cpuRequest += requested.scalar('cpus');
    if (limits.memMb !== undefined) memLimit = (memLimit ?? 0) + limits.memMb;
    else memRequest += requested.scalar('mem');
  }
  if (cpuLimit !== undefined) {
    cpuLimit += executorResources.scalar('cpus');
    if (cpuRequest > 0) cpuLimit = enableCfs ? cpuLimit + cpuRequest : undefined;
  }
  if (memLimit !== undefined) memLimit += executorResources.scalar('mem') + memRequest;
  if (cpuLimit === undefined && memLimit === undefined) return undefined;
  return {
    ...(cpuLimit !== undefined ? { cpus: cpuLimit } : {}),
    ...(memLimit !== undefined ? { memMb: memLimit } : {}),
  };
}
