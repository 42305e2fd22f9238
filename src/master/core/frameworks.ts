// Frameworks: subscribed on a stream, failed over to a new one, disconnected
// within their failover timeout, recovered after a master restart, and removed
// (torn down, or timed out) with their tasks killed. Their state changes only
// through `moveTo`, which checks lifecycle.ts's table.

import type { RegisteredFramework } from '../../registry/index.js';
import type { Principal } from '../../runtime/index.js';
import {
  BadRequestError,
  type FrameworkID,
  type FrameworkInfo,
  isTerminalState,
  frameworkId as mintFrameworkId,
  roleError,
  type Subscribe,
} from '../../wire/index.js';
import {
  allocatorHandle,
  type CoreContext,
  nowSec,
  observe,
  persist,
  toAgent,
  toFramework,
} from './context.js';
import { forgetExecutorsOf } from './executors.js';
import { frameworkInfoError, frameworkRoles, hasCapability } from './framework-info.js';
import { dropInverseOffersOf } from './inverse-offers.js';
import { jsonEqual } from './json-equal.js';
import { checkTransition, FRAMEWORK_NEXT } from './lifecycle.js';
import {
  compileOfferConstraints,
  evaluateOfferConstraints,
  minAllocatableOf,
  offerFiltersError,
} from './offer-constraints.js';
import { closeOffer, rescindAll } from './offers.js';
import { resendUnacknowledged } from './operations.js';
import type { AgentRecord, FrameworkLink, FrameworkRecord } from './records.js';
import { decideStatus, recoverTask } from './tasks.js';

const failoverTimer = (framework: FrameworkRecord) => `failover:${framework.id.value}`;

function moveTo(framework: FrameworkRecord, link: FrameworkLink): void {
  checkTransition(
    FRAMEWORK_NEXT,
    `framework ${framework.id.value}`,
    framework.link.state,
    link.state,
  );
  framework.link = link;
}

function allocationCapabilities(info: FrameworkInfo) {
  return {
    reservationRefinement: hasCapability(info, 'RESERVATION_REFINEMENT'),
    regionAware: hasCapability(info, 'REGION_AWARE'),
  };
}

/** Refuses a subscription on its stream with an ERROR event, as Mesos does. */
function refuse(core: CoreContext, streamId: string, message: string): undefined {
  core.outbox.push({
    kind: 'toFramework',
    streamId,
    event: { type: 'ERROR', error: { message } },
  });
  core.outbox.push({ kind: 'closeStream', streamId });
  core.log.info({ reason: message }, 'subscription refused');
  return undefined;
}

/**
 * SUBSCRIBE (WIRE §2.1) on stream `streamId`: a new framework, or a
 * resubscription that replaces the previous stream (failover). Problems with
 * the FrameworkInfo are answered with an ERROR event, as Mesos does. Returns
 * the framework's id, or undefined when refused.
 */
