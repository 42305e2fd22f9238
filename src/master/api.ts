// What the HTTP handlers (./http) may ask of the master: read-only queries
// over its books, and commands. Handlers validate and check permissions, then
// call these; they never see the master's class, its core or its sockets.
import type { ServerResponse } from 'node:http';
import type { QuotaConfig } from '../allocator/index.js';
import type { MessageEncoder, Principal } from '../runtime/index.js';
import type {
  Accept,
  AgentSubscribe,
  FrameworkID,
  MasterInfo,
  Reconcile,
  Resource,
  Subscribe,
  TaskStatus,
} from '../wire/index.js';
import type { ReadonlyBooks } from './core/books.js';
import type { Histogram } from './core/metrics.js';
import type { QuotaContext } from './core/quota.js';
import type { AgentRecord, FrameworkRecord } from './core/records.js';
import type { RoleBreakdown } from './core/roles.js';

export interface MasterQueries {
  readonly books: ReadonlyBooks;
  readonly flags: Readonly<Record<string, string>>;
  readonly startTimeSec: number;
  readonly weights: ReadonlyMap<string, number>;
  readonly quotas: ReadonlyMap<string, QuotaConfig>;
  masterInfo(): MasterInfo;
  snapshotMetrics(): Record<string, number>;
  /** The latency histograms behind GET /metrics. */
  histograms(): { readonly allocationRun: Histogram; readonly offerAccept: Histogram };
  roleBreakdowns(): RoleBreakdown[];
  quotaContext(): QuotaContext;
}

/** A framework's calls after SUBSCRIBE; the handler has checked it is subscribed on this stream. */
export interface SchedulerCommands {
  countCall(framework: FrameworkRecord, type: string): void;
  teardown(framework: FrameworkRecord, why: string): void;
  accept(framework: FrameworkRecord, call: Accept): void;
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
}

export interface OperatorCommands {
  /** The operator event stream (SUBSCRIBE): answers on `response`, encoded by `encoder`, until it ends. */
  subscribeOperator(
    response: ServerResponse,
    requestClosed: AbortSignal,
    encoder: MessageEncoder,
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
  /** An agent's SUBSCRIBE: commands stream back on `response` until it ends. */
  subscribeAgent(
    call: AgentSubscribe,
    agentIdValue: string | undefined,
    remoteIp: string,
    response: ServerResponse,
    requestClosed: AbortSignal,
  ): Promise<void>;
  /** The agent's stream id, if it is subscribed on one. */
  agentStreamId(agent: AgentRecord): string | undefined;
  statusUpdate(agent: AgentRecord, frameworkIdValue: string, status: TaskStatus): void;
}

export interface MasterApi
  extends MasterQueries,
    SchedulerCommands,
    OperatorCommands,
    StreamCommands {}
