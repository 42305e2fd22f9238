import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { hostname as osHostname } from 'node:os';
import {
  type Allocation,
  type FrameworkCapabilities,
  type QuotaConfig,
  refuseMsFrom,
} from '../allocator/index.js';
import { Resources, roleAncestors } from '../resources/index.js';
import {
  Cleanup,
  clipForLog,
  EventStream,
  every,
  firstFew,
  HttpServer,
  type Logger,
  type Principal,
  type Timer,
} from '../runtime/index.js';
import {
  type Accept,
  type AgentCall,
  type AgentEvent,
  type AgentID,
  type AgentTask,
  AgoraError,
  BadRequestError,
  type Event,
  type FrameworkInfo,
  isTerminalState,
  type MasterInfo,
  MESOS_API_VERSION,
  agentId as mintAgentId,
  frameworkId as mintFrameworkId,
  offerId as mintOfferId,
  taskId as mintTaskId,
  type Offer,
  type Reconcile,
  type Resource,
  type Subscribe,
  type TaskID,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
  type TaskStatusReason,
} from '../wire/index.js';
import { routeAgentApi } from './agent-api.js';
import { AllocationBatcher } from './allocation-batcher.js';
import {
  type AgentRecord,
  applyTaskStatus,
  Books,
  type Connection,
  type FrameworkRecord,
  type OfferRecord,
  type TaskRecord,
} from './books.js';
import { routeEndpoints } from './endpoints.js';
import { frameworkInfoError, frameworkRoles, hasCapability } from './framework-validation.js';
import { MasterMetrics } from './metrics.js';
import { routeOperatorApi } from './operator-api.js';
import type { MasterOptions } from './options.js';
import type { QuotaContext } from './quota.js';
import { type Conversion, reserveConversion, unreserveConversion } from './reservations.js';
import { routeSchedulerApi } from './scheduler-api.js';
import { taskError } from './task-validation.js';

/** How a master-generated status names its cause. */
interface MasterStatusCause {
  readonly reason: TaskStatusReason;
  readonly message: string;
}

/**
 * The leading master: the truth about frameworks, agents, offers and tasks, the
 * allocation loop, and the HTTP APIs over them. Single master for now; the
 * coordination seam (leader election) wraps start() in a later issue.
 */
export class Master {
  readonly id = randomUUID();
  readonly books = new Books(this.id);
  readonly metrics = new MasterMetrics();
  readonly startTimeSec: number;
  private readonly log: Logger;
  private readonly http: HttpServer;
  private readonly cleanup = new Cleanup();
  private readonly batcher: AllocationBatcher;
  private readonly offerTimers = new Map<string, Timer>();
  /** Quota and weights as the registry holds them; the allocator has its own copy. */
  readonly quotas = new Map<string, QuotaConfig>();
  readonly weights = new Map<string, number>();
  private isStopping = false;
  private info: MasterInfo | undefined;

  constructor(readonly options: MasterOptions) {
    this.log = options.logger;
    this.startTimeSec = options.clock.now() / 1000;
    this.batcher = new AllocationBatcher(options.clock, options.allocationIntervalMs, () =>
      this.allocate(),
    );
    this.http = new HttpServer({
      logger: options.logger,
      delegate: '/master',
      ...(options.authenticate !== undefined ? { authenticate: options.authenticate } : {}),
      ...(options.onInvariantFailure !== undefined
        ? { onInvariantFailure: options.onInvariantFailure }
        : {}),
      ...(options.maxRequestBodyBytes !== undefined
        ? { maxRequestBodyBytes: options.maxRequestBodyBytes }
        : {}),
    });
    routeSchedulerApi(this.http, this);
    routeAgentApi(this.http, this);
    routeOperatorApi(this.http, this);
    routeEndpoints(this.http, this);
  }

  /** Recovers the registry, listens, and starts the allocation loop. Resolves with the URL. */
  async start(): Promise<string> {
    const { registry } = this.options;
    const recovered = await registry.recover();
    this.cleanup.defer(() => registry.close());
    this.log.info({ agents: recovered.agents.size }, 'registry recovered');

    const address = await this.http.listen(this.options.ip, this.options.port);
    this.cleanup.defer(() => this.http.close());
    const ip =
      this.options.advertiseIp ?? (isWildcard(address.address) ? '127.0.0.1' : address.address);
    const hostname = this.options.hostname ?? (isWildcard(address.address) ? osHostname() : ip);
    this.info = {
      id: this.id,
      ip: ipv4ToUint32(ip),
      port: address.port,
      pid: `master@${ip}:${address.port}`,
      hostname,
      version: MESOS_API_VERSION,
      address: { hostname, ip, port: address.port },
      capabilities: [{ type: 'AGENT_UPDATE' }],
    };

    for (const [role, weight] of recovered.weights) this.weights.set(role, weight);
    for (const [role, quota] of recovered.quotas) this.quotas.set(role, quota);
    if (this.weights.size > 0)
      this.allocatorHandle({
        kind: 'weightsUpdated',
        weights: [...this.weights].map(([role, weight]) => ({ role, weight })),
      });
    if (this.quotas.size > 0)
      this.allocatorHandle({ kind: 'quotaUpdated', configs: [...this.quotas.values()] });
    this.batcher.start();
    this.cleanup.defer(() => this.batcher.stop());
    this.cleanup.defer(() => this.closeAllConnections());
    const url = `http://${ip}:${address.port}`;
    this.log.info({ url, ip, port: address.port, master_id: this.id }, 'listening');
    return url;
  }

  /** Closes every stream and the server, cancels timers, closes the registry. Idempotent. */
  async stop(): Promise<void> {
    this.isStopping = true;
    await this.cleanup.run();
    this.log.info({ master_id: this.id }, 'stopped');
  }

  get masterInfo(): MasterInfo {
    if (this.info === undefined) throw new Error('master not started');
    return this.info;
  }

  get clock() {
    return this.options.clock;
  }

  private nowSec(): number {
    return this.options.clock.now() / 1000;
  }

  private closeAllConnections(): void {
    for (const timer of this.offerTimers.values()) timer.cancel();
    for (const framework of this.books.frameworks.values()) {
      framework.failoverTimer?.cancel();
      framework.connection?.stream.close();
    }
    for (const agent of this.books.agents.values()) {
      agent.reregisterTimer?.cancel();
      agent.connection?.stream.close();
    }
  }

