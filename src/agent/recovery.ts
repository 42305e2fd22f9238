// The stop-gap recovery of #7 (item 10), until #9 lets executors outlive the
// agent: an agent that starts and finds runs of its previous life kills what is
// left of them and reports each task as failed, as Mesos' --recover=cleanup
// does. The decision is pure (planRecovery); recoverRuns looks at /proc,
// signals, and hands back the updates to send.
import { join } from 'node:path';
import {
  type FrameworkInfo,
  agentId as mintAgentId,
  containerId as mintContainerId,
  executorId as mintExecutorId,
  taskId as mintTaskId,
  newStatusUuid,
  type TaskInfo,
  type TaskStatus,
} from '../wire/index.js';
import type { CheckpointedRun, RunAddress } from './checkpoint.js';
import { processesWithEnvironment, readStat } from './process-identity.js';

/** What the host shows now of one checkpointed run. */
export interface Observation {
  /** The host has not rebooted since the run was recorded (as far as can be told). */
  readonly isSameBoot: boolean;
  /** Start time of the process that holds the run's recorded PID now, if any does. */
  readonly pidStartTime: string | undefined;
  /** Live processes whose environment names the run's sandbox: the task's own offspring. */
  readonly strays: readonly number[];
}

export type RecoveryPlan =
  /**
   * The run ended while the agent lived: nothing new to say. Its terminal update is
   * sent again only if it was not acknowledged; an acknowledged one just retires it.
   */
  | { readonly kind: 'ended'; readonly status: TaskStatus }
  /** Something of the run is alive: SIGKILL the group (if its leader is verified) and the strays. */
  | { readonly kind: 'kill'; readonly group: number | undefined; readonly pids: readonly number[] }
  /** Nothing of the run is alive (or the host rebooted). */
  | { readonly kind: 'gone'; readonly isRebooted: boolean };

/**
 * Decides what to do about one run of the agent's previous life. The recorded
 * PID's group is killed only if the process holding that PID started when the
 * recorded one did: a recycled PID belongs to a stranger.
 */
export function planRecovery(run: CheckpointedRun, observed: Observation): RecoveryPlan {
  if (run.terminal !== undefined) return { kind: 'ended', status: run.terminal };
  if (!observed.isSameBoot) return { kind: 'gone', isRebooted: true };
  const isLeaderAlive =
    run.pid !== undefined && run.startTime !== undefined && observed.pidStartTime === run.startTime;
  const group = isLeaderAlive ? run.pid : undefined;
  if (group === undefined && observed.strays.length === 0)
    return { kind: 'gone', isRebooted: false };
  return { kind: 'kill', group, pids: observed.strays.filter((pid) => pid !== group) };
}

/** The update that tells the framework what became of a run the agent could not keep. */
export function recoveryStatus(
  run: CheckpointedRun,
  plan: Exclude<RecoveryPlan, { kind: 'ended' }>,
  agentIdValue: string,
  nowSec: number,
  uuid: string = newStatusUuid(),
): TaskStatus {
  const message =
    plan.kind === 'kill'
      ? "Agent restarted and killed the task's processes left from its previous run"
      : plan.isRebooted
        ? "Agent restarted after the host rebooted; the task's processes were gone"
        : "Agent restarted and found the task's processes gone";
  return {
    task_id: mintTaskId(run.address.taskIdValue),
    state: 'TASK_FAILED',
    source: 'SOURCE_AGENT',
    reason: 'REASON_EXECUTOR_TERMINATED',
    message,
    agent_id: mintAgentId(agentIdValue),
    executor_id: mintExecutorId(run.address.executorIdValue),
    timestamp: nowSec,
    uuid,
    container_status: { container_id: mintContainerId(run.address.containerIdValue) },
  };
}

/** The sandbox of a run: `<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>`. */
export function sandboxPath(workDir: string, address: RunAddress): string {
  // A nested container's id is `<parent>.<child>` (a task group's task under its
  // executor): its sandbox is `<parent's sandbox>/containers/<child>`, as in Mesos.
  const [parent = address.containerIdValue, ...nested] = address.containerIdValue.split('.');
  return join(
    workDir,
    'slaves',
    address.agentIdValue,
    'frameworks',
    address.frameworkIdValue,
    'executors',
    address.executorIdValue,
    'runs',
    parent,
    ...nested.flatMap((child) => ['containers', child]),
  );
}

export interface RecoveredRun {
  readonly run: CheckpointedRun;
  readonly frameworkInfo: FrameworkInfo;
  readonly task: TaskInfo;
  readonly sandbox: string;
  readonly status: TaskStatus;
  readonly plan: RecoveryPlan;
  /** True when the status is new (and must be checkpointed), false when resent. */
  readonly isNewStatus: boolean;
  /** Signals that could not be sent (e.g. EPERM), one line each. */
  readonly killErrors: readonly string[];
}

export interface RecoverOptions {
  readonly workDir: string;
  readonly runs: readonly CheckpointedRun[];
  readonly isSameBoot: boolean;
  /** The agent's id now, for the updates; a run's own id when the agent has none. */
  readonly agentIdValue: string | undefined;
  readonly nowSec: number;
}

/**
 * Kills what is left of each run (SIGKILL: nobody is there to wait for a
 * graceful end) and returns the update to report for each.
 */
export function recoverRuns(options: RecoverOptions): RecoveredRun[] {
  const sandboxes = options.runs.map((run) => sandboxPath(options.workDir, run.address));
  // One pass over /proc for every run; on a reboot there is nothing to find.
  const withSandbox = options.isSameBoot
    ? processesWithEnvironment(sandboxes.map((sandbox) => `MESOS_SANDBOX=${sandbox}`))
    : new Map<string, number[]>();
  return options.runs.map((run, i) => {
    const sandbox = sandboxes[i] ?? '';
    const plan = planRecovery(run, {
      isSameBoot: options.isSameBoot,
      pidStartTime: run.pid === undefined ? undefined : readStat(run.pid)?.startTime,
      strays: withSandbox.get(`MESOS_SANDBOX=${sandbox}`) ?? [],
    });
    const killErrors: string[] = [];
    if (plan.kind === 'kill')
      for (const target of [...(plan.group === undefined ? [] : [-plan.group]), ...plan.pids]) {
        const error = sigkill(target);
        if (error !== undefined) killErrors.push(error);
      }
    const agentIdValue = options.agentIdValue ?? run.address.agentIdValue;
    const taskIdValue = run.address.taskIdValue;
    return {
      run,
      frameworkInfo: run.frameworkInfo ?? { user: '', name: '', id: run.frameworkId },
      task: run.task ?? {
        name: taskIdValue,
        task_id: mintTaskId(taskIdValue),
        agent_id: mintAgentId(agentIdValue),
      },
      sandbox,
      plan,
      status:
        plan.kind === 'ended'
          ? plan.status
          : recoveryStatus(run, plan, agentIdValue, options.nowSec),
      isNewStatus: plan.kind !== 'ended',
      killErrors,
    };
  });
}

/**
 * SIGKILL to a process (pid > 0) or a process group (pid < 0). One already gone
 * is fine; any other failure is returned, for the log, not thrown: the agent
 * must still start and report the task.
 */
function sigkill(pid: number): string | undefined {
  try {
    process.kill(pid, 'SIGKILL');
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ESRCH' ? undefined : `kill ${pid}: ${code ?? (error as Error).message}`;
  }
}
