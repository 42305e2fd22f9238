// An agent's total resources: what it is configured with, changed by the
// dynamic reservations and persistent volumes it keeps (RESERVE, UNRESERVE,
// CREATE, DESTROY, GROW_VOLUME, SHRINK_VOLUME, by a framework on its offers or by
// an operator on unallocated resources). The agent checkpoints them
// (CHECKPOINT_RESOURCES) and reports them when it subscribes, so they survive
// the agent's restarts and the master's.
import { Resources } from '../../resources/index.js';
import { clipForLog } from '../../runtime/index.js';
import { AgoraError, assertNever, BadRequestError, type Resource } from '../../wire/index.js';
import { allocatorHandle, type CoreContext, toAgent } from './context.js';
import { closeOffer } from './offers.js';
import type { AgentRecord } from './records.js';
import {
  type Conversion,
  reserveConversion,
  UnavailableError,
  unreserveConversion,
} from './reservations.js';
import {
  createConversion,
  destroyConversion,
  growConversion,
  shrinkConversion,
} from './volumes.js';

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
  // What the checkpointed resources were made from: the configured disk under a volume,
  // unreserved (or statically reserved) resources under a dynamic reservation.
  const base = reservations.withoutPersistentVolumes().withoutDynamicReservations();
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

/**
 * The agent's total changes form; the agent keeps its dynamic reservations and persistent
 * volumes across restarts (the whole set, each time, as Mesos' CheckpointResourcesMessage).
 */
export function convertAgentResources(
  core: CoreContext,
  agent: AgentRecord,
  conversion: Conversion,
): void {
  agent.total = agent.total.minus(conversion.from).plus(conversion.to);
  toAgent(core, agent, {
    type: 'CHECKPOINT_RESOURCES',
    checkpoint_resources: { resources: agent.total.checkpointed().toWire('post-refinement') },
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
  const convert = kind === 'reserve' ? reserveConversion : unreserveConversion;
  convertOnAgent(core, agentIdValue, `${kind}_resources`, (available) =>
    convert(
      resources,
      { available, ...(principal !== undefined ? { principal } : {}) },
      `${kind}_resources.resources`,
    ),
  );
}

/** An operator's volume call (CREATE_VOLUMES, DESTROY_VOLUMES, GROW_VOLUME, SHRINK_VOLUME). */
export type VolumeChange =
  | { readonly kind: 'create' | 'destroy'; readonly volumes: readonly Resource[] }
  | { readonly kind: 'grow'; readonly volume: Resource; readonly addition: Resource }
  | { readonly kind: 'shrink'; readonly volume: Resource; readonly subtract: number };

const VOLUME_FIELD: Readonly<Record<VolumeChange['kind'], string>> = {
  create: 'create_volumes',
  destroy: 'destroy_volumes',
  grow: 'grow_volume',
  shrink: 'shrink_volume',
};

/**
 * The operator's volume calls, on an agent's unallocated resources, as the offer
 * operations are on offered ones (volumes.ts). 400 for what is invalid, 409 when
 * the resources are in use (WIRE §6.1).
 */
export function changeVolumes(
  core: CoreContext,
  agentIdValue: string,
  change: VolumeChange,
  principal: string | undefined,
): void {
  const field = VOLUME_FIELD[change.kind];
  convertOnAgent(core, agentIdValue, field, (available, agent) => {
    const context = {
      available,
      volumes: agent.total.persistentVolumes(),
      ...(principal !== undefined ? { principal } : {}),
    };
    switch (change.kind) {
      case 'create':
        return createConversion(change.volumes, context, `${field}.volumes`);
      case 'destroy':
        return destroyConversion(
          change.volumes,
          { ...context, used: core.books.usedOn(agent).unallocate() },
          `${field}.volumes`,
        );
      case 'grow':
        return growConversion(change.volume, change.addition, context, field);
      case 'shrink':
        return shrinkConversion(change.volume, change.subtract, context, field);
      default:
        return assertNever(change);
    }
  });
}

/**
 * Applies an operator's conversion to an agent's unallocated resources. When the
 * resources are not available but would be without the agent's offers, the offers are
 * rescinded and it is tried once more (Mesos' Http::_operation); otherwise it is a
 * CONFLICT (409), and no offer is touched.
 * Nothing changes unless the conversion is valid.
 */
function convertOnAgent(
  core: CoreContext,
  agentIdValue: string,
  field: string,
  convert: (available: Resources, agent: AgentRecord) => Conversion,
): void {
  const agent = core.books.agents.get(agentIdValue);
  if (agent === undefined || agent.link.state !== 'connected')
    throw new BadRequestError(`${field}.agent_id`, `no registered agent '${agentIdValue}'`);
  let conversion: Conversion;
  try {
    conversion = convert(unallocatedOn(core, agent), agent);
  } catch (error) {
    if (!(error instanceof UnavailableError) || agent.offers.size === 0)
      throw conflictIfUnavailable(error);
    // Only when the offers' resources would make it possible: a request that fails anyway
    // (more than the agent has, or held by tasks) must not take offers from frameworks.
    try {
      convert(unusedOn(core, agent), agent);
    } catch (stillUnavailable) {
      throw conflictIfUnavailable(stillUnavailable);
    }
    for (const offer of core.books.offersOf(agent)) closeOffer(core, offer, 'rescinded');
    try {
      conversion = convert(unallocatedOn(core, agent), agent);
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
      call: field.toUpperCase(),
      from: clipForLog(conversion.from.toString()),
      to: clipForLog(conversion.to.toString()),
    },
    'agent resources converted by the operator',
  );
  core.allocation.runSoon();
}

function unallocatedOn(core: CoreContext, agent: AgentRecord): Resources {
  return unusedOn(core, agent).minus(core.books.offeredOn(agent).unallocate());
}

/** What tasks do not use on the agent: the unallocated and the offered. */
function unusedOn(core: CoreContext, agent: AgentRecord): Resources {
  return agent.total.minus(core.books.usedOn(agent).unallocate());
}

function conflictIfUnavailable(error: unknown): unknown {
  return error instanceof UnavailableError
    ? new AgoraError('CONFLICT', error.message, { cause: error })
    : error;
}