  /** `/metrics/snapshot`: the counters, plus gauges read off the books now. */
  snapshotMetrics(): Record<string, number> {
    const out = this.metrics.snapshot();
    const agents = [...this.books.agents.values()];
    const frameworks = [...this.books.frameworks.values()];
    out['master/elected'] = 1;
    out['master/uptime_secs'] = this.nowSec() - this.startTimeSec;
    out['master/slaves_active'] = agents.filter((a) => a.state === 'connected').length;
    out['master/slaves_connected'] = out['master/slaves_active'];
    out['master/slaves_disconnected'] = agents.filter((a) => a.state === 'disconnected').length;
    out['master/slaves_inactive'] = 0;
    out['master/slaves_unreachable'] = agents.filter((a) => a.state === 'unreachable').length;
    out['master/frameworks_active'] = frameworks.filter((f) => f.state === 'subscribed').length;
    out['master/frameworks_connected'] = frameworks.filter(
      (f) => f.connection !== undefined,
    ).length;
    out['master/frameworks_disconnected'] = frameworks.filter(
      (f) => f.connection === undefined,
    ).length;
    out['master/frameworks_inactive'] = out['master/frameworks_disconnected'];
    out['master/outstanding_offers'] = this.books.offers.size;
    for (const state of ['staging', 'starting', 'running', 'killing', 'unreachable'])
      out[`master/tasks_${state}`] = 0;
    for (const framework of frameworks)
      for (const task of framework.tasks.values()) {
        const name = `master/tasks_${task.state.replace(/^TASK_/, '').toLowerCase()}`;
        if (!isTerminalState(task.state)) out[name] = (out[name] ?? 0) + 1;
      }
    for (const state of [
      'finished',
      'failed',
      'killed',
      'lost',
      'error',
      'dropped',
      'gone',
      'gone_by_operator',
    ])
      out[`master/tasks_${state}`] ??= 0;
    let total = Resources.EMPTY;
    let used = Resources.EMPTY;
    for (const agent of agents) {
      if (agent.state === 'unreachable') continue;
      total = total.plus(agent.total);
      used = used.plus(this.books.usedOn(agent).unallocate());
    }
    for (const role of this.options.allocator.roles())
      out[`allocator/mesos/roles/${role.name}/shares/dominant`] = role.dominantShare;
    for (const quota of this.quotas.values()) {
      for (const [name, value] of Object.entries(quota.guarantees))
        out[`allocator/mesos/quota/roles/${quota.role}/resources/${name}/guarantee`] = value;
      for (const [name, value] of Object.entries(quota.limits))
        out[`allocator/mesos/quota/roles/${quota.role}/resources/${name}/limit`] = value;
    }
    for (const name of ['cpus', 'gpus', 'mem', 'disk']) {
      out[`master/${name}_total`] = total.scalar(name);
      out[`master/${name}_used`] = used.scalar(name);
      out[`master/${name}_percent`] =
        total.scalar(name) === 0 ? 0 : used.scalar(name) / total.scalar(name);
    }
    return out;
  }

  /** Every task state change goes through here, so terminal counts are kept in one place. */
  private setTaskStatus(task: TaskRecord, status: TaskStatus): boolean {
    const wasTerminal = isTerminalState(task.state);
    if (!applyTaskStatus(task, status)) return false;
    if (!wasTerminal && isTerminalState(task.state))
      this.metrics.count(`master/tasks_${task.state.replace(/^TASK_/, '').toLowerCase()}`);
    return true;
  }

  // ------------------------------------------------------ roles, quota, weights

  /** UPDATE_WEIGHTS (validated): durable first, then the allocator. */
  async updateWeights(
    weights: readonly { readonly role: string; readonly weight: number }[],
  ): Promise<void> {
    await this.options.registry.apply({ kind: 'updateWeights', weights });
    for (const { role, weight } of weights) this.weights.set(role, weight);
    this.allocatorHandle({ kind: 'weightsUpdated', weights });
    this.log.info(
      { count: weights.length, roles: firstFew(weights.map((w) => w.role)) },
      'weights updated',
    );
  }

  /**
   * UPDATE_QUOTA (validated): durable first, then the allocator. Outstanding
   * offers are rescinded, so no role keeps offers beyond a new limit and new
   * guarantees can draw on everything (as Mesos does).
   */
  async updateQuota(configs: readonly QuotaConfig[]): Promise<void> {
    await this.options.registry.apply({ kind: 'updateQuotas', configs });
    for (const config of configs) {
      if (Object.keys(config.guarantees).length === 0 && Object.keys(config.limits).length === 0)
        this.quotas.delete(config.role);
      else this.quotas.set(config.role, config);
    }
    this.allocatorHandle({ kind: 'quotaUpdated', configs });
    for (const offer of [...this.books.offers.values()]) this.discardOffer(offer, undefined, true);
    this.log.info(
      { count: configs.length, roles: firstFew(configs.map((c) => c.role)) },
      'quota updated',
    );
    this.batcher.runSoon();
  }

  /** What quota validation needs to know about the cluster now. */
  quotaContext(): QuotaContext {
    const breakdown = new Map(this.roleBreakdowns().map((b) => [b.name, b]));
    let capacity = Resources.EMPTY;
    for (const agent of this.books.agents.values())
      if (agent.state !== 'unreachable') capacity = capacity.plus(agent.total.unreserved());
    return {
      current: this.quotas,
      consumed: (role) => breakdown.get(role)?.consumed ?? {},
      capacity: Object.fromEntries(capacity.names().map((name) => [name, capacity.scalar(name)])),
    };
  }

  /**
   * Every role the master knows (with frameworks, reservations, quota, weight
   * or allocations, and their ancestors), with its resources broken down as
   * Mesos' /roles shows them. Sums cover each role's subtree.
   */
  roleBreakdowns(): RoleBreakdown[] {
    const views = new Map(this.options.allocator.roles().map((view) => [view.name, view]));
    const names = new Set<string>([...views.keys(), ...this.weights.keys(), ...this.quotas.keys()]);
    const frameworksByRole = new Map<string, string[]>();
    for (const framework of this.books.frameworks.values())
      for (const role of frameworkRoles(framework.info)) {
        names.add(role);
        frameworksByRole.set(role, [...(frameworksByRole.get(role) ?? []), framework.id.value]);
      }
    for (const name of [...names]) for (const ancestor of roleAncestors(name)) names.add(ancestor);
    const allocated = new Map<string, Resources>();
    const offered = new Map<string, Resources>();
    const addUp = (into: Map<string, Resources>, role: string, resources: Resources) => {
      for (const name of [role, ...roleAncestors(role)])
        into.set(name, (into.get(name) ?? Resources.EMPTY).plus(resources.unallocate()));
    };
    for (const framework of this.books.frameworks.values())
      for (const task of framework.tasks.values())
        if (!task.isRecovered) addUp(allocated, task.role, task.resources);
    for (const offer of this.books.offers.values()) addUp(offered, offer.role, offer.resources);
    return [...names].sort().map((name) => {
      const view = views.get(name);
      const used = allocated.get(name) ?? Resources.EMPTY;
      const reserved = view?.reserved ?? {};
      const consumed: Record<string, number> = { ...reserved };
      const unreservedUse = used.quotaScalars();
      for (const resource of unreservedUse.names())
        consumed[resource] = (consumed[resource] ?? 0) + unreservedUse.scalar(resource);
      return {
        name,
        weight: this.weights.get(name) ?? 1,
        frameworkIds: frameworksByRole.get(name) ?? [],
        allocated: scalarsOf(used),
        offered: scalarsOf(offered.get(name) ?? Resources.EMPTY),
        reserved,
        consumed,
        quota: this.quotas.get(name),
        dominantShare: view?.dominantShare ?? 0,
      };
    });
  }

  // ------------------------------------------------------------ reservations

