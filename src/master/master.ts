// Long file: the MasterApi facade, one short method per call, each handing off to the core.
// The master's shell: it listens, recovers the registry, runs the core's
// commands for the HTTP handlers, and drains the core's outbox into the
// framework and agent streams and the registry, in order. Everything the
// master decides is decided in ./core; this file only carries it out.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { QuotaConfig } from '../allocator/index.js';
import {
  type Acls,
  Cleanup,
  EventStream,
  every,
  type FileOpener,
  HttpError,
  HttpServer,
  type Logger,
  type MessageEncoder,
  PERMISSIVE_ACLS,
  type Principal,
  type RegisteredRoute,
  requireAuthorized,
  type StreamResponse,
  schemeOf,
  serveFiles,
  type Timer,
  TurnBudget,
} from '../runtime/index.js';
import type {
  Accept,
  AgentEvent,
  AgentSubscribe,
  Call,
  Event,
  FilesResponse,
  FrameworkID,
  MachineID,
  MaintenanceSchedule,
  MasterInfo,
  Reconcile,
  ReconcileOperations,
  Resource,
  Subscribe,
  TaskStatus,
} from '../wire/index.js';
import type { MasterApi } from './api.js';
import { AttachedFiles } from './attached-files.js';
import {
  type AcceptAuthorizer,
  accept as acceptOffers,
  decline as declineOffers,
} from './core/accept.js';
import * as agentAdmin from './core/agent-admin.js';
import { changeReservations, changeVolumes, type VolumeChange } from './core/agent-resources.js';
import * as agents from './core/agents.js';
import { MasterCore } from './core/core.js';
import * as executors from './core/executors.js';
import * as frameworks from './core/frameworks.js';
import { answerInverseOffers } from './core/inverse-offers.js';
import * as maintenance from './core/maintenance.js';
import * as operations from './core/operations.js';
import type { MasterEffect } from './core/outbox.js';
import type { AgentRecord, FrameworkRecord } from './core/records.js';
import { recoverRegistry } from './core/recovery.js';
import { quotaContext, roleBreakdowns, updateQuota, updateWeights } from './core/roles.js';
import { snapshotMetrics, walkGauges, walkSize } from './core/snapshot.js';
import * as tasks from './core/tasks.js';
import { FilesTunnel, type TunnelResult } from './files-tunnel.js';
import { GaugeCache } from './gauge-cache.js';
import { routeAgentApi } from './http/agent-api.js';
import { routeAgentProxy } from './http/agent-proxy.js';
import { routeEndpoints } from './http/endpoints.js';
import { routeOperatorApi } from './http/operator-api.js';
import { MASTER_ROUTE_ACCESS } from './http/route-access.js';
import { routeSchedulerApi } from './http/scheduler-api.js';
import type { Visibility } from './http/view-filter.js';
import { routeWebUi } from './http/web-ui.js';
import { LoggingLevel } from './logging-level.js';
import { buildMasterInfo } from './master-info.js';
import { OperatorStreams } from './operator-stream.js';
import type { MasterOptions } from './options.js';
import type { LeadershipState } from './stall-watch.js';

type AnyStream = EventStream<Event> | EventStream<AgentEvent>;

/**
 * What a master answers before its registry is recovered, as Mesos' does: whether it
 * lives and what it measures (master/elected among them), never what it holds.
 */
/**
 * Paths whose requests wait for the recovery rather than being answered 503: the agents'
 * (agent-api.ts). A newly elected master meets every agent's SUBSCRIBE within a second of
 * its election; answered 503 while it read its registry, each came back a random part of a
 * second later, again and again, and the answers, retries and their connections cost the
 * master more CPU than the re-registrations themselves (#10).
 */
const HELD_WHILE_RECOVERING: ReadonlySet<string> = new Set(['/master/api/v1/agent']);
const ANSWERED_WHILE_RECOVERING: ReadonlySet<string> = new Set([
  '/health',
  '/master/health',
  '/metrics/snapshot',
  '/version',
  '/flags',
  '/master/flags',
]);

