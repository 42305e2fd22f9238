// Long file: a run's whole life (launch, kill, report, retire, recover) over one set of books.
// The agent's command tasks, each a container under the shim: launched, killed
// with the kill policy's grace period, reported through the status update
// manager (every update checkpointed before it is sent), retired when the
// framework acknowledges the end, and, after an agent restart, recovered: with
// --recover=reconnect the running ones are re-attached (same container, same
// PID) and those that ended meanwhile are reported with their real exit
// status; with --recover=cleanup, or for a framework that turned checkpointing
// off, they are killed, as Mesos does (docs/agent-recovery.md).

import { randomUUID } from 'node:crypto';
import { rename, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type Container,
  type Containerizer,
  hasImage,
  isDockerContainer,
  type KnownContainer,
  type ResourceLimits,
  type ResourceStatistics,
  type Termination,
} from '../containerizer/index.js';
import { Resources } from '../resources/index.js';
import type { Clock, Logger, Timer } from '../runtime/index.js';
import {
  type AgentTask,
  addCommandEnvironment,
  type CheckStatusInfo,
  type CommandURI,
  type DrainConfig,
  type FrameworkID,
  type FrameworkInfo,
  isTerminalState,
  agentId as mintAgentId,
  containerId as mintContainerId,
  executorId as mintExecutorId,
  newStatusUuid,
  type TaskInfo,
  type TaskLimit,
  type TaskState,
  type TaskStatus,
  type TaskStatusReason,
  terminationMessage,
} from '../wire/index.js';
import { type ProbeContext, type ProbeSpec, runProbe } from './check-probes.js';
import {
  emptyCheckStatus,
  type ProbeOutcome,
  recoveredCheckStatus,
  recoveredHealthState,
} from './check-rules.js';
import type { Checkpoint, CheckpointedRun, RunAddress } from './checkpoint.js';
import { drainGracePeriodNs, drainingStatus, refusedWhileDraining } from './drain.js';
import type { ExecutorClaims } from './executor-token.js';
import type { UriFetcher } from './fetcher.js';
import { readBootId } from './process-identity.js';
import { recoverRuns, sandboxPath } from './recovery.js';
import { makeSandbox, SpareSandbox } from './spare-sandbox.js';
import { deliverStatus } from './status-delivery.js';
import type { StatusUpdateManager } from './status-update-manager.js';
import { startTaskChecks, type TaskChecks } from './task-checks.js';
import { giveToUser, type HostUser, runAsUser, switchUserTo, taskUserName } from './task-user.js';
import { containerVolumes, linkVolumes, persistentVolumes } from './volumes.js';