export function subscribe(
  core: CoreContext,
  call: Subscribe,
  streamId: string,
  principal: Principal | undefined,
): FrameworkID | undefined {
  const info = call.framework_info;
  const suppressedRoles = call.suppressed_roles ?? [];
  const invalid = frameworkInfoError(info, suppressedRoles) ?? offerFiltersError(info);
  if (invalid !== undefined) return refuse(core, streamId, invalid);
  const constraints = compileOfferConstraints(call.offer_constraints, frameworkRoles(info));
  if (typeof constraints === 'string') return refuse(core, streamId, constraints);
  if (info.id !== undefined && core.books.removedFrameworkIds.has(info.id.value))
    return refuse(core, streamId, 'Framework has been removed');

  const existing = info.id === undefined ? undefined : core.books.frameworks.get(info.id.value);
  let framework: FrameworkRecord;
  /** What the registry holds (or is about to) for a framework it knows. */
  let registeredInfo: FrameworkInfo | undefined;
  if (existing !== undefined) {
    if ((existing.info.principal ?? '') !== (info.principal ?? principal?.value ?? ''))
      return refuse(core, streamId, "Changing framework's principal is not allowed");
    framework = existing;
    registeredInfo = existing.info;
    // Offers made to the old connection go back to the allocator, so the next cycle offers
    // them on this one (Mesos' _failoverFramework discards them): the new scheduler never
    // heard of them and could neither use nor decline them. The old stream, still open, hears
    // RESCIND before it is told why it ends.
    rescindAll(core, framework);
    if (framework.link.state === 'connected') {
      // Failover: the old stream hears why it ends.
      const old = framework.link.streamId;
      core.outbox.push({
        kind: 'toFramework',
        streamId: old,
        event: { type: 'ERROR', error: { message: 'Framework failed over' } },
      });
      core.outbox.push({ kind: 'closeStream', streamId: old });
    }
    // `user` and `checkpoint` keep their first values on resubscription (WIRE §2.1).
    framework.info = {
      ...info,
      id: framework.id,
      user: existing.info.user,
      ...(existing.info.checkpoint !== undefined ? { checkpoint: existing.info.checkpoint } : {}),
    };
    core.timers.cancel(failoverTimer(framework));
    // Inverse offers went to the old stream: dropped, so the next cycle asks again on this one
    // (Mesos removes them on failover too).
    dropInverseOffersOf(core, framework);
    framework.reregisteredTimeSec = nowSec(core);
    framework.suppressedRoles = new Set(suppressedRoles);
    moveTo(framework, { state: 'connected', streamId });
    allocatorHandle(core, {
      kind: 'frameworkUpdated',
      frameworkId: framework.id,
      capabilities: allocationCapabilities(framework.info),
      minAllocatable: minAllocatableOf(framework.info),
      roles: frameworkRoles(framework.info),
      suppressedRoles,
    });
    allocatorHandle(core, { kind: 'frameworkActivated', frameworkId: framework.id });
    observe(core, { kind: 'frameworkUpdated', framework });
  } else {
    const id = mintFrameworkId(info.id?.value ?? core.books.newFrameworkId());
    framework = {
      id,
      info: {
        ...info,
        id,
        ...(principal !== undefined && info.principal === undefined
          ? { principal: principal.value }
          : {}),
      },
      link: { state: 'connected', streamId },
      registeredTimeSec: nowSec(core),
      reregisteredTimeSec: undefined,
      unregisteredTimeSec: undefined,
      suppressedRoles: new Set(suppressedRoles),
      offers: new Set(),
      inverseOffers: new Set(),
      inverseOfferFilterAgents: new Set(),
      tasks: new Map(),
      completedTasks: [],
      operations: new Map(),
      offerConstraintsGiven: undefined,
      offerConstraints: new Map(),
      excludedAgents: new Map(),
    };
    core.books.frameworks.set(id.value, framework);
    allocatorHandle(core, {
      kind: 'frameworkAdded',
      frameworkId: id,
      capabilities: allocationCapabilities(framework.info),
      minAllocatable: minAllocatableOf(framework.info),
      roles: frameworkRoles(framework.info),
      suppressedRoles,
      used: new Map(),
    });
    observe(core, { kind: 'frameworkAdded', framework });
  }
  framework.offerConstraintsGiven = call.offer_constraints;
  framework.offerConstraints = constraints;
  evaluateOfferConstraints(core, framework);
  // Durable before SUBSCRIBED goes out: a framework told its id is one a restarted master knows.
  // A framework that re-subscribes with what the registry holds (every framework after a
  // failover) needs no write: the record's info is what was last persisted, and a write
  // still in flight holds back everything after it, this SUBSCRIBED included. Mesos keeps
  // no frameworks in its registry at all; ten writes of a whole 10,000-agent registry
  // took the new leader's CPU and held the agents' SUBSCRIBEDs in the storm (#10).
  if (registeredInfo === undefined || !jsonEqual(registeredInfo, framework.info))
    persistFramework(core, framework);
  core.metrics.count(
    existing === undefined
      ? 'master/messages_register_framework'
      : 'master/messages_reregister_framework',
  );
  core.metrics.countCall(framework, { type: 'SUBSCRIBE', subscribe: call });

  core.metrics.frameworkGauge(framework, 'subscribed', 1);
  toFramework(core, framework, {
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: framework.id,
      heartbeat_interval_seconds: core.options.heartbeatIntervalMs / 1000,
      master_info: core.masterInfo(),
    },
  });
  toFramework(core, framework, { type: 'HEARTBEAT' });
  resendUnacknowledged(core, framework);
  core.log.info(
    {
      framework_id: framework.id.value,
      name: framework.info.name,
      resubscribed: existing !== undefined,
    },
    'framework subscribed',
  );
  core.allocation.runSoon();
  return framework.id;
}