  /**
   * An operator's RESERVE_RESOURCES or UNRESERVE_RESOURCES on an agent's
   * unallocated resources. Offers on the agent are rescinded if they hold
   * what is needed; 409 if it is still not there (in use by tasks).
   */
  changeReservations(
    agentIdValue: string,
    kind: 'reserve' | 'unreserve',
    resources: readonly Resource[] | undefined,
    principal: string | undefined,
  ): void {
    const field = `${kind}_resources.resources`;
    const agent = this.books.agents.get(agentIdValue);
    if (agent === undefined || agent.state === 'unreachable')
      throw new BadRequestError(
        `${kind}_resources.agent_id`,
        `no registered agent '${agentIdValue}'`,
      );
    const convert = kind === 'reserve' ? reserveConversion : unreserveConversion;
    const context = (available: Resources) => ({
      available,
      ...(principal !== undefined ? { principal } : {}),
    });
    let conversion: Conversion;
    try {
      conversion = convert(resources, context(this.unallocatedOn(agent)), field);
    } catch (error) {
      if (!(error instanceof BadRequestError) || agent.offers.size === 0)
        throw conflictIfUnavailable(error);
      for (const offerId of [...agent.offers]) {
        const offer = this.books.offers.get(offerId);
        if (offer !== undefined) this.discardOffer(offer, undefined, true);
      }
      try {
        conversion = convert(resources, context(this.unallocatedOn(agent)), field);
      } catch (again) {
        throw conflictIfUnavailable(again);
      }
    }
    this.allocatorHandle({
      kind: 'availableConverted',
      agentId: agent.id,
      from: conversion.from,
      to: conversion.to,
    });
    this.convertAgentResources(agent, conversion);
    this.log.info(
      {
        agent_id: agentIdValue,
        from: clipForLog(conversion.from.toString()),
        to: clipForLog(conversion.to.toString()),
      },
      `resources ${kind}d`,
    );
    this.batcher.runSoon();
  }

  private unallocatedOn(agent: AgentRecord): Resources {
    return agent.total
      .minus(this.books.usedOn(agent).unallocate())
      .minus(this.books.offeredOn(agent).unallocate());
  }

  /** The agent's total changes form; the agent keeps its dynamic reservations across restarts. */
  private convertAgentResources(agent: AgentRecord, conversion: Conversion): void {
    agent.total = agent.total.minus(conversion.from).plus(conversion.to);
    const dynamic = agent.total.filter((r) =>
      (r.reservations ?? []).some((reservation) => reservation.type === 'DYNAMIC'),
    );
    this.sendToAgent(agent, {
      type: 'CHECKPOINT_RESOURCES',
      checkpoint_resources: { resources: dynamic.toWire('post-refinement') },
    });
  }

  // ---------------------------------------------------------------- allocation

  private allocate(): void {
    if (this.isStopping) return;
    const started = performance.now();
    const allocations = this.options.allocator.allocate(this.options.clock.now());
    this.metrics.recordAllocationRun(performance.now() - started);
    const byFramework = new Map<string, Offer[]>();
    for (const allocation of allocations) {
      const offer = this.makeOffer(allocation);
      if (offer === undefined) continue;
      const list = byFramework.get(offer.framework_id.value) ?? [];
      list.push(offer);
      byFramework.set(offer.framework_id.value, list);
    }
    for (const [frameworkIdValue, offers] of byFramework) {
      const framework = this.books.frameworks.get(frameworkIdValue);
      if (framework === undefined) continue;
      this.send(framework, { type: 'OFFERS', offers: { offers } });
      this.log.debug({ framework_id: frameworkIdValue, offers: offers.length }, 'offers sent');
    }
  }

  private makeOffer(allocation: Allocation): Offer | undefined {
    const framework = this.books.frameworks.get(allocation.frameworkId.value);
    const agent = this.books.agents.get(allocation.agentId.value);
    if (framework?.state !== 'subscribed' || agent?.state !== 'connected') {
      // The books moved on since the allocator decided; give the resources back.
      this.allocatorHandle({
        kind: 'resourcesRecovered',
        frameworkId: allocation.frameworkId,
        agentId: allocation.agentId,
        resources: allocation.resources,
      });
      return undefined;
    }
    const isMultiRole = hasCapability(framework.info, 'MULTI_ROLE');
    const format = hasCapability(framework.info, 'RESERVATION_REFINEMENT')
      ? 'post-refinement'
      : 'pre-refinement';
    const shown = isMultiRole ? allocation.resources : allocation.resources.unallocate();
    const offer: Offer = {
      id: mintOfferId(this.books.newOfferId()),
      framework_id: framework.id,
      agent_id: agent.id,
      hostname: agent.info.hostname,
      url: {
        scheme: 'http',
        address: { hostname: agent.info.hostname, ip: agent.ip, port: agent.info.port ?? 5051 },
        path: '/slave(1)',
      },
      resources: shown.toWire(format),
      ...(agent.info.attributes !== undefined && agent.info.attributes.length > 0
        ? { attributes: agent.info.attributes }
        : {}),
      ...(isMultiRole ? { allocation_info: { role: allocation.role } } : {}),
    };
    const offerTimeoutMs = this.options.offerTimeoutMs;
    if (offerTimeoutMs !== undefined && offerTimeoutMs > 0)
      this.offerTimers.set(
        offer.id.value,
        this.options.clock.setTimeout(() => {
          const record = this.books.offers.get(offer.id.value);
          if (record !== undefined) this.discardOffer(record, undefined, true);
        }, offerTimeoutMs),
      );
    this.books.addOffer({
      offer,
      frameworkId: framework.id,
      agentId: agent.id,
      role: allocation.role,
      resources: allocation.resources,
    });
    this.metrics.frameworkCounter(framework, 'offers/sent');
    return offer;
  }

  private allocatorHandle(event: Parameters<MasterOptions['allocator']['handle']>[0]): void {
    this.options.allocator.handle(event, this.options.clock.now());
  }

  /** Forgets an offer (accepted, declined, rescinded or expired) and its timeout. */
  private removeOffer(offerIdValue: string): void {
    this.books.removeOffer(offerIdValue);
    this.offerTimers.get(offerIdValue)?.cancel();
    this.offerTimers.delete(offerIdValue);
  }

  /** Removes an offer and gives its resources back to the allocator. */
  private discardOffer(offer: OfferRecord, refuseMs?: number, rescind = false): void {
    this.removeOffer(offer.offer.id.value);
    this.allocatorHandle({
      kind: 'resourcesRecovered',
      frameworkId: offer.frameworkId,
      agentId: offer.agentId,
      resources: offer.resources,
      ...(refuseMs !== undefined ? { refuseMs } : {}),
    });
    const framework = this.books.frameworks.get(offer.frameworkId.value);
    if (rescind && framework !== undefined) {
      this.send(framework, { type: 'RESCIND', rescind: { offer_id: offer.offer.id } });
      this.metrics.frameworkCounter(framework, 'offers/rescinded');
    }
  }

  // ---------------------------------------------------------------- frameworks

  private send(framework: FrameworkRecord, event: Event): void {
    if (framework.connection?.stream.send(event) === true)
      this.metrics.countEvent(framework, event.type);
  }

