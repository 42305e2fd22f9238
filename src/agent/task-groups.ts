// The default executor's books (#9, LAUNCH_GROUP). Agora runs Mesos' default
// executor inside the agent: each task of a group is a container of its own
// under the shim (task-runs.ts), nested in the group executor's container and
// sandbox, so the tasks survive an agent restart and are recovered like command
// tasks. What the default executor adds is decided here, with no I/O: a task
// that ends other than FINISHED takes the rest of its group down (Mesos'
// DefaultExecutor kills the group's other containers), and the executor has
// exited once every task of every group it ran is terminal.
import { randomUUID } from 'node:crypto';
import { isTerminalState as isTerminal, type TaskState } from '../wire/index.js';

interface GroupExecutor {
  readonly frameworkIdValue: string;
  readonly executorIdValue: string;
  readonly containerIdValue: string;
  /** Each LAUNCH_GROUP's task ids: a failure takes down its own group only. */
  readonly groups: Set<string>[];
  /** Every task's latest state. */
  readonly states: Map<string, TaskState>;
  readonly retired: Set<string>;
  hasExited: boolean;
}

/** What the shell does after a task of a group ended. */
export interface GroupDecision {
  /** Tasks of the same group still alive, to be killed. */
  readonly kill: readonly string[];
  /** Every task of the executor is terminal now: it has exited (EXECUTOR_EXITED). */
  readonly hasExecutorExited: boolean;
}

export class TaskGroups {
  /** By the executor's container id. */
  private readonly byContainer = new Map<string, GroupExecutor>();
  /** The container of each live executor, by framework and executor id. */
  private readonly current = new Map<string, string>();

  constructor(private readonly newContainerId: () => string = randomUUID) {}

  /**
   * A LAUNCH_GROUP: the group joins its executor, which is started (a new container id)
   * unless it runs already. Returns the executor's container id.
   */
  launched(
    frameworkIdValue: string,
    executorIdValue: string,
    taskIdValues: readonly string[],
  ): string {
    const executor =
      this.live(frameworkIdValue, executorIdValue) ??
      this.start(frameworkIdValue, executorIdValue, this.newContainerId());
    executor.groups.push(new Set(taskIdValues));
    for (const id of taskIdValues) executor.states.set(id, 'TASK_STAGING');
    return executor.containerIdValue;
  }

  /** Whether the framework's executor with this id runs here as a default executor. */
  has(frameworkIdValue: string, executorIdValue: string): boolean {
    return this.live(frameworkIdValue, executorIdValue) !== undefined;
  }

  /** SHUTDOWN_EXECUTOR: the executor's live tasks, to be killed. */
  liveTasks(frameworkIdValue: string, executorIdValue: string): string[] {
    const executor = this.live(frameworkIdValue, executorIdValue);
    if (executor === undefined) return [];
    return [...executor.states].filter(([, state]) => !isTerminal(state)).map(([id]) => id);
  }

  /** A task of the executor in `containerIdValue` reached a terminal state. */
  terminated(containerIdValue: string, taskIdValue: string, state: TaskState): GroupDecision {
    const executor = this.byContainer.get(containerIdValue);
    if (executor === undefined || !executor.states.has(taskIdValue))
      return { kill: [], hasExecutorExited: false };
    executor.states.set(taskIdValue, state);
    const group = executor.groups.find((g) => g.has(taskIdValue));
    const kill =
      state === 'TASK_FINISHED' || group === undefined
        ? []
        : [...group].filter((id) => {
            const other = executor.states.get(id);
            return id !== taskIdValue && other !== undefined && !isTerminal(other);
          });
    return { kill, hasExecutorExited: this.checkExited(executor) };
  }

  /**
   * A task's end was acknowledged. True once every task of its executor is retired: the
   * executor's sandbox may then be garbage-collected, and the executor is forgotten.
   */
  retired(containerIdValue: string, taskIdValue: string): boolean {
    const executor = this.byContainer.get(containerIdValue);
    if (executor === undefined) return false;
    executor.retired.add(taskIdValue);
    if (executor.retired.size < executor.states.size) return false;
    this.byContainer.delete(containerIdValue);
    const key = executorKey(executor.frameworkIdValue, executor.executorIdValue);
    if (this.current.get(key) === containerIdValue) this.current.delete(key);
    return true;
  }

  /**
   * The tasks a previous agent ran in groups, as recovery found them. Which LAUNCH_GROUP
   * each came in is not recorded, so an executor's tasks count as one group from now on.
   * Returns what to do: the kills a failure calls for, and the executors that are done.
   */
  recovered(
    tasks: readonly {
      readonly frameworkIdValue: string;
      readonly executorIdValue: string;
      readonly containerIdValue: string;
      readonly taskIdValue: string;
      readonly state: TaskState;
    }[],
  ): { readonly kill: readonly string[]; readonly exited: readonly GroupExecutorId[] } {
    for (const task of tasks) {
      const executor =
        this.byContainer.get(task.containerIdValue) ??
        this.start(task.frameworkIdValue, task.executorIdValue, task.containerIdValue);
      if (executor.groups.length === 0) executor.groups.push(new Set());
      executor.groups[0]?.add(task.taskIdValue);
      executor.states.set(task.taskIdValue, task.state);
    }
    const kill: string[] = [];
    const exited: GroupExecutorId[] = [];
    for (const executor of this.byContainer.values()) {
      const states = [...executor.states.values()];
      const hasFailed = states.some((s) => isTerminal(s) && s !== 'TASK_FINISHED');
      if (hasFailed)
        for (const [id, state] of executor.states) if (!isTerminal(state)) kill.push(id);
      if (this.checkExited(executor))
        exited.push({
          frameworkIdValue: executor.frameworkIdValue,
          executorIdValue: executor.executorIdValue,
        });
    }
    return { kill, exited };
  }

  private start(
    frameworkIdValue: string,
    executorIdValue: string,
    containerIdValue: string,
  ): GroupExecutor {
    const executor: GroupExecutor = {
      frameworkIdValue,
      executorIdValue,
      containerIdValue,
      groups: [],
      states: new Map(),
      retired: new Set(),
      hasExited: false,
    };
    this.byContainer.set(containerIdValue, executor);
    this.current.set(executorKey(frameworkIdValue, executorIdValue), containerIdValue);
    return executor;
  }

  /** The executor if it runs (it has a task not yet terminal, or none yet). */
  private live(frameworkIdValue: string, executorIdValue: string): GroupExecutor | undefined {
    const containerIdValue = this.current.get(executorKey(frameworkIdValue, executorIdValue));
    const executor =
      containerIdValue === undefined ? undefined : this.byContainer.get(containerIdValue);
    return executor === undefined || executor.hasExited ? undefined : executor;
  }

  /** True the first time every task of the executor is terminal. */
  private checkExited(executor: GroupExecutor): boolean {
    if (executor.hasExited) return false;
    if (![...executor.states.values()].every(isTerminal)) return false;
    executor.hasExited = true;
    return true;
  }
}

export interface GroupExecutorId {
  readonly frameworkIdValue: string;
  readonly executorIdValue: string;
}

function executorKey(frameworkIdValue: string, executorIdValue: string): string {
  return `${frameworkIdValue}\u0000${executorIdValue}`;
}

/** The executor's container id of a task group's task: its container's parent. */
export function executorContainerOf(containerIdValue: string): string {
  const dot = containerIdValue.indexOf('.');
  return dot === -1 ? containerIdValue : containerIdValue.slice(0, dot);
}
