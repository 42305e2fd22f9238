// Long file: a custom executor's whole life (launch, subscription, updates, kill, shutdown,
// end, recovery) over one set of books.
// Frameworks' own executors (#9, WIRE §5). A task whose TaskInfo carries an
// ExecutorInfo runs under that executor: the agent starts the executor's
// command in a container of its own (the containerizer's shim, so it outlives
// the agent), with the MESOS_* environment Mesos gives executors. The executor
// subscribes on POST /api/v1/executor (executor-api.ts); its tasks reach it as
// LAUNCH events, the master's kills as KILL, framework messages as MESSAGE, a
// SHUTDOWN_EXECUTOR as SHUTDOWN. Its status updates go through the status
// update manager like the agent's own (checkpointed first, retried until the
// framework acknowledges), and each is ACKNOWLEDGED to the executor once
// checkpointed. An executor that does not subscribe within
// --executor_registration_timeout is destroyed and its tasks fail
// (REASON_EXECUTOR_REGISTRATION_TIMEOUT); one that exits takes its live tasks
// to TASK_FAILED (REASON_EXECUTOR_TERMINATED). After an agent restart a
// running executor is expected to subscribe again within
// --executor_reregistration_timeout, as Mesos' agent waits for it.

import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import {
  type Container,
  type Containerizer,
  hasImage,
  isDockerContainer,
  type ResourceLimits,
  type Termination,
} from '../containerizer/index.js';
import { Resources } from '../resources/index.js';
import { type Clock, type EventStream, every, type Logger, type Timer } from '../runtime/index.js';
import {
  type AgentInfo,
  type AgentTask,
  addCommandEnvironment,
  type DrainConfig,
  type ExecutorEvent,
  type ExecutorInfo,
  type FrameworkID,
  type FrameworkInfo,
  isTerminalState,
  agentId as mintAgentId,
  containerId as mintContainerId,
  executorId as mintExecutorId,
  newStatusUuid,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
  type TaskStatusReason,
  terminationMessage,
} from '../wire/index.js';
import type { Checkpoint, CheckpointedRun, RunAddress } from './checkpoint.js';
import { drainGracePeriodNs } from './drain.js';
import { executorLimits } from './executor-limits.js';
import type { ExecutorClaims } from './executor-token.js';
import type { UriFetcher } from './fetcher.js';
import { sandboxPath } from './recovery.js';
import { deliverStatus } from './status-delivery.js';
import type { StatusUpdateManager } from './status-update-manager.js';
import { isCheckpointing } from './task-runs.js';
import { executorUserName, giveToUser, switchUserTo, type UserSwitch } from './task-user.js';

/** Mesos' --executor_registration_timeout default (1mins). */
export const DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS = 60_000;
/** Mesos' --executor_reregistration_timeout default (2secs), after an agent restart. */
export const DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS = 2_000;
/** Mesos' --executor_shutdown_grace_period default (5secs). */
export const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS = 5_000;
/** How often a subscribed executor hears HEARTBEAT, so it notices a dead connection. */
const EXECUTOR_HEARTBEAT_INTERVAL_MS = 30_000;
/** Completed executor tasks kept for `/state`. */
const MAX_COMPLETED_TASKS = 1000;

type Phase =
  /** Its container is being started. */
  | 'launching'
  /** Started (or re-attached after a restart), not subscribed yet. */
  | 'registering'
  | 'subscribed'
  /** Its container ended: it takes no more tasks. */
  | 'terminated';

export interface ExecutorTask {
  readonly address: RunAddress;
  readonly frameworkId: FrameworkID;
  readonly task: TaskInfo;
  state: TaskState;
  /** Sent to the executor in a LAUNCH (in this agent's life). */
  isDelivered: boolean;
  /** The uuids of the updates received for it: a resent one is acknowledged, not forwarded twice. */
  readonly seen: Set<string>;
}

export interface ExecutorRun {
  readonly key: string;
  readonly frameworkId: FrameworkID;
  readonly frameworkInfo: FrameworkInfo;
  readonly info: ExecutorInfo;
  readonly containerIdValue: string;
  readonly sandbox: string;
  /** The checkpoint's run directory, the container's runtime directory. */
  readonly address: RunAddress;
  phase: Phase;
  container: Container | undefined;
  stream: EventStream<ExecutorEvent> | undefined;
  readonly tasks: Map<string, ExecutorTask>;
  /** Registration (or re-registration) deadline, while not subscribed. */
  registrationTimer: Timer | undefined;
  heartbeat: Timer | undefined;
  /** SIGKILL after the shutdown grace period. */
  killTimer: Timer | undefined;
  /** Why the agent ended the executor, when it did: its tasks' reason. */
  endReason: TaskStatusReason | undefined;
  isShuttingDown: boolean;
  /** Re-attached after an agent restart: it subscribes again. */
  readonly isRecovered: boolean;
}