/** What a request gets (503) while the leadership is not sure (stall-watch.ts). */
const UNAVAILABLE_WHILE: Readonly<Record<LeadershipState, string | undefined>> = {
  leading: undefined,
  confirming: 'this master stood still and is confirming with the coordinator that it still leads',
  lost: 'this master is stopping: it may no longer lead',
};

/**
 * The leading master. Alone it leads from start(); with a coordinator,
 * ./contender.ts starts it once this master is elected.
 */
export class Master implements MasterApi {
  readonly id: string;
  readonly startTimeSec: number;
  private readonly core: MasterCore;
  private readonly log: Logger;
  private readonly http: HttpServer;
  private readonly cleanup = new Cleanup();
  /** Agent calls, handled a time budget per loop turn (runtime/turn-budget.ts). */
  readonly agentCalls: TurnBudget;
  /** Open streams by stream id: the outbox addresses them by id. */
  private readonly streams = new Map<string, AnyStream>();
  /** The one heartbeat timer of every open stream (heartbeatAll); none while none is open. */
  private heartbeats: Timer | undefined;
  /**
   * Streams written to since the last flush. They are flushed once per loop round, after
   * every call that round brought has run (flushRound), not after each call: under load a
   * round carries dozens of calls, and an agent's or framework's events from all of them
   * go out in one write instead of one each (socket writes were a third of the master's
   * CPU in the #8 benchmark).
   */
  private readonly written = new Set<AnyStream>();
  private isFlushScheduled = false;
  private isStopping = false;
  private isPumping = false;
  /** The registry is recovered and the books hold it: requests are answered from here on. */
  private isRecovered = false;
  /** Woken when the registry is recovered (true) or the master stops first (false). */
  private recoveryWaiters: ((isRecovered: boolean) => void)[] = [];
  /** A registry write failed: nothing more may be delivered (it would not be durable). */
  private isBroken = false;
  /** Why the registry broke: operator calls waiting on a write get it (503), never a 200. */
  private brokenBy: Error | undefined;
  private readonly flushWaiters: (() => void)[] = [];
  private readonly operatorStreams: OperatorStreams;
  private readonly attachedFiles = new AttachedFiles();
  private readonly filesTunnel = new FilesTunnel();
  private readonly logging: LoggingLevel;
  private readonly gauges: GaugeCache;