/**
 * Stream `streamId` of a framework ended. If it is still the framework's
 * stream, its offers go back and it has failover_timeout to return.
 */
export function disconnected(core: CoreContext, frameworkIdValue: string, streamId: string): void {
  const framework = core.books.frameworks.get(frameworkIdValue);
  if (framework?.link.state !== 'connected' || framework.link.streamId !== streamId) return;
  moveTo(framework, { state: 'disconnected' });
  framework.unregisteredTimeSec = nowSec(core);
  core.metrics.frameworkGauge(framework, 'subscribed', 0);
  rescindAll(core, framework);
  dropInverseOffersOf(core, framework);
  allocatorHandle(core, { kind: 'frameworkDeactivated', frameworkId: framework.id });
  const timeoutMs = (framework.info.failover_timeout ?? 0) * 1000;
  core.log.info(
    { framework_id: framework.id.value, failover_timeout_ms: timeoutMs },
    'framework disconnected',
  );
  if (timeoutMs === 0) remove(core, framework, 'failover timeout of 0 seconds');
  else
    core.timers.arm(failoverTimer(framework), timeoutMs, () =>
      remove(core, framework, 'failover timeout expired'),
    );
}

/** Records what a framework subscribed with, so a restarted master knows it. */
function persistFramework(core: CoreContext, framework: FrameworkRecord): void {
  persist(core, {
    kind: 'addFramework',
    framework: { info: framework.info, registeredTimeSec: framework.registeredTimeSec },
  });
}

/**
 * A framework the master knows from before its restart, without a scheduler
 * yet: it waits for one within its failover_timeout counted from the master's
 * recovery (and at least --framework_reregister_timeout), then it is removed
 * and its tasks killed. Mesos orphans such tasks (MESOS-4659); a scheduler
 * that is gone for good must not keep them (#7).
 */
function recoveredRecord(
  core: CoreContext,
  info: FrameworkInfo,
  idValue: string,
  registeredTimeSec: number,
): FrameworkRecord {
  const id = mintFrameworkId(idValue);
  const framework: FrameworkRecord = {
    id,
    info: { ...info, id },
    link: { state: 'recovered' },
    registeredTimeSec,
    reregisteredTimeSec: undefined,
    unregisteredTimeSec: nowSec(core),
    suppressedRoles: new Set(),
    offers: new Set(),
    inverseOffers: new Set(),
    inverseOfferFilterAgents: new Set(),
    tasks: new Map(),
    completedTasks: [],
    operations: new Map(),
    offerConstraintsGiven: undefined,
    offerConstraints: new Map(),
    excludedAgents: new Map(),
  };
  core.books.frameworks.set(idValue, framework);
  allocatorHandle(core, {
    kind: 'frameworkAdded',
    frameworkId: id,
    capabilities: allocationCapabilities(framework.info),
    minAllocatable: minAllocatableOf(framework.info),
    roles: frameworkRoles(framework.info),
    suppressedRoles: [],
    used: new Map(),
  });
  allocatorHandle(core, { kind: 'frameworkDeactivated', frameworkId: id });
  observe(core, { kind: 'frameworkAdded', framework });
  const windowMs = Math.max(
    (info.failover_timeout ?? 0) * 1000,
    core.options.frameworkReregisterTimeoutMs,
  );
  const leftMs = Math.max(0, core.recoveredAtMs + windowMs - core.clock.now());
  core.timers.arm(failoverTimer(framework), leftMs, () =>
    remove(core, framework, 'failover timeout expired before the framework resubscribed'),
  );
  core.log.info({ framework_id: idValue, resubscribe_within_ms: leftMs }, 'framework recovered');
  return framework;
}