export interface ExecutorsOptions extends UserSwitch {
  readonly workDir: string;
  readonly containerizer: Containerizer;
  readonly fetcher: UriFetcher;
  readonly checkpoint: Checkpoint;
  readonly updates: StatusUpdateManager;
  readonly clock: Clock;
  /** --executor_secret_key: signs the token each container gets (executor-token.ts). */
  readonly executorToken?: (claims: ExecutorClaims) => string;
  readonly log: Logger;
  readonly agentId: () => string | undefined;
  readonly agentInfo: () => AgentInfo | undefined;
  /** `host:port` of the agent (MESOS_AGENT_ENDPOINT). */
  readonly endpoint: () => string;
  readonly registrationTimeoutMs: number;
  readonly reregistrationTimeoutMs: number;
  readonly shutdownGraceMs: number;
  /** --cgroups_enable_cfs: whether a custom executor's CPU limit may count tasks without one. */
  readonly enableCfs?: boolean;
  /** An executor ended: the master frees its resources and tells the framework (FAILURE). */
  readonly exited: (frameworkId: FrameworkID, executorIdValue: string, status: number) => void;
  /** An executor's MESSAGE for its framework. */
  readonly message: (frameworkId: FrameworkID, executorIdValue: string, data: string) => void;
  /** An executor is gone and its tasks retired: its sandbox may be garbage-collected. */
  readonly retired: (sandbox: string) => void;
}

/** Why a call of an executor is refused; the API maps it to a status (WIRE §5). */
export class ExecutorCallError extends Error {
  constructor(
    readonly kind: 'FRAMEWORK_NOT_FOUND' | 'EXECUTOR_NOT_FOUND' | 'NOT_SUBSCRIBED' | 'INVALID',
    message: string,
  ) {
    super(message);
    this.name = 'ExecutorCallError';
  }
}

export class Executors {
  private readonly runs = new Map<string, ExecutorRun>();
  private readonly completed: { run: ExecutorRun; task: ExecutorTask }[] = [];
  /** The agent process is leaving its executors running (detachAll): it reports nothing more. */
  private isDetached = false;

  constructor(private readonly options: ExecutorsOptions) {}

  get active(): readonly ExecutorRun[] {
    return [...this.runs.values()];
  }

  get finished(): readonly { readonly run: ExecutorRun; readonly task: ExecutorTask }[] {
    return this.completed;
  }

  /** Tasks held for the agent's SUBSCRIBE. */
  held(): AgentTask[] {
    return [...this.runs.values()].flatMap((run) =>
      [...run.tasks.values()].map((t) => ({
        framework_id: run.frameworkId,
        framework_info: run.frameworkInfo,
        task: t.task,
        state: t.state,
      })),
    );
  }

  /** Whether a task of this framework runs under one of its executors here. */
  hasTask(frameworkIdValue: string, taskIdValue: string): boolean {
    return this.runOfTask(frameworkIdValue, taskIdValue) !== undefined;
  }

  /** Whether the framework's executor with this id runs here. */
  has(frameworkIdValue: string, executorIdValue: string): boolean {
    return this.runs.has(executorKey(frameworkIdValue, executorIdValue));
  }

  get taskCount(): number {
    let count = 0;
    for (const run of this.runs.values()) count += run.tasks.size;
    return count;
  }

  // ------------------------------------------------------------------ launch

  /**
   * RUN_TASK with an ExecutorInfo: the task joins its executor, which is started if it does
   * not run yet; it is delivered (LAUNCH) once the executor has subscribed.
   */
  async launch(frameworkInfo: FrameworkInfo, task: TaskInfo): Promise<void> {
    const frameworkId = frameworkInfo.id;
    const info = task.executor;
    const agentIdValue = this.options.agentId();
    if (frameworkId === undefined || info === undefined || agentIdValue === undefined) return;
    if (this.hasTask(frameworkId.value, task.task_id.value)) return; // a duplicate RUN_TASK
    const key = executorKey(frameworkId.value, info.executor_id.value);
    let run = this.runs.get(key);
    if (run !== undefined && run.phase === 'terminated') {
      this.agentStatus(run, this.addTask(run, task), 'TASK_FAILED', {
        reason: 'REASON_EXECUTOR_TERMINATED',
        message: 'Executor terminated',
      });
      return;
    }
    const isNew = run === undefined;
    if (run === undefined) {
      const containerIdValue = randomUUID();
      const address: RunAddress = {
        agentIdValue,
        frameworkIdValue: frameworkId.value,
        executorIdValue: info.executor_id.value,
        containerIdValue,
        taskIdValue: task.task_id.value,
      };
      run = {
        key,
        frameworkId,
        frameworkInfo,
        info,
        containerIdValue,
        sandbox: sandboxPath(this.options.workDir, address),
        address,
        phase: 'launching',
        container: undefined,
        stream: undefined,
        tasks: new Map(),
        registrationTimer: undefined,
        heartbeat: undefined,
        killTimer: undefined,
        endReason: undefined,
        isShuttingDown: false,
        isRecovered: false,
      };
      this.runs.set(key, run);
    }
    const entry = this.addTask(run, task);
    try {
      this.options.checkpoint.launched(entry.address, frameworkInfo, task);
    } catch (error) {
      this.options.log.error(
        { err: (error as Error).message, task_id: task.task_id.value },
        'could not checkpoint an executor task; a restarted agent may not find it',
      );
    }
    if (!isNew) {
      this.resize(run);
      if (run.phase === 'subscribed') this.deliver(run, entry);
      return;
    }
    await this.start(run, entry);
  }