  /**
   * SUBSCRIBE (WIRE §2.1): a new framework, or a resubscription that replaces
   * the previous connection. Problems with the FrameworkInfo are answered with
   * an ERROR event, as Mesos does. Resolves when the stream ends.
   */
  async subscribe(
    call: Subscribe,
    response: ServerResponse,
    principal: Principal | undefined,
    requestClosed: AbortSignal,
  ): Promise<void> {
    const streamId = randomUUID();
    const stream = new EventStream<Event>(response, { headers: { 'Mesos-Stream-Id': streamId } });
    requestClosed.addEventListener('abort', () => stream.close(), { once: true });
    const refuse = (message: string) => {
      stream.send({ type: 'ERROR', error: { message } });
      stream.close();
      this.log.info({ reason: message }, 'subscription refused');
    };
    const info = call.framework_info;
    const suppressedRoles = call.suppressed_roles ?? [];
    const invalid = frameworkInfoError(info, suppressedRoles);
    if (invalid !== undefined) return refuse(invalid);
    if (info.id !== undefined && this.books.removedFrameworkIds.has(info.id.value))
      return refuse('Framework has been removed');

    const existing = info.id === undefined ? undefined : this.books.frameworks.get(info.id.value);
    let framework: FrameworkRecord;
    if (existing !== undefined) {
      if ((existing.info.principal ?? '') !== (info.principal ?? principal?.value ?? ''))
        return refuse("Changing framework's principal is not allowed");
      framework = existing;
      this.replaceConnection(framework, 'Framework failed over');
      // `user` and `checkpoint` keep their first values on resubscription (WIRE §2.1).
      framework.info = {
        ...info,
        id: framework.id,
        user: existing.info.user,
        ...(existing.info.checkpoint !== undefined ? { checkpoint: existing.info.checkpoint } : {}),
      };
      framework.failoverTimer?.cancel();
      framework.failoverTimer = undefined;
      framework.reregisteredTimeSec = this.nowSec();
      framework.suppressedRoles = new Set(suppressedRoles);
      framework.state = 'subscribed';
      this.allocatorHandle({
        kind: 'frameworkUpdated',
        frameworkId: framework.id,
        capabilities: allocationCapabilities(framework.info),
        roles: frameworkRoles(framework.info),
        suppressedRoles,
      });
      this.allocatorHandle({ kind: 'frameworkActivated', frameworkId: framework.id });
    } else {
      const id = mintFrameworkId(info.id?.value ?? this.books.newFrameworkId());
      framework = {
        id,
        info: {
          ...info,
          id,
          ...(principal !== undefined && info.principal === undefined
            ? { principal: principal.value }
            : {}),
        },
        state: 'subscribed',
        connection: undefined,
        registeredTimeSec: this.nowSec(),
        reregisteredTimeSec: undefined,
        unregisteredTimeSec: undefined,
        failoverTimer: undefined,
        suppressedRoles: new Set(suppressedRoles),
        offers: new Set(),
        tasks: new Map(),
        completedTasks: [],
      };
      this.books.frameworks.set(id.value, framework);
      this.allocatorHandle({
        kind: 'frameworkAdded',
        frameworkId: id,
        capabilities: allocationCapabilities(framework.info),
        roles: frameworkRoles(framework.info),
        suppressedRoles,
        used: new Map(),
      });
    }

    const connection: Connection<Event> = { stream, streamId };
    framework.connection = connection;
    this.metrics.frameworkGauge(framework, 'subscribed', 1);
    this.send(framework, {
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: framework.id,
        heartbeat_interval_seconds: this.options.heartbeatIntervalMs / 1000,
        master_info: this.masterInfo,
      },
    });
    this.send(framework, { type: 'HEARTBEAT' });
    const heartbeat = every(this.options.clock, this.options.heartbeatIntervalMs, () =>
      this.send(framework, { type: 'HEARTBEAT' }),
    );
    this.log.info(
      {
        framework_id: framework.id.value,
        name: framework.info.name,
        resubscribed: existing !== undefined,
      },
      'framework subscribed',
    );
    this.batcher.runSoon();

