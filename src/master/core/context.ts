// What every command of the master's core works with: the books, the
// allocator, time, metrics, a logger, the outbox its effects go to, and its
// timers. Modules are functions over a CoreContext, so a test can drive them
// with a manual clock and read the outbox, with no socket in sight.
import type { Allocator, AllocatorEvent, QuotaConfig } from '../../allocator/index.js';
import type { RegistryOperation } from '../../registry/index.js';
import type { Clock, Logger } from '../../runtime/index.js';
import type { AgentEvent, Event, MasterInfo } from '../../wire/index.js';
import type { AllocationBatcher } from './allocation-batcher.js';
import type { Books } from './books.js';
import type { DelayQueue } from './delay-queue.js';
import type { MasterMetrics } from './metrics.js';
import type { ClusterChange, Outbox } from './outbox.js';
import type { AgentRecord, FrameworkRecord } from './records.js';
import type { RemovalLimiter, RemovalRate } from './removal-limiter.js';
import type { Timers } from './timers.js';

/** The master's settings the core reads (MasterOptions has their flags). */
export interface CoreOptions {
  readonly heartbeatIntervalMs: number;
  readonly offerTimeoutMs?: number;
  readonly agentReregisterTimeoutMs: number;
  readonly agentPingTimeoutMs: number;
  readonly maxAgentPingTimeouts: number;
  readonly frameworkReregisterTimeoutMs: number;
  /** --agent_removal_rate_limit: how fast silent agents may be marked unreachable; no limit if unset. */
  readonly agentRemovalRateLimit?: RemovalRate;
}

/** The one copy of the weights and quota the master keeps (the allocator is fed from it). */
export interface RoleSettings {
  readonly weights: Map<string, number>;
  readonly quotas: Map<string, QuotaConfig>;
}

export interface CoreContext {
  readonly books: Books;
  readonly allocator: Allocator;
  readonly clock: Clock;
  readonly metrics: MasterMetrics;
  readonly log: Logger;
  readonly outbox: Outbox;
  readonly timers: Timers;
  /** Each connected agent's PING timeout (agents.ts pingTimedOut runs when it falls due). */
  readonly pings: DelayQueue<AgentRecord>;
  readonly options: CoreOptions;
  readonly roles: RoleSettings;
  readonly allocation: AllocationBatcher;
  /** Paces agents' transitions to unreachable (--agent_removal_rate_limit). */
  readonly removals: RemovalLimiter;
  /**
   * A draining agent may have nothing left: it is looked at on the next tick,
   * once the command that got here is done (DRAINED may mark the agent gone,
   * which must not happen in the middle of another command's loop).
   */
  checkDrainedSoon(agentIdValue: string): void;
  /** This master's MasterInfo; throws before the shell has listened. */
  masterInfo(): MasterInfo;
  /** When the registry was recovered: recovered frameworks' failover timeouts count from here. */
  readonly recoveredAtMs: number;
  /** Whether anyone follows the operator event stream; changes are not queued otherwise. */
  readonly isObserved: boolean;
  /** A fresh UUID, 16 bytes in base64 (operation and operation status uuids). */
  newUuid(): string;
}

export function nowSec(core: CoreContext): number {
  return core.clock.now() / 1000;
}

export function allocatorHandle(core: CoreContext, event: AllocatorEvent): void {
  core.allocator.handle(event, core.clock.monotonicMs());
}

/** Sends an event to a framework on its current stream; dropped if it has none. Returns whether sent. */
export function toFramework(core: CoreContext, framework: FrameworkRecord, event: Event): boolean {
  if (framework.link.state !== 'connected') {
    // Mesos counts the messages it drops; here, events whose framework has no stream to take them.
    core.metrics.count('master/dropped_messages');
    return false;
  }
  core.outbox.push({ kind: 'toFramework', streamId: framework.link.streamId, event });
  core.metrics.countEvent(framework, event.type);
  return true;
}

/** Sends a command to an agent on its current stream; dropped if it has none. */
export function toAgent(core: CoreContext, agent: AgentRecord, event: AgentEvent): void {
  if (agent.link.state !== 'connected') {
    core.metrics.count('master/dropped_messages');
    return;
  }
  core.outbox.push({ kind: 'toAgent', streamId: agent.link.streamId, event });
}

export function persist(core: CoreContext, operation: RegistryOperation): void {
  core.outbox.push({ kind: 'persist', operation });
}

export function observe(core: CoreContext, change: ClusterChange): void {
  if (core.isObserved) core.outbox.push({ kind: 'observed', change });
}