  constructor(readonly options: MasterOptions) {
    this.agentCalls = new TurnBudget(
      options.agentCallBudgetMs === undefined ? {} : { budgetMs: options.agentCallBudgetMs },
    );
    this.id = options.id ?? randomUUID();
    this.log = options.logger;
    this.startTimeSec = options.clock.now() / 1000;
    this.core = new MasterCore({
      masterId: this.id,
      allocator: options.allocator,
      clock: options.clock,
      logger: options.logger,
      allocationIntervalMs: options.allocationIntervalMs,
      ...(options.allocationBatchWindowMs !== undefined
        ? { allocationBatchWindowMs: options.allocationBatchWindowMs }
        : {}),
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      ...(options.offerTimeoutMs !== undefined ? { offerTimeoutMs: options.offerTimeoutMs } : {}),
      agentReregisterTimeoutMs: options.agentReregisterTimeoutMs,
      agentPingTimeoutMs: options.agentPingTimeoutMs,
      maxAgentPingTimeouts: options.maxAgentPingTimeouts,
      ...(options.agentRemovalRateLimit !== undefined
        ? { agentRemovalRateLimit: options.agentRemovalRateLimit }
        : {}),
      frameworkReregisterTimeoutMs: options.frameworkReregisterTimeoutMs,
      onEffects: () => queueMicrotask(() => void this.pump()),
    });
    this.operatorStreams = new OperatorStreams({
      books: this.core.books,
      clock: options.clock,
      logger: options.logger,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      ...(options.maxOperatorSubscribers !== undefined
        ? { maxSubscribers: options.maxOperatorSubscribers }
        : {}),
      onObservedChange: (isObserved) => {
        this.core.isObserved = isObserved;
      },
    });
    this.http = new HttpServer({
      logger: options.logger,
      delegate: '/master',
      routeAccess: MASTER_ROUTE_ACCESS,
      ...(options.acls !== undefined
        ? {
            authorizeRoute: (principal: string | undefined, path: string) =>
              requireAuthorized(this.acls, 'get_endpoints', principal, path),
          }
        : {}),
      ...(options.authenticate !== undefined ? { authenticate: options.authenticate } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      ...(options.httpTimeouts !== undefined ? { timeouts: options.httpTimeouts } : {}),
      ...(options.onInvariantFailure !== undefined
        ? { onInvariantFailure: options.onInvariantFailure }
        : {}),
      ...(options.maxRequestBodyBytes !== undefined
        ? { maxRequestBodyBytes: options.maxRequestBodyBytes }
        : {}),
      unavailable: (path) =>
        UNAVAILABLE_WHILE[this.options.leadership?.state() ?? 'leading'] ??
        (!this.isRecovered &&
        !ANSWERED_WHILE_RECOVERING.has(path) &&
        !HELD_WHILE_RECOVERING.has(path)
          ? 'this master is recovering its registry (just started or elected)'
          : undefined),
    });
    this.logging = new LoggingLevel(options.logger, options.clock);
    this.gauges = new GaugeCache({
      clock: options.clock,
      walk: () => walkGauges(this.core),
      size: () => walkSize(this.core),
    });
    const log = options.logFile ?? options.externalLogFile;
    if (log !== undefined) this.attachedFiles.attach(log, '/master/log');
    routeSchedulerApi(this.http, this);
    routeAgentApi(this.http, this, this.agentCalls, options.isAgentFrontOn !== false);
    routeOperatorApi(this.http, this);
    routeEndpoints(this.http, this);
    serveFiles(this.http, this.attachedFiles.open, {
      debug: this.attachedFiles.debug,
      openerFor: (request) => this.openFileAs(request.principal?.value),
    });
    routeAgentProxy(this.http, this, (agent, path, authorization, signal) =>
      this.relayFiles(agent, path, authorization, signal),
    );
    routeWebUi(this.http, options.webUiDir);
  }

  /** Every route this daemon serves (one entry per method), from its router. */
  routes(): RegisteredRoute[] {
    return this.http.registeredRoutes();
  }

  /**
   * Listens (answering 503 until recovered), recovers the registry, and starts the
   * allocation loop. Resolves with the URL. Listening first keeps the port open through
   * a newly elected master's recovery: its agents find it answering (503: wait and try
   * again, their backoff not growing) rather than refusing, and none of them waits on a
   * SYN the kernel dropped.
   */
  async start(): Promise<string> {
    const { registry } = this.options;
    this.cleanup.defer(() => registry.close());
    const address = await this.http.listen(this.options.ip, this.options.port);
    this.cleanup.defer(() => this.http.close());
    const startedAt = performance.now();
    const recovered = await registry.recover();
    const readAt = performance.now();
    this.core.recoveredAtMs = this.options.clock.now();
    const info = buildMasterInfo(this.id, address, this.options);
    this.core.setMasterInfo(info);
    const ip = info.address?.ip ?? '127.0.0.1';
    const isPrepared = recoverRegistry(this.core, recovered);
    this.isRecovered = true;
    this.core.start();
    // Where a new leader's time to serving goes (#10): the registry read, then the books.
    this.log.info(
      {
        registry_read_ms: Math.round(readAt - startedAt),
        books_ms: Math.round(performance.now() - readAt),
        // Whether a standby had the books' records ready for exactly the state read.
        books_prepared: isPrepared,
        agents_waiting: this.recoveryWaiters.length,
      },
      'serving',
    );
    for (const wake of this.recoveryWaiters.splice(0)) wake(true);
    this.cleanup.defer(() => this.core.stop());
    this.cleanup.defer(() => this.logging.stop());
    this.cleanup.defer(() => this.gauges.stop());
    this.cleanup.defer(() => this.filesTunnel.close());
    this.cleanup.defer(() => {
      for (const stream of this.streams.values()) stream.close();
      this.heartbeats?.cancel();
      this.heartbeats = undefined;
      this.operatorStreams.closeAll();
    });
    const url = `${schemeOf(this.options.tls)}://${ip}:${address.port}`;
    this.log.info({ url, ip, port: address.port, master_id: this.id }, 'listening');
    return url;
  }

  /** Closes every stream and the server, cancels timers, closes the registry. Idempotent. */
  async stop(): Promise<void> {
    this.isStopping = true;
    for (const wake of this.recoveryWaiters.splice(0)) wake(false);
    await this.cleanup.run();
    this.log.info({ master_id: this.id }, 'stopped');
  }

  // ------------------------------------------------------------------ outbox

  /**
   * Delivers the core's effects in order. A registry write is durable before
   * anything after it goes out, so nothing is seen before it is. The writes of
   * one batch go to the registry together (it may join them in one write: an
   * agent registration storm is then a few writes, not one per agent), and what
   * follows the first of them waits for all.
   */
  private async pump(): Promise<void> {
    if (this.isPumping) return;
    this.isPumping = true;
    try {
      for (;;) {
        const effects = this.core.outbox.take();
        if (effects.length === 0) break;
        // A master that may no longer lead says nothing to anyone until the coordinator
        // confirms it still does, and nothing more at all if not (stall-watch.ts).
        const leadership = this.options.leadership;
        if (leadership !== undefined && leadership.state() !== 'leading' && !this.isBroken) {
          const isLeading = await leadership.settled();
          if (!isLeading && !this.isBroken) {
            this.isBroken = true;
            this.brokenBy = new Error('this master may no longer lead');
          }
        }
        const firstWrite = effects.findIndex((effect) => effect.kind === 'persist');
        const before = firstWrite < 0 ? effects : effects.slice(0, firstWrite);
        for (const effect of before) {
          if (this.isBroken) break;
          if (effect.kind !== 'persist') this.deliver(effect);
        }
        if (firstWrite < 0 || this.isBroken) continue;
        const rest = effects.slice(firstWrite);
        await Promise.all(
          rest.flatMap((effect) => (effect.kind === 'persist' ? [this.persist(effect)] : [])),
        );
        for (const effect of rest) {
          if (this.isBroken) break;
          if (effect.kind !== 'persist') this.deliver(effect);
        }
      }
    } finally {
      this.isPumping = false;
      if (this.written.size > 0 || this.flushWaiters.length > 0) this.scheduleFlush();
    }
  }

  private scheduleFlush(): void {
    if (this.isFlushScheduled) return;
    this.isFlushScheduled = true;
    setImmediate(() => this.flushRound());
  }

  /**
   * Puts what this loop round's calls sent on the wire, then answers the callers waiting
   * for it: sent means on the wire before anyone is told it was (see EventStream.flush),
   * so a 202 to an ACKNOWLEDGE goes out after the agent's event, never before.
   */
  private flushRound(): void {
    this.isFlushScheduled = false;
    for (const stream of this.written) stream.flush();
    this.written.clear();
    // A pump still waiting on a registry write schedules another round when it is done.
    if (!this.isPumping && this.core.outbox.size === 0)
      for (const resolve of this.flushWaiters.splice(0)) resolve();
  }

  private async persist(effect: Extract<MasterEffect, { kind: 'persist' }>): Promise<void> {
    try {
      await this.options.registry.apply(effect.operation);
    } catch (error) {
      // The core already acts on the change; it cannot be taken back. Stop here, as
      // Mesos' master aborts when its registrar fails, so another master (or a
      // restart) takes over from what is durable. The writes of a batch fail together:
      // the first failure tells.
      if (this.isBroken) return;
      this.isBroken = true;
      this.brokenBy = error instanceof Error ? error : new Error(String(error));
      this.log.fatal({ err: error, operation: effect.operation.kind }, 'registry write failed');
      this.options.onInvariantFailure?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private deliver(effect: Exclude<MasterEffect, { kind: 'persist' }>): void {
    switch (effect.kind) {
      case 'toFramework': {
        const stream = this.streams.get(effect.streamId) as EventStream<Event> | undefined;
        if (stream?.send(effect.event) === true) this.written.add(stream);
        return;
      }
      case 'toAgent': {
        const stream = this.streams.get(effect.streamId) as EventStream<AgentEvent> | undefined;
        if (stream?.send(effect.event) === true) this.written.add(stream);
        return;
      }
      case 'closeStream':
        this.streams.get(effect.streamId)?.close();
        return;
      case 'observed':
        this.operatorStreams.publish(effect.change);
        return;
    }
  }

  /**
   * Resolves once every effect so far is delivered (and every registry write
   * durable); rejects when a registry write failed, since then nothing is.
   */
  async flushed(): Promise<void> {
    if (this.isPumping || this.core.outbox.size > 0 || this.isFlushScheduled)
      await new Promise<void>((resolve) => this.flushWaiters.push(resolve));
    if (this.brokenBy !== undefined) throw this.brokenBy;
  }

  /**
   * Opens a RecordIO stream on `response`, registered for the outbox; heartbeats until it
   * ends. Records are JSON unless `encoder` (the subscriber's Accept) says otherwise. The
   * stream ends when its response closes (the client gone, or the server's connections
   * closed at stop); `requestClosed`, when given, ends it too.
   */
  private openStream<E>(
    response: StreamResponse,
    requestClosed: AbortSignal | undefined,
    encoder?: MessageEncoder,
    deferHeaders = false,
  ) {
    const streamId = randomUUID();
    const stream = new EventStream<E>(response, {
      headers: { 'Mesos-Stream-Id': streamId },
      deferHeaders,
      ...(encoder !== undefined ? { encoder } : {}),
      onEncodeError: (error) =>
        this.log.error({ err: error, stream_id: streamId }, 'event could not be encoded'),
    });
    requestClosed?.addEventListener('abort', () => stream.close(), { once: true });
    this.streams.set(streamId, stream as unknown as AnyStream);
    this.heartbeats ??= every(this.options.clock, this.options.heartbeatIntervalMs, () =>
      this.heartbeatAll(),
    );
    const ended = new Promise<void>((resolve) => stream.onClose(resolve)).then(() => {
      this.streams.delete(streamId);
      if (this.streams.size === 0) {
        this.heartbeats?.cancel();
        this.heartbeats = undefined;
      }
    });
    return { streamId, ended };
  }

  /**
   * One HEARTBEAT to every open stream, from one timer for them all: a timer per stream
   * was 10,000 timers made and cancelled in a re-registration storm (#10). Each stream
   * still hears one at most an interval after it opened, and every interval after. The
   * event is encoded once per encoder.
   */
  private heartbeatAll(): void {
    const encoded = new Map<MessageEncoder, string | Uint8Array>();
    for (const stream of this.streams.values()) {
      const encoder = stream.messageEncoder;
      let payload = encoded.get(encoder);
      if (payload === undefined) {
        try {
          payload = encoder.encode({ type: 'HEARTBEAT' });
        } catch (error) {
          this.log.error({ err: error }, 'event could not be encoded');
          continue;
        }
        encoded.set(encoder, payload);
      }
      stream.sendEncoded(payload);
    }
  }

  // --------------------------------------------------------------- streams

  async subscribeFramework(
    call: Subscribe,
    response: ServerResponse,
    principal: Principal | undefined,
    requestClosed: AbortSignal,
    encoder: MessageEncoder,
  ): Promise<void> {
    const { streamId, ended } = this.openStream<Event>(response, requestClosed, encoder);
    const id = frameworks.subscribe(this.core, call, streamId, principal);
    await ended;
    if (id !== undefined && !this.isStopping)
      frameworks.disconnected(this.core, id.value, streamId);
  }

  recovered(request: { readonly signal: AbortSignal }): Promise<void> | undefined {
    if (this.isRecovered) return undefined;
    const signal = request.signal;
    const unavailable = () =>
      new HttpError(
        'UNAVAILABLE',
        'this master is recovering its registry (just started or elected)',
      );
    if (this.isStopping || signal.aborted) return Promise.reject(unavailable());
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.recoveryWaiters = this.recoveryWaiters.filter((waiter) => waiter !== wake);
        reject(unavailable());
      };
      const wake = (isRecovered: boolean) => {
        signal.removeEventListener('abort', onAbort);
        if (isRecovered) resolve();
        else reject(unavailable());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.recoveryWaiters.push(wake);
    });
  }

  /**
   * Not an async function: a suspended one keeps its arguments for as long as it waits, and
   * this one waits as long as the agent's stream lasts. The parsed SUBSCRIBE (every task of
   * the report, ~5 KB an agent with 10 tasks) then lived as long as the agent, and a new
   * leader's scavenges copied and promoted 10,000 of them in its re-registration storm (#10).
   * Only what the books took from the call stays.
   */
  subscribeAgent(
    call: AgentSubscribe,
    agentIdValue: string | undefined,
    remoteIp: string,
    response: StreamResponse,
  ): Promise<void> {
    // The agent gone while its call waited (for the registry, or its turn): no stream.
    if (response.destroyed || this.isStopping) return Promise.resolve();
    // SUBSCRIBED (or the refusal) follows in this round: the headers go out with it. The
    // stream ends with its response; no AbortSignal of the request's is made (one each for
    // 10,000 agents re-registering at once, #10).
    const { streamId, ended } = this.openStream<AgentEvent>(response, undefined, undefined, true);
    try {
      const id = agents.subscribe(this.core, call, agentIdValue, remoteIp, streamId);
      return this.agentStreamEnded(ended, id?.value, streamId);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** After an agent's stream ends: the agent (`idValue`, if it was booked) is disconnected. */
  private async agentStreamEnded(
    ended: Promise<void>,
    idValue: string | undefined,
    streamId: string,
  ): Promise<void> {
    await ended;
    if (idValue === undefined) return;
    if (!this.isStopping) agents.disconnected(this.core, idValue, streamId);
    // Relayed sandbox reads get no answer now, unless the agent is back on a newer stream.
    if (this.books.agents.get(idValue)?.link.state !== 'connected')
      this.filesTunnel.agentGone(idValue);
  }

  subscribeOperator(
    response: ServerResponse,
    requestClosed: AbortSignal,
    encoder: MessageEncoder,
    visibility?: Visibility,
  ): Promise<void> {
    return this.operatorStreams.subscribe(response, requestClosed, encoder, visibility);
  }

  agentStreamId(agent: AgentRecord): string | undefined {
    return agent.link.state === 'connected' ? agent.link.streamId : undefined;
  }

  statusUpdate(agent: AgentRecord, frameworkIdValue: string, status: TaskStatus): void {
    tasks.statusUpdate(this.core, agent, frameworkIdValue, status);
  }

  executorExited(
    agent: AgentRecord,
    frameworkIdValue: string,
    executorIdValue: string,
    status: number,
  ): void {
    executors.executorExited(this.core, agent, frameworkIdValue, executorIdValue, status);
  }

  executorMessage(
    agent: AgentRecord,
    frameworkIdValue: string,
    executorIdValue: string,
    data: string,
  ): void {
    executors.executorMessage(this.core, agent, frameworkIdValue, executorIdValue, data);
  }

  pong(agent: AgentRecord): void {
    agents.pong(this.core, agent);
  }

  filesResponse(agent: AgentRecord, response: FilesResponse): void {
    if (!this.filesTunnel.answer(agent.id.value, response))
      this.log.debug(
        { agent_id: agent.id.value, request_id: response.request_id },
        'a relayed files answer nobody waits for; dropped',
      );
  }

  /** A sandbox read sent down the agent's own stream (files-tunnel.ts): for agents behind NAT. */
  private relayFiles(
    agent: AgentRecord,
    path: string,
    authorization: string | undefined,
    signal: AbortSignal,
  ): Promise<TunnelResult> {
    return this.filesTunnel.request(
      agent.id.value,
      { path, ...(authorization === undefined ? {} : { authorization }) },
      (request) => {
        const streamId = this.agentStreamId(agent);
        const stream =
          streamId === undefined
            ? undefined
            : (this.streams.get(streamId) as EventStream<AgentEvent> | undefined);
        return stream?.send({ type: 'FILES_REQUEST', files_request: request }) === true;
      },
      signal,
    );
  }

  // ------------------------------------------------------------- scheduler

  countCall(framework: FrameworkRecord, call: Call): void {
    this.core.metrics.countCall(framework, call);
  }

  teardown(framework: FrameworkRecord, why: string): void {
    frameworks.remove(this.core, framework, why);
  }

  accept(framework: FrameworkRecord, call: Accept, authorizer?: AcceptAuthorizer): void {
    acceptOffers(this.core, framework, call, authorizer);
  }

  decline(framework: FrameworkRecord, offerIds: readonly string[], refuseSeconds?: number): void {
    declineOffers(this.core, framework, offerIds, refuseSeconds);
  }

  revive(framework: FrameworkRecord, roles: readonly string[]): void {
    frameworks.revive(this.core, framework, roles);
  }

  suppress(framework: FrameworkRecord, roles: readonly string[]): void {
    frameworks.suppress(this.core, framework, roles);
  }

  kill(
    framework: FrameworkRecord,
    taskIdValue: string,
    agentIdValue: string | undefined,
    gracePeriodNs?: number,
  ): void {
    tasks.killTask(this.core, framework, taskIdValue, agentIdValue, gracePeriodNs);
  }

  acknowledge(
    framework: FrameworkRecord,
    agentIdValue: string,
    taskIdValue: string,
    uuid: string,
  ): void {
    tasks.acknowledge(this.core, framework, agentIdValue, taskIdValue, uuid);
  }

  reconcile(framework: FrameworkRecord, call: Reconcile): void {
    tasks.reconcile(this.core, framework, call);
  }

  updateFramework(framework: FrameworkRecord, call: Subscribe): void {
    frameworks.update(this.core, framework, call);
  }

  shutdownExecutor(
    framework: FrameworkRecord,
    agentIdValue: string,
    executorIdValue: string,
  ): void {
    executors.shutdownExecutor(this.core, framework, agentIdValue, executorIdValue);
  }

  messageExecutor(
    framework: FrameworkRecord,
    agentIdValue: string,
    executorIdValue: string,
    data: string,
  ): void {
    executors.frameworkMessage(this.core, framework, agentIdValue, executorIdValue, data);
  }

  acknowledgeOperationStatus(
    framework: FrameworkRecord,
    operationIdValue: string,
    uuid: string,
  ): void {
    operations.acknowledgeOperation(this.core, framework, operationIdValue, uuid);
  }

  reconcileOperations(framework: FrameworkRecord, call: ReconcileOperations): void {
    operations.reconcileOperations(this.core, framework, call);
  }

  answerInverseOffers(
    framework: FrameworkRecord,
    inverseOfferIdValues: readonly string[],
    status: 'ACCEPT' | 'DECLINE',
    refuseSeconds: number | undefined,
  ): void {
    answerInverseOffers(this.core, framework, inverseOfferIdValues, status, refuseSeconds);
  }

  // --------------------------------------------------------------- operator

  async updateWeights(
    weights: readonly { readonly role: string; readonly weight: number }[],
  ): Promise<void> {
    updateWeights(this.core, weights);
    await this.flushed();
  }

  async updateQuota(configs: readonly QuotaConfig[]): Promise<void> {
    updateQuota(this.core, configs);
    await this.flushed();
  }

  changeReservations(
    agentIdValue: string,
    kind: 'reserve' | 'unreserve',
    resources: readonly Resource[] | undefined,
    principal: string | undefined,
  ): void {
    changeReservations(this.core, agentIdValue, kind, resources, principal);
  }

  changeVolumes(agentIdValue: string, change: VolumeChange, principal: string | undefined): void {
    changeVolumes(this.core, agentIdValue, change, principal);
  }

  setLoggingLevel(level: number, durationMs: number): void {
    this.logging.set(level, durationMs);
  }

  teardownFramework(frameworkId: FrameworkID): boolean {
    const framework = this.core.books.frameworks.get(frameworkId.value);
    if (framework === undefined) return false;
    frameworks.remove(this.core, framework, 'operator TEARDOWN');
    return true;
  }

  async deactivateAgent(agentIdValue: string): Promise<void> {
    agentAdmin.deactivate(this.core, agentIdValue);
    await this.flushed();
  }

  async reactivateAgent(agentIdValue: string): Promise<void> {
    agentAdmin.reactivate(this.core, agentIdValue);
    await this.flushed();
  }

  async drainAgent(
    agentIdValue: string,
    maxGracePeriod: { readonly seconds?: number; readonly nanos?: number } | undefined,
    markGone: boolean,
  ): Promise<void> {
    agentAdmin.drain(this.core, agentIdValue, maxGracePeriod, markGone);
    await this.flushed();
  }

  async markAgentGone(agentIdValue: string): Promise<void> {
    agentAdmin.markGone(this.core, agentIdValue);
    await this.flushed();
  }

  async updateMaintenanceSchedule(schedule: MaintenanceSchedule): Promise<void> {
    maintenance.updateSchedule(this.core, schedule);
    await this.flushed();
  }

  async startMaintenance(machines: readonly MachineID[]): Promise<void> {
    maintenance.startMaintenance(this.core, machines);
    await this.flushed();
  }

  async stopMaintenance(machines: readonly MachineID[]): Promise<void> {
    maintenance.stopMaintenance(this.core, machines);
    await this.flushed();
  }

  // ---------------------------------------------------------------- queries

  get books() {
    return this.core.books;
  }

  get acls(): Acls {
    return this.options.acls ?? PERMISSIVE_ACLS;
  }

  get flags(): Readonly<Record<string, string>> {
    return this.options.flags ?? {};
  }

  get weights(): ReadonlyMap<string, number> {
    return this.core.roles.weights;
  }

  get quotas(): ReadonlyMap<string, QuotaConfig> {
    return this.core.roles.quotas;
  }

  masterInfo(): MasterInfo {
    return this.core.masterInfo();
  }

  /** Agents' SUBSCRIBEs the connection front answered (runtime/http-front.ts): for tests and benches. */
  get agentFrontAnswered(): number {
    return this.http.frontAnswered;
  }

  snapshotMetrics(): Record<string, number> {
    return snapshotMetrics(
      this.core,
      this.startTimeSec,
      {
        pendingHttpRequests: this.http.pendingRequests,
        operatorEventStreamSubscribers: this.operatorStreams.size,
      },
      this.gauges.read(),
    );
  }

  histograms() {
    return {
      allocationRun: this.core.metrics.allocationRunHistogram,
      offerAccept: this.core.metrics.offerAcceptHistogram,
    };
  }

  roleBreakdowns() {
    return roleBreakdowns(this.core);
  }

  get openFile(): FileOpener {
    return this.attachedFiles.open;
  }

  /** The attached files as `principal` may read them: all of them are logs (access_mesos_logs). */
  openFileAs(principal: string | undefined): FileOpener {
    return (path) => {
      requireAuthorized(this.acls, 'access_mesos_logs', principal, undefined);
      return this.attachedFiles.open(path);
    };
  }

  loggingLevel(): number {
    return this.logging.level;
  }

  quotaContext() {
    return quotaContext(this.core);
  }
}