    if (!stream.closed.aborted)
      await new Promise<void>((resolve) =>
        stream.closed.addEventListener('abort', () => resolve(), { once: true }),
      );
    heartbeat.cancel();
    if (framework.connection === connection) this.frameworkDisconnected(framework);
  }

  private replaceConnection(framework: FrameworkRecord, message: string): void {
    const old = framework.connection;
    if (old === undefined) return;
    framework.connection = undefined;
    old.stream.send({ type: 'ERROR', error: { message } });
    old.stream.close();
  }

  /** The stream broke: offers go back, and the framework has failover_timeout to return. */
  private frameworkDisconnected(framework: FrameworkRecord): void {
    if (this.isStopping) return;
    framework.connection = undefined;
    framework.state = 'disconnected';
    framework.unregisteredTimeSec = this.nowSec();
    this.metrics.frameworkGauge(framework, 'subscribed', 0);
    for (const id of [...framework.offers]) {
      const offer = this.books.offers.get(id);
      if (offer !== undefined) this.discardOffer(offer);
    }
    this.allocatorHandle({ kind: 'frameworkDeactivated', frameworkId: framework.id });
    const timeoutMs = Math.max(0, (framework.info.failover_timeout ?? 0) * 1000);
    this.log.info(
      { framework_id: framework.id.value, failover_timeout_ms: timeoutMs },
      'framework disconnected',
    );
    if (timeoutMs === 0) this.removeFramework(framework, 'failover timeout of 0 seconds');
    else
      framework.failoverTimer = this.options.clock.setTimeout(
        () => this.removeFramework(framework, 'failover timeout expired'),
        timeoutMs,
      );
  }

  /**
   * TEARDOWN, or a failover timeout that expired: its tasks are killed on the
   * agents, recorded as TASK_KILLED (REASON_FRAMEWORK_REMOVED) and its stream ends.
   */
  removeFramework(framework: FrameworkRecord, why: string): void {
    if (!this.books.frameworks.has(framework.id.value)) return;
    framework.failoverTimer?.cancel();
    for (const id of [...framework.offers]) {
      const offer = this.books.offers.get(id);
      if (offer !== undefined) this.discardOffer(offer);
    }
    const agentsToShutdown = new Set<AgentRecord>();
    for (const task of [...framework.tasks.values()]) {
      const agent = this.books.agents.get(task.agentId.value);
      if (agent !== undefined && !isTerminalState(task.state)) agentsToShutdown.add(agent);
      if (!isTerminalState(task.state)) {
        this.setTaskStatus(task, {
          task_id: task.taskId,
          state: 'TASK_KILLED',
          source: 'SOURCE_MASTER',
          reason: 'REASON_FRAMEWORK_REMOVED',
          message: 'Framework removed',
          agent_id: task.agentId,
          timestamp: this.nowSec(),
        });
      }
      this.recoverTask(task);
      this.books.completeTask(task);
    }
    for (const agent of agentsToShutdown)
      this.sendToAgent(agent, {
        type: 'SHUTDOWN_FRAMEWORK',
        shutdown_framework: { framework_id: framework.id },
      });
    this.allocatorHandle({ kind: 'frameworkRemoved', frameworkId: framework.id });
    const connection = framework.connection;
    framework.connection = undefined;
    connection?.stream.close();
    framework.state = 'disconnected';
    framework.unregisteredTimeSec ??= this.nowSec();
    this.books.completeFramework(framework);
    this.metrics.frameworkGauge(framework, 'subscribed', 0);
    this.log.info({ framework_id: framework.id.value, why }, 'framework removed');
  }

  /**
   * UPDATE_FRAMEWORK: new roles, name, capabilities or suppressed roles, all at
   * once. principal, user and checkpoint cannot change; offers for roles the
   * framework dropped are rescinded. Throws BadRequestError before any change.
   */
  updateFramework(framework: FrameworkRecord, update: Subscribe): void {
    const info = update.framework_info;
    const suppressedRoles = update.suppressed_roles ?? [];
    const invalid = frameworkInfoError(info, suppressedRoles);
    if (invalid !== undefined)
      throw new BadRequestError('update_framework.framework_info', invalid);
    for (const field of ['principal', 'user', 'checkpoint'] as const)
      if ((info[field] ?? undefined) !== (framework.info[field] ?? undefined))
        throw new BadRequestError(`update_framework.framework_info.${field}`, 'cannot be changed');
    framework.info = { ...info, id: framework.id };
    framework.suppressedRoles = new Set(suppressedRoles);
    const roles = new Set(frameworkRoles(framework.info));
    for (const id of [...framework.offers]) {
      const offer = this.books.offers.get(id);
      if (offer !== undefined && !roles.has(offer.role)) this.discardOffer(offer, undefined, true);
    }
    this.allocatorHandle({
      kind: 'frameworkUpdated',
      frameworkId: framework.id,
      capabilities: allocationCapabilities(framework.info),
      roles: [...roles],
      suppressedRoles,
    });
    this.log.info({ framework_id: framework.id.value }, 'framework updated');
    this.batcher.runSoon();
  }

  /** The framework sending a call must be subscribed on the stream it names (WIRE §1.7-1.8). */
  frameworkForCall(frameworkIdValue: string): FrameworkRecord | undefined {
    return this.books.frameworks.get(frameworkIdValue);
  }

  // ------------------------------------------------------------------- offers

  /** ACCEPT: runs the operations in order against the offers; leftovers are declined. */
  accept(framework: FrameworkRecord, accept: Accept): void {
    const launches = (accept.operations ?? []).flatMap((op) =>
      op.type === 'LAUNCH' ? (op.launch?.task_infos ?? []) : [],
    );
    const offerProblem = this.offersProblem(
      framework,
      accept.offer_ids.map((id) => id.value),
    );
    if (offerProblem !== undefined) {
      for (const id of accept.offer_ids) {
        const offer = this.books.offers.get(id.value);
        if (offer !== undefined && offer.frameworkId.value === framework.id.value)
          this.discardOffer(offer);
      }
      for (const task of launches)
        this.sendMasterStatus(framework, task.task_id, task.agent_id, 'TASK_DROPPED', {
          reason: 'REASON_INVALID_OFFERS',
          message: offerProblem,
        });
      this.log.info({ framework_id: framework.id.value, reason: offerProblem }, 'accept refused');
      return;
    }
    const offers = accept.offer_ids
      .map((id) => this.books.offers.get(id.value))
      .filter((o) => o !== undefined);
    const [first] = offers;
    if (first === undefined) return;
    for (const offer of offers) this.removeOffer(offer.offer.id.value);
    this.metrics.frameworkCounter(framework, 'offers/accepted', offers.length);
    const agent = this.books.agents.get(first.agentId.value);
    let available = offers.reduce((sum, offer) => sum.plus(offer.resources), Resources.EMPTY);

    for (const operation of accept.operations ?? []) {
      if (operation.type === 'RESERVE' || operation.type === 'UNRESERVE') {
        if (agent === undefined) continue;
        const kind = operation.type === 'RESERVE' ? 'reserve' : 'unreserve';
        try {
          const conversion = (kind === 'reserve' ? reserveConversion : unreserveConversion)(
            (kind === 'reserve' ? operation.reserve : operation.unreserve)?.resources,
            {
              available: available.unallocate(),
              role: first.role,
              ...(framework.info.principal !== undefined
                ? { principal: framework.info.principal }
                : {}),
            },
            `${kind}.resources`,
          );
          const from = conversion.from.allocate(first.role);
          const to = conversion.to.allocate(first.role);
          available = available.minus(from).plus(to);
          this.allocatorHandle({
            kind: 'allocationConverted',
            frameworkId: framework.id,
            agentId: agent.id,
            from,
            to,
          });
          this.convertAgentResources(agent, conversion);
          this.log.info(
            {
              framework_id: framework.id.value,
              agent_id: agent.id.value,
              to: clipForLog(conversion.to.toString()),
            },
            `resources ${kind}d`,
          );
        } catch (error) {
          if (!(error instanceof BadRequestError)) throw error;
          // Mesos drops an invalid operation and goes on with the others.
          this.log.warn(
            { framework_id: framework.id.value, type: operation.type, reason: error.message },
            'operation dropped',
          );
        }
        continue;
      }
      if (operation.type !== 'LAUNCH') {
        // Volumes and disks come with their own issues.
        this.log.warn(
          { framework_id: framework.id.value, type: operation.type },
          'operation not supported yet; dropped',
        );
        continue;
      }
      for (const task of operation.launch?.task_infos ?? []) {
        const resources = Resources.fromWire(task.resources ?? [])
          .unallocate()
          .allocate(first.role);
        const foreignRole = (task.resources ?? []).find(
          (r) => r.allocation_info !== undefined && r.allocation_info.role !== first.role,
        );
        const problem =
          foreignRole !== undefined
            ? `Task uses resources allocated to role '${foreignRole.allocation_info?.role}' but the offers are for role '${first.role}'`
            : taskError(task, resources, {
                agentIdValue: first.agentId.value,
                available,
                isTaskIdInUse: (id) => framework.tasks.has(id),
              });
        if (problem !== undefined) {
          this.sendMasterStatus(framework, task.task_id, task.agent_id, 'TASK_ERROR', {
            reason: 'REASON_TASK_INVALID',
            message: problem,
          });
          continue;
        }
        if (agent?.state !== 'connected') {
          this.sendMasterStatus(framework, task.task_id, task.agent_id, 'TASK_DROPPED', {
            reason: 'REASON_AGENT_DISCONNECTED',
            message: 'Agent disconnected',
          });
          continue;
        }
        available = available.minus(resources);
        this.launchTask(framework, agent, task, resources, first.role);
      }
    }
    if (!available.isEmpty())
      this.allocatorHandle({
        kind: 'resourcesRecovered',
        frameworkId: framework.id,
        agentId: first.agentId,
        resources: available,
        refuseMs: refuseMsFrom(accept.filters?.refuse_seconds),
      });
  }

  private offersProblem(framework: FrameworkRecord, ids: readonly string[]): string | undefined {
    if (ids.length === 0) return 'No offers were given';
    if (new Set(ids).size !== ids.length) return 'Offers were given more than once';
    let agentIdValue: string | undefined;
    let role: string | undefined;
    for (const id of ids) {
      const offer = this.books.offers.get(id);
      if (offer === undefined) return `Offer ${id} is no longer valid`;
      if (offer.frameworkId.value !== framework.id.value)
        return `Offer ${id} is not for this framework`;
      agentIdValue ??= offer.agentId.value;
      role ??= offer.role;
      if (offer.agentId.value !== agentIdValue)
        return 'Offers of different agents cannot be combined';
      if (offer.role !== role) return 'Offers allocated to different roles cannot be combined';
    }
    return undefined;
  }

  private launchTask(
    framework: FrameworkRecord,
    agent: AgentRecord,
    info: TaskInfo,
    resources: Resources,
    role: string,
  ): void {
    const task: TaskRecord = {
      taskId: info.task_id,
      frameworkId: framework.id,
      agentId: agent.id,
      info,
      role,
      resources,
      state: 'TASK_STAGING',
      statuses: [],
      statusUpdateState: undefined,
      statusUpdateUuid: undefined,
      isRecovered: false,
    };
    this.books.addTask(task);
    this.sendToAgent(agent, {
      type: 'RUN_TASK',
      run_task: {
        framework_info: framework.info,
        task: { ...info, resources: resources.toWire('post-refinement') },
      },
    });
    this.log.info(
      { framework_id: framework.id.value, task_id: info.task_id.value, agent_id: agent.id.value },
      'task launched',
    );
  }

  /** DECLINE: the offers' resources go back, filtered for refuse_seconds. */
  decline(
    framework: FrameworkRecord,
    offerIds: readonly string[],
    refuseSeconds: number | undefined,
  ): void {
    const refuseMs = refuseMsFrom(refuseSeconds);
    for (const id of offerIds) {
      const offer = this.books.offers.get(id);
      if (offer === undefined || offer.frameworkId.value !== framework.id.value) continue;
      this.discardOffer(offer, refuseMs);
      this.metrics.frameworkCounter(framework, 'offers/declined');
    }
  }

  revive(framework: FrameworkRecord, roles: readonly string[]): void {
    const suppressed = new Set(framework.suppressedRoles);
    for (const role of roles.length === 0 ? frameworkRoles(framework.info) : roles)
      suppressed.delete(role);
    framework.suppressedRoles = suppressed;
    this.allocatorHandle({ kind: 'offersRevived', frameworkId: framework.id, roles });
    this.batcher.runSoon();
  }

  suppress(framework: FrameworkRecord, roles: readonly string[]): void {
    const suppressed = new Set(framework.suppressedRoles);
    for (const role of roles.length === 0 ? frameworkRoles(framework.info) : roles)
      suppressed.add(role);
    framework.suppressedRoles = suppressed;
    this.allocatorHandle({ kind: 'offersSuppressed', frameworkId: framework.id, roles });
  }

  // -------------------------------------------------------------------- tasks

  /** KILL: forwarded to the task's agent; an unknown task is reconciled instead (WIRE §2.1). */
  kill(
    framework: FrameworkRecord,
    taskIdValue: string,
    agentIdValue: string | undefined,
    gracePeriodNs?: number,
  ): void {
    const task = framework.tasks.get(taskIdValue);
    if (task === undefined) {
      this.reconcile(framework, {
        tasks: [
          {
            task_id: mintTaskId(taskIdValue),
            ...(agentIdValue !== undefined ? { agent_id: mintAgentId(agentIdValue) } : {}),
          },
        ],
      });
      return;
    }
    if (agentIdValue !== undefined && agentIdValue !== task.agentId.value) return;
    if (isTerminalState(task.state)) return;
    const agent = this.books.agents.get(task.agentId.value);
    if (agent === undefined) return;
    this.sendToAgent(agent, {
      type: 'KILL_TASK',
      kill_task: {
        framework_id: framework.id,
        task_id: task.taskId,
        ...(gracePeriodNs !== undefined
          ? { kill_policy: { grace_period: { nanoseconds: gracePeriodNs } } }
          : {}),
      },
    });
    this.log.info(
      { framework_id: framework.id.value, task_id: taskIdValue },
      'task kill requested',
    );
  }

  /** ACKNOWLEDGE: forwarded to the agent; an acknowledged terminal update retires the task. */
  acknowledge(
    framework: FrameworkRecord,
    agentIdValue: string,
    taskIdValue: string,
    uuid: string,
  ): void {
    const task = framework.tasks.get(taskIdValue);
    if (task !== undefined && task.statusUpdateUuid === uuid) {
      task.statusUpdateUuid = undefined;
      if (task.statusUpdateState !== undefined && isTerminalState(task.statusUpdateState))
        this.books.completeTask(task);
    }
    const agent = this.books.agents.get(agentIdValue);
    if (agent !== undefined)
      this.sendToAgent(agent, {
        type: 'ACKNOWLEDGE',
        acknowledge: {
          framework_id: framework.id,
          task_id: task?.taskId ?? mintTaskId(taskIdValue),
          uuid,
        },
      });
  }

  /** RECONCILE (WIRE §4.4): implicit with no tasks, explicit otherwise. */
  reconcile(framework: FrameworkRecord, reconcile: Reconcile): void {
    const latest = (task: TaskRecord) =>
      this.sendMasterStatus(
        framework,
        task.taskId,
        task.agentId,
        task.state,
        {
          reason: 'REASON_RECONCILIATION',
          message: 'Reconciliation: Latest task state',
        },
        true,
      );
    const tasks = reconcile.tasks ?? [];
    if (tasks.length === 0) {
      for (const task of framework.tasks.values())
        if (task.state !== 'TASK_UNREACHABLE') latest(task);
      return;
    }
    for (const { task_id, agent_id } of tasks) {
      const task = framework.tasks.get(task_id.value);
      if (task !== undefined) {
        latest(task);
        continue;
      }
      const agent = agent_id === undefined ? undefined : this.books.agents.get(agent_id.value);
      const cause = (message: string) => ({ reason: 'REASON_RECONCILIATION' as const, message });
      if (agent?.state === 'connected' || agent?.state === 'disconnected')
        this.sendMasterStatus(
          framework,
          task_id,
          agent_id,
          'TASK_GONE',
          cause('Reconciliation: Task is unknown to the agent'),
          true,
        );
      else if (agent?.state === 'unreachable')
        this.sendMasterStatus(
          framework,
          task_id,
          agent_id,
          'TASK_UNREACHABLE',
          cause('Reconciliation: Task is unreachable'),
          true,
        );
      else
        this.sendMasterStatus(
          framework,
          task_id,
          agent_id,
          'TASK_UNKNOWN',
          cause('Reconciliation: Task is unknown'),
          true,
        );
    }
  }

  /**
   * Sends a status the master itself generates (no uuid, so no acknowledgement).
   * Frameworks that are not PARTITION_AWARE see TASK_LOST for the partition states.
   */
  private sendMasterStatus(
    framework: FrameworkRecord,
    taskId: TaskID,
    agentId: AgentID | undefined,
    state: TaskState,
    cause: MasterStatusCause,
    isReconciliation = false,
  ): void {
    const isPartitionAware = hasCapability(framework.info, 'PARTITION_AWARE');
    const partitionStates: readonly TaskState[] = [
      'TASK_DROPPED',
      'TASK_UNREACHABLE',
      'TASK_GONE',
      'TASK_GONE_BY_OPERATOR',
      'TASK_UNKNOWN',
    ];
    const shown = !isPartitionAware && partitionStates.includes(state) ? 'TASK_LOST' : state;
    const status: TaskStatus = {
      task_id: taskId,
      state: shown,
      source: 'SOURCE_MASTER',
      reason: cause.reason,
      message: cause.message,
      ...(agentId !== undefined ? { agent_id: agentId } : {}),
      timestamp: this.nowSec(),
    };
    this.send(framework, { type: 'UPDATE', update: { status } });
    if (!isReconciliation) this.metrics.countTaskStatus(status);
  }

  /** A task reached a terminal state: its resources go back to the allocator, once. */
  private recoverTask(task: TaskRecord): void {
    if (task.isRecovered) return;
    task.isRecovered = true;
    if (!this.books.agents.has(task.agentId.value)) return;
    this.allocatorHandle({
      kind: 'resourcesRecovered',
      frameworkId: task.frameworkId,
      agentId: task.agentId,
      resources: task.resources,
    });
  }

  // ------------------------------------------------------------------- agents

  sendToAgent(agent: AgentRecord, event: AgentEvent): void {
    agent.connection?.stream.send(event);
  }

  /**
   * An agent (re-)subscribes: it is admitted to the registry if new, its tasks
   * are reconciled with the books, and it gets its id and a command stream.
   * Resolves when the stream ends.
   */
  async subscribeAgent(
    call: AgentCall,
    remoteIp: string,
    response: ServerResponse,
    requestClosed: AbortSignal,
  ): Promise<void> {
    const subscribe = call.subscribe;
    if (subscribe === undefined) return;
    const idValue = call.agent_id?.value ?? subscribe.agent_info.id?.value;
    const id = mintAgentId(idValue ?? this.books.newAgentId());
    const info = { ...subscribe.agent_info, id };
    const total = this.agentTotal(
      info.resources ?? [],
      subscribe.checkpointed_resources ?? [],
      id.value,
    );
    let agent = this.books.agents.get(id.value);
    const isNew = agent === undefined;
    if (isNew) await this.options.registry.apply({ kind: 'admitAgent', agent: info });
    if (requestClosed.aborted || this.isStopping) return;

    const streamId = randomUUID();
    const stream = new EventStream<AgentEvent>(response, {
      headers: { 'Mesos-Stream-Id': streamId },
    });
    requestClosed.addEventListener('abort', () => stream.close(), { once: true });
    agent = this.books.agents.get(id.value);
    if (agent === undefined) {
      agent = {
        id,
        info,
        ip: remoteIp,
        state: 'connected',
        connection: { stream, streamId },
        total,
        version: subscribe.version,
        registeredTimeSec: this.nowSec(),
        reregisteredTimeSec: undefined,
        reregisterTimer: undefined,
        offers: new Set(),
        tasks: new Set(),
      };
      this.books.agents.set(id.value, agent);
      this.adoptAgentTasks(agent, subscribe.tasks ?? []);
      this.allocatorHandle({
        kind: 'agentAdded',
        agentId: id,
        total,
        used: this.usedByFramework(agent),
      });
      this.metrics.count('master/slave_registrations');
    } else {
      const old = agent.connection;
      agent.connection = { stream, streamId };
      old?.stream.close();
      agent.reregisterTimer?.cancel();
      agent.reregisterTimer = undefined;
      for (const offerId of [...agent.offers]) {
        const offer = this.books.offers.get(offerId);
        if (offer !== undefined) this.discardOffer(offer, undefined, true);
      }
      const wasUnreachable = agent.state === 'unreachable';
      agent.info = info;
      agent.ip = remoteIp;
      agent.total = total;
      agent.version = subscribe.version;
      agent.state = 'connected';
      agent.reregisteredTimeSec = this.nowSec();
      this.reconcileAgentTasks(agent, subscribe.tasks ?? []);
      if (!wasUnreachable) this.allocatorHandle({ kind: 'agentRemoved', agentId: id });
      this.allocatorHandle({
        kind: 'agentAdded',
        agentId: id,
        total,
        used: this.usedByFramework(agent),
      });
      this.metrics.count('master/slave_reregistrations');
    }
    const connection = agent.connection;
    stream.send({
      type: 'SUBSCRIBED',
      subscribed: {
        agent_id: id,
        heartbeat_interval_seconds: this.options.heartbeatIntervalMs / 1000,
        master_info: this.masterInfo,
      },
    });
    const heartbeat = every(this.options.clock, this.options.heartbeatIntervalMs, () =>
      stream.send({ type: 'HEARTBEAT' }),
    );
    this.log.info(
      {
        agent_id: id.value,
        hostname: info.hostname,
        resources: total.toString(),
        reregistered: !isNew,
      },
      isNew ? 'agent registered' : 'agent reregistered',
    );
    this.batcher.runSoon();

    if (!stream.closed.aborted)
      await new Promise<void>((resolve) =>
        stream.closed.addEventListener('abort', () => resolve(), { once: true }),
      );
    heartbeat.cancel();
    if (agent.connection === connection) this.agentDisconnected(agent);
  }

  /**
   * An agent's total: what it is configured with, converted by the dynamic
   * reservations it kept (checkpointed). A checkpoint that does not fit the
   * configuration (the operator changed --resources) is ignored, loudly.
   */
  private agentTotal(
    configured: readonly Resource[],
    checkpointed: readonly Resource[],
    agentIdValue: string,
  ): Resources {
    const total = Resources.fromWire(configured);
    if (checkpointed.length === 0) return total;
    const reservations = Resources.fromWire(checkpointed);
    const base = reservations.withoutDynamicReservations();
    if (!total.contains(base)) {
      this.log.error(
        {
          agent_id: agentIdValue,
          checkpointed: reservations.toString(),
          configured: total.toString(),
        },
        'checkpointed reservations do not fit the agent; ignored',
      );
      return total;
    }
    return total.minus(base).plus(reservations);
  }

  private usedByFramework(agent: AgentRecord): Map<string, Resources> {
    const used = new Map<string, Resources>();
    for (const task of agent.tasks) {
      if (task.isRecovered) continue;
      used.set(
        task.frameworkId.value,
        (used.get(task.frameworkId.value) ?? Resources.EMPTY).plus(task.resources),
      );
    }
    return used;
  }

  /** Tasks a re-registering agent reports that the books lack (e.g. after a master restart). */
  private adoptAgentTasks(agent: AgentRecord, reported: readonly AgentTask[]): void {
    for (const entry of reported) {
      if (isTerminalState(entry.state)) continue;
      let framework = this.books.frameworks.get(entry.framework_id.value);
      if (framework === undefined) {
        if (this.books.removedFrameworkIds.has(entry.framework_id.value)) {
          this.sendToAgent(agent, {
            type: 'SHUTDOWN_FRAMEWORK',
            shutdown_framework: { framework_id: entry.framework_id },
          });
          continue;
        }
        framework = this.recoveredFramework(entry.framework_info, entry.framework_id.value);
      }
      if (framework.tasks.has(entry.task.task_id.value)) continue;
      const resources = Resources.fromWire(entry.task.resources ?? []);
      const role = resources.allocationRoles()[0] ?? frameworkRoles(framework.info)[0] ?? '*';
      this.books.addTask({
        taskId: entry.task.task_id,
        frameworkId: framework.id,
        agentId: agent.id,
        info: entry.task,
        role,
        resources: resources.unallocate().allocate(role),
        state: entry.state,
        statuses: [],
        statusUpdateState: undefined,
        statusUpdateUuid: undefined,
        isRecovered: false,
      });
    }
  }

  /**
   * A framework known only from an agent's report: it waits, disconnected, for
   * its scheduler to resubscribe within its failover timeout.
   */
  private recoveredFramework(info: FrameworkInfo, idValue: string): FrameworkRecord {
    const id = mintFrameworkId(idValue);
    const framework: FrameworkRecord = {
      id,
      info: { ...info, id },
      state: 'disconnected',
      connection: undefined,
      registeredTimeSec: this.nowSec(),
      reregisteredTimeSec: undefined,
      unregisteredTimeSec: this.nowSec(),
      failoverTimer: undefined,
      suppressedRoles: new Set(),
      offers: new Set(),
      tasks: new Map(),
      completedTasks: [],
    };
    this.books.frameworks.set(idValue, framework);
    this.allocatorHandle({
      kind: 'frameworkAdded',
      frameworkId: id,
      capabilities: allocationCapabilities(framework.info),
      roles: frameworkRoles(framework.info),
      suppressedRoles: [],
      used: new Map(),
    });
    this.allocatorHandle({ kind: 'frameworkDeactivated', frameworkId: id });
    const timeoutMs = Math.max(0, (info.failover_timeout ?? 0) * 1000);
    framework.failoverTimer = this.options.clock.setTimeout(
      () =>
        this.removeFramework(
          framework,
          'failover timeout expired before the framework resubscribed',
        ),
      // Give a scheduler with failover_timeout 0 the agent re-registration window to come back.
      Math.max(timeoutMs, this.options.agentReregisterTimeoutMs),
    );
    return framework;
  }

  /** Aligns the books with what a re-registering agent holds. */
  private reconcileAgentTasks(agent: AgentRecord, reported: readonly AgentTask[]): void {
    const held = new Set(
      reported.map((t) => `${t.framework_id.value}\u0000${t.task.task_id.value}`),
    );
    for (const task of [...agent.tasks]) {
      if (isTerminalState(task.state)) continue;
      if (held.has(`${task.frameworkId.value}\u0000${task.taskId.value}`)) {
        if (task.state === 'TASK_UNREACHABLE') {
          const framework = this.books.frameworks.get(task.frameworkId.value);
          const reportedState =
            reported.find((t) => t.task.task_id.value === task.taskId.value)?.state ??
            'TASK_RUNNING';
          task.state = reportedState;
          task.isRecovered = false;
          if (framework !== undefined)
            this.sendMasterStatus(framework, task.taskId, agent.id, reportedState, {
              reason: 'REASON_AGENT_REREGISTERED',
              message: 'Agent re-registered',
            });
        }
        continue;
      }
      const framework = this.books.frameworks.get(task.frameworkId.value);
      this.setTaskStatus(task, {
        task_id: task.taskId,
        state: 'TASK_GONE',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_RESTARTED',
        message: 'Task is unknown to the agent after it re-registered',
        agent_id: agent.id,
        timestamp: this.nowSec(),
      });
      if (framework !== undefined)
        this.sendMasterStatus(framework, task.taskId, agent.id, 'TASK_GONE', {
          reason: 'REASON_AGENT_RESTARTED',
          message: 'Task is unknown to the agent after it re-registered',
        });
      this.recoverTask(task);
      this.books.completeTask(task);
    }
    this.adoptAgentTasks(agent, reported);
  }

  /** The agent's stream broke: it is deactivated and has agentReregisterTimeout to return. */
  private agentDisconnected(agent: AgentRecord): void {
    if (this.isStopping) return;
    agent.connection = undefined;
    agent.state = 'disconnected';
    for (const offerId of [...agent.offers]) {
      const offer = this.books.offers.get(offerId);
      if (offer !== undefined) this.discardOffer(offer, undefined, true);
    }
    this.allocatorHandle({ kind: 'agentDeactivated', agentId: agent.id });
    agent.reregisterTimer = this.options.clock.setTimeout(
      () => this.agentUnreachable(agent),
      this.options.agentReregisterTimeoutMs,
    );
    this.log.warn({ agent_id: agent.id.value }, 'agent disconnected');
  }

  /** The agent did not come back in time: its tasks are lost (or unreachable, for PARTITION_AWARE). */
  private agentUnreachable(agent: AgentRecord): void {
    if (agent.state !== 'disconnected') return;
    agent.state = 'unreachable';
    agent.reregisterTimer = undefined;
    for (const task of [...agent.tasks]) {
      if (isTerminalState(task.state)) continue;
      const framework = this.books.frameworks.get(task.frameworkId.value);
      const isPartitionAware =
        framework !== undefined && hasCapability(framework.info, 'PARTITION_AWARE');
      const state: TaskState = isPartitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST';
      this.setTaskStatus(task, {
        task_id: task.taskId,
        state,
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REMOVED',
        message: 'Agent did not re-register in time',
        agent_id: agent.id,
        timestamp: this.nowSec(),
      });
      if (framework !== undefined)
        this.sendMasterStatus(framework, task.taskId, agent.id, state, {
          reason: 'REASON_AGENT_REMOVED',
          message: 'Agent did not re-register in time',
        });
      task.isRecovered = true;
      if (state === 'TASK_LOST') this.books.completeTask(task);
    }
    this.allocatorHandle({ kind: 'agentRemoved', agentId: agent.id });
    this.log.warn({ agent_id: agent.id.value }, 'agent unreachable');
  }

  /** A status update from an agent: recorded, then forwarded to the framework for acknowledgement. */
  statusUpdate(agent: AgentRecord, frameworkIdValue: string, status: TaskStatus): void {
    const framework = this.books.frameworks.get(frameworkIdValue);
    const task = framework?.tasks.get(status.task_id.value);
    if (framework === undefined || task === undefined) {
      // Nobody will acknowledge this: acknowledge it for the framework, so the agent stops retrying.
      if (status.uuid !== undefined)
        this.sendToAgent(agent, {
          type: 'ACKNOWLEDGE',
          acknowledge: {
            framework_id: mintFrameworkId(frameworkIdValue),
            task_id: status.task_id,
            uuid: status.uuid,
          },
        });
      this.metrics.count('master/invalid_status_updates');
      return;
    }
    const from = task.state;
    if (!this.setTaskStatus(task, status)) {
      this.metrics.count('master/invalid_status_updates');
      this.log.warn(
        { framework_id: frameworkIdValue, task_id: status.task_id.value, from, to: status.state },
        'invalid task state transition ignored',
      );
    } else {
      this.metrics.count('master/valid_status_updates');
      if (from !== task.state) this.metrics.countTaskStatus(status);
    }
    if (isTerminalState(task.state)) {
      this.recoverTask(task);
    }
    task.statusUpdateState = status.state;
    task.statusUpdateUuid = status.uuid;
    this.send(framework, { type: 'UPDATE', update: { status } });
    this.log.info(
      { framework_id: frameworkIdValue, task_id: status.task_id.value, from, to: status.state },
      'task state changed',
    );
  }
}