  private addTask(run: ExecutorRun, task: TaskInfo): ExecutorTask {
    const entry: ExecutorTask = {
      address: { ...run.address, taskIdValue: task.task_id.value },
      frameworkId: run.frameworkId,
      task,
      state: 'TASK_STAGING',
      isDelivered: false,
      seen: new Set(),
    };
    run.tasks.set(task.task_id.value, entry);
    return entry;
  }

  /** Sandbox, URIs, container; then the registration deadline. */
  private async start(run: ExecutorRun, first: ExecutorTask): Promise<void> {
    const { containerizer, checkpoint, log } = this.options;
    const command = run.info.command ?? {};
    let container: Container;
    try {
      // Run on the host instead, such an executor would be neither in its image nor isolated.
      if (isDockerContainer(run.info.container) || hasImage(run.info.container))
        throw new Error(
          'this agent runs custom executors on the host only: an ExecutorInfo.container with a Docker or Mesos image is not supported',
        );
      mkdirSync(run.sandbox, { recursive: true });
      pointLatestAt(dirname(run.sandbox), run.containerIdValue);
      // --switch_user: the executor runs as its command's user, else its framework's.
      const user = switchUserTo(
        executorUserName(run.info, run.frameworkInfo),
        run.sandbox,
        this.options,
      );
      const uris = command.uris ?? [];
      if (uris.length > 0) {
        await this.options.fetcher.fetch(uris, run.sandbox, {
          signal: AbortSignal.timeout(600_000),
        });
        if (user !== undefined) giveToUser(run.sandbox, user);
      }
      container = await containerizer.launch({
        ...(user !== undefined ? { user } : {}),
        containerId: run.containerIdValue,
        sandbox: run.sandbox,
        runtimeDir: checkpoint.runDir(run.address),
        command,
        environment: this.environment(run),
        // The task's limits hold its executor's container, as Mesos applies them there.
        ...this.sizeFor(run, [first.task]),
      });
    } catch (error) {
      log.warn(
        { err: (error as Error).message, executor_id: run.info.executor_id.value },
        'executor not started',
      );
      run.phase = 'terminated';
      for (const task of run.tasks.values())
        this.agentStatus(run, task, 'TASK_FAILED', {
          reason: 'REASON_CONTAINER_LAUNCH_FAILED',
          message: `Failed to launch the executor: ${(error as Error).message}`,
        });
      this.options.exited(run.frameworkId, run.info.executor_id.value, -1);
      this.forgetIfDone(run);
      return;
    }
    this.attach(run, container, this.options.registrationTimeoutMs);
    log.info(
      {
        framework_id: run.frameworkId.value,
        executor_id: run.info.executor_id.value,
        container_id: run.containerIdValue,
        pid: container.pid,
      },
      'executor started',
    );
    if (run.isShuttingDown) this.destroy(run, 'REASON_EXECUTOR_TERMINATED');
    else if (run.tasks.size > 1) this.resize(run); // tasks that joined while it launched
  }

  /**
   * The executor's container sized to the executor and the tasks it runs now (Mesos updates
   * the container as tasks join and end): a task joining a running executor brings its
   * resources, or its share of cpus and memory would come out of the others'.
   */
  private resize(run: ExecutorRun): void {
    if (run.container === undefined || run.phase === 'terminated') return;
    const live = [...run.tasks.values()]
      .filter((task) => !isTerminalState(task.state))
      .map((task) => task.task);
    const { resources, limits } = this.sizeFor(run, live);
    try {
      this.options.containerizer.update?.(run.containerIdValue, resources, limits);
    } catch (error) {
      this.options.log.warn(
        { err: (error as Error).message, executor_id: run.info.executor_id.value },
        'could not resize the executor container',
      );
    }
  }

