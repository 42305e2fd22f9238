// Offers: made from the allocator's decisions, and ended exactly once, as
// accepted, declined, rescinded or expired (lifecycle.ts). Whatever an offer
// held goes back to the allocator when it ends, except when it is accepted:
// then ACCEPT decides what is used and what is left over.
import type { Allocation } from '../../allocator/index.js';
import type { Resources } from '../../resources/index.js';
import { offerId as mintOfferId, type Offer } from '../../wire/index.js';
import { allocatorHandle, type CoreContext, toFramework } from './context.js';
import { hasCapability } from './framework-info.js';
import { checkTransition, OFFER_NEXT, type OfferState } from './lifecycle.js';
import { unavailabilityOf } from './machines.js';
import type { OfferRecord } from './records.js';

const offerTimer = (offer: OfferRecord) => `offer:${offer.offer.id.value}`;

/** One allocation cycle: the allocator decides, each framework gets one OFFERS event. */
export function allocate(core: CoreContext): void {
  const started = performance.now();
  const allocations = core.allocator.allocate(core.clock.monotonicMs());
  core.metrics.recordAllocationRun(performance.now() - started);
  const byFramework = new Map<string, Offer[]>();
  for (const allocation of allocations) {
    const offer = makeOffer(core, allocation);
    if (offer === undefined) continue;
    const list = byFramework.get(offer.framework_id.value) ?? [];
    list.push(offer);
    byFramework.set(offer.framework_id.value, list);
  }
  for (const [frameworkIdValue, offers] of byFramework) {
    const framework = core.books.frameworks.get(frameworkIdValue);
    if (framework === undefined) continue;
    toFramework(core, framework, { type: 'OFFERS', offers: { offers } });
    core.log.debug({ framework_id: frameworkIdValue, offers: offers.length }, 'offers sent');
  }
}

function makeOffer(core: CoreContext, allocation: Allocation): Offer | undefined {
  const framework = core.books.frameworks.get(allocation.frameworkId.value);
  const agent = core.books.agents.get(allocation.agentId.value);
  if (framework?.link.state !== 'connected' || agent?.link.state !== 'connected') {
    // The books moved on since the allocator decided; give the resources back.
    allocatorHandle(core, {
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
  const executorIds = [];
  for (const executor of agent.executors.values())
    if (executor.frameworkId.value === framework.id.value) executorIds.push(executor.executorId);
  const unavailability = unavailabilityOf(core.books, agent);
  const offer: Offer = {
    id: mintOfferId(core.books.newOfferId()),
    framework_id: framework.id,
    agent_id: agent.id,
    hostname: agent.info.hostname,
    url: {
      scheme: 'http',
      address: { hostname: agent.info.hostname, ip: agent.ip, port: agent.info.port ?? 5051 },
      path: '/slave(1)',
    },
    ...(agent.info.domain !== undefined ? { domain: agent.info.domain } : {}),
    resources: shown.toWire(format),
    ...(agent.info.attributes !== undefined && agent.info.attributes.length > 0
      ? { attributes: agent.info.attributes }
      : {}),
    ...(executorIds.length > 0 ? { executor_ids: executorIds } : {}),
    ...(unavailability !== undefined ? { unavailability } : {}),
    ...(isMultiRole ? { allocation_info: { role: allocation.role } } : {}),
  };
  const record: OfferRecord = {
    offer,
    frameworkId: framework.id,
    agentId: agent.id,
    role: allocation.role,
    resources: allocation.resources,
    madeAtMs: core.clock.monotonicMs(),
    state: 'outstanding',
  };
  core.books.addOffer(record);
  const timeoutMs = core.options.offerTimeoutMs;
  if (timeoutMs !== undefined && timeoutMs > 0)
    core.timers.arm(offerTimer(record), timeoutMs, () => {
      if (record.state === 'outstanding') closeOffer(core, record, 'expired');
    });
  core.metrics.frameworkCounter(framework, 'offers/sent');
  return offer;
}

/**
 * Ends an outstanding offer. Accepted: ACCEPT takes over its resources.
 * Declined: they go back, filtered for `refuseMs`. Rescinded or expired: they
 * go back and the framework hears RESCIND, if it can.
 */
export function closeOffer(
  core: CoreContext,
  offer: OfferRecord,
  to: Exclude<OfferState, 'outstanding'>,
  refuseMs?: number,
): void {
  checkTransition(OFFER_NEXT, `offer ${offer.offer.id.value}`, offer.state, to);
  offer.state = to;
  core.books.removeOffer(offer);
  core.timers.cancel(offerTimer(offer));
  if (to === 'accepted') {
    core.metrics.offerAcceptHistogram.observe(core.clock.monotonicMs() - offer.madeAtMs);
    return;
  }
  recoverResources(core, offer, offer.resources, to === 'declined' ? refuseMs : undefined);
  const framework = core.books.frameworks.get(offer.frameworkId.value);
  if (framework === undefined) return;
  if (to === 'declined') core.metrics.frameworkCounter(framework, 'offers/declined');
  else if (toFramework(core, framework, { type: 'RESCIND', rescind: { offer_id: offer.offer.id } }))
    core.metrics.frameworkCounter(framework, 'offers/rescinded');
}

/** Rescinds every outstanding offer of a framework or on an agent. */
export function rescindAll(
  core: CoreContext,
  holder: { readonly offers: ReadonlySet<string> },
): void {
  if (holder.offers.size === 0) return;
  for (const offer of core.books.offersOf(holder)) closeOffer(core, offer, 'rescinded');
}

/** Gives resources of an offer (or what is left of one) back to the allocator. */
export function recoverResources(
  core: CoreContext,
  offer: Pick<OfferRecord, 'frameworkId' | 'agentId'>,
  resources: Resources,
  refuseMs?: number,
): void {
  allocatorHandle(core, {
    kind: 'resourcesRecovered',
    frameworkId: offer.frameworkId,
    agentId: offer.agentId,
    resources,
    ...(refuseMs !== undefined ? { refuseMs } : {}),
  });
}
