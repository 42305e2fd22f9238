// Long file: the agent's registration, task runs and endpoints in one class, until the
// agent issue (#9) splits out the executor, checkpoints and the operator API.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Container } from '../containerizer/index.js';
import { parseAttributes, Resources, summarize, summarizeAttributes } from '../resources/index.js';
import {
  Cleanup,
  HttpServer,
  type Logger,
  sendEmpty,
  sendJson,
  type Timer,
} from '../runtime/index.js';
import { baseUrl } from '../sdk/index.js';
import {
  AGORA_VERSION,
  type AgentCall,
  type AgentEvent,
  type AgentID,
  type AgentInfo,
  type AgentTask,
  type Attribute,
  assertNever,
  type DrainConfig,
  type FrameworkID,
  type FrameworkInfo,
  isTerminalState,
  type MasterInfo,
  MESOS_API_VERSION,
  agentId as mintAgentId,
  containerId as mintContainerId,
  executorId as mintExecutorId,
  newStatusUuid,
  parseResources,
  type Resource,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
  type TaskStatusReason,
  terminationMessage,
} from '../wire/index.js';
import { Checkpoint, type RunAddress } from './checkpoint.js';
import { drainGracePeriodNs, drainingStatus, refusedWhileDraining } from './drain.js';
import { routeFiles } from './files.js';
import { agentResources } from './host-resources.js';
import { MasterLink } from './master-link.js';
import { AGENT_DEFAULTS, type AgentOptions } from './options.js';
import { readBootId, readStat } from './process-identity.js';
import { recoverRuns, sandboxPath } from './recovery.js';
import { StatusUpdateManager } from './status-update-manager.js';

/** Completed tasks the agent keeps for `/state` (200 per executor in Mesos). */
const MAX_COMPLETED_TASKS = 1000;

interface TaskRun {
  /** Where the run's checkpoint lives (meta/slaves/<agent>/frameworks/…). */
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
}

/**
 * The agent: registers with the master over a connection it opens, runs each
 * task as a process in its own sandbox (acting as Mesos' built-in command
 * executor), and delivers every status update reliably.
 */
export class Agent {
  private readonly log: Logger;
  private readonly http: HttpServer;
  private readonly cleanup = new Cleanup();
  private readonly updates: StatusUpdateManager;
  private readonly checkpoint: Checkpoint;
  private readonly runs = new Map<string, TaskRun>();
  private readonly completed: TaskRun[] = [];
  private link: MasterLink | undefined;
  private agentIdValue: string | undefined;
  private masterInfo: MasterInfo | undefined;
  private info: AgentInfo | undefined;
  private total: Resources | undefined;
  private attributes: Attribute[] = [];
  /** Dynamic reservations the master asked this agent to keep (CHECKPOINT_RESOURCES). */
  private checkpointedResources: readonly Resource[] = [];
  private endpoint = '';
  private readonly startTimeSec: number;
  /** The master's DRAIN, checkpointed: kills capped, new tasks refused, until no run is left. */
  private drainConfig: DrainConfig | undefined;
  private isShuttingDown = false;
  private resolveTerminated: (reason: string) => void = () => {};
  /**
   * Resolves, with the master's reason, once the master told the agent to
   * shut down (it was marked gone, or its machine went DOWN) and its tasks
   * are dead. The daemon then exits, as a Mesos agent does.
   */
  readonly terminated: Promise<string>;

