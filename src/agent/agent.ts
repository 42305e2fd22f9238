// Long file: the shell answers every agent event and endpoint; the work is in task-runs.ts.
// The agent's shell: it listens (sandbox files, state, metrics), registers with
// the master over a link it opens, and hands the master's commands to the task
// runs (task-runs.ts), which launch containers and report every status update
// through the status update manager.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAttributes, Resources, summarize, summarizeAttributes } from '../resources/index.js';
import {
  type Acls,
  basicAuthorization,
  Cleanup,
  HttpServer,
  isAuthorized,
  type Logger,
  PERMISSIVE_ACLS,
  type RegisteredRoute,
  requireAuthorized,
  schemeOf,
  sendEmpty,
  sendJson,
  visibilityFor,
} from '../runtime/index.js';
import { followLeader, request as httpRequest, isTlsEnabled } from '../sdk/index.js';
import {
  AGORA_VERSION,
  type AgentCall,
  type AgentEvent,
  type AgentID,
  type AgentInfo,
  type Attribute,
  assertNever,
  type DrainConfig,
  type ExecutorID,
  type FilesRequest,
  type FilesResponse,
  type FrameworkID,
  type FrameworkInfo,
  isTerminalState,
  limits,
  type MasterInfo,
  MESOS_API_VERSION,
  agentId as mintAgentId,
  executorId as mintExecutorId,
  frameworkId as mintFrameworkId,
  parseResources,
  type ReportShape,
  type Resource,
  reportIn,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
} from '../wire/index.js';
import { Checkpoint } from './checkpoint.js';
import { ContainerAcls, executorUser, isTaskShown } from './container-acls.js';
import { routeExecutorApi } from './executor-api.js';
import { type ExecutorClaims, signExecutorToken } from './executor-token.js';
import {
  DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS,
  Executors,
} from './executors.js';
import { DEFAULT_FETCHER_CACHE_SIZE_BYTES, Fetcher } from './fetcher.js';
import { routeFiles, SandboxFiles, type SandboxOwner } from './files.js';
import { agentResources } from './host-resources.js';
import { MasterLink } from './master-link.js';
import { type AgentView, routeAgentOperatorApi } from './operator-api.js';
import { AGENT_DEFAULTS, type AgentOptions } from './options.js';
import { AGENT_ROUTE_ACCESS } from './route-access.js';
import { GC_DEFAULTS, SandboxGc } from './sandbox-gc.js';
import { ContainerSessions, type NestedParent } from './sessions.js';
import { StandaloneContainers } from './standalone.js';
import { StatusUpdateManager } from './status-update-manager.js';
import { executorContainerOf, TaskGroups } from './task-groups.js';
import { isCustomExecutorTask, type TaskRun, TaskRuns } from './task-runs.js';
import { syncVolumes } from './volumes.js';

/** A relayed sandbox read is one local request: the master waits 10 s in all. */
const FILES_RELAY_TIMEOUT_MS = 8000;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The agent: registers with the master over a connection it opens, runs each
 * task as a process in its own sandbox (acting as Mesos' built-in command
 * executor), and delivers every status update reliably.
 */