  /**
   * What the executor's container may use running `tasks`: its own resources and theirs, and
   * the limits above them their limits make (executor-limits.ts); `limits` only when any.
   */
  private sizeFor(
    run: ExecutorRun,
    tasks: readonly TaskInfo[],
  ): { readonly resources: Resources; readonly limits?: ResourceLimits } {
    const own = run.info.resources ?? [];
    const resources = Resources.fromWire([...own, ...tasks.flatMap((t) => t.resources ?? [])]);
    const limits = executorLimits(Resources.fromWire(own), tasks, this.options.enableCfs ?? false);
    return limits === undefined ? { resources } : { resources, limits };
  }

  /** Follows the executor's container; it must subscribe within `deadlineMs`. */
  private attach(
    run: ExecutorRun,
    container: Container,
    deadlineMs: number,
    reason: TaskStatusReason = 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
  ): void {
    run.container = container;
    run.phase = 'registering';
    void container.terminated.then((termination) => this.ended(run, termination));
    this.armRegistration(run, deadlineMs, reason);
  }

  private armRegistration(run: ExecutorRun, deadlineMs: number, reason: TaskStatusReason): void {
    run.registrationTimer?.cancel();
    run.registrationTimer = this.options.clock.setTimeout(() => {
      run.registrationTimer = undefined;
      if (run.phase !== 'registering') return;
      this.options.log.warn(
        { executor_id: run.info.executor_id.value, timeout_ms: deadlineMs },
        'executor did not subscribe in time; destroying it',
      );
      this.destroy(run, reason);
    }, deadlineMs);
  }

  /**
   * The agent listens again after a restart: the executors it re-attached get
   * --executor_reregistration_timeout from now (not from recovery, which may have
   * taken a while) to subscribe again.
   */
  listening(): void {
    for (const run of this.runs.values())
      if (run.phase === 'registering' && run.isRecovered)
        this.armRegistration(
          run,
          this.options.reregistrationTimeoutMs,
          'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
        );
  }

