// What the HTTP handlers (./http) may ask of the master: read-only queries
// over its books, and commands. Handlers validate and check permissions, then
// call these; they never see the master's class, its core or its sockets.
import type { ServerResponse } from 'node:http';
import type { QuotaConfig } from '../allocator/index.js';
import type {
  Acls,
  FileOpener,
  MessageEncoder,
  Principal,
  StreamResponse,
} from '../runtime/index.js';
import type {
  Accept,
  AgentSubscribe,
  Call,
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
import type { AcceptAuthorizer } from './core/accept.js';
import type { VolumeChange } from './core/agent-resources.js';
import type { ReadonlyBooks } from './core/books.js';
import type { Histogram } from './core/metrics.js';
import type { QuotaContext } from './core/quota.js';
import type { AgentRecord, FrameworkRecord } from './core/records.js';
import type { RoleBreakdown } from './core/roles.js';
import type { Visibility } from './http/view-filter.js';

export interface MasterQueries {
  readonly books: ReadonlyBooks;
  readonly flags: Readonly<Record<string, string>>;
  /** --acls (permissive when not given). */
  readonly acls: Acls;
  readonly startTimeSec: number;
  readonly weights: ReadonlyMap<string, number>;
  readonly quotas: ReadonlyMap<string, QuotaConfig>;
  masterInfo(): MasterInfo;
  snapshotMetrics(): Record<string, number>;
  /** The latency histograms behind GET /metrics. */
  histograms(): { readonly allocationRun: Histogram; readonly offerAccept: Histogram };
  roleBreakdowns(): RoleBreakdown[];
  quotaContext(): QuotaContext;
  /** Opens a file the master serves (its log at `/master/log`); 404 for anything else. */
  readonly openFile: FileOpener;
  /** openFile for a caller: FORBIDDEN unless its ACLs let it read the master's log. */
  openFileAs(principal: string | undefined): FileOpener;
  /** The logging verbosity, as glog's FLAGS_v (see logging-level.ts). */
  loggingLevel(): number;
}

/** A framework's calls after SUBSCRIBE; the handler has checked it is subscribed on this stream. */
export interface SchedulerCommands {
  /**
   * Resolves once every effect so far is delivered (and every registry write
   * durable); rejects when a registry write failed.
   */
  flushed(): Promise<void>;
  /** Counts a call the handler accepted (per-framework `calls/*`, the master's `messages_*`). */
  countCall(framework: FrameworkRecord, call: Call): void;
  teardown(framework: FrameworkRecord, why: string): void;
  /** ACCEPT; `authorizer` (ACLs) refuses single operations, see AcceptAuthorizer. */
  accept(framework: FrameworkRecord, call: Accept, authorizer?: AcceptAuthorizer): void;
  decline(framework: FrameworkRecord, offerIds: readonly string[], refuseSeconds?: number): void;
  revive(framework: FrameworkRecord, roles: readonly string[]): void;
  suppress(framework: FrameworkRecord, roles: readonly string[]): void;
  kill(
    framework: FrameworkRecord,
    taskIdValue: string,
    agentIdValue: string | undefined,
    gracePeriodNs?: number,
  ): void;
  acknowledge(
    framework: FrameworkRecord,
    agentIdValue: string,
    taskIdValue: string,
    uuid: string,
  ): void;
  reconcile(framework: FrameworkRecord, call: Reconcile): void;
  /** Throws BadRequestError before changing anything. */
  updateFramework(framework: FrameworkRecord, call: Subscribe): void;
  shutdownExecutor(framework: FrameworkRecord, agentIdValue: string, executorIdValue: string): void;
  messageExecutor(
    framework: FrameworkRecord,
    agentIdValue: string,
    executorIdValue: string,
    data: string,
  ): void;
  acknowledgeOperationStatus(
    framework: FrameworkRecord,
    operationIdValue: string,
    uuid: string,
  ): void;
  reconcileOperations(framework: FrameworkRecord, call: ReconcileOperations): void;
  /** ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS: recorded for the maintenance status. */
  answerInverseOffers(
    framework: FrameworkRecord,
    inverseOfferIdValues: readonly string[],
    status: 'ACCEPT' | 'DECLINE',
    refuseSeconds: number | undefined,
  ): void;
}

export interface OperatorCommands {
  /**
   * The operator event stream (SUBSCRIBE): answers on `response`, encoded by `encoder`, until
   * it ends, showing what `visibility` (the caller's view ACLs) lets it see.
   */
  subscribeOperator(
    response: ServerResponse,
    requestClosed: AbortSignal,
    encoder: MessageEncoder,
    visibility?: Visibility,
  ): Promise<void>;
  /** Resolve once the change is durable. */
  updateWeights(
    weights: readonly { readonly role: string; readonly weight: number }[],
  ): Promise<void>;
  updateQuota(configs: readonly QuotaConfig[]): Promise<void>;
  /** Throws BadRequestError (400) or CONFLICT (409) before changing anything. */
  changeReservations(
    agentIdValue: string,
    kind: 'reserve' | 'unreserve',
    resources: readonly Resource[] | undefined,
    principal: string | undefined,
  ): void;
  teardownFramework(frameworkId: FrameworkID): boolean;
  /** Throws BadRequestError (400) or CONFLICT (409) before changing anything. */
  changeVolumes(agentIdValue: string, change: VolumeChange, principal: string | undefined): void;
  /**
   * The agent and maintenance calls (WIRE §6.1). Each throws BadRequestError
   * (400) or NOT_FOUND (404) before changing anything, and resolves once the
   * change is durable.
   */
  deactivateAgent(agentIdValue: string): Promise<void>;
  reactivateAgent(agentIdValue: string): Promise<void>;
  drainAgent(
    agentIdValue: string,
    maxGracePeriod: { readonly seconds?: number; readonly nanos?: number } | undefined,
    markGone: boolean,
  ): Promise<void>;
  markAgentGone(agentIdValue: string): Promise<void>;
  updateMaintenanceSchedule(schedule: MaintenanceSchedule): Promise<void>;
  startMaintenance(machines: readonly MachineID[]): Promise<void>;
  stopMaintenance(machines: readonly MachineID[]): Promise<void>;
  /** Sets the logging verbosity; it reverts after `durationMs` unless it is the original. */
  setLoggingLevel(level: number, durationMs: number): void;
}

export interface StreamCommands {
  /** A framework's SUBSCRIBE: answers on `response` as a RecordIO stream of `encoder`'s records until it ends. */
  subscribeFramework(
    call: Subscribe,
    response: ServerResponse,
    principal: Principal | undefined,
    requestClosed: AbortSignal,
    encoder: MessageEncoder,
  ): Promise<void>;
  /**
   * Undefined once the registry is recovered; before, a promise that resolves when it is:
   * an agent's call that comes while a newly elected master recovers waits for it, rather
   * than being answered 503 and sent again. Rejects with 503 if the request's `signal`
   * aborts or the master stops first. The signal is read only while recovering: made for
   * every agent call (and aborted with an Error when the call ended) it was ~4% of a busy
   * master's CPU.
   */
  recovered(request: { readonly signal: AbortSignal }): Promise<void> | undefined;
  /** An agent's SUBSCRIBE: commands stream back on `response` until it (the response) closes. */
  subscribeAgent(
    call: AgentSubscribe,
    agentIdValue: string | undefined,
    remoteIp: string,
    response: StreamResponse,
  ): Promise<void>;
  /** The agent's stream id, if it is subscribed on one. */
  agentStreamId(agent: AgentRecord): string | undefined;
  statusUpdate(agent: AgentRecord, frameworkIdValue: string, status: TaskStatus): void;
  executorExited(
    agent: AgentRecord,
    frameworkIdValue: string,
    executorIdValue: string,
    status: number,
  ): void;
  /** An executor's MESSAGE, relayed by its agent to the framework; best effort. */
  executorMessage(
    agent: AgentRecord,
    frameworkIdValue: string,
    executorIdValue: string,
    data: string,
  ): void;
  /** The agent answered a PING. */
  pong(agent: AgentRecord): void;
  /** The agent answered a FILES_REQUEST the master relayed (files-tunnel.ts). */
  filesResponse(agent: AgentRecord, response: FilesResponse): void;
}

export interface MasterApi
  extends MasterQueries,
    SchedulerCommands,
    OperatorCommands,
    StreamCommands {}