export class Agent implements AgentView {
  private readonly log: Logger;
  private readonly http: HttpServer;
  private readonly cleanup = new Cleanup();
  /** detach(): the tasks stay when the agent goes. */
  private isDetaching = false;
  private readonly updates: StatusUpdateManager;
  private readonly checkpoint: Checkpoint;
  readonly runs: TaskRuns;
  /** Frameworks' own executors and their tasks. */
  readonly executors: Executors;
  /** The default executor's books: which task runs belong to which task group. */
  private readonly groups = new TaskGroups();
  /** EXECUTOR_EXITED calls the master has not taken yet: sent again once registered. */
  private readonly pendingExits: {
    readonly framework_id: FrameworkID;
    readonly executor_id: ExecutorID;
    readonly status: number;
  }[] = [];
  readonly files: SandboxFiles;
  readonly sessions: ContainerSessions;
  readonly standalone: StandaloneContainers;
  /** view_containers and the nested-container ACLs, by each container's executor user. */
  readonly containerAcls: ContainerAcls;
  /** --acls, or permissive ones. */
  readonly acls: Acls;
  private readonly fetcher: Fetcher;
  private readonly gc: SandboxGc;
  private link: MasterLink | undefined;
  private agentIdValue: string | undefined;
  private masterInfo: MasterInfo | undefined;
  private info: AgentInfo | undefined;
  private total: Resources | undefined;
  private attributes: Attribute[] = [];
  /** Dynamic reservations the master asked this agent to keep (CHECKPOINT_RESOURCES). */
  private checkpointedResources: readonly Resource[] = [];
  private endpoint = '';
  private selfUrl: URL | undefined;
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
    this.fetcher = new Fetcher({
      cacheDir: options.fetcherCacheDir ?? join(options.workDir, 'fetch'),
      cacheSizeBytes: options.fetcherCacheSizeBytes ?? DEFAULT_FETCHER_CACHE_SIZE_BYTES,
      log: options.logger,
    });
    this.gc = new SandboxGc({
      slavesDir: join(options.workDir, 'slaves'),
      workDir: options.workDir,
      gcDelayMs: options.gcDelayMs ?? GC_DEFAULTS.gcDelayMs,
      diskHeadroom: options.gcDiskHeadroom ?? GC_DEFAULTS.diskHeadroom,
      diskWatchIntervalMs: options.diskWatchIntervalMs ?? GC_DEFAULTS.diskWatchIntervalMs,
      clock: options.clock,
      log: options.logger,
    });
    this.runs = new TaskRuns({
      workDir: options.workDir,
      containerizer: options.containerizer,
      fetcher: this.fetcher,
      checkpoint: this.checkpoint,
      updates: this.updates,
      clock: options.clock,
      log: options.logger,
      ...(options.executorSecretKey !== undefined
        ? { executorToken: tokenSigner(options.executorSecretKey) }
        : {}),
      killGracePeriodMs: options.killGracePeriodMs ?? AGENT_DEFAULTS.killGracePeriodMs,
      switchUser: options.switchUser ?? true,
      recover: options.recover ?? 'reconnect',
      agentId: () => this.agentIdValue,
      endpoint: () => this.endpoint,
      drain: () => this.drainConfig,
      retired: (run) => {
        if (run.task.executor?.type === 'DEFAULT') {
          // A task group's sandboxes go with their executor's, once all its tasks retired.
          const parent = executorContainerOf(run.containerIdValue);
          if (this.groups.retired(parent, run.task.task_id.value))
            this.gc.retired(join(run.sandbox, '..', '..'));
        } else this.gc.retired(run.sandbox);
        this.drainDone();
      },
      terminated: (run) => this.groupTaskEnded(run),
    });
    this.executors = new Executors({
      workDir: options.workDir,
      switchUser: options.switchUser ?? true,
      containerizer: options.containerizer,
      fetcher: this.fetcher,
      checkpoint: this.checkpoint,
      updates: this.updates,
      clock: options.clock,
      log: options.logger,
      ...(options.executorSecretKey !== undefined
        ? { executorToken: tokenSigner(options.executorSecretKey) }
        : {}),
      agentId: () => this.agentIdValue,
      agentInfo: () => this.agentInfo(),
      endpoint: () => this.endpoint,
      registrationTimeoutMs:
        options.executorRegistrationTimeoutMs ?? DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
      reregistrationTimeoutMs:
        options.executorReregistrationTimeoutMs ?? DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
      shutdownGraceMs: options.executorShutdownGraceMs ?? DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS,
      enableCfs: options.enableCfs ?? false,
      exited: (frameworkId, executorIdValue, status) =>
        this.executorExited(frameworkId, mintExecutorId(executorIdValue), status),
      message: (frameworkId, executorIdValue, data) =>
        this.executorMessage(frameworkId, executorIdValue, data),
      retired: (sandbox) => {
        this.gc.retired(sandbox);
        this.drainDone();
      },
    });
    const acls = options.acls ?? PERMISSIVE_ACLS;
    this.acls = acls;
    this.http = new HttpServer({
      logger: options.logger,
      delegate: '/slave(1)',
      routeAccess: AGENT_ROUTE_ACCESS,
      ...(options.acls !== undefined
        ? {
            authorizeRoute: (principal: string | undefined, path: string) =>
              requireAuthorized(acls, 'get_endpoints', principal, path),
          }
        : {}),
      ...(options.authenticate !== undefined ? { authenticate: options.authenticate } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      ...(options.httpTimeouts !== undefined ? { timeouts: options.httpTimeouts } : {}),
    });
    this.files = new SandboxFiles({
      ...(options.acls !== undefined
        ? {
            mayAccess: (principal: string | undefined, owner: SandboxOwner | undefined) =>
              isAuthorized(
                acls,
                'access_sandboxes',
                principal,
                owner === undefined ? undefined : this.sandboxUser(owner),
              ),
          }
        : {}),
      slavesDir: join(options.workDir, 'slaves'),
      agentDir: () =>
        this.agentIdValue === undefined
          ? undefined
          : join(options.workDir, 'slaves', this.agentIdValue),
    });
    routeFiles(this.http, this.files);
    this.sessions = new ContainerSessions({
      containerizer: options.containerizer,
      files: this.files,
      // A nested container's parent: a task's container, or a standalone one.
      taskByContainer: (id) => this.runs.byContainer(id) ?? this.standalone.parent(id),
      environmentOf: (run) =>
        isTaskRun(run)
          ? this.runs.environment(run, this.agentIdValue ?? run.address.agentIdValue)
          : this.standalone.environmentOf(run.containerIdValue),
      runDirOf: (run) =>
        isTaskRun(run)
          ? this.checkpoint.runDir(run.address)
          : this.standalone.recordDir(run.containerIdValue),
    });
    this.standalone = new StandaloneContainers({
      containerizer: options.containerizer,
      workDir: options.workDir,
      switchUser: options.switchUser ?? true,
      ...(options.acls !== undefined ? { acls: options.acls } : {}),
      isIdTaken: (id) =>
        this.runs.byContainer(id) !== undefined ||
        this.sessions.running().some((nested) => nested.id.value === id),
    });
    this.containerAcls = new ContainerAcls({
      acls,
      userOf: (id) => {
        const run = this.runs.byContainer(id);
        return run !== undefined
          ? executorUser(run.task, run.frameworkInfo)
          : this.standalone.parent(id)?.user?.name;
      },
      parentOf: (id) => this.sessions.running().find((nested) => nested.id.value === id)?.id.parent,
    });
    routeAgentOperatorApi(this.http, this);
    routeExecutorApi(this.http, this.executors, options.logger, options.executorSecretKey);
    this.http.route(['GET'], '/slave(1)/health', (_request, response) => sendEmpty(response, 200));
    this.http.route(['GET'], '/slave(1)/state', (request, response) =>
      sendJson(response, 200, this.state(request.principal?.value), request),
    );
    this.http.route(['GET'], '/slave(1)/state.json', (request, response) =>
      sendJson(response, 200, this.state(request.principal?.value), request),
    );
    this.http.route(['GET'], '/slave(1)/flags', (request, response) => {
      requireAuthorized(acls, 'view_flags', request.principal?.value, undefined);
      sendJson(response, 200, { flags: options.flags ?? {} }, request);
    });
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
    this.http.route(['GET'], '/slave(1)/monitor/statistics', (request, response) =>
      sendJson(response, 200, this.statistics(request.principal?.value), request),
    );
    this.http.route(['GET'], '/slave(1)/monitor/statistics.json', (request, response) =>
      sendJson(response, 200, this.statistics(request.principal?.value), request),
    );
    // Mesos' /containers (what monitoring agents read): /monitor/statistics' entries with each
    // container's status; `?container_id=` narrows it to one. These three live under the
    // agent's process id as in Mesos (/slave(1)/monitor/statistics); the delegate serves them
    // at the root too.
    this.http.route(['GET'], '/slave(1)/containers', (request, response) => {
      const only = request.query.get('container_id');
      const entries = this.usage(request.principal?.value)
        .filter(({ entry }) => only === null || entry.container_id === only)
        .map(({ entry, pid }) => ({
          ...entry,
          status: {
            container_id: { value: entry.container_id },
            ...(pid !== undefined ? { executor_pid: pid } : {}),
          },
        }));
      sendJson(response, 200, entries, request);
    });
  }