/** Completed tasks the agent keeps for `/state` (200 per executor in Mesos). */
const MAX_COMPLETED_TASKS = 1000;
/** Who enters a recovered task whose user the host no longer has: the least of users. */
const UNKNOWN_USER: HostUser = { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' };
/**
 * Unacknowledged updates past which a task's check and health results are not
 * queued: a framework that has not acknowledged this many is not listening, and
 * the queue (bounded by the status update manager) must keep room for the
 * task's terminal update. Results are reported again once it catches up.
 */
const MAX_QUEUED_CHECK_UPDATES = 100;

/** Where a task group's task runs: under its executor, in a container nested in the executor's. */
export interface GroupPlacement {
  readonly executorIdValue: string;
  readonly executorContainerIdValue: string;
}

/** --recover: re-attach to what the previous agent left running, or kill it. */
export type RecoverMode = 'reconnect' | 'cleanup';

export interface TaskRun {
  /** Where the run's checkpoint (and the container's runtime records) live. */
  readonly address: RunAddress;
  readonly frameworkId: FrameworkID;
  readonly frameworkInfo: FrameworkInfo;
  readonly task: TaskInfo;
  readonly containerIdValue: string;
  readonly sandbox: string;
  state: TaskState;
  container: Container | undefined;
  isKillRequested: boolean;
  killTimer: Timer | undefined;
  /**
   * When SIGTERM went and when SIGKILL is due: a later KILL may only bring SIGKILL forward.
   * On the monotonic clock: a kill's deadlines live in this process alone (a restarted agent
   * starts the escalation again), and a wall clock stepped back would hold SIGKILL off, or
   * stepped forward bring a shortened one forward, by the jump.
   */
  killWindow: { readonly startedAtMs: number; readonly deadlineMs: number } | undefined;
  /** The grace period of a kill that arrived before the container existed. */
  pendingKillGraceMs: number | undefined;
  /** The last update sent: check and health updates repeat it with their news. */
  lastStatus: TaskStatus | undefined;
  /** The task's health check and check, while they run. */
  checks: TaskChecks | undefined;
  /** Killed for failing its health check: its terminal update says `healthy: false`. */
  isKilledByHealthCheck: boolean;
  /** Aborts the fetch of the task's URIs while it runs (a kill, the agent stopping). */
  fetching: AbortController | undefined;
  /** The host user the task runs as (--switch_user); undefined: the agent's own. */
  user?: HostUser;
}

export interface TaskRunsOptions {
  readonly workDir: string;
  readonly containerizer: Containerizer;
  /** Fetches each task's CommandInfo.uris into its sandbox before it starts. */
  readonly fetcher: UriFetcher;
  readonly checkpoint: Checkpoint;
  readonly updates: StatusUpdateManager;
  readonly clock: Clock;
  /** --executor_secret_key: signs the token each container gets (executor-token.ts). */
  readonly executorToken?: (claims: ExecutorClaims) => string;
  readonly log: Logger;
  /** --switch_user: run each task as its user (taskUserName), which must exist. */
  readonly switchUser?: boolean;
  /** Finds a host user by name (/etc/passwd by default; tests replace it). */
  readonly lookupUser?: (name: string) => HostUser | undefined;
  readonly killGracePeriodMs: number;
  readonly recover: RecoverMode;
  readonly agentId: () => string | undefined;
  /** `host:port` executors reach the agent at (MESOS_AGENT_ENDPOINT). */
  readonly endpoint: () => string;
  /** The master's DRAIN while it lasts: kills capped, new tasks refused, statuses marked. */
  readonly drain: () => DrainConfig | undefined;
  /**
   * A run was retired (its end acknowledged): its sandbox may be garbage-collected,
   * and the agent's drain ends once none is left.
   */
  readonly retired: (run: TaskRun) => void;
  /** A run reached a terminal state (the task groups' supervisor kills the rest of a group). */
  readonly terminated?: (run: TaskRun) => void;
  /** Runs a check's probe for a task (tests replace it); runProbe by default. */
  readonly probe?: (
    spec: ProbeSpec,
    context: ProbeContext,
    signal: AbortSignal,
  ) => Promise<ProbeOutcome>;
}

export class TaskRuns {
  private readonly runs = new Map<string, TaskRun>();
  /** The next command task's sandbox directories, made ahead (spare-sandbox.ts). */
  private readonly spareSandbox: SpareSandbox;
  /** runs/latest links being made, by runs/ directory: each waits for the one before. */
  private readonly latestLinks = new Map<string, Promise<void>>();
  private readonly completed: TaskRun[] = [];
  /** The agent process is leaving its tasks running (detachAll): it reports nothing more. */
  private isDetached = false;
  /** process.env as the first launch found it (agentEnvironment). */
  private agentEnvironmentCopy: Readonly<Record<string, string>> | undefined;

  constructor(private readonly options: TaskRunsOptions) {
    // Beside slaves/, on the same file system; nothing scans the work dir's top level.
    this.spareSandbox = new SpareSandbox(join(options.workDir, 'spare-sandboxes'));
  }

  /** Resolves once no spare sandbox and no runs/latest link is being made. */
  async settled(): Promise<void> {
    await Promise.all([this.spareSandbox.settled(), ...this.latestLinks.values()]);
  }

  /** What the agent holds, for its SUBSCRIBE: every run not retired, in its latest state. */
  held(): AgentTask[] {
    return [...this.runs.values()].map((run) => ({
      framework_id: run.frameworkId,
      framework_info: run.frameworkInfo,
      task: run.task,
      state: run.state,
    }));
  }

  /** The run whose container has this id and is still running, if any. */
  byContainer(containerIdValue: string): TaskRun | undefined {
    for (const run of this.runs.values())
      if (run.containerIdValue === containerIdValue && !isTerminalState(run.state)) return run;
    return undefined;
  }

  get active(): readonly TaskRun[] {
    return [...this.runs.values()];
  }

  /** Runs not yet retired (a terminal one waits for its acknowledgement). */
  get size(): number {
    return this.runs.size;
  }

  get finished(): readonly TaskRun[] {
    return this.completed;
  }

  usage(): { readonly run: TaskRun; readonly statistics: ResourceStatistics }[] {
    return [...this.runs.values()].flatMap((run) =>
      run.container === undefined || isTerminalState(run.state)
        ? []
        : [{ run, statistics: run.container.usage() }],
    );
  }

  // ------------------------------------------------------------------ launch

  /**
   * Runs a command task: sandbox, STARTING, container, RUNNING, and a terminal state when it
   * ends. With `group`, the task is one of a task group's: its container is nested in the
   * group executor's (id `<executor container>.<task container>`, sandbox under the
   * executor's `containers/`), as Mesos' default executor lays them out.
   */
  async launch(
    frameworkInfo: FrameworkInfo,
    task: TaskInfo,
    group?: GroupPlacement,
  ): Promise<void> {
    const frameworkId = frameworkInfo.id;
    const agentIdValue = this.options.agentId();
    if (frameworkId === undefined || agentIdValue === undefined) return;
    const key = runKey(frameworkId.value, task.task_id.value);
    if (this.runs.has(key)) return; // a duplicate RUN_TASK
    if (this.options.drain() !== undefined) {
      this.refuseWhileDraining(frameworkInfo, task, agentIdValue);
      return;
    }
    const containerIdValue =
      group === undefined ? randomUUID() : `${group.executorContainerIdValue}.${randomUUID()}`;
    const address: RunAddress = {
      agentIdValue,
      frameworkIdValue: frameworkId.value,
      executorIdValue: group?.executorIdValue ?? task.task_id.value,
      containerIdValue,
      taskIdValue: task.task_id.value,
    };
    const sandbox = sandboxPath(this.options.workDir, address);
    const run: TaskRun = {
      address,
      frameworkId,
      frameworkInfo,
      task,
      containerIdValue,
      sandbox,
      state: 'TASK_STAGING',
      container: undefined,
      isKillRequested: false,
      killTimer: undefined,
      killWindow: undefined,
      pendingKillGraceMs: undefined,
      lastStatus: undefined,
      checks: undefined,
      isKilledByHealthCheck: false,
      fetching: undefined,
    };
    this.runs.set(key, run);
    // The start of the agent's part of a launch, for a task's timeline (bench/docker-steps.ts).
    this.options.log.debug({ task_id: task.task_id.value }, 'task launch received');
    // Before the checkpoint and the sandbox: what the containerizer can start now (the
    // cgroup lock's grace period, 5-20 ms) then runs alongside them.
    this.options.containerizer.willLaunch?.(task.container);
    try {
      // Recorded before anything runs, so a crash from here on leaves a trace to recover.
      this.options.checkpoint.launched(address, frameworkInfo, task);
      // Without a spare, made in the thread pool: on the event loop, a burst of launches
      // (an offer's worth) held every update and exit behind its 3-5 new inodes each, at
      // 0.1-0.5 ms apiece on a disk that freed many lately (bench/RESULTS.md, #13).
      if (!this.spareSandbox.take(sandbox)) await makeSandbox(sandbox);
      run.user = this.switchTo(task, frameworkInfo, sandbox);
    } catch (error) {
      this.report(run, 'TASK_FAILED', {
        source: 'SOURCE_AGENT',
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
        message: `Failed to prepare the sandbox: ${(error as Error).message}`,
      });
      return;
    }
    // Killed while the sandbox was made: never started, as a kill during the fetch.
    if (run.isKillRequested) {
      this.reportKilledBeforeDelivery(run);
      return;
    }
    const uris = task.command?.uris ?? [];
    if (uris.length > 0 && !(await this.fetch(run, uris))) return;
    let container: Container;
    // Reported once the containerizer has told its launcher to fork (onLaunching), not
    // before: with a new cgroup that is after its directories are made, and a report in
    // between (a checkpoint write and a POST on the event loop) delayed the line to the
    // launcher. A containerizer that never says so gets it when its launch settles. A
    // crash before it is recorded leaves the TaskInfo (the first line of task.updates)
    // and, at most, a running container, which a restarted agent re-attaches (RUNNING).
    let isStartingReported = false;
    const reportStarting = () => {
      if (isStartingReported) return;
      isStartingReported = true;
      this.report(run, 'TASK_STARTING');
      this.pointLatest(run, group);
    };
    try {
      // Fetched as root; Mesos' fetcher runs as the task's user, so the files are theirs.
      if (uris.length > 0 && run.user !== undefined) giveToUser(sandbox, run.user);
      // A container mounts them itself (-v, bind mounts); else they are links in the sandbox.
      const mountsVolumes = this.options.containerizer.mountsVolumes?.(task.container) === true;
      const volumes = [
        ...persistentVolumes(this.options.workDir, task.resources ?? []),
        ...containerVolumes(
          task.container,
          {
            sandbox,
            parentSandbox:
              group === undefined
                ? undefined
                : sandboxPath(this.options.workDir, {
                    ...address,
                    containerIdValue: group.executorContainerIdValue,
                  }),
          },
          mountsVolumes,
          run.user,
        ),
      ];
      if (!mountsVolumes) linkVolumes(sandbox, volumes);
      this.options.log.debug({ task_id: task.task_id.value }, 'task sandbox ready');
      const launching = this.options.containerizer.launch({
        onLaunching: reportStarting,
        containerId: containerIdValue,
        sandbox,
        runtimeDir: this.options.checkpoint.runDir(address),
        command: task.command ?? {},
        environment: this.environment(run, agentIdValue),
        resources: Resources.fromWire(task.resources ?? []),
        ...(task.limits !== undefined ? { limits: resourceLimits(task.limits) } : {}),
        ...(task.container !== undefined ? { container: task.container } : {}),
        owner: {
          agentId: agentIdValue,
          frameworkId: frameworkId.value,
          taskId: task.task_id.value,
        },
        volumes,
        ...(run.user !== undefined ? { user: run.user } : {}),
      });
      container = await launching;
      reportStarting();
    } catch (error) {
      reportStarting();
      this.report(run, 'TASK_FAILED', {
        source: 'SOURCE_AGENT',
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
        message: `Failed to launch: ${(error as Error).message}`,
      });
      return;
    }
    this.attach(run, container);
    // The next launches' sandbox and checkpoint directories, made in the thread pool.
    void this.spareSandbox.refill();
    this.options.checkpoint.prepareSpareRuns();
    this.report(run, 'TASK_RUNNING', {
      containerStatus: {
        container_id: mintContainerId(containerIdValue),
        // 0: not known yet (a Docker container's), left out as Mesos leaves out what it lacks.
        ...(container.pid > 0 ? { executor_pid: container.pid } : {}),
      },
    });
    if (run.isKillRequested)
      this.signalKill(run, run.pendingKillGraceMs ?? this.options.killGracePeriodMs);
    else this.startChecks(run, this.options.clock.now(), []);
    this.options.log.info(
      { framework_id: frameworkId.value, task_id: task.task_id.value, pid: container.pid, sandbox },
      'task started',
    );
  }

  /**
   * `runs/latest` to the new run, beside TASK_STARTING: after the fork's line to the
   * launcher, but before a Docker container's create and start have been answered (~0.2 s),
   * so that the output pumps `agora run` starts at STARTING find the (still empty) files
   * instead of a 404 each. Only browsing (`/files`, `agora run`'s output, which retries a
   * 404) reads it, so it is made in the thread pool (a new inode, 0.1-0.5 ms on a disk that
   * freed many lately), in launch order for each runs/ directory. A failed launch's sandbox
   * is then the latest too, as in Mesos. A failure here is news for the log, not the task's
   * end.
   */
  private pointLatest(run: TaskRun, group: GroupPlacement | undefined): void {
    const [runsDir, target] =
      group === undefined
        ? [dirname(run.sandbox), run.containerIdValue]
        : [dirname(dirname(dirname(run.sandbox))), group.executorContainerIdValue];
    const pointed = (this.latestLinks.get(runsDir) ?? Promise.resolve())
      .then(() => pointLatestAt(runsDir, target))
      .catch((error: Error) =>
        this.options.log.warn(
          { err: error.message, task_id: run.task.task_id.value },
          'could not point runs/latest at the new run',
        ),
      )
      .finally(() => {
        if (this.latestLinks.get(runsDir) === pointed) this.latestLinks.delete(runsDir);
      });
    this.latestLinks.set(runsDir, pointed);
  }

  /** With --switch_user, the user the task runs as, its sandbox made theirs (task-user.ts). */
  private switchTo(task: TaskInfo, frameworkInfo: FrameworkInfo, sandbox: string) {
    return switchUserTo(taskUserName(task, frameworkInfo), sandbox, this.options);
  }

  /** A task that reached a draining agent is dropped at once (Mesos' sendTaskDroppedUpdate). */
  private refuseWhileDraining(frameworkInfo: FrameworkInfo, task: TaskInfo, agentIdValue: string) {
    const frameworkId = frameworkInfo.id;
    if (frameworkId === undefined) return;
    const state = refusedWhileDraining(isPartitionAware(frameworkInfo));
    this.options.log.warn(
      { framework_id: frameworkId.value, task_id: task.task_id.value, state },
      'task refused: the agent is draining',
    );
    // Never a run, so nothing to checkpoint: if the agent dies first, the master's
    // reconciliation finds the task unknown and reports it lost.
    this.options.updates.update(frameworkId, {
      task_id: task.task_id,
      state,
      source: 'SOURCE_AGENT',
      reason: 'REASON_AGENT_DRAINING',
      message: 'Task was received while agent was already draining',
      agent_id: mintAgentId(agentIdValue),
      timestamp: this.options.clock.now() / 1000,
      uuid: newStatusUuid(),
    });
  }

  /**
   * Fetches the task's URIs into its sandbox, as Mesos does before the
   * executor starts (the task stays STAGING meanwhile). False, with the task's
   * end reported, if the fetch failed (TASK_FAILED, the error in the message)
   * or a kill came first (TASK_KILLED before delivery, as Mesos reports it).
   */
  private async fetch(run: TaskRun, uris: readonly CommandURI[]): Promise<boolean> {
    const controller = new AbortController();
    run.fetching = controller;
    const diskMb = Resources.fromWire(run.task.resources ?? []).scalar('disk');
    let failure: string | undefined;
    try {
      await this.options.fetcher.fetch(uris, run.sandbox, {
        signal: controller.signal,
        ...(run.user !== undefined ? { user: run.user } : {}),
        // A task may not bring in more than the disk it was given.
        ...(diskMb > 0 ? { maxBytes: Math.floor(diskMb * 1024 * 1024) } : {}),
      });
    } catch (error) {
      failure = (error as Error).message;
    } finally {
      run.fetching = undefined;
    }
    if (run.isKillRequested) {
      this.reportKilledBeforeDelivery(run);
      return false;
    }
    if (failure === undefined) return true;
    this.options.log.warn(
      { task_id: run.task.task_id.value, err: failure },
      'task not started: fetching its URIs failed',
    );
    this.report(run, 'TASK_FAILED', {
      source: 'SOURCE_AGENT',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: `Failed to launch container: Failed to fetch all URIs for container '${run.containerIdValue}': ${failure}`,
    });
    return false;
  }

  /** A kill came before the task was started: TASK_KILLED, as Mesos reports it. */
  private reportKilledBeforeDelivery(run: TaskRun): void {
    this.report(run, 'TASK_KILLED', {
      source: 'SOURCE_AGENT',
      reason: 'REASON_TASK_KILLED_DURING_LAUNCH',
      message: 'Killed before delivery to the executor',
    });
  }

  /** Follows a container to its end, then reports the task's terminal state. */
  private attach(run: TaskRun, container: Container): void {
    run.container = container;
    void container.terminated.then((termination) => this.ended(run, termination));
  }

  private ended(run: TaskRun, termination: Termination): void {
    // Left for the next agent: it finds the end in the run's checkpoint and reports it.
    if (this.isDetached) return;
    run.killTimer?.cancel();
    run.checks?.stop();
    run.checks = undefined;
    if (isTerminalState(run.state)) return;
    const message = terminationMessage(termination);
    if (termination.limitation !== undefined)
      this.report(run, 'TASK_FAILED', {
        source: 'SOURCE_AGENT',
        reason: termination.limitation.reason,
        message: termination.limitation.message,
      });
    else if (run.isKillRequested)
      // Mesos' executors mark the end of a task their health check killed with
      // `healthy: false` and no particular reason (src/launcher/executor.cpp).
      this.report(run, 'TASK_KILLED', {
        message,
        ...(run.isKilledByHealthCheck ? { healthy: false } : {}),
      });
    else if (termination.isUnknown === true)
      this.report(run, 'TASK_FAILED', {
        source: 'SOURCE_AGENT',
        reason: 'REASON_EXECUTOR_TERMINATED',
        message: 'The task ended and nothing recorded how (its shim was killed)',
      });
    else if (termination.exitCode === 0) this.report(run, 'TASK_FINISHED', { message });
    else this.report(run, 'TASK_FAILED', { message });
    void this.cleanupContainer(run.containerIdValue);
  }

  /** Kills what is left in a container and removes its cgroups; a failure is for the log. */
  private async cleanupContainer(containerIdValue: string): Promise<void> {
    await this.options.containerizer
      .cleanup(containerIdValue)
      .catch((error: unknown) =>
        this.options.log.warn(
          { err: (error as Error).message, container_id: containerIdValue },
          'container cleanup failed',
        ),
      );
  }

  /**
   * The task's environment: the agent's own (as Mesos' executors inherit it
   * unless --executor_environment_variables says otherwise), the MESOS_*
   * variables executors see (WIRE §5), and the task's own, which win.
   */
  environment(run: TaskRun, agentIdValue: string): Record<string, string> {
    // A container gets only what Mesos gives it: the agent's environment is the host's.
    const env: Record<string, string> =
      isDockerContainer(run.task.container) || hasImage(run.task.container)
        ? {}
        : { ...this.agentEnvironment() };
    const endpoint = this.options.endpoint();
    Object.assign(env, {
      MESOS_FRAMEWORK_ID: run.frameworkId.value,
      MESOS_EXECUTOR_ID: run.address.executorIdValue,
      MESOS_TASK_ID: run.task.task_id.value,
      MESOS_SANDBOX: run.sandbox,
      MESOS_DIRECTORY: run.sandbox,
      MESOS_SLAVE_ID: agentIdValue,
      MESOS_AGENT_ENDPOINT: endpoint,
      MESOS_SLAVE_PID: `slave(1)@${endpoint}`,
      MESOS_CHECKPOINT: isCheckpointing(run.frameworkInfo) ? '1' : '0',
      MESOS_ALLOCATION_ROLE:
        run.task.resources?.find((r) => r.allocation_info !== undefined)?.allocation_info?.role ??
        '*',
    });
    addCommandEnvironment(env, run.task.command);
    // After the task's own: a framework cannot hand its task another container's token.
    const token = this.options.executorToken?.({
      cid: run.containerIdValue,
      fid: run.frameworkId.value,
      eid: run.address.executorIdValue,
    });
    if (token !== undefined) env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN = token;
    return env;
  }

  /**
   * The agent's own environment, read once: process.env is a proxy over the C library's
   * environment, and copying it cost ~37 µs of CPU per launch, a copy of this copy 0.2 µs.
   * The agent does not change its environment once it runs.
   */
  private agentEnvironment(): Readonly<Record<string, string>> {
    if (this.agentEnvironmentCopy === undefined) {
      const copy: Record<string, string> = {};
      for (const [name, value] of Object.entries(process.env))
        if (value !== undefined) copy[name] = value;
      this.agentEnvironmentCopy = copy;
    }
    return this.agentEnvironmentCopy;
  }

  // ------------------------------------------------------------------ checks

  /**
   * Starts the task's health check and check, if it has any. `updates` are the
   * run's updates before an agent restart, which tell where checking had got to.
   */
  private startChecks(run: TaskRun, startedAtMs: number, updates: readonly TaskStatus[]): void {
    const { task } = run;
    const container = run.container;
    const agentIdValue = this.options.agentId() ?? run.address.agentIdValue;
    if (container === undefined || (task.health_check === undefined && task.check === undefined))
      return;
    const context = {
      sandbox: run.sandbox,
      environment: this.environment(run, agentIdValue),
      cgroupProcsFiles: container.cgroupProcsFiles,
      // Checks run in the container, as Mesos runs them in the task's namespaces: a Docker
      // one's by docker exec, an image's or a bind-mounting task's in its mount namespace,
      // any other's in its cgroups (what enter gives, or joinArgv where it gives nothing).
      enter: (argv: readonly string[]) =>
        this.options.containerizer.enter(run.containerIdValue, argv, run.user),
      // A Docker container's over the Engine API, with no `docker exec` client per probe.
      exec: (argv: readonly string[], signal: AbortSignal, outputPath: string) =>
        this.options.containerizer.exec?.(run.containerIdValue, argv, { signal, outputPath }),
    };
    run.checks = startTaskChecks({
      task,
      clock: this.options.clock,
      log: this.options.log,
      startedAtMs,
      ...(updates.length > 0 && task.health_check !== undefined
        ? { health: recoveredHealthState(updates, startedAtMs) }
        : {}),
      ...(updates.length > 0 && task.check?.type !== undefined
        ? { checkStatus: recoveredCheckStatus(task.check.type, updates) }
        : {}),
      hooks: {
        probe: (spec, signal) => (this.options.probe ?? runProbe)(spec, context, signal),
        reportHealth: (healthy) =>
          this.reportCheckNews(run, { reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', healthy }),
        reportCheck: (checkStatus) =>
          this.reportCheckNews(run, {
            reason: 'REASON_TASK_CHECK_STATUS_UPDATED',
            check_status: checkStatus,
          }),
        kill: () => {
          run.isKilledByHealthCheck = true;
          this.kill(run.frameworkId.value, task.task_id.value);
        },
      },
    });
  }

  /**
   * A health or check result: the last update again, with a new uuid and time
   * and the news, so that neither kind hides the other (a check update carries
   * the last `healthy`, a health update the last `check_status`), as Mesos'
   * executors send them. Nothing once the task is being killed.
   */
  private reportCheckNews(
    run: TaskRun,
    news:
      | { readonly reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED'; readonly healthy: boolean }
      | {
          readonly reason: 'REASON_TASK_CHECK_STATUS_UPDATED';
          readonly check_status: CheckStatusInfo;
        },
  ): void {
    const last = run.lastStatus;
    if (run.isKillRequested || run.state !== 'TASK_RUNNING' || last === undefined) return;
    const queued = this.options.updates.queuedCount(run.frameworkId.value, run.task.task_id.value);
    if (queued >= MAX_QUEUED_CHECK_UPDATES) {
      this.options.log.warn(
        { task_id: run.task.task_id.value, queued },
        'check result not reported: the framework is not acknowledging updates',
      );
      return;
    }
    this.send(run, {
      ...last,
      ...news,
      uuid: newStatusUuid(),
      timestamp: this.options.clock.now() / 1000,
    });
  }

  // -------------------------------------------------------------------- kill

  /**
   * KILL: SIGTERM, then SIGKILL after the grace period: the KILL's, else the
   * task's kill policy's, else 3 s, as Mesos' command executor does. A repeated
   * KILL can only bring SIGKILL forward, never put it off.
   */
  kill(frameworkIdValue: string, taskIdValue: string, gracePeriodNs?: number): void {
    const run = this.runs.get(runKey(frameworkIdValue, taskIdValue));
    if (run === undefined || isTerminalState(run.state)) return;
    const policyNs = gracePeriodNs ?? run.task.kill_policy?.grace_period?.nanoseconds;
    const graceMs =
      policyNs === undefined
        ? (run.container?.killGracePeriodMs ?? this.options.killGracePeriodMs)
        : policyNs / 1e6;
    if (run.isKillRequested) {
      this.shortenKill(run, graceMs);
      return;
    }
    this.requestKill(run);
    run.checks?.stop();
    run.checks = undefined;
    run.fetching?.abort(new Error('killed while fetching'));
    if (run.container === undefined) {
      // launch() kills it as soon as it exists
      run.pendingKillGraceMs = graceMs;
      return;
    }
    if (run.frameworkInfo.capabilities?.some((c) => c.type === 'TASK_KILLING_STATE'))
      this.report(run, 'TASK_KILLING');
    this.signalKill(run, graceMs);
    this.options.log.info(
      { framework_id: frameworkIdValue, task_id: taskIdValue, grace_ms: graceMs },
      'killing task',
    );
  }

  /** SHUTDOWN_FRAMEWORK: its tasks are killed, and nobody will acknowledge their updates. */
  shutdownFramework(frameworkIdValue: string): void {
    for (const run of this.runs.values())
      if (run.frameworkId.value === frameworkIdValue)
        this.kill(frameworkIdValue, run.task.task_id.value);
    this.options.updates.dropFramework(frameworkIdValue);
    for (const run of [...this.runs.values()])
      if (run.frameworkId.value === frameworkIdValue && isTerminalState(run.state))
        this.retire(run);
  }

  /** DRAIN: every live task is killed, its grace period capped by the drain's. */
  drainAll(config: DrainConfig): void {
    for (const run of [...this.runs.values()])
      if (!isTerminalState(run.state))
        this.kill(
          run.frameworkId.value,
          run.task.task_id.value,
          drainGracePeriodNs(config, run.task.kill_policy?.grace_period?.nanoseconds),
        );
  }

  /**
   * The master removed the agent for good (it reported the tasks already):
   * every run's checkpoint goes, and nothing is resent. Call after killAll.
   */
  forgetAll(): void {
    for (const run of this.runs.values()) {
      try {
        this.options.checkpoint.remove(run.address);
      } catch (error) {
        this.options.log.warn(
          { err: (error as Error).message, task_id: run.task.task_id.value },
          'could not remove a run checkpoint',
        );
      }
    }
    this.runs.clear();
  }

  /**
   * Marks the run as being killed, on disk first: the SIGTERM it is about to get must read,
   * to an agent restarted before the task ends, as a kill (TASK_KILLED), not a failure.
   */
  private requestKill(run: TaskRun): void {
    run.isKillRequested = true;
    try {
      this.options.checkpoint.killRequested(run.address, {
        isHealthCheck: run.isKilledByHealthCheck,
      });
    } catch (error) {
      this.options.log.warn(
        { err: (error as Error).message, task_id: run.task.task_id.value },
        'could not checkpoint a kill; a restarted agent would report its end as a failure',
      );
    }
  }

  private signalKill(run: TaskRun, graceMs: number): void {
    const container = run.container;
    if (container === undefined) return;
    container.signal('SIGTERM');
    const nowMs = this.options.clock.monotonicMs();
    run.killWindow = { startedAtMs: nowMs, deadlineMs: nowMs + graceMs };
    this.armSigkill(run, container, graceMs);
  }

  private armSigkill(run: TaskRun, container: Container, delayMs: number): void {
    run.killTimer?.cancel();
    run.killTimer = this.options.clock.setTimeout(() => container.signal('SIGKILL'), delayMs);
  }

  /**
   * A KILL for a task already being killed: a shorter grace period (counted from
   * the first SIGTERM) brings SIGKILL forward; a longer one changes nothing.
   */
  private shortenKill(run: TaskRun, graceMs: number): void {
    const container = run.container;
    const window = run.killWindow;
    if (container === undefined) {
      run.pendingKillGraceMs = Math.min(run.pendingKillGraceMs ?? graceMs, graceMs);
      return;
    }
    if (window === undefined) {
      // Re-attached mid-kill after an agent restart: the SIGKILL timer died with the
      // previous agent, so this KILL starts the escalation again.
      this.signalKill(run, graceMs);
      return;
    }
    const deadlineMs = window.startedAtMs + graceMs;
    if (deadlineMs >= window.deadlineMs) return;
    run.killWindow = { startedAtMs: window.startedAtMs, deadlineMs };
    this.armSigkill(run, container, Math.max(0, deadlineMs - this.options.clock.monotonicMs()));
    this.options.log.info(
      { task_id: run.task.task_id.value, grace_ms: graceMs },
      'kill grace period shortened',
    );
  }

  /**
   * The agent process is going and its tasks stay (Mesos' agent on SIGTERM): timers stop,
   * a fetch in progress is abandoned, and nothing is reported or cleaned up from now on,
   * so the checkpoint reads exactly as a killed agent's would and the next agent re-attaches.
   */
  detachAll(): void {
    this.isDetached = true;
    for (const run of this.runs.values()) {
      run.killTimer?.cancel();
      run.checks?.stop();
      run.checks = undefined;
      run.fetching?.abort(new Error('the agent is stopping'));
    }
  }

  /** Kills every task and waits for them to die: nothing outlives a stopped agent. */
  async killAll(): Promise<void> {
    const dying: Promise<unknown>[] = [];
    for (const run of this.runs.values()) {
      if (!isTerminalState(run.state) && !run.isKillRequested) this.requestKill(run);
      run.checks?.stop();
      run.checks = undefined;
      run.fetching?.abort(new Error('the agent is stopping'));
      if (run.container === undefined) continue;
      this.signalKill(run, this.options.killGracePeriodMs);
      dying.push(run.container.terminated);
    }
    await Promise.all(dying);
    for (const run of this.runs.values()) run.killTimer?.cancel();
  }

  // ----------------------------------------------------------------- updates

  private report(
    run: TaskRun,
    state: TaskState,
    extra: {
      readonly source?: TaskStatus['source'];
      readonly reason?: TaskStatusReason;
      readonly message?: string;
      readonly containerStatus?: TaskStatus['container_status'];
      readonly healthy?: boolean;
    } = {},
  ): void {
    if (this.isDetached) return;
    let reason = extra.reason;
    const drain = this.options.drain();
    if (drain !== undefined)
      ({ state, reason } = drainingStatus(
        drain,
        state,
        reason,
        isPartitionAware(run.frameworkInfo),
      ));
    run.state = state;
    const checkType = run.task.check?.type;
    const source = extra.source ?? 'SOURCE_EXECUTOR';
    const status: TaskStatus = {
      task_id: run.task.task_id,
      state,
      source,
      ...(reason !== undefined ? { reason } : {}),
      ...(extra.message !== undefined ? { message: extra.message } : {}),
      agent_id: mintAgentId(this.options.agentId() ?? run.address.agentIdValue),
      executor_id: mintExecutorId(run.address.executorIdValue),
      timestamp: this.options.clock.now() / 1000,
      uuid: newStatusUuid(),
      container_status: extra.containerStatus ?? {
        container_id: mintContainerId(run.containerIdValue),
      },
      ...(extra.healthy !== undefined ? { healthy: extra.healthy } : {}),
      // A task with a check carries a check status in every update its executor sends, empty
      // until a result (docs/health-checks.md); updates made from scratch have no result.
      // The agent's own (a failed launch) have none, as in Mesos.
      ...(checkType !== undefined && checkType !== 'UNKNOWN' && source === 'SOURCE_EXECUTOR'
        ? { check_status: emptyCheckStatus(checkType) }
        : {}),
    };
    if (isTerminalState(state)) run.killTimer?.cancel();
    this.send(run, status);
    if (isTerminalState(state)) this.options.terminated?.(run);
  }

  /** Checkpointed first, then queued for delivery: a restart resends what was not acknowledged. */
  private send(run: TaskRun, status: TaskStatus): void {
    run.lastStatus = status;
    deliverStatus(this.options, run.address, run.frameworkId, status);
  }

  /** The framework acknowledged an update: recorded; the task retires once its end is acknowledged. */
  acknowledged(frameworkIdValue: string, taskIdValue: string, uuid: string): void {
    const acked = this.options.updates.acknowledge(frameworkIdValue, taskIdValue, uuid);
    this.options.log.debug(
      {
        framework_id: frameworkIdValue,
        task_id: taskIdValue,
        uuid,
        is_pending: acked !== undefined,
      },
      'status update acknowledged',
    );
    const run = this.runs.get(runKey(frameworkIdValue, taskIdValue));
    if (acked === undefined || run === undefined) return;
    // Recorded before anything else, the terminal one too: the run's records go in the
    // background, and an agent killed before they are gone must not resend an update the
    // framework acknowledged (recovery retires such a run: adopt()).
    try {
      this.options.checkpoint.acknowledged(run.address, uuid);
    } catch (error) {
      this.options.log.warn(
        { err: (error as Error).message, task_id: taskIdValue },
        'could not checkpoint an acknowledgement; a restarted agent resends that update',
      );
    }
    if (isTerminalState(acked.status.state)) this.retire(run);
  }

  /** The terminal update was acknowledged: the run's records go, the task moves to the completed list. */
  private retire(run: TaskRun): void {
    this.runs.delete(runKey(run.frameworkId.value, run.task.task_id.value));
    this.options.checkpoint
      .removeInBackground(run.address)
      .catch((error: unknown) =>
        this.options.log.warn(
          { err: (error as Error).message, task_id: run.task.task_id.value },
          'could not remove the checkpoint of a finished task',
        ),
      );
    this.completed.push(run);
    if (this.completed.length > MAX_COMPLETED_TASKS) this.completed.shift();
    this.options.retired(run);
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Runs of the agent's previous life, before it registers (the subscription
   * lists them, so the master does not take them for tasks the agent forgot).
   * Updates the framework had not acknowledged are queued again, in order.
   */
  async recover(
    custom?: CustomExecutorRecovery,
    others: readonly KnownContainer[] = [],
  ): Promise<ReadonlyMap<string, Container | Termination>> {
    const { checkpoint, containerizer, log, clock } = this.options;
    const runs = checkpoint.runs();
    checkpoint.sweepTrash();
    // The first launches' directories, made ahead while the agent registers.
    checkpoint.prepareSpareRuns();
    void this.spareSandbox.refill();
    const bootId = readBootId();
    const previousBootId = checkpoint.readBootId();
    const isSameBoot =
      previousBootId === undefined || bootId === undefined || previousBootId === bootId;
    const keep = (run: CheckpointedRun) =>
      isSameBoot &&
      this.options.recover === 'reconnect' &&
      run.task !== undefined &&
      (run.frameworkInfo === undefined || isCheckpointing(run.frameworkInfo));
    const kept = runs.filter(keep);
    // Tasks of a framework's own executor are that executor's to recover (executors.ts);
    // those not reconnected are cleaned up below like any run.
    const reconnecting = kept.filter((run) => !isCustomExecutorTask(run.task));
    const handedOver = kept.filter((run) => isCustomExecutorTask(run.task));
    // Every run the host may still hold is known to the containerizer, so that none of
    // them is taken for a stray; those not reconnected are killed below.
    // A custom executor's tasks share its container: it is known once.
    const known = new Map<string, KnownContainer>();
    for (const run of isSameBoot ? runs : [])
      if (run.task !== undefined && !known.has(run.address.containerIdValue))
        known.set(run.address.containerIdValue, {
          containerId: run.address.containerIdValue,
          runtimeDir: checkpoint.runDir(run.address),
          sandbox: sandboxPath(this.options.workDir, run.address),
          resources: Resources.fromWire([
            ...(run.task.resources ?? []),
            ...(isCustomExecutorTask(run.task) ? (run.task.executor?.resources ?? []) : []),
          ]),
          ...(run.task.container !== undefined ? { container: run.task.container } : {}),
        });
    // `others` (standalone containers) in the same call: the containerizer sweeps what none explains.
    const found = await containerizer.recover([...known.values(), ...others]);
    for (const run of reconnecting) {
      const task = run.task;
      if (task === undefined) continue;
      const taskRun = this.adopt(
        run,
        run.frameworkInfo ?? { user: '', name: '', id: run.frameworkId },
        task,
      );
      if (taskRun === undefined || isTerminalState(taskRun.state)) {
        // It ended in the previous life, which may have died before its container's cleanup
        // was done (cgroups half removed): finished here, else no one would, the container
        // being known and so no stray.
        await this.cleanupContainer(run.address.containerIdValue);
        continue;
      }
      const outcome = found.get(run.address.containerIdValue);
      if (outcome !== undefined && 'pid' in outcome) {
        this.attach(taskRun, outcome);
        // The previous life died between the fork and its TASK_RUNNING: the task runs.
        if (taskRun.state === 'TASK_STAGING' || taskRun.state === 'TASK_STARTING')
          this.report(taskRun, 'TASK_RUNNING', {
            containerStatus: {
              container_id: mintContainerId(taskRun.containerIdValue),
              ...(outcome.pid > 0 ? { executor_pid: outcome.pid } : {}),
            },
          });
        // A kill under way when the previous life died: its SIGKILL timer died with it.
        if (taskRun.isKillRequested) this.signalKill(taskRun, this.options.killGracePeriodMs);
        else {
          const running = run.updates.find((u) => u.state === 'TASK_RUNNING');
          const startedAtMs =
            running?.timestamp === undefined ? clock.now() : running.timestamp * 1000;
          this.startChecks(taskRun, startedAtMs, run.updates);
        }
        log.info(
          { task_id: task.task_id.value, container_id: taskRun.containerIdValue, pid: outcome.pid },
          'task of the previous run re-attached',
        );
      } else if (!isTerminalState(taskRun.state))
        this.ended(taskRun, outcome ?? { exitCode: null, signal: null, isUnknown: true });
    }
    if (handedOver.length > 0) await custom?.(handedOver, found);
    // What is not reconnected is killed and reported failed (--recover=cleanup, a framework
    // without checkpointing, a reboot), as the stop-gap of #7 did for every run.
    const cleaned = recoverRuns({
      workDir: this.options.workDir,
      runs: runs.filter((run) => !keep(run)),
      isSameBoot,
      agentIdValue: this.options.agentId(),
      nowSec: this.options.clock.now() / 1000,
    });
    for (const { run, frameworkInfo, task, status, plan, isNewStatus, killErrors } of cleaned) {
      for (const error of killErrors)
        log.error({ err: error }, 'could not kill a leftover process');
      // Its cgroup may hold what left the task's group: killed with it, and removed.
      const leftover = found.get(run.address.containerIdValue);
      if (leftover !== undefined && 'pid' in leftover) leftover.signal('SIGKILL');
      await containerizer.cleanup(run.address.containerIdValue);
      log.info(
        {
          task_id: task.task_id.value,
          container_id: run.address.containerIdValue,
          outcome: plan.kind,
        },
        'task of the previous run cleaned up',
      );
      const taskRun = this.adopt(run, frameworkInfo, task);
      if (taskRun !== undefined && isNewStatus) {
        taskRun.state = status.state;
        this.send(taskRun, status);
      }
    }
    if (bootId !== undefined && bootId !== previousBootId) checkpoint.writeBootId(bootId);
    return found;
  }

  /** A run of the previous life, back in the books with its unacknowledged updates queued. */
  private adopt(
    run: CheckpointedRun,
    frameworkInfo: FrameworkInfo,
    task: TaskInfo,
  ): TaskRun | undefined {
    for (const unreadable of run.unreadable)
      this.options.log.warn({ err: unreadable }, 'checkpoint unreadable; recovering what it can');
    const key = runKey(run.frameworkId.value, task.task_id.value);
    if (this.runs.has(key)) {
      // The task id was reused while an update of its earlier run was unacknowledged:
      // one report per task id is all the framework can take.
      this.options.log.warn(
        { task_id: task.task_id.value, container_id: run.address.containerIdValue },
        'second run of a task dropped',
      );
      this.options.checkpoint.remove(run.address);
      return undefined;
    }
    const taskRun: TaskRun = {
      address: run.address,
      frameworkId: run.frameworkId,
      frameworkInfo,
      task,
      containerIdValue: run.address.containerIdValue,
      sandbox: sandboxPath(this.options.workDir, run.address),
      state: run.updates.at(-1)?.state ?? 'TASK_STAGING',
      container: undefined,
      isKillRequested:
        run.kill !== undefined || run.updates.some((u) => u.state === 'TASK_KILLING'),
      killTimer: undefined,
      killWindow: undefined,
      pendingKillGraceMs: undefined,
      lastStatus: run.updates.at(-1),
      checks: undefined,
      isKilledByHealthCheck: run.kill?.isHealthCheck === true,
      fetching: undefined,
    };
    // What enters the task (checks, sessions, nested containers) runs as the task did.
    try {
      const user = runAsUser(taskUserName(task, frameworkInfo), this.options);
      if (user !== undefined) taskRun.user = user;
    } catch (error) {
      this.options.log.warn(
        { err: (error as Error).message, task_id: task.task_id.value },
        "the task's user is gone: what enters its container runs as nobody",
      );
      taskRun.user = UNKNOWN_USER;
    }
    this.runs.set(key, taskRun);
    const pending = run.updates.filter((u) => !run.acknowledged.has(u.uuid ?? ''));
    // Its end was acknowledged, and the previous life died before removing its records.
    if (isTerminalState(taskRun.state) && pending.length === 0) {
      this.retire(taskRun);
      return undefined;
    }
    this.options.updates.recover(run.frameworkId, pending);
    return taskRun;
  }
}

/** Hands a custom executor's checkpointed runs over, with what the containerizer found. */
export type CustomExecutorRecovery = (
  runs: readonly CheckpointedRun[],
  found: ReadonlyMap<string, Container | Termination>,
) => Promise<void> | void;

/** A task that runs under its framework's own executor, not as a command or group task. */
export function isCustomExecutorTask(task: TaskInfo | undefined): boolean {
  return task?.executor !== undefined && task.executor.type !== 'DEFAULT';
}

/**
 * Whether a framework's tasks survive an agent restart. Mesos defaults
 * FrameworkInfo.checkpoint to false; Agora checkpoints unless a framework says
 * it does not want it (#9: "with checkpointing (the default)").
 */
export function isCheckpointing(info: FrameworkInfo): boolean {
  return info.checkpoint !== false;
}

function isPartitionAware(info: FrameworkInfo): boolean {
  return info.capabilities?.some((c) => c.type === 'PARTITION_AWARE') ?? false;
}

function runKey(frameworkIdValue: string, taskIdValue: string): string {
  return `${frameworkIdValue}\u0000${taskIdValue}`;
}

/**
 * `runs/latest` names the newest run; replaced atomically so readers never see it missing.
 * A command task's runs/ is new and has none: the link is made in place, one system call.
 */
async function pointLatestAt(runsDir: string, containerIdValue: string): Promise<void> {
  try {
    await symlink(containerIdValue, join(runsDir, 'latest'));
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const temporary = join(runsDir, `.latest-${containerIdValue}-${randomUUID()}`);
  await symlink(containerIdValue, temporary);
  await rename(temporary, join(runsDir, 'latest'));
}

/**
 * A task's `limits` (validated by the master: cpus and mem, at least the requests) in the
 * containerizer's terms; 'Infinity' is no limit.
 */
export function resourceLimits(limits: NonNullable<TaskInfo['limits']>): ResourceLimits {
  const value = (limit: TaskLimit | undefined) =>
    limit === undefined ? undefined : limit === 'Infinity' ? Number.POSITIVE_INFINITY : limit;
  const cpus = value(limits.cpus);
  const memMb = value(limits.mem);
  return { ...(cpus !== undefined ? { cpus } : {}), ...(memMb !== undefined ? { memMb } : {}) };
}