  /**
   * The environment of an executor (Mesos' executorEnvironment, WIRE §5): the agent's own,
   * the MESOS_* variables, and the executor command's own, which win.
   */
  environment(run: ExecutorRun): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env))
      if (value !== undefined) env[name] = value;
    const endpoint = this.options.endpoint();
    const isCheckpointed = isCheckpointing(run.frameworkInfo);
    const graceNs = run.info.shutdown_grace_period?.nanoseconds;
    const graceMs = graceNs === undefined ? this.options.shutdownGraceMs : graceNs / 1e6;
    Object.assign(env, {
      MESOS_FRAMEWORK_ID: run.frameworkId.value,
      MESOS_EXECUTOR_ID: run.info.executor_id.value,
      MESOS_SANDBOX: run.sandbox,
      MESOS_DIRECTORY: run.sandbox,
      MESOS_SLAVE_ID: run.address.agentIdValue,
      MESOS_AGENT_ENDPOINT: endpoint,
      MESOS_SLAVE_PID: `slave(1)@${endpoint}`,
      MESOS_CHECKPOINT: isCheckpointed ? '1' : '0',
      MESOS_HTTP_COMMAND_EXECUTOR: '0',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: `${graceMs / 1000}secs`,
      LIBPROCESS_PORT: '0',
      ...(isCheckpointed
        ? {
            MESOS_RECOVERY_TIMEOUT: '15mins',
            MESOS_SUBSCRIPTION_BACKOFF_MAX: `${this.options.reregistrationTimeoutMs / 1000}secs`,
          }
        : {}),
    });
    addCommandEnvironment(env, run.info.command);
    // After the command's own: a framework cannot hand its executor another container's token.
    const token = this.options.executorToken?.({
      cid: run.containerIdValue,
      fid: run.frameworkId.value,
      eid: run.info.executor_id.value,
    });
    if (token !== undefined) env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN = token;
    return env;
  }

  // ------------------------------------------------------------ subscription

  /** The executor a call names, or the reason it cannot be served (WIRE §5's 400s). */
  lookup(frameworkIdValue: string, executorIdValue: string): ExecutorRun {
    const run = this.runs.get(executorKey(frameworkIdValue, executorIdValue));
    if (run === undefined) {
      const isFrameworkKnown = [...this.runs.values()].some(
        (r) => r.frameworkId.value === frameworkIdValue,
      );
      throw isFrameworkKnown
        ? new ExecutorCallError('EXECUTOR_NOT_FOUND', 'Executor cannot be found')
        : new ExecutorCallError('FRAMEWORK_NOT_FOUND', 'Framework cannot be found');
    }
    if (run.phase === 'terminated' || run.phase === 'launching')
      throw new ExecutorCallError('EXECUTOR_NOT_FOUND', 'Executor cannot be found');
    return run;
  }

  /**
   * SUBSCRIBE: the stream replaces any earlier one. SUBSCRIBED goes first, then every task
   * the executor has not been given; updates it still holds are taken as UPDATEs.
   */
  subscribe(
    run: ExecutorRun,
    stream: EventStream<ExecutorEvent>,
    holding: {
      readonly tasks: readonly TaskInfo[];
      readonly updates: readonly TaskStatus[];
    },
  ): void {
    const previous = run.stream;
    run.stream = stream;
    previous?.close();
    run.phase = 'subscribed';
    run.registrationTimer?.cancel();
    run.registrationTimer = undefined;
    run.heartbeat?.cancel();
    run.heartbeat = every(this.options.clock, EXECUTOR_HEARTBEAT_INTERVAL_MS, () => {
      run.stream?.send({ type: 'HEARTBEAT' });
    });
    stream.closed.addEventListener(
      'abort',
      () => {
        if (run.stream !== stream) return;
        run.stream = undefined;
        run.heartbeat?.cancel();
        run.heartbeat = undefined;
        if (run.phase === 'subscribed') {
          this.options.log.info(
            { executor_id: run.info.executor_id.value },
            'executor disconnected',
          );
          // Mesos waits for a checkpointing framework's executor to come back; one
          // without checkpointing is shut down.
          if (!isCheckpointing(run.frameworkInfo)) this.shutdown(run);
        }
      },
      { once: true },
    );
    const agentInfo = this.options.agentInfo();
    stream.send({
      type: 'SUBSCRIBED',
      subscribed: {
        executor_info: { ...run.info, framework_id: run.frameworkId },
        framework_info: run.frameworkInfo,
        agent_info: agentInfo ?? { hostname: '' },
        container_id: mintContainerId(run.containerIdValue),
      },
    });
    this.options.log.info(
      { framework_id: run.frameworkId.value, executor_id: run.info.executor_id.value },
      'executor subscribed',
    );
    for (const status of holding.updates) {
      try {
        this.update(run, status);
      } catch (error) {
        this.options.log.warn(
          { err: (error as Error).message, task_id: status.task_id.value },
          'unacknowledged update of a resubscribing executor ignored',
        );
      }
    }
    const known = new Set(holding.tasks.map((t) => t.task_id.value));
    for (const task of run.tasks.values())
      if (task.state === 'TASK_STAGING' && !known.has(task.task.task_id.value))
        this.deliver(run, task);
    if (run.isShuttingDown) stream.send({ type: 'SHUTDOWN' });
  }

  private deliver(run: ExecutorRun, task: ExecutorTask): void {
    if (run.stream?.send({ type: 'LAUNCH', launch: { task: task.task } }) === true)
      task.isDelivered = true;
  }

  /**
   * UPDATE from the executor (validated by the API): recorded and queued for the framework,
   * then ACKNOWLEDGED to the executor. A resent update (same uuid) is only acknowledged.
   */
  update(run: ExecutorRun, status: TaskStatus): void {
    const task = run.tasks.get(status.task_id.value);
    if (task === undefined)
      throw new ExecutorCallError(
        'INVALID',
        `Task '${status.task_id.value}' is not a task of executor '${run.info.executor_id.value}'`,
      );
    const uuid = status.uuid ?? '';
    if (!task.seen.has(uuid) && !isTerminalState(task.state)) {
      task.seen.add(uuid);
      task.state = status.state;
      if (isTerminalState(status.state)) this.resize(run);
      this.send(task, {
        ...status,
        agent_id: mintAgentId(this.options.agentId() ?? run.address.agentIdValue),
        executor_id: mintExecutorId(run.info.executor_id.value),
        container_status: status.container_status ?? {
          container_id: mintContainerId(run.containerIdValue),
        },
      });
    }
    run.stream?.send({
      type: 'ACKNOWLEDGED',
      acknowledged: { task_id: status.task_id, uuid },
    });
  }

  /** MESSAGE from the executor: relayed to its framework through the master. */
  message(run: ExecutorRun, data: string): void {
    this.options.message(run.frameworkId, run.info.executor_id.value, data);
  }

  // ---------------------------------------------------- the master's commands

  /**
   * KILL_TASK: a task the executor has is killed by the executor (KILL); one it was never
   * given is killed here.
   */
  kill(frameworkIdValue: string, taskIdValue: string, gracePeriodNs?: number): void {
    const run = this.runOfTask(frameworkIdValue, taskIdValue);
    const task = run?.tasks.get(taskIdValue);
    if (run === undefined || task === undefined || isTerminalState(task.state)) return;
    if (!task.isDelivered) {
      this.agentStatus(run, task, 'TASK_KILLED', {
        reason: 'REASON_TASK_KILLED_DURING_LAUNCH',
        message: 'Killed before delivery to the executor',
      });
      return;
    }
    run.stream?.send({
      type: 'KILL',
      kill: {
        task_id: task.task.task_id,
        ...(gracePeriodNs !== undefined
          ? { kill_policy: { grace_period: { nanoseconds: gracePeriodNs } } }
          : {}),
      },
    });
  }

  /**
   * DRAIN: every live task is killed by its executor, its grace period capped by the drain's.
   * A task that reaches a draining agent is still given to its executor: the master stops
   * sending new ones.
   */
  drainAll(config: DrainConfig): void {
    for (const run of this.runs.values())
      for (const task of run.tasks.values())
        if (!isTerminalState(task.state))
          this.kill(
            run.frameworkId.value,
            task.task.task_id.value,
            drainGracePeriodNs(config, task.task.kill_policy?.grace_period?.nanoseconds),
          );
  }

  /** FRAMEWORK_MESSAGE: to the executor if it is subscribed; best effort. */
  frameworkMessage(frameworkIdValue: string, executorIdValue: string, data: string): boolean {
    const run = this.runs.get(executorKey(frameworkIdValue, executorIdValue));
    return run?.stream?.send({ type: 'MESSAGE', message: { data } }) === true;
  }

  /**
   * SHUTDOWN_EXECUTOR: SHUTDOWN to a subscribed executor, which has its shutdown grace
   * period to end its tasks and exit; then (or at once, if it is not subscribed) its
   * container is destroyed.
   */
  shutdownExecutor(frameworkIdValue: string, executorIdValue: string): boolean {
    const run = this.runs.get(executorKey(frameworkIdValue, executorIdValue));
    if (run === undefined) return false;
    this.shutdown(run);
    return true;
  }

  private shutdown(run: ExecutorRun): void {
    if (run.isShuttingDown || run.phase === 'terminated') return;
    run.isShuttingDown = true;
    if (run.phase === 'launching') return; // destroyed once started
    if (run.stream?.send({ type: 'SHUTDOWN' }) !== true) {
      this.destroy(run, 'REASON_EXECUTOR_TERMINATED');
      return;
    }
    const graceNs = run.info.shutdown_grace_period?.nanoseconds;
    const graceMs = graceNs === undefined ? this.options.shutdownGraceMs : graceNs / 1e6;
    run.killTimer?.cancel();
    run.killTimer = this.options.clock.setTimeout(
      () => this.destroy(run, 'REASON_EXECUTOR_TERMINATED'),
      graceMs,
    );
  }

  /** SHUTDOWN_FRAMEWORK: its executors are shut down, and nobody acknowledges their updates. */
  shutdownFramework(frameworkIdValue: string): void {
    for (const run of [...this.runs.values()])
      if (run.frameworkId.value === frameworkIdValue) {
        this.shutdown(run);
        for (const task of [...run.tasks.values()])
          if (isTerminalState(task.state)) this.retire(run, task);
      }
  }

  /** Kills the executor's container: SIGTERM, then SIGKILL a grace period later. */
  private destroy(run: ExecutorRun, reason: TaskStatusReason): void {
    run.endReason ??= reason;
    run.registrationTimer?.cancel();
    const container = run.container;
    if (container === undefined) return;
    container.signal('SIGTERM');
    run.killTimer?.cancel();
    run.killTimer = this.options.clock.setTimeout(
      () => container.signal('SIGKILL'),
      this.options.shutdownGraceMs,
    );
  }

  /**
   * The agent process is going and its executors stay (Mesos' agent on SIGTERM): their
   * timers stop and their streams close, so they wait for the next agent to re-subscribe
   * (MESOS_RECOVERY_TIMEOUT); nothing is reported or cleaned up from now on.
   */
  detachAll(): void {
    this.isDetached = true;
    for (const run of this.runs.values()) {
      this.stopTimers(run);
      run.stream?.close();
      run.stream = undefined;
    }
  }

  /** Kills every executor and waits for them to end: nothing outlives a stopped agent. */
  async killAll(): Promise<void> {
    const dying: Promise<unknown>[] = [];
    for (const run of this.runs.values()) {
      run.isShuttingDown = true;
      if (run.container === undefined || run.phase === 'terminated') continue;
      run.stream?.send({ type: 'SHUTDOWN' });
      this.destroy(run, 'REASON_EXECUTOR_TERMINATED');
      dying.push(run.container.terminated);
    }
    await Promise.all(dying);
    for (const run of this.runs.values()) this.stopTimers(run);
  }

  private stopTimers(run: ExecutorRun): void {
    run.registrationTimer?.cancel();
    run.heartbeat?.cancel();
    run.killTimer?.cancel();
    run.registrationTimer = undefined;
    run.heartbeat = undefined;
    run.killTimer = undefined;
  }

  // ---------------------------------------------------------------- the end

  /** The executor's container ended: its live tasks fail, the master hears it exited. */
  private ended(run: ExecutorRun, termination: Termination): void {
    if (run.phase === 'terminated' || this.isDetached) return;
    run.phase = 'terminated';
    this.stopTimers(run);
    run.stream?.close();
    run.stream = undefined;
    const reason: TaskStatusReason =
      termination.limitation?.reason ?? run.endReason ?? 'REASON_EXECUTOR_TERMINATED';
    const message =
      termination.limitation?.message ??
      (reason === 'REASON_EXECUTOR_REGISTRATION_TIMEOUT' ||
      reason === 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT'
        ? 'Executor did not subscribe within its registration timeout'
        : `Executor terminated: ${terminationMessage(termination)}`);
    for (const task of run.tasks.values())
      if (!isTerminalState(task.state))
        this.agentStatus(run, task, 'TASK_FAILED', { reason, message });
    this.options.log.info(
      {
        framework_id: run.frameworkId.value,
        executor_id: run.info.executor_id.value,
        exit_code: termination.exitCode,
        signal: termination.signal,
      },
      'executor exited',
    );
    this.options.exited(run.frameworkId, run.info.executor_id.value, waitStatus(termination));
    void this.options.containerizer
      .cleanup(run.containerIdValue)
      .catch((error: unknown) =>
        this.options.log.warn(
          { err: (error as Error).message, container_id: run.containerIdValue },
          'container cleanup failed',
        ),
      );
    this.forgetIfDone(run);
  }

  // ----------------------------------------------------------------- updates

  /** An update the agent makes about an executor's task (SOURCE_AGENT). */
  private agentStatus(
    run: ExecutorRun,
    task: ExecutorTask,
    state: TaskState,
    extra: { readonly reason: TaskStatusReason; readonly message: string },
  ): void {
    if (this.isDetached) return;
    task.state = state;
    this.send(task, {
      task_id: task.task.task_id,
      state,
      source: 'SOURCE_AGENT',
      reason: extra.reason,
      message: extra.message,
      agent_id: mintAgentId(this.options.agentId() ?? run.address.agentIdValue),
      executor_id: mintExecutorId(run.info.executor_id.value),
      timestamp: this.options.clock.now() / 1000,
      uuid: newStatusUuid(),
      container_status: { container_id: mintContainerId(run.containerIdValue) },
    });
  }

  /** Checkpointed, then queued for delivery, as the agent's own updates are. */
  private send(task: ExecutorTask, status: TaskStatus): void {
    deliverStatus(this.options, task.address, task.frameworkId, status);
  }

  /** The framework acknowledged an update of an executor's task. */
  acknowledged(frameworkIdValue: string, taskIdValue: string, uuid: string): void {
    const acked = this.options.updates.acknowledge(frameworkIdValue, taskIdValue, uuid);
    const run = this.runOfTask(frameworkIdValue, taskIdValue);
    const task = run?.tasks.get(taskIdValue);
    if (acked === undefined || run === undefined || task === undefined) return;
    if (isTerminalState(acked.status.state)) this.retire(run, task);
    else
      try {
        this.options.checkpoint.acknowledged(task.address, uuid);
      } catch (error) {
        this.options.log.warn(
          { err: (error as Error).message, task_id: taskIdValue },
          'could not checkpoint an acknowledgement; a restarted agent resends that update',
        );
      }
  }

  private retire(run: ExecutorRun, task: ExecutorTask): void {
    run.tasks.delete(task.task.task_id.value);
    try {
      this.options.checkpoint.removeTask(task.address);
    } catch (error) {
      this.options.log.warn(
        { err: (error as Error).message, task_id: task.task.task_id.value },
        'could not remove the checkpoint of a finished task',
      );
    }
    this.completed.push({ run, task });
    if (this.completed.length > MAX_COMPLETED_TASKS) this.completed.shift();
    this.forgetIfDone(run);
  }

  /** An executor that ended and whose tasks all retired is forgotten; its sandbox may go. */
  private forgetIfDone(run: ExecutorRun): void {
    if (run.phase !== 'terminated' || run.tasks.size > 0) return;
    if (this.runs.get(run.key) === run) this.runs.delete(run.key);
    try {
      this.options.checkpoint.remove(run.address);
    } catch (error) {
      this.options.log.warn(
        { err: (error as Error).message, executor_id: run.info.executor_id.value },
        'could not remove the checkpoint of an executor',
      );
    }
    this.options.retired(run.sandbox);
  }

  private runOfTask(frameworkIdValue: string, taskIdValue: string): ExecutorRun | undefined {
    for (const run of this.runs.values())
      if (run.frameworkId.value === frameworkIdValue && run.tasks.has(taskIdValue)) return run;
    return undefined;
  }

  // ---------------------------------------------------------------- recovery

  /**
   * The executors of the agent's previous life that it reconnects to (task-runs.ts hands
   * their checkpointed tasks over with what the containerizer found): a running executor
   * gets --executor_reregistration_timeout to subscribe again; one that ended meanwhile has
   * its live tasks failed. Unacknowledged updates are queued again, in order.
   */
  recover(
    checkpointed: readonly CheckpointedRun[],
    found: ReadonlyMap<string, Container | Termination>,
  ): void {
    const byContainer = new Map<string, CheckpointedRun[]>();
    for (const run of checkpointed) {
      const list = byContainer.get(run.address.containerIdValue) ?? [];
      list.push(run);
      byContainer.set(run.address.containerIdValue, list);
    }
    for (const [containerIdValue, tasks] of byContainer) {
      const first = tasks[0];
      const info = first?.task?.executor;
      if (first === undefined || info === undefined) continue;
      const frameworkInfo = first.frameworkInfo ?? { user: '', name: '', id: first.frameworkId };
      const key = executorKey(first.frameworkId.value, info.executor_id.value);
      if (this.runs.has(key)) continue;
      const run: ExecutorRun = {
        key,
        frameworkId: first.frameworkId,
        frameworkInfo,
        info,
        containerIdValue,
        sandbox: sandboxPath(this.options.workDir, first.address),
        address: first.address,
        phase: 'registering',
        container: undefined,
        stream: undefined,
        tasks: new Map(),
        registrationTimer: undefined,
        heartbeat: undefined,
        killTimer: undefined,
        endReason: undefined,
        isShuttingDown: false,
        isRecovered: true,
      };
      this.runs.set(key, run);
      for (const checkpointedTask of tasks) {
        const task = checkpointedTask.task;
        if (task === undefined) continue;
        const last = checkpointedTask.updates.at(-1);
        const pending = checkpointedTask.updates.filter(
          (u) => !checkpointedTask.acknowledged.has(u.uuid ?? ''),
        );
        // Its end was acknowledged and the previous life died before removing its records.
        if (last !== undefined && isTerminalState(last.state) && pending.length === 0) {
          this.options.checkpoint.removeTask(checkpointedTask.address);
          continue;
        }
        run.tasks.set(task.task_id.value, {
          address: checkpointedTask.address,
          frameworkId: first.frameworkId,
          task,
          state: last?.state ?? 'TASK_STAGING',
          // Whether the previous life delivered it is not recorded: a resubscribing executor
          // lists what it has, and a STAGING task it does not list is delivered again.
          isDelivered: last !== undefined,
          seen: new Set(checkpointedTask.updates.map((u) => u.uuid ?? '')),
        });
        this.options.updates.recover(first.frameworkId, pending);
      }
      const outcome = found.get(containerIdValue);
      if (outcome !== undefined && 'pid' in outcome) {
        this.attach(
          run,
          outcome,
          this.options.reregistrationTimeoutMs,
          'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
        );
        this.options.log.info(
          { executor_id: info.executor_id.value, pid: outcome.pid },
          'executor of the previous run re-attached; waiting for it to subscribe',
        );
      } else this.ended(run, outcome ?? { exitCode: null, signal: null, isUnknown: true });
    }
  }
}

function executorKey(frameworkIdValue: string, executorIdValue: string): string {
  return `${frameworkIdValue}\u0000${executorIdValue}`;
}

/** The raw wait status Mesos reports in FAILURE: exit code << 8, or the signal number. */
function waitStatus(termination: Termination): number {
  if (termination.signal !== null) return constants.signals[termination.signal] ?? -1;
  if (termination.exitCode !== null) return termination.exitCode << 8;
  return -1;
}

/** `runs/latest` names the newest run; replaced atomically so readers never see it missing. */
function pointLatestAt(runsDir: string, containerIdValue: string): void {
  const temporary = join(runsDir, `.latest-${containerIdValue}`);
  symlinkSync(containerIdValue, temporary);
  renameSync(temporary, join(runsDir, 'latest'));
}
