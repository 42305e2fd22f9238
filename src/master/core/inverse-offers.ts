// Inverse offers (docs/maintenance.md): the master asking a framework for an
// agent back because the agent's machine is scheduled for maintenance. Each
// allocation cycle, every framework that holds resources on such an agent
// (tasks, or outstanding offers) and is not already asked gets one, unless it
// answered a recent one with a filter. Answers (ACCEPT_INVERSE_OFFERS,
// DECLINE_INVERSE_OFFERS) are hints for the operator, shown in the
// maintenance status; they change nothing else. Mesos keeps this in its
// allocator; here it is part of the master's core, and the allocator only
// hears about agents that may not be offered.
import { refuseMsFrom } from '../../allocator/index.js';
import { type InverseOffer, offerId as mintOfferId } from '../../wire/index.js';
import { type CoreContext, nowSec, toFramework } from './context.js';
import { unavailabilityOf } from './machines.js';
import type { AgentRecord, FrameworkRecord, InverseOfferRecord } from './records.js';

const inverseOfferTimer = (record: InverseOfferRecord) =>
  `inverse-offer:${record.inverseOffer.id.value}`;

/** One pass: inverse offers for every framework on an agent in maintenance that lacks one. */
export function sendInverseOffers(core: CoreContext): void {
  const { books } = core;
  if (books.machines.size === 0) return;
  const nowMs = core.clock.monotonicMs();
  const byFramework = new Map<string, InverseOffer[]>();
  for (const agent of books.agents.values()) {
    // Mesos asks only about agents it could offer: connected and not deactivated.
    if (agent.link.state !== 'connected' || agent.isDeactivated) continue;
    const unavailability = unavailabilityOf(books, agent);
    if (unavailability === undefined) continue;
    const asked = new Set<string>(books.inverseOffersOf(agent).map((r) => r.frameworkId.value));
    for (const frameworkIdValue of holdersOn(core, agent)) {
      if (asked.has(frameworkIdValue)) continue;
      const framework = books.frameworks.get(frameworkIdValue);
      if (framework?.link.state !== 'connected') continue;
      const filteredUntilMs = agent.inverseOfferFilters.get(frameworkIdValue);
      if (filteredUntilMs !== undefined) {
        if (nowMs < filteredUntilMs) continue;
        agent.inverseOfferFilters.delete(frameworkIdValue);
      }
      const inverseOffer: InverseOffer = {
        id: mintOfferId(books.newOfferId()),
        url: {
          scheme: 'http',
          address: { hostname: agent.info.hostname, ip: agent.ip, port: agent.info.port ?? 5051 },
          path: '/slave(1)',
        },
        framework_id: framework.id,
        agent_id: agent.id,
        unavailability,
      };
      const record: InverseOfferRecord = {
        inverseOffer,
        frameworkId: framework.id,
        agentId: agent.id,
      };
      books.addInverseOffer(record);
      const timeoutMs = core.options.offerTimeoutMs;
      if (timeoutMs !== undefined && timeoutMs > 0)
        core.timers.arm(inverseOfferTimer(record), timeoutMs, () =>
          rescindInverseOffer(core, record),
        );
      const list = byFramework.get(frameworkIdValue) ?? [];
      list.push(inverseOffer);
      byFramework.set(frameworkIdValue, list);
    }
  }
  for (const [frameworkIdValue, inverseOffers] of byFramework) {
    const framework = books.frameworks.get(frameworkIdValue);
    if (framework === undefined) continue;
    toFramework(core, framework, {
      type: 'INVERSE_OFFERS',
      inverse_offers: { inverse_offers: inverseOffers },
    });
    core.log.info(
      {
        framework_id: frameworkIdValue,
        agent_ids: inverseOffers.map((o) => o.agent_id?.value),
      },
      'inverse offers sent',
    );
  }
}

/** Frameworks with resources on the agent: running tasks, or offers outstanding. */
function holdersOn(core: CoreContext, agent: AgentRecord): Set<string> {
  const holders = new Set<string>();
  for (const task of agent.tasks) if (!task.isRecovered) holders.add(task.frameworkId.value);
  for (const offer of core.books.offersOf(agent)) holders.add(offer.frameworkId.value);
  return holders;
}