/** A role's resources as Mesos' /roles shows them. Units; subtree sums. */
export interface RoleBreakdown {
  readonly name: string;
  readonly weight: number;
  readonly frameworkIds: readonly string[];
  readonly allocated: Readonly<Record<string, number>>;
  readonly offered: Readonly<Record<string, number>>;
  readonly reserved: Readonly<Record<string, number>>;
  /** Used (not offered) unreserved resources plus reservations: Mesos' quota consumption. */
  readonly consumed: Readonly<Record<string, number>>;
  readonly quota: QuotaConfig | undefined;
  readonly dominantShare: number;
}

function scalarsOf(resources: Resources): Record<string, number> {
  return Object.fromEntries(
    [...resources.scalarMillis()].map(([name, millis]) => [name, millis / 1000]),
  );
}

function conflictIfUnavailable(error: unknown): unknown {
  return error instanceof BadRequestError && /not available/.test(error.reason)
    ? new AgoraError('CONFLICT', error.message, { cause: error })
    : error;
}

function allocationCapabilities(info: FrameworkInfo): FrameworkCapabilities {
  return { reservationRefinement: hasCapability(info, 'RESERVATION_REFINEMENT') };
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** MasterInfo.ip: the IPv4 bytes in network order read as a little-endian uint32 (WIRE §3). */
export function ipv4ToUint32(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return 0;
  const [a = 0, b = 0, c = 0, d = 0] = parts;
  return ((d << 24) >>> 0) + (c << 16) + (b << 8) + a;
}