  constructor(readonly options: AgentOptions) {
    this.terminated = new Promise((resolve) => {
      this.resolveTerminated = resolve;
    });
    this.log = options.logger;
    this.checkpoint = new Checkpoint(options.workDir);
    this.startTimeSec = options.clock.now() / 1000;
    this.updates = new StatusUpdateManager({
      clock: options.clock,
      send: (update) => this.forward(update.frameworkId, update.status),
      ...(options.statusUpdateRetryMs !== undefined
        ? { retryInitialMs: options.statusUpdateRetryMs }
        : {}),
    });
    this.http = new HttpServer({ logger: options.logger, delegate: '/slave(1)' });
    routeFiles(this.http, {
      slavesDir: join(options.workDir, 'slaves'),
      agentDir: () =>
        this.agentIdValue === undefined
          ? undefined
          : join(options.workDir, 'slaves', this.agentIdValue),
    });
    this.http.route(['GET'], '/slave(1)/health', (_request, response) => sendEmpty(response, 200));
    this.http.route(['GET'], '/slave(1)/state', (request, response) =>
      sendJson(response, 200, this.state(), request),
    );
    this.http.route(['GET'], '/slave(1)/state.json', (request, response) =>
      sendJson(response, 200, this.state(), request),
    );
    this.http.route(['GET'], '/slave(1)/flags', (request, response) =>
      sendJson(response, 200, { flags: options.flags ?? {} }, request),
    );
    this.http.route(['GET'], '/version', (request, response) =>
      sendJson(
        response,
        200,
        { version: MESOS_API_VERSION, agora_version: AGORA_VERSION },
        request,
      ),
    );
    this.http.route(['GET'], '/metrics/snapshot', (request, response) =>
      sendJson(response, 200, this.metrics(), request),
    );
  }

  /** Listens, then starts registering with the master. Resolves with the agent's URL. */
  async start(): Promise<string> {
    const { workDir, clock } = this.options;
    mkdirSync(join(workDir, 'slaves'), { recursive: true });
    mkdirSync(join(workDir, 'meta'), { recursive: true });
    this.agentIdValue = this.recoverAgentId();
    this.checkpointedResources = this.recoverCheckpointedResources();
    this.drainConfig = this.recoverDrainConfig();
    this.recoverPreviousRuns();
    this.total = agentResources(workDir, this.options.resources);
    this.attributes =
      this.options.attributes === undefined ? [] : parseAttributes(this.options.attributes);

    const address = await this.http.listen(this.options.ip, this.options.port);
    this.cleanup.defer(() => this.http.close());
    const isWildcard = address.address === '0.0.0.0' || address.address === '::';
    const ip = this.options.advertiseIp ?? (isWildcard ? '127.0.0.1' : address.address);
    this.endpoint = `${ip}:${address.port}`;
    this.info = {
      hostname: this.options.hostname ?? ip,
      port: address.port,
      resources: this.total.toWire('post-refinement'),
      ...(this.attributes.length > 0 ? { attributes: this.attributes } : {}),
      ...(this.options.domain !== undefined ? { domain: this.options.domain } : {}),
    };

    this.cleanup.defer(() => this.killAll());
    this.cleanup.defer(() => this.updates.stop());
    const link = new MasterLink({
      master: baseUrl(this.options.master),
      clock,
      logger: this.log,
      random: this.options.random ?? Math.random,
      backoffInitialMs: AGENT_DEFAULTS.registrationBackoffInitialMs,
      backoffMaxMs:
        this.options.registrationBackoffMaxMs ?? AGENT_DEFAULTS.registrationBackoffMaxMs,
      subscribeCall: () => this.subscribeCall(),
      onSubscribed: (id, master) => this.subscribed(id, master),
      onEvent: (event) => this.handle(event),
      onDisconnected: () => {
        this.updates.disconnected();
        this.log.warn({ agent_id: this.agentIdValue }, 'disconnected from master');
      },
    });
    this.link = link;
    link.start();
    this.cleanup.defer(() => link.stop());
    const url = `http://${this.endpoint}`;
    this.log.info({ url, ip, port: address.port, resources: this.total.toString() }, 'listening');
    return url;
  }

  /**
   * Stops talking to the master, kills every task (SIGTERM, then SIGKILL after
   * the grace period), and closes the server. Idempotent.
   */
  async stop(): Promise<void> {
    await this.cleanup.run();
    this.log.info({ agent_id: this.agentIdValue }, 'stopped');
  }

  get agentId(): string | undefined {
    return this.agentIdValue;
  }

  // ------------------------------------------------------------- registration