/** A framework the registry kept, at master start-up. */
export function adoptRegistered(core: CoreContext, registered: RegisteredFramework): void {
  const idValue = registered.info.id?.value;
  if (idValue === undefined) return;
  recoveredRecord(core, registered.info, idValue, registered.registeredTimeSec);
}

/**
 * A framework known only from an agent's report (a registry from before
 * frameworks were kept): recovered as one the registry had, and recorded.
 */
export function recovered(
  core: CoreContext,
  info: FrameworkInfo,
  idValue: string,
): FrameworkRecord {
  const framework = recoveredRecord(core, info, idValue, nowSec(core));
  persistFramework(core, framework);
  return framework;
}

/**
 * TEARDOWN, or a failover timeout that expired: its tasks are killed on the
 * agents, recorded as TASK_KILLED (REASON_FRAMEWORK_REMOVED), and its stream ends.
 */
export function remove(core: CoreContext, framework: FrameworkRecord, why: string): void {
  if (framework.link.state === 'removed') return;
  core.timers.cancel(failoverTimer(framework));
  for (const offer of core.books.offersOf(framework)) closeOffer(core, offer, 'rescinded');
  dropInverseOffersOf(core, framework);
  const agentsToShutdown = new Set<AgentRecord>();
  for (const task of [...framework.tasks.values()]) {
    if (!isTerminalState(task.state)) {
      const agent = core.books.agents.get(task.agentId.value);
      if (agent !== undefined) agentsToShutdown.add(agent);
      decideStatus(core, task, 'TASK_KILLED', {
        reason: 'REASON_FRAMEWORK_REMOVED',
        message: 'Framework removed',
      });
    }
    recoverTask(core, task);
    core.books.completeTask(task);
  }
  for (const agent of core.books.agents.values())
    for (const executor of agent.executors.values())
      if (executor.frameworkId.value === framework.id.value) agentsToShutdown.add(agent);
  forgetExecutorsOf(core, framework);
  for (const agent of agentsToShutdown)
    toAgent(core, agent, {
      type: 'SHUTDOWN_FRAMEWORK',
      shutdown_framework: { framework_id: framework.id },
    });
  allocatorHandle(core, { kind: 'frameworkRemoved', frameworkId: framework.id });
  if (framework.link.state === 'connected')
    core.outbox.push({ kind: 'closeStream', streamId: framework.link.streamId });
  moveTo(framework, { state: 'removed' });
  persist(core, { kind: 'removeFramework', frameworkId: framework.id });
  framework.unregisteredTimeSec ??= nowSec(core);
  core.books.completeFramework(framework);
  core.metrics.forgetFramework(framework);
  observe(core, { kind: 'frameworkRemoved', framework });
  core.log.info({ framework_id: framework.id.value, why }, 'framework removed');
}

/**
 * UPDATE_FRAMEWORK: new roles, name, capabilities or suppressed roles, all at
 * once. principal, user and checkpoint cannot change; offers for roles the
 * framework dropped are rescinded. Throws BadRequestError before any change.
 */