  /** Every route this daemon serves (one entry per method), from its router. */
  routes(): RegisteredRoute[] {
    return this.http.registeredRoutes();
  }

  /** Listens, then starts registering with the master. Resolves with the agent's URL. */
  async start(): Promise<string> {
    const { workDir, clock } = this.options;
    mkdirSync(join(workDir, 'slaves'), { recursive: true });
    mkdirSync(join(workDir, 'meta'), { recursive: true });
    this.agentIdValue = this.recoverAgentId();
    this.checkpointedResources = this.recoverCheckpointedResources();
    this.drainConfig = this.recoverDrainConfig();
    this.log.info({ isolation: this.options.containerizer.description }, 'containerizer ready');
    this.cleanup.defer(() => this.options.containerizer.close());
    await this.fetcher.start();
    const standalone = this.standalone.known();
    const found = await this.runs.recover(
      (runs, found) => this.executors.recover(runs, found),
      standalone,
    );
    await this.standalone.recover(standalone, found);
    this.recoverGroups();
    this.sessions.recover([...this.runs.active, ...this.standalone.parents()]);
    // What no run holds any more is scheduled from its mtime: the schedule outlives restarts.
    // A task group's task holds its executor's run directory, where its own sandbox is.
    await this.gc.recover(
      new Set([
        ...this.runs.active.map((run) =>
          run.task.executor?.type === 'DEFAULT' ? join(run.sandbox, '..', '..') : run.sandbox,
        ),
        ...this.executors.active.map((run) => run.sandbox),
      ]),
    );
    this.gc.start();
    this.cleanup.defer(() => this.gc.stop());
    this.total = agentResources(workDir, this.options.resources);
    this.attributes =
      this.options.attributes === undefined ? [] : parseAttributes(this.options.attributes);

    const address = await this.http.listen(this.options.ip, this.options.port);
    this.cleanup.defer(() => this.http.close());
    const isWildcard = address.address === '0.0.0.0' || address.address === '::';
    const ip = this.options.advertiseIp ?? (isWildcard ? '127.0.0.1' : address.address);
    this.endpoint = `${ip}:${address.port}`;
    // Where relayed sandbox reads go: this agent's own endpoint, on an address it listens on.
    this.selfUrl = new URL(
      `${isTlsEnabled() ? 'https' : 'http'}://${isWildcard ? '127.0.0.1' : address.address}:${address.port}`,
    );
    this.executors.listening();
    this.info = {
      hostname: this.options.hostname ?? ip,
      port: address.port,
      resources: this.total.toWire('post-refinement'),
      ...(this.attributes.length > 0 ? { attributes: this.attributes } : {}),
      ...(this.options.domain !== undefined ? { domain: this.options.domain } : {}),
    };

    // Last: checkpoints of acknowledged runs still being removed in the thread pool, and
    // directories being made ahead.
    this.cleanup.defer(async () => {
      await Promise.all([this.checkpoint.settled(), this.runs.settled()]);
    });
    this.cleanup.defer(() => (this.isDetaching ? undefined : this.runs.killAll()));
    this.cleanup.defer(() => (this.isDetaching ? undefined : this.executors.killAll()));
    this.cleanup.defer(() => this.sessions.stop(this.isDetaching));
    this.cleanup.defer(() => this.standalone.stop(this.isDetaching));
    this.cleanup.defer(() => this.updates.stop());
    // Through a coordinator the leader is watched for the agent's whole life (one session).
    const leader = await followLeader(this.options.master);
    this.cleanup.defer(() => leader.close());
    const link = new MasterLink({
      locate: (signal) => leader.locate({ signal }),
      onLeaderChange: (listener) => leader.onLeaderChange(listener),
      clock,
      logger: this.log,
      random: this.options.random ?? Math.random,
      backoffInitialMs:
        this.options.registrationBackoffFactorMs ?? AGENT_DEFAULTS.registrationBackoffInitialMs,
      backoffMaxMs:
        this.options.registrationBackoffMaxMs ?? AGENT_DEFAULTS.registrationBackoffMaxMs,
      subscribeCall: (shape) => this.subscribeCall(shape),
      ...(this.options.masterCredential !== undefined
        ? { headers: { authorization: basicAuthorization(this.options.masterCredential) } }
        : {}),
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
    const url = `${schemeOf(this.options.tls)}://${this.endpoint}`;
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

  /**
   * Stops the agent and leaves its tasks and executors running, as Mesos' agent does when
   * its process is stopped (an upgrade, a restart; docs/agent-recovery.md): an agent started
   * again on the same work_dir re-attaches to them, as after a crash, and reports what
   * happened meanwhile. What it would have reported itself stays unsaid, for that agent.
   */
  async detach(): Promise<void> {
    if (!this.isDetaching) {
      this.isDetaching = true;
      this.runs.detachAll();
      this.executors.detachAll();
    }
    await this.cleanup.run();
    this.log.info(
      { agent_id: this.agentIdValue, tasks: this.runs.active.length },
      'stopped; tasks left running for the next agent on this work_dir',
    );
  }

  agentId(): string | undefined {
    return this.agentIdValue;
  }

  agentInfo(): AgentInfo | undefined {
    return this.info === undefined || this.agentIdValue === undefined
      ? this.info
      : { ...this.info, id: mintAgentId(this.agentIdValue) };
  }

  get flags(): Readonly<Record<string, string>> {
    return this.options.flags ?? {};
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

  /** Keeps the dynamic reservations across restarts: written atomically, reported on every subscription. */
  private checkpointResources(resources: readonly Resource[]): void {
    const path = join(this.options.workDir, 'meta', 'resources.json');
    writeFileSync(`${path}.tmp`, JSON.stringify(resources));
    renameSync(`${path}.tmp`, path);
    try {
      for (const removed of syncVolumes(
        this.options.workDir,
        this.checkpointedResources,
        resources,
      ))
        this.log.info({ path: removed }, 'persistent volume destroyed');
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'could not sync persistent volumes');
    }
    this.checkpointedResources = resources;
    this.log.info(
      { resources: Resources.fromWire(resources).toString() },
      'resources checkpointed',
    );
  }

  private subscribeCall(shape: ReportShape): AgentCall {
    const info = this.info;
    if (info === undefined) throw new Error('agent not started');
    const tasks = [...this.runs.held(), ...this.executors.held()];
    return {
      type: 'SUBSCRIBE',
      ...(this.agentIdValue !== undefined ? { agent_id: mintAgentId(this.agentIdValue) } : {}),
      subscribe: {
        agent_info: info,
        version: MESOS_API_VERSION,
        ...reportIn(shape, tasks),
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
    for (const exited of this.pendingExits.splice(0))
      this.executorExited(exited.framework_id, exited.executor_id, exited.status);
  }

  private handle(event: AgentEvent): void {
    switch (event.type) {
      case 'RUN_TASK': {
        const { framework_info, task } = event.run_task;
        if (isCustomExecutorTask(task)) void this.executors.launch(framework_info, task);
        else void this.runs.launch(framework_info, task);
        return;
      }
      case 'KILL_TASK': {
        const { framework_id, task_id, kill_policy } = event.kill_task;
        const graceNs = kill_policy?.grace_period?.nanoseconds;
        if (this.executors.hasTask(framework_id.value, task_id.value))
          this.executors.kill(framework_id.value, task_id.value, graceNs);
        else this.runs.kill(framework_id.value, task_id.value, graceNs);
        return;
      }
      case 'ACKNOWLEDGE': {
        const { framework_id, task_id, uuid } = event.acknowledge;
        if (this.executors.hasTask(framework_id.value, task_id.value))
          this.executors.acknowledged(framework_id.value, task_id.value, uuid);
        else this.runs.acknowledged(framework_id.value, task_id.value, uuid);
        return;
      }
      case 'SHUTDOWN_FRAMEWORK':
        this.runs.shutdownFramework(event.shutdown_framework.framework_id.value);
        this.executors.shutdownFramework(event.shutdown_framework.framework_id.value);
        return;
      case 'CHECKPOINT_RESOURCES':
        this.checkpointResources(event.checkpoint_resources.resources);
        return;
      case 'RUN_TASK_GROUP': {
        const { framework_info, executor, task_group } = event.run_task_group;
        this.launchGroup(framework_info, executor.executor_id, task_group.tasks);
        return;
      }
      case 'SHUTDOWN_EXECUTOR': {
        const { framework_id, executor_id } = event.shutdown_executor;
        if (this.groups.has(framework_id.value, executor_id.value))
          for (const taskIdValue of this.groups.liveTasks(framework_id.value, executor_id.value))
            this.runs.kill(framework_id.value, taskIdValue);
        else if (!this.executors.shutdownExecutor(framework_id.value, executor_id.value))
          this.log.info(
            { framework_id: framework_id.value, executor_id: executor_id.value },
            'shutdown of an executor this agent does not run; ignored',
          );
        return;
      }
      case 'FRAMEWORK_MESSAGE': {
        // MESSAGE is best effort (WIRE §2.1): nobody to tell, nothing kept.
        const { framework_id, executor_id, data } = event.framework_message;
        if (!this.executors.frameworkMessage(framework_id.value, executor_id.value, data))
          this.log.info(
            {
              framework_id: framework_id.value,
              executor_id: executor_id.value,
              bytes: data.length,
            },
            'framework message for an executor that is not subscribed here; dropped',
          );
        return;
      }
      case 'DRAIN':
        this.drain(event.drain.config);
        return;
      case 'SHUTDOWN':
        void this.shutdown(event.shutdown.message);
        return;
      case 'FILES_REQUEST':
        void this.answerFilesRequest(event.files_request);
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

  /**
   * A sandbox read the master relays for a client that cannot reach this agent
   * (behind NAT): run against this agent's own endpoint with the client's
   * credential, so every check of a direct request applies, and posted back.
   */
  private async answerFilesRequest(request: FilesRequest): Promise<void> {
    const { request_id } = request;
    let answer: FilesResponse;
    if (!/^\/files\/(read|browse)\?/.test(request.path) || this.selfUrl === undefined)
      answer = {
        request_id,
        status: 400,
        content_type: 'text/plain',
        body: 'only /files/read and /files/browse are relayed',
      };
    else
      try {
        const result = await httpRequest(new URL(request.path, this.selfUrl), {
          headers: {
            accept: 'application/json',
            ...(request.authorization === undefined
              ? {}
              : { authorization: request.authorization }),
          },
          signal: AbortSignal.timeout(FILES_RELAY_TIMEOUT_MS),
        });
        const contentType = result.headers['content-type'];
        const body = result.body.toString('utf8');
        answer =
          body.length > limits.MAX_DATA_LENGTH
            ? {
                request_id,
                status: 413,
                content_type: 'text/plain',
                body: `the answer is over ${limits.MAX_DATA_LENGTH} characters: ask for less`,
              }
            : {
                request_id,
                status: result.status,
                ...(typeof contentType === 'string' ? { content_type: contentType } : {}),
                body,
              };
      } catch (error) {
        answer = { request_id, status: 502, content_type: 'text/plain', body: describe(error) };
      }
    await this.link?.sendFilesResponse(answer).catch((error: unknown) => {
      this.log.debug({ err: describe(error), request_id }, 'relayed files answer not delivered');
    });
  }

  // ----------------------------------------------------------- drain, shutdown

  /**
   * DRAIN: every task is killed, its grace period capped by the drain's, and
   * tasks sent from now on are refused, until no run is left. Sent again when
   * the agent re-registers; an agent with nothing to drain is drained already.
   */
  private drain(config: DrainConfig): void {
    if (this.runs.size === 0 && this.executors.taskCount === 0) {
      this.log.info({ agent_id: this.agentIdValue }, 'nothing to drain');
      return;
    }
    this.drainConfig = config;
    writeAtomically(this.metaPath('drain_config.json'), JSON.stringify(config));
    this.log.info({ agent_id: this.agentIdValue, tasks: this.runs.size }, 'draining');
    this.runs.drainAll(config);
    this.executors.drainAll(config);
  }

  /** The last run is gone: the drain is over on this side (the master keeps the agent deactivated). */
  private drainDone(): void {
    if (this.drainConfig === undefined || this.runs.size > 0 || this.executors.taskCount > 0)
      return;
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
    await this.runs.killAll();
    this.updates.stop();
    this.runs.forgetAll();
    for (const name of ['agent_id', 'resources.json', 'drain_config.json'])
      rmSync(this.metaPath(name), { force: true });
    this.drainConfig = undefined;
    this.resolveTerminated(message);
  }

  // ------------------------------------------------------------ executors

  /**
   * LAUNCH_GROUP, run by the default executor inside the agent (task-groups.ts says why):
   * every task starts at once, each in a container nested in the group executor's.
   */
  private launchGroup(
    frameworkInfo: FrameworkInfo,
    executorId: ExecutorID,
    tasks: readonly TaskInfo[],
  ): void {
    const frameworkId = frameworkInfo.id;
    if (frameworkId === undefined) return;
    const executorContainerIdValue = this.groups.launched(
      frameworkId.value,
      executorId.value,
      tasks.map((task) => task.task_id.value),
    );
    this.log.info(
      {
        framework_id: frameworkId.value,
        executor_id: executorId.value,
        container_id: executorContainerIdValue,
        tasks: tasks.length,
      },
      'task group launching',
    );
    for (const task of tasks)
      void this.runs.launch(frameworkInfo, task, {
        executorIdValue: executorId.value,
        executorContainerIdValue,
      });
  }

  /** A task of a group ended: a failure kills the rest of its group; the last one ends the executor. */
  private groupTaskEnded(run: TaskRun): void {
    if (run.task.executor?.type !== 'DEFAULT') return;
    const decision = this.groups.terminated(
      executorContainerOf(run.containerIdValue),
      run.task.task_id.value,
      run.state,
    );
    for (const taskIdValue of decision.kill) {
      this.log.info(
        { task_id: taskIdValue, because_of: run.task.task_id.value, state: run.state },
        'killing the rest of a task group',
      );
      this.runs.kill(run.frameworkId.value, taskIdValue);
    }
    if (decision.hasExecutorExited)
      this.executorExited(run.frameworkId, mintExecutorId(run.address.executorIdValue), 0);
  }

  /** Task groups of the previous life, as recovery found their tasks. */
  private recoverGroups(): void {
    const { kill, exited } = this.groups.recovered(
      this.runs.active
        .filter((run) => run.task.executor?.type === 'DEFAULT')
        .map((run) => ({
          frameworkIdValue: run.frameworkId.value,
          executorIdValue: run.address.executorIdValue,
          containerIdValue: executorContainerOf(run.containerIdValue),
          taskIdValue: run.task.task_id.value,
          state: run.state,
        })),
    );
    for (const taskIdValue of kill) {
      const run = this.runs.active.find((r) => r.task.task_id.value === taskIdValue);
      if (run !== undefined) this.runs.kill(run.frameworkId.value, taskIdValue);
    }
    for (const { frameworkIdValue, executorIdValue } of exited)
      this.pendingExits.push({
        framework_id: mintFrameworkId(frameworkIdValue),
        executor_id: mintExecutorId(executorIdValue),
        status: 0,
      });
  }

  /**
   * Tells the master an executor ended (Mesos' ExitedExecutorMessage), so that it frees the
   * executor's resources and sends FAILURE; kept for the next registration if not connected.
   */

  /**
   * The user a sandbox's executor runs as (ACL access_sandboxes' object): its task's or
   * executor's command user, else its framework's; undefined when the agent no longer knows it.
   */
  private sandboxUser(owner: SandboxOwner): string | undefined {
    const isOwner = (frameworkIdValue: string, executorIdValue: string) =>
      frameworkIdValue === owner.frameworkIdValue && executorIdValue === owner.executorIdValue;
    for (const run of [...this.runs.active, ...this.runs.finished])
      if (isOwner(run.address.frameworkIdValue, run.address.executorIdValue))
        return run.task.command?.user ?? run.task.executor?.command?.user ?? run.frameworkInfo.user;
    for (const run of [...this.executors.active, ...this.executors.finished.map((f) => f.run)])
      if (isOwner(run.frameworkId.value, run.info.executor_id.value))
        return run.info.command?.user ?? run.frameworkInfo.user;
    return undefined;
  }
  private executorExited(frameworkId: FrameworkID, executorId: ExecutorID, status: number): void {
    const exited = { framework_id: frameworkId, executor_id: executorId, status };
    const link = this.link;
    if (link === undefined || !link.isConnected) {
      this.pendingExits.push(exited);
      return;
    }
    link.sendExecutorExited(exited).catch((error: unknown) => {
      this.log.warn(
        { err: (error as Error).message, executor_id: executorId.value },
        'could not tell the master an executor exited',
      );
      this.pendingExits.push(exited);
    });
  }

  /** An executor's MESSAGE for its framework, relayed through the master; best effort. */
  private executorMessage(frameworkId: FrameworkID, executorIdValue: string, data: string): void {
    this.link
      ?.sendExecutorMessage({
        framework_id: frameworkId,
        executor_id: mintExecutorId(executorIdValue),
        data,
      })
      .catch((error: unknown) =>
        this.log.warn(
          { err: (error as Error).message, executor_id: executorIdValue },
          'executor message not delivered',
        ),
      );
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

  // ---------------------------------------------------------------- endpoints

  /** /state as `principal` may see it: view_* ACLs filter its tasks, view_flags its flags. */
  private state(principal: string | undefined): Record<string, unknown> {
    const visibility = visibilityFor(this.acls, principal);
    interface ExecutorJson {
      readonly id: string;
      readonly name: string;
      readonly source: string;
      readonly container: string;
      readonly directory: string;
      readonly tasks: Record<string, unknown>[];
      readonly completed_tasks: Record<string, unknown>[];
      readonly queued_tasks: Record<string, unknown>[];
    }
    const frameworks = new Map<
      string,
      { info: FrameworkInfo; executors: Map<string, ExecutorJson> }
    >();
    // One entry per executor run: a command task's own, a task group's, a custom executor's.
    const executorEntry = (
      frameworkInfo: FrameworkInfo,
      frameworkIdValue: string,
      make: () => ExecutorJson,
    ): ExecutorJson => {
      let framework = frameworks.get(frameworkIdValue);
      if (framework === undefined) {
        framework = { info: frameworkInfo, executors: new Map() };
        frameworks.set(frameworkIdValue, framework);
      }
      const fresh = make();
      const key = `${fresh.id}\u0000${fresh.container}`;
      const existing = framework.executors.get(key);
      if (existing !== undefined) return existing;
      framework.executors.set(key, fresh);
      return fresh;
    };
    const taskJson = (
      task: TaskInfo,
      frameworkIdValue: string,
      executorIdValue: string,
      state: TaskState,
    ) => ({
      id: task.task_id.value,
      name: task.name,
      framework_id: frameworkIdValue,
      executor_id: executorIdValue,
      slave_id: this.agentIdValue ?? '',
      state,
      resources: summarize(Resources.fromWire(task.resources ?? [])),
    });
    for (const run of [...this.runs.active, ...this.runs.finished]) {
      if (!isTaskShown(visibility, run.task, run.frameworkInfo)) continue;
      const isGroup = run.task.executor?.type === 'DEFAULT';
      const executorIdValue = run.address.executorIdValue;
      const entry = executorEntry(run.frameworkInfo, run.frameworkId.value, () => ({
        id: executorIdValue,
        name: isGroup
          ? (run.task.executor?.name ?? `Default Executor (${executorIdValue})`)
          : `Command Executor (Task: ${run.task.task_id.value})`,
        source: isGroup ? executorIdValue : run.task.task_id.value,
        container: isGroup ? executorContainerOf(run.containerIdValue) : run.containerIdValue,
        directory: isGroup ? join(run.sandbox, '..', '..') : run.sandbox,
        tasks: [],
        completed_tasks: [],
        queued_tasks: [],
      }));
      const json = taskJson(run.task, run.frameworkId.value, executorIdValue, run.state);
      (isTerminalState(run.state) ? entry.completed_tasks : entry.tasks).push(json);
    }
    const customTasks = [
      ...this.executors.active.flatMap((run) =>
        [...run.tasks.values()].map((task) => ({ run, task })),
      ),
      ...this.executors.finished,
    ];
    for (const { run, task } of customTasks) {
      if (!isTaskShown(visibility, task.task, run.frameworkInfo)) continue;
      const executorIdValue = run.info.executor_id.value;
      const entry = executorEntry(run.frameworkInfo, run.frameworkId.value, () => ({
        id: executorIdValue,
        name: run.info.name ?? '',
        source: executorIdValue,
        container: run.containerIdValue,
        directory: run.sandbox,
        tasks: [],
        completed_tasks: [],
        queued_tasks: [],
      }));
      const json = taskJson(task.task, run.frameworkId.value, executorIdValue, task.state);
      if (isTerminalState(task.state)) entry.completed_tasks.push(json);
      else if (task.isDelivered || task.state !== 'TASK_STAGING') entry.tasks.push(json);
      else entry.queued_tasks.push(json);
    }
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
      ...(isAuthorized(this.acls, 'view_flags', principal, undefined)
        ? { flags: this.options.flags ?? {} }
        : {}),
      frameworks: [...frameworks.entries()].map(([id, f]) => ({
        id,
        name: f.info.name,
        user: f.info.user,
        executors: [...f.executors.values()],
      })),
      completed_frameworks: [],
    };
  }

  /** `/monitor/statistics`: each running container's usage (Mesos' ResourceStatistics). */
  private statistics(principal: string | undefined): ContainerUsage[] {
    return this.usage(principal).map(({ entry }) => entry);
  }

  /** Each running container `principal` may view (view_containers): its usage and lead process. */
  private usage(
    principal: string | undefined,
  ): { entry: ContainerUsage; pid: number | undefined }[] {
    const shown = this.runs
      .usage()
      .filter(({ run }) => this.containerAcls.mayView(principal, run.containerIdValue));
    return shown.map(({ run, statistics }) => ({
      entry: {
        executor_id: run.address.executorIdValue,
        executor_name: `Command Executor (Task: ${run.task.task_id.value})`,
        framework_id: run.frameworkId.value,
        source: run.task.task_id.value,
        container_id: run.containerIdValue,
        statistics,
      },
      pid: run.container !== undefined && run.container.pid > 0 ? run.container.pid : undefined,
    }));
  }

  metrics(): Record<string, number> {
    const states = [
      ...this.runs.active.map((r) => r.state),
      ...this.executors.active.flatMap((r) => [...r.tasks.values()].map((t) => t.state)),
    ];
    const count = (state: TaskState) => states.filter((s) => s === state).length;
    return {
      'slave/registered': this.link?.isConnected === true ? 1 : 0,
      'slave/uptime_secs': this.options.clock.now() / 1000 - this.startTimeSec,
      'slave/tasks_staging': count('TASK_STAGING'),
      'slave/tasks_starting': count('TASK_STARTING'),
      'slave/tasks_running': count('TASK_RUNNING'),
      'slave/tasks_killing': count('TASK_KILLING'),
      'slave/status_updates_pending': this.updates.pendingCount,
      'slave/executors_running': this.executors.active.filter((r) => r.phase === 'subscribed')
        .length,
      'slave/executors_registering': this.executors.active.filter(
        (r) => r.phase === 'launching' || r.phase === 'registering',
      ).length,
      'slave/cpus_total': this.total?.scalar('cpus') ?? 0,
      'slave/mem_total': this.total?.scalar('mem') ?? 0,
      'slave/disk_total': this.total?.scalar('disk') ?? 0,
      ...this.gc.metrics,
    };
  }
}

/** One running container's entry in /monitor/statistics and /containers. */
interface ContainerUsage {
  readonly executor_id: string;
  readonly executor_name: string;
  readonly framework_id: string;
  readonly source: string;
  readonly container_id: string;
  readonly statistics: unknown;
}

/** Written to a temporary name and renamed: a crash leaves the old file or the new, never half. */
function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Signs executors' tokens with `key`. */
function tokenSigner(key: Buffer): (claims: ExecutorClaims) => string {
  return (claims) => signExecutorToken(claims, key);
}

/** A nested container's parent that is a task's run (not a standalone container). */
function isTaskRun(parent: NestedParent): parent is TaskRun {
  return 'task' in parent;
}