  private recoverAgentId(): string | undefined {
    try {
      const id = readFileSync(join(this.options.workDir, 'meta', 'agent_id'), 'utf8').trim();
      return id === '' ? undefined : id;
    } catch {
      return undefined;
    }
  }

  private recoverCheckpointedResources(): readonly Resource[] {
    try {
      return parseResources(
        JSON.parse(readFileSync(join(this.options.workDir, 'meta', 'resources.json'), 'utf8')),
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.error(
          { err: (error as Error).message },
          'checkpointed resources unreadable; ignored',
        );
      return [];
    }
  }

  private recoverDrainConfig(): DrainConfig | undefined {
    try {
      return JSON.parse(readFileSync(this.metaPath('drain_config.json'), 'utf8')) as DrainConfig;
    } catch {
      // Not draining; an unreadable file is the master's to repeat (it resends DRAIN).
      return undefined;
    }
  }

  private metaPath(name: string): string {
    return join(this.options.workDir, 'meta', name);
  }

  /**
   * Runs of the agent's previous life (it crashed, or was killed, with tasks
   * running): what is left of them is killed, and each task is reported failed
   * (or, if it had ended, as it ended) through the status update manager, so
   * the framework learns it once the agent has registered. Before registering:
   * the subscription lists these tasks in their final state, so the master does
   * not take them for tasks the agent forgot.
   */
  private recoverPreviousRuns(): void {
    const runs = this.checkpoint.runs();
    const bootId = readBootId();
    const previousBootId = this.checkpoint.readBootId();
    if (runs.length > 0) {
      const recovered = recoverRuns({
        workDir: this.options.workDir,
        runs,
        // Without a record (a work dir from before boot ids were kept) the start
        // times still guard against killing a stranger.
        isSameBoot:
          previousBootId === undefined || bootId === undefined || previousBootId === bootId,
        agentIdValue: this.agentIdValue,
        nowSec: this.options.clock.now() / 1000,
      });
      for (const {
        run,
        frameworkInfo,
        task,
        sandbox,
        status,
        plan,
        isNewStatus,
        killErrors,
      } of recovered) {
        const log = this.log.child({
          framework_id: run.frameworkId.value,
          task_id: task.task_id.value,
        });
        for (const unreadable of run.unreadable)
          log.warn({ err: unreadable }, 'checkpoint unreadable; recovering what it can');
        for (const error of killErrors)
          log.error({ err: error }, 'could not kill a leftover process');
        log.info(
          {
            container_id: run.address.containerIdValue,
            outcome: plan.kind,
            ...(plan.kind === 'kill' ? { process_group: plan.group, pids: plan.pids } : {}),
            state: status.state,
          },
          'task of the previous run recovered',
        );
        const key = runKey(run.frameworkId.value, task.task_id.value);
        if (this.runs.has(key)) {
          // The task id was reused while an update of its earlier run was unacknowledged:
          // one report per task id is all the framework can take; both runs are dead.
          log.warn({ container_id: run.address.containerIdValue }, 'second run of a task dropped');
          this.checkpoint.remove(run.address);
          continue;
        }
        const taskRun: TaskRun = {
          address: run.address,
          frameworkId: run.frameworkId,
          frameworkInfo,
          task,
          containerIdValue: run.address.containerIdValue,
          sandbox,
          state: status.state,
          container: undefined,
          isKillRequested: false,
          killTimer: undefined,
        };
        this.runs.set(key, taskRun);
        if (isNewStatus) this.checkpointTerminal(taskRun, status);
        this.updates.update(run.frameworkId, status);
      }
    }
    if (bootId !== undefined && bootId !== previousBootId) this.checkpoint.writeBootId(bootId);
  }

  /** Keeps the dynamic reservations across restarts: written atomically, reported on every subscription. */
  private checkpointResources(resources: readonly Resource[]): void {
    const path = join(this.options.workDir, 'meta', 'resources.json');
    writeFileSync(`${path}.tmp`, JSON.stringify(resources));
    renameSync(`${path}.tmp`, path);
    this.checkpointedResources = resources;
    this.log.info(
      { resources: Resources.fromWire(resources).toString() },
      'resources checkpointed',
    );
  }

  private subscribeCall(): AgentCall {
    const info = this.info;
    if (info === undefined) throw new Error('agent not started');
    const tasks: AgentTask[] = [...this.runs.values()].map((run) => ({
      framework_id: run.frameworkId,
      framework_info: run.frameworkInfo,
      task: run.task,
      state: run.state,
    }));
    return {
      type: 'SUBSCRIBE',
      ...(this.agentIdValue !== undefined ? { agent_id: mintAgentId(this.agentIdValue) } : {}),
      subscribe: {
        agent_info: info,
        version: MESOS_API_VERSION,
        tasks,
        ...(this.checkpointedResources.length > 0
          ? { checkpointed_resources: this.checkpointedResources }
          : {}),
      },
    };
  }

  private subscribed(id: AgentID, master: MasterInfo): void {
    if (this.agentIdValue !== id.value) {
      this.agentIdValue = id.value;
      // Written atomically: a torn id file would make the agent a stranger to the master.
      const path = join(this.options.workDir, 'meta', 'agent_id');
      writeFileSync(`${path}.tmp`, id.value);
      renameSync(`${path}.tmp`, path);
    }
    this.masterInfo = master;
    this.log.info({ agent_id: id.value, master: master.pid }, 'registered with master');
    this.updates.connected();
  }

  private handle(event: AgentEvent): void {
    switch (event.type) {
      case 'RUN_TASK':
        void this.runTask(event.run_task.framework_info, event.run_task.task);
        return;
      case 'KILL_TASK':
        this.killTask(
          event.kill_task.framework_id.value,
          event.kill_task.task_id.value,
          event.kill_task.kill_policy?.grace_period?.nanoseconds,
        );
        return;
      case 'ACKNOWLEDGE': {
        const { framework_id, task_id, uuid } = event.acknowledge;
        const acked = this.updates.acknowledge(framework_id.value, task_id.value, uuid);
        if (acked !== undefined && isTerminalState(acked.status.state))
          this.retire(framework_id.value, task_id.value);
        return;
      }
      case 'SHUTDOWN_FRAMEWORK': {
        const frameworkIdValue = event.shutdown_framework.framework_id.value;
        for (const run of this.runs.values())
          if (run.frameworkId.value === frameworkIdValue)
            this.killTask(frameworkIdValue, run.task.task_id.value);
        this.updates.dropFramework(frameworkIdValue);
        // Nobody will acknowledge what was dropped: runs that already ended are done with.
        for (const run of [...this.runs.values()])
          if (run.frameworkId.value === frameworkIdValue && isTerminalState(run.state))
            this.retire(frameworkIdValue, run.task.task_id.value);
        return;
      }
      case 'CHECKPOINT_RESOURCES':
        this.checkpointResources(event.checkpoint_resources.resources);
        return;
      case 'DRAIN':
        this.drain(event.drain.config);
        return;
      case 'SHUTDOWN':
        void this.shutdown(event.shutdown.message);
        return;
      case 'SUBSCRIBED':
      case 'HEARTBEAT':
      case 'PING': // the master link answers it
      case 'ERROR':
        return;
      default:
        assertNever(event);
    }
  }

  // ----------------------------------------------------------- drain, shutdown

  /**
   * DRAIN: every task is killed, its grace period capped by the drain's, and
   * tasks sent from now on are refused, until no run is left. Sent again when
   * the agent re-registers; an agent with nothing to drain is drained already.
   */
  private drain(config: DrainConfig): void {
    if (this.runs.size === 0) {
      this.log.info({ agent_id: this.agentIdValue }, 'nothing to drain');
      return;
    }
    this.drainConfig = config;
    writeAtomically(this.metaPath('drain_config.json'), JSON.stringify(config));
    this.log.info({ agent_id: this.agentIdValue, tasks: this.runs.size }, 'draining');
    for (const run of [...this.runs.values()]) {
      if (isTerminalState(run.state)) continue;
      this.killTask(
        run.frameworkId.value,
        run.task.task_id.value,
        drainGracePeriodNs(config, run.task.kill_policy?.grace_period?.nanoseconds),
      );
    }
  }

  /** The last run is gone: the drain is over on this side (the master keeps the agent deactivated). */
  private drainDone(): void {
    if (this.drainConfig === undefined || this.runs.size > 0) return;
    this.drainConfig = undefined;
    rmSync(this.metaPath('drain_config.json'), { force: true });
    this.log.info({ agent_id: this.agentIdValue }, 'agent finished draining');
  }

  /**
   * SHUTDOWN: the master removed this agent for good. Its tasks are killed
   * and their checkpoints dropped (the master has reported them already), and
   * it forgets its id and reservations, so that if it is started again it
   * registers as a new agent. Then `terminated` resolves.
   */
  private async shutdown(message: string): Promise<void> {
    if (this.isShuttingDown) return;
    this.isShuttingDown = true;
    this.log.warn({ agent_id: this.agentIdValue, reason: message }, 'master shut the agent down');
    // No more registrations: with its id forgotten the link would register a new agent.
    await this.link?.stop();
    await this.killAll();
    this.updates.stop();
    for (const run of this.runs.values()) {
      try {
        this.checkpoint.remove(run.address);
      } catch (error) {
        this.log.warn({ err: (error as Error).message }, 'could not remove a run checkpoint');
      }
    }
    this.runs.clear();
    for (const name of ['agent_id', 'resources.json', 'drain_config.json'])
      rmSync(this.metaPath(name), { force: true });
    this.drainConfig = undefined;
    this.resolveTerminated(message);
  }

  // -------------------------------------------------------------------- tasks

  /** Runs a command task: sandbox, STARTING, process, RUNNING, and a terminal state when it ends. */
  private async runTask(frameworkInfo: FrameworkInfo, task: TaskInfo): Promise<void> {
    const frameworkId = frameworkInfo.id;
    const agentIdValue = this.agentIdValue;
    if (frameworkId === undefined || agentIdValue === undefined) return;
    const key = runKey(frameworkId.value, task.task_id.value);
    if (this.runs.has(key)) return; // a duplicate RUN_TASK
    if (this.drainConfig !== undefined) {
      this.refuseWhileDraining(frameworkInfo, task, agentIdValue);
      return;
    }
    const executorIdValue = task.task_id.value;
    const containerIdValue = randomUUID();
    const address: RunAddress = {
      agentIdValue,
      frameworkIdValue: frameworkId.value,
      executorIdValue,
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
    };
    this.runs.set(key, run);
    try {
      // Recorded before anything runs, so a crash from here on leaves a trace to clean up.
      this.checkpoint.launched(address, frameworkInfo, task);
    } catch (error) {
      this.report(run, 'TASK_FAILED', {
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
        message: `Failed to checkpoint the task: ${(error as Error).message}`,
      });
      return;
    }
    try {
      mkdirSync(sandbox, { recursive: true });
      pointLatestAt(dirname(sandbox), containerIdValue);
    } catch (error) {
      this.report(run, 'TASK_FAILED', {
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
        message: `Failed to create sandbox: ${(error as Error).message}`,
      });
      return;
    }
    this.report(run, 'TASK_STARTING');
    let container: Container;
    try {
      container = await this.options.containerizer.launch({
        containerId: containerIdValue,
        sandbox,
        command: task.command ?? {},
        environment: this.taskEnvironment(run, agentIdValue),
        resources: taskResources(task),
      });
    } catch (error) {
      this.report(run, 'TASK_FAILED', {
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
        message: `Failed to launch: ${(error as Error).message}`,
      });
      return;
    }
    run.container = container;
    this.checkpointForked(run, container.pid);
    this.report(run, 'TASK_RUNNING', {
      containerStatus: {
        container_id: mintContainerId(containerIdValue),
        executor_pid: container.pid,
      },
    });
    if (run.isKillRequested)
      this.signalKill(run, this.options.killGracePeriodMs ?? AGENT_DEFAULTS.killGracePeriodMs);
    this.log.info(
      { framework_id: frameworkId.value, task_id: task.task_id.value, pid: container.pid, sandbox },
      'task started',
    );

    const termination = await container.terminated;
    run.killTimer?.cancel();
    if (run.isKillRequested)
      this.report(run, 'TASK_KILLED', { message: terminationMessage(termination) });
    else if (termination.exitCode === 0)
      this.report(run, 'TASK_FINISHED', { message: terminationMessage(termination) });
    else this.report(run, 'TASK_FAILED', { message: terminationMessage(termination) });
  }

  /** A task that reached a draining agent is dropped at once (Mesos' sendTaskDroppedUpdate). */
  private refuseWhileDraining(frameworkInfo: FrameworkInfo, task: TaskInfo, agentIdValue: string) {
    const frameworkId = frameworkInfo.id;
    if (frameworkId === undefined) return;
    const state = refusedWhileDraining(isPartitionAware(frameworkInfo));
    this.log.warn(
      { framework_id: frameworkId.value, task_id: task.task_id.value, state },
      'task refused: the agent is draining',
    );
    this.updates.update(frameworkId, {
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
   * The task's environment: the agent's own (as Mesos' executors inherit it
   * unless --executor_environment_variables says otherwise), the MESOS_*
   * variables executors see (WIRE §5), and the task's own, which win.
   */
  private taskEnvironment(run: TaskRun, agentIdValue: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env))
      if (value !== undefined) env[name] = value;
    Object.assign(env, {
      MESOS_FRAMEWORK_ID: run.frameworkId.value,
      MESOS_EXECUTOR_ID: run.task.task_id.value,
      MESOS_TASK_ID: run.task.task_id.value,
      MESOS_SANDBOX: run.sandbox,
      MESOS_DIRECTORY: run.sandbox,
      MESOS_SLAVE_ID: agentIdValue,
      MESOS_AGENT_ENDPOINT: this.endpoint,
      MESOS_SLAVE_PID: `slave(1)@${this.endpoint}`,
      MESOS_CHECKPOINT: '0',
      MESOS_ALLOCATION_ROLE:
        run.task.resources?.find((r) => r.allocation_info !== undefined)?.allocation_info?.role ??
        '*',
    });
    for (const variable of run.task.command?.environment?.variables ?? [])
      if (variable.type !== 'SECRET') env[variable.name] = variable.value ?? '';
    return env;
  }

  /** KILL: SIGTERM, then SIGKILL after the grace period (the kill policy's, else 3 s). */
  private killTask(frameworkIdValue: string, taskIdValue: string, gracePeriodNs?: number): void {
    const run = this.runs.get(runKey(frameworkIdValue, taskIdValue));
    if (run === undefined || isTerminalState(run.state) || run.isKillRequested) return;
    run.isKillRequested = true;
    const policyNs = gracePeriodNs ?? run.task.kill_policy?.grace_period?.nanoseconds;
    const graceMs =
      policyNs === undefined
        ? (this.options.killGracePeriodMs ?? AGENT_DEFAULTS.killGracePeriodMs)
        : policyNs / 1e6;
    if (run.container === undefined) return; // runTask kills it as soon as it exists
    if (run.frameworkInfo.capabilities?.some((c) => c.type === 'TASK_KILLING_STATE'))
      this.report(run, 'TASK_KILLING');
    this.signalKill(run, graceMs);
    this.log.info(
      { framework_id: frameworkIdValue, task_id: taskIdValue, grace_ms: graceMs },
      'killing task',
    );
  }

  private signalKill(run: TaskRun, graceMs: number): void {
    const container = run.container;
    if (container === undefined) return;
    container.signal('SIGTERM');
    run.killTimer = this.options.clock.setTimeout(() => container.signal('SIGKILL'), graceMs);
  }

  /** Kills every task and waits for them to die: nothing outlives a stopped agent. */
  private async killAll(): Promise<void> {
    const dying: Promise<unknown>[] = [];
    for (const run of this.runs.values()) {
      run.isKillRequested = true;
      if (run.container === undefined) continue;
      this.signalKill(run, this.options.killGracePeriodMs ?? AGENT_DEFAULTS.killGracePeriodMs);
      dying.push(run.container.terminated);
    }
    await Promise.all(dying);
    for (const run of this.runs.values()) run.killTimer?.cancel();
  }

  private report(
    run: TaskRun,
    state: TaskState,
    extra: {
      readonly reason?: TaskStatusReason;
      readonly message?: string;
      readonly containerStatus?: TaskStatus['container_status'];
    } = {},
  ): void {
    let reason = extra.reason;
    if (this.drainConfig !== undefined)
      ({ state, reason } = drainingStatus(
        this.drainConfig,
        state,
        reason,
        isPartitionAware(run.frameworkInfo),
      ));
    run.state = state;
    const status: TaskStatus = {
      task_id: run.task.task_id,
      state,
      source: 'SOURCE_EXECUTOR',
      ...(reason !== undefined ? { reason } : {}),
      ...(extra.message !== undefined ? { message: extra.message } : {}),
      agent_id: mintAgentId(this.agentIdValue ?? ''),
      executor_id: mintExecutorId(run.task.task_id.value),
      timestamp: this.options.clock.now() / 1000,
      uuid: newStatusUuid(),
      container_status: extra.containerStatus ?? {
        container_id: mintContainerId(run.containerIdValue),
      },
    };
    if (isTerminalState(state)) {
      run.killTimer?.cancel();
      this.checkpointTerminal(run, status);
    }
    this.updates.update(run.frameworkId, status);
  }

  /**
   * The process (and group) a restarted agent must find. Read at once, while
   * the process cannot have been reaped yet: its start time tells it from a
   * later process given the same PID.
   */
  private checkpointForked(run: TaskRun, pid: number): void {
    const startTime = readStat(pid)?.startTime;
    if (startTime === undefined) return; // already dead: nothing of it can outlive the agent
    try {
      this.checkpoint.forked(run.address, pid, startTime);
    } catch (error) {
      this.log.error(
        { err: (error as Error).message, task_id: run.task.task_id.value, pid },
        'could not checkpoint the task process; a restarted agent may not find it',
      );
    }
  }

  private checkpointTerminal(run: TaskRun, status: TaskStatus): void {
    try {
      this.checkpoint.terminated(run.address, run.frameworkId, status);
    } catch (error) {
      this.log.error(
        { err: (error as Error).message, task_id: run.task.task_id.value },
        'could not checkpoint the terminal update; a restarted agent will report the task failed',
      );
    }
  }

  private forward(frameworkId: FrameworkID, status: TaskStatus): void {
    const link = this.link;
    if (link === undefined || !link.isConnected) return;
    link.sendUpdate({ framework_id: frameworkId, status }).catch((error: unknown) => {
      // The status update manager's timer resends it.
      this.log.debug(
        { err: (error as Error).message, task_id: status.task_id.value },
        'status update not delivered',
      );
    });
  }

  /** The terminal update was acknowledged: the task moves to the completed list. */
  private retire(frameworkIdValue: string, taskIdValue: string): void {
    const key = runKey(frameworkIdValue, taskIdValue);
    const run = this.runs.get(key);
    if (run === undefined) return;
    this.runs.delete(key);
    try {
      this.checkpoint.remove(run.address);
    } catch (error) {
      this.log.warn(
        { err: (error as Error).message, task_id: taskIdValue },
        'could not remove the checkpoint of a finished task',
      );
    }
    this.completed.push(run);
    if (this.completed.length > MAX_COMPLETED_TASKS) this.completed.shift();
    this.drainDone();
  }

  // ---------------------------------------------------------------- endpoints

  private state(): Record<string, unknown> {
    const frameworks = new Map<string, { info: FrameworkInfo; runs: TaskRun[]; done: TaskRun[] }>();
    const entry = (run: TaskRun) => {
      let framework = frameworks.get(run.frameworkId.value);
      if (framework === undefined) {
        framework = { info: run.frameworkInfo, runs: [], done: [] };
        frameworks.set(run.frameworkId.value, framework);
      }
      return framework;
    };
    for (const run of this.runs.values()) entry(run).runs.push(run);
    for (const run of this.completed) entry(run).done.push(run);
    const taskJson = (run: TaskRun) => ({
      id: run.task.task_id.value,
      name: run.task.name,
      framework_id: run.frameworkId.value,
      executor_id: run.task.task_id.value,
      slave_id: this.agentIdValue ?? '',
      state: run.state,
      resources: summarize(taskResources(run.task)),
    });
    return {
      version: MESOS_API_VERSION,
      agora_version: AGORA_VERSION,
      start_time: this.startTimeSec,
      id: this.agentIdValue ?? '',
      pid: `slave(1)@${this.endpoint}`,
      hostname: this.info?.hostname ?? '',
      ...(this.info?.domain !== undefined ? { domain: this.info.domain } : {}),
      ...(this.drainConfig !== undefined ? { drain_config: this.drainConfig } : {}),
      resources: this.total === undefined ? {} : summarize(this.total),
      attributes: summarizeAttributes(this.attributes),
      ...(this.masterInfo?.hostname !== undefined
        ? { master_hostname: this.masterInfo.hostname }
        : {}),
      flags: this.options.flags ?? {},
      frameworks: [...frameworks.entries()].map(([id, f]) => ({
        id,
        name: f.info.name,
        user: f.info.user,
        executors: [...f.runs, ...f.done].map((run) => ({
          id: run.task.task_id.value,
          name: `Command Executor (Task: ${run.task.task_id.value})`,
          source: run.task.task_id.value,
          container: run.containerIdValue,
          directory: run.sandbox,
          tasks: isTerminalState(run.state) ? [] : [taskJson(run)],
          completed_tasks: isTerminalState(run.state) ? [taskJson(run)] : [],
          queued_tasks: [],
        })),
      })),
      completed_frameworks: [],
    };
  }

  private metrics(): Record<string, number> {
    const states = [...this.runs.values()].map((r) => r.state);
    const count = (state: TaskState) => states.filter((s) => s === state).length;
    return {
      'slave/registered': this.link?.isConnected === true ? 1 : 0,
      'slave/uptime_secs': this.options.clock.now() / 1000 - this.startTimeSec,
      'slave/tasks_staging': count('TASK_STAGING'),
      'slave/tasks_starting': count('TASK_STARTING'),
      'slave/tasks_running': count('TASK_RUNNING'),
      'slave/tasks_killing': count('TASK_KILLING'),
      'slave/status_updates_pending': this.updates.pendingCount,
      'slave/cpus_total': this.total?.scalar('cpus') ?? 0,
      'slave/mem_total': this.total?.scalar('mem') ?? 0,
      'slave/disk_total': this.total?.scalar('disk') ?? 0,
    };
  }
}

function isPartitionAware(info: FrameworkInfo): boolean {
  return info.capabilities?.some((c) => c.type === 'PARTITION_AWARE') ?? false;
}

/** Written to a temporary name and renamed: a crash leaves the old file or the new, never half. */
function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function runKey(frameworkIdValue: string, taskIdValue: string): string {
  return `${frameworkIdValue}\u0000${taskIdValue}`;
}

/** The master validated these before sending RUN_TASK. */
function taskResources(task: TaskInfo): Resources {
  return Resources.fromWire(task.resources ?? []);
}

/** `runs/latest` names the newest run; replaced atomically so readers never see it missing. */
function pointLatestAt(runsDir: string, containerIdValue: string): void {
  const temporary = join(runsDir, `.latest-${containerIdValue}`);
  symlinkSync(containerIdValue, temporary);
  renameSync(temporary, join(runsDir, 'latest'));
}