export function update(core: CoreContext, framework: FrameworkRecord, call: Subscribe): void {
  const info = call.framework_info;
  const suppressedRoles = call.suppressed_roles ?? [];
  const invalid = frameworkInfoError(info, suppressedRoles) ?? offerFiltersError(info);
  if (invalid !== undefined) throw new BadRequestError('update_framework.framework_info', invalid);
  const constraints = compileOfferConstraints(call.offer_constraints, frameworkRoles(info));
  if (typeof constraints === 'string')
    throw new BadRequestError('update_framework.offer_constraints', constraints);
  for (const field of ['principal', 'user', 'checkpoint'] as const)
    if ((info[field] ?? undefined) !== (framework.info[field] ?? undefined))
      throw new BadRequestError(`update_framework.framework_info.${field}`, 'cannot be changed');
  framework.info = { ...info, id: framework.id };
  framework.suppressedRoles = new Set(suppressedRoles);
  persistFramework(core, framework);
  const roles = new Set(frameworkRoles(framework.info));
  for (const offer of core.books.offersOf(framework))
    if (!roles.has(offer.role)) closeOffer(core, offer, 'rescinded');
  allocatorHandle(core, {
    kind: 'frameworkUpdated',
    frameworkId: framework.id,
    capabilities: allocationCapabilities(framework.info),
    minAllocatable: minAllocatableOf(framework.info),
    roles: [...roles],
    suppressedRoles,
  });
  framework.offerConstraintsGiven = call.offer_constraints;
  framework.offerConstraints = constraints;
  evaluateOfferConstraints(core, framework);
  observe(core, { kind: 'frameworkUpdated', framework });
  core.log.info({ framework_id: framework.id.value }, 'framework updated');
  core.allocation.runSoon();
}

/**
 * Why REVIVE or SUPPRESS naming `roles` is dropped, or undefined: a role that is not valid
 * or not one the framework subscribed with. Mesos answers such a call 202 and then drops
 * it whole, roles that were fine included (Master::revive, Master::suppress): the
 * scheduler learns nothing, so nor is anything half done.
 */
function droppedRolesReason(framework: FrameworkRecord, roles: readonly string[]) {
  const subscribed = new Set(frameworkRoles(framework.info));
  for (const role of roles) {
    const invalid = roleError(role);
    if (invalid !== undefined) return `role '${role}' is invalid: ${invalid}`;
    if (!subscribed.has(role)) return `role '${role}' is not one of the framework's roles`;
  }
  return undefined;
}

function isDropped(
  core: CoreContext,
  framework: FrameworkRecord,
  call: 'REVIVE' | 'SUPPRESS',
  roles: readonly string[],
): boolean {
  const reason = droppedRolesReason(framework, roles);
  if (reason === undefined) return false;
  core.log.warn({ framework_id: framework.id.value, call, reason }, 'call dropped');
  return true;
}

/** REVIVE: the roles (all, if none named) are offered again, filters cleared. */
export function revive(
  core: CoreContext,
  framework: FrameworkRecord,
  roles: readonly string[],
): void {
  if (isDropped(core, framework, 'REVIVE', roles)) return;
  const suppressed = new Set(framework.suppressedRoles);
  for (const role of roles.length === 0 ? frameworkRoles(framework.info) : roles)
    suppressed.delete(role);
  framework.suppressedRoles = suppressed;
  allocatorHandle(core, { kind: 'offersRevived', frameworkId: framework.id, roles });
  core.allocation.runSoon();
}

/** SUPPRESS: no more offers for the roles (all, if none named) until REVIVE. */
export function suppress(
  core: CoreContext,
  framework: FrameworkRecord,
  roles: readonly string[],
): void {
  if (isDropped(core, framework, 'SUPPRESS', roles)) return;
  const suppressed = new Set(framework.suppressedRoles);
  for (const role of roles.length === 0 ? frameworkRoles(framework.info) : roles)
    suppressed.add(role);
  framework.suppressedRoles = suppressed;
  allocatorHandle(core, { kind: 'offersSuppressed', frameworkId: framework.id, roles });
}
