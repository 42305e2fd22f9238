// An agent's total resources: what it is configured with, changed by the
// dynamic reservations it keeps (RESERVE and UNRESERVE, by a framework on its
// offers or by an operator on unallocated resources). The agent checkpoints
// its reservations (CHECKPOINT_RESOURCES) and reports them when it subscribes.
import { Resources } from '../../resources/index.js';
import { clipForLog } from '../../runtime/index.js';
import { AgoraError, BadRequestError, type Resource } from '../../wire/index.js';
import { allocatorHandle, type CoreContext, toAgent } from './context.js';
import { closeOffer } from './offers.js';
import type { AgentRecord } from './records.js';
import { type Conversion, reserveConversion, unreserveConversion } from './reservations.js';

/**
 * An agent's total: its configured resources converted by the dynamic
 * reservations it kept. A checkpoint that does not fit the configuration (the
 * operator changed --resources) is ignored, loudly.
 */
export function agentTotal(
  core: CoreContext,
  configured: readonly Resource[],
  checkpointed: readonly Resource[],
  agentIdValue: string,
): Resources {
  const total = Resources.fromWire(configured);
  if (checkpointed.length === 0) return total;
  const reservations = Resources.fromWire(checkpointed);
  const base = reservations.withoutDynamicReservations();
  if (!total.contains(base)) {
    core.log.error(
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

/** The agent's total changes form; the agent keeps its dynamic reservations across restarts. */
export function convertAgentResources(
  core: CoreContext,
  agent: AgentRecord,
  conversion: Conversion,
): void {
  agent.total = agent.total.minus(conversion.from).plus(conversion.to);
  const dynamic = agent.total.filter((r) =>
    (r.reservations ?? []).some((reservation) => reservation.type === 'DYNAMIC'),
  );
  toAgent(core, agent, {
    type: 'CHECKPOINT_RESOURCES',
    checkpoint_resources: { resources: dynamic.toWire('post-refinement') },
  });
}

/**
 * An operator's RESERVE_RESOURCES or UNRESERVE_RESOURCES on an agent's
 * unallocated resources. Offers on the agent are rescinded if they hold what
 * is needed; 409 if it is still not there (in use by tasks).
 */
export function changeReservations(
  core: CoreContext,
  agentIdValue: string,
  kind: 'reserve' | 'unreserve',
  resources: readonly Resource[] | undefined,
  principal: string | undefined,
): void {
  const field = `${kind}_resources.resources`;
  const agent = core.books.agents.get(agentIdValue);
  if (agent === undefined || agent.link.state !== 'connected')
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
    conversion = convert(resources, context(unallocatedOn(core, agent)), field);
  } catch (error) {
    if (!(error instanceof BadRequestError) || agent.offers.size === 0)
      throw conflictIfUnavailable(error);
    for (const offer of core.books.offersOf(agent)) closeOffer(core, offer, 'rescinded');
    try {
      conversion = convert(resources, context(unallocatedOn(core, agent)), field);
    } catch (again) {
      throw conflictIfUnavailable(again);
    }
  }
  allocatorHandle(core, {
    kind: 'availableConverted',
    agentId: agent.id,
    from: conversion.from,
    to: conversion.to,
  });
  convertAgentResources(core, agent, conversion);
  core.log.info(
    {
      agent_id: agentIdValue,
      from: clipForLog(conversion.from.toString()),
      to: clipForLog(conversion.to.toString()),
    },
    `resources ${kind}d`,
  );
  core.allocation.runSoon();
}

function unallocatedOn(core: CoreContext, agent: AgentRecord): Resources {
  return agent.total
    .minus(core.books.usedOn(agent).unallocate())
    .minus(core.books.offeredOn(agent).unallocate());
}

function conflictIfUnavailable(error: unknown): unknown {
  return error instanceof BadRequestError && /not available/.test(error.reason)
    ? new AgoraError('CONFLICT', error.message, { cause: error })
    : error;
}
