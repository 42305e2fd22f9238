// What draining (DRAIN_AGENT) changes on the agent, as Mesos' agent does it
// (src/slave/slave.cpp, Slave::drain and the status update path): kills get
// at most the drain's grace period, kill statuses say REASON_AGENT_DRAINING,
// and when the agent will be gone afterwards, PARTITION_AWARE frameworks see
// their killed tasks as TASK_GONE_BY_OPERATOR. Pure, so it is tested alone.
import type { DrainConfig, TaskState, TaskStatusReason } from '../wire/index.js';

/**
 * The grace period a drain's kill uses, in ns: the drain's cap when the task
 * has no kill policy or a longer one; otherwise undefined (the task's own).
 */
export function drainGracePeriodNs(
  config: DrainConfig,
  taskPolicyNs: number | undefined,
): number | undefined {
  const capNs = config.max_grace_period?.nanoseconds;
  if (capNs === undefined) return undefined;
  if (taskPolicyNs === undefined || capNs < taskPolicyNs) return capNs;
  return undefined;
}

/**
 * A status the agent reports while draining: KILLING and KILLED carry
 * REASON_AGENT_DRAINING (whatever reason they had), and KILLED becomes
 * TASK_GONE_BY_OPERATOR for a PARTITION_AWARE framework if the drain marks
 * the agent gone. Other states pass unchanged.
 */
export function drainingStatus(
  config: DrainConfig,
  state: TaskState,
  reason: TaskStatusReason | undefined,
  isPartitionAware: boolean,
): { readonly state: TaskState; readonly reason: TaskStatusReason | undefined } {
  if (state !== 'TASK_KILLING' && state !== 'TASK_KILLED') return { state, reason };
  const isGone = state === 'TASK_KILLED' && config.mark_gone === true && isPartitionAware;
  return { state: isGone ? 'TASK_GONE_BY_OPERATOR' : state, reason: 'REASON_AGENT_DRAINING' };
}

/** What a task sent to a draining agent becomes (Mesos drops it: TASK_LOST for older frameworks). */
export function refusedWhileDraining(isPartitionAware: boolean): TaskState {
  return isPartitionAware ? 'TASK_DROPPED' : 'TASK_LOST';
}