/**
 * ACCEPT_INVERSE_OFFERS or DECLINE_INVERSE_OFFERS: the answer is recorded for
 * the maintenance status, and the framework is not asked again about that
 * agent for `refuseSeconds` (5 by default, as for offers). Ids that are not
 * this framework's outstanding inverse offers are ignored, as Mesos does.
 */
export function answerInverseOffers(
  core: CoreContext,
  framework: FrameworkRecord,
  inverseOfferIdValues: readonly string[],
  status: 'ACCEPT' | 'DECLINE',
  refuseSeconds: number | undefined,
): void {
  const refuseMs = refuseMsFrom(refuseSeconds);
  for (const idValue of inverseOfferIdValues) {
    const record = core.books.inverseOffers.get(idValue);
    if (record === undefined || record.frameworkId.value !== framework.id.value) {
      core.log.warn(
        { framework_id: framework.id.value, inverse_offer_id: idValue },
        'answer to an inverse offer that is no longer valid ignored',
      );
      continue;
    }
    const agent = core.books.agents.get(record.agentId.value);
    if (agent !== undefined) {
      agent.inverseOfferStatuses.set(framework.id.value, {
        status,
        frameworkId: framework.id,
        timestampSec: nowSec(core),
      });
      if (refuseMs > 0) {
        agent.inverseOfferFilters.set(framework.id.value, core.clock.monotonicMs() + refuseMs);
        framework.inverseOfferFilterAgents.add(agent.id.value);
      }
    }
    removeInverseOffer(core, record);
    core.log.info(
      { framework_id: framework.id.value, agent_id: record.agentId.value, status },
      'inverse offer answered',
    );
  }
}

function removeInverseOffer(core: CoreContext, record: InverseOfferRecord): void {
  core.books.removeInverseOffer(record);
  core.timers.cancel(inverseOfferTimer(record));
}

/** Takes an inverse offer back and tells its framework (RESCIND_INVERSE_OFFER). */
export function rescindInverseOffer(core: CoreContext, record: InverseOfferRecord): void {
  removeInverseOffer(core, record);
  const framework = core.books.frameworks.get(record.frameworkId.value);
  if (framework !== undefined)
    toFramework(core, framework, {
      type: 'RESCIND_INVERSE_OFFER',
      rescind_inverse_offer: { inverse_offer_id: record.inverseOffer.id },
    });
}

/**
 * Rescinds every inverse offer for an agent: it was deactivated, went away,
 * or its unavailability changed (then new ones follow with the new window).
 */
export function rescindInverseOffersFor(core: CoreContext, agent: AgentRecord): void {
  if (agent.inverseOffers.size === 0) return;
  for (const record of core.books.inverseOffersOf(agent)) rescindInverseOffer(core, record);
}

/**
 * A framework left (disconnected or removed): its inverse offers are dropped
 * without a word, as its offers are, and its filters with them.
 */
export function dropInverseOffersOf(core: CoreContext, framework: FrameworkRecord): void {
  for (const record of core.books.inverseOffersOf(framework)) removeInverseOffer(core, record);
  // Only agents its answers filtered (a filter may have expired or been cleared since: the
  // delete is then a no-op). An agent removed meanwhile took its filters with it.
  for (const agentIdValue of framework.inverseOfferFilterAgents)
    core.books.agents.get(agentIdValue)?.inverseOfferFilters.delete(framework.id.value);
  framework.inverseOfferFilterAgents.clear();
}

/**
 * The agent's unavailability changed (scheduled, moved, or cancelled): what
 * frameworks said about the old window no longer applies. Answers and
 * filters are forgotten and outstanding inverse offers rescinded, so the next
 * cycle asks again (Mesos' updateUnavailability).
 */
export function unavailabilityChanged(core: CoreContext, agent: AgentRecord): void {
  rescindInverseOffersFor(core, agent);
  agent.inverseOfferStatuses.clear();
  agent.inverseOfferFilters.clear();
}
