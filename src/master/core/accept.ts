// ACCEPT and DECLINE: a framework's answer to its offers. ACCEPT runs the
// operations in order against what the offers hold (RESERVE, UNRESERVE,
// LAUNCH); whatever is left goes back, filtered for refuse_seconds.
import { refuseMsFrom } from '../../allocator/index.js';
import { Resources } from '../../resources/index.js';
import { clipForLog } from '../../runtime/index.js';
import {
  type Accept,
  BadRequestError,
  type OfferOperation,
  type Resource,
  type TaskInfo,
} from '../../wire/index.js';
import { convertAgentResources } from './agent-resources.js';
import { allocatorHandle, type CoreContext } from './context.js';
import { closeOffer, recoverResources } from './offers.js';
import type { AgentRecord, FrameworkRecord, OfferRecord } from './records.js';
import { reserveConversion, unreserveConversion } from './reservations.js';
import { taskError } from './task-validation.js';
import { launchTask, sendMasterStatus } from './tasks.js';

/** ACCEPT: runs the operations in order against the offers; leftovers are declined. */
export function accept(core: CoreContext, framework: FrameworkRecord, call: Accept): void {
  const launches = (call.operations ?? []).flatMap((op) =>
    op.type === 'LAUNCH' ? op.launch.task_infos : [],
  );
  const problem = offersProblem(
    core,
    framework,
    call.offer_ids.map((id) => id.value),
  );
  if (problem !== undefined) {
    for (const id of call.offer_ids) {
      const offer = core.books.offers.get(id.value);
      if (offer !== undefined && offer.frameworkId.value === framework.id.value)
        closeOffer(core, offer, 'declined');
    }
    for (const task of launches)
      sendMasterStatus(core, framework, task.task_id, task.agent_id, 'TASK_DROPPED', {
        reason: 'REASON_INVALID_OFFERS',
        message: problem,
      });
    core.log.info({ framework_id: framework.id.value, reason: problem }, 'accept refused');
    return;
  }
  const offers = call.offer_ids.flatMap((id) => {
    const offer = core.books.offers.get(id.value);
    return offer === undefined ? [] : [offer];
  });
  const [first] = offers;
  if (first === undefined) return;
  for (const offer of offers) closeOffer(core, offer, 'accepted');
  core.metrics.frameworkCounter(framework, 'offers/accepted', offers.length);
  const agent = core.books.agents.get(first.agentId.value);
  let available = offers.reduce((sum, offer) => sum.plus(offer.resources), Resources.EMPTY);
  for (const operation of call.operations ?? [])
    available = applyOperation(core, framework, agent, first, operation, available);
  if (!available.isEmpty())
    recoverResources(core, first, available, refuseMsFrom(call.filters?.refuse_seconds));
}

/** DECLINE: the offers' resources go back, filtered for refuse_seconds. */
export function decline(
  core: CoreContext,
  framework: FrameworkRecord,
  offerIds: readonly string[],
  refuseSeconds: number | undefined,
): void {
  const refuseMs = refuseMsFrom(refuseSeconds);
  for (const id of offerIds) {
    const offer = core.books.offers.get(id);
    if (offer === undefined || offer.frameworkId.value !== framework.id.value) continue;
    closeOffer(core, offer, 'declined', refuseMs);
  }
}

/** One operation of an ACCEPT; returns what the offers still hold after it. */
function applyOperation(
  core: CoreContext,
  framework: FrameworkRecord,
  agent: AgentRecord | undefined,
  first: OfferRecord,
  operation: OfferOperation,
  available: Resources,
): Resources {
  switch (operation.type) {
    case 'RESERVE':
      return agent === undefined
        ? available
        : reserveOrUnreserve(
            core,
            framework,
            agent,
            first,
            'reserve',
            operation.reserve.resources,
            available,
          );
    case 'UNRESERVE':
      return agent === undefined
        ? available
        : reserveOrUnreserve(
            core,
            framework,
            agent,
            first,
            'unreserve',
            operation.unreserve.resources,
            available,
          );
    case 'LAUNCH':
      return launch(core, framework, agent, first, operation.launch.task_infos, available);
    default:
      // Volumes, disks and task groups come with their own issues.
      core.log.warn(
        { framework_id: framework.id.value, type: operation.type },
        'operation not supported yet; dropped',
      );
      return available;
  }
}

function reserveOrUnreserve(
  core: CoreContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  first: OfferRecord,
  kind: 'reserve' | 'unreserve',
  resources: readonly Resource[],
  available: Resources,
): Resources {
  try {
    const conversion = (kind === 'reserve' ? reserveConversion : unreserveConversion)(
      resources,
      {
        available: available.unallocate(),
        role: first.role,
        ...(framework.info.principal !== undefined ? { principal: framework.info.principal } : {}),
      },
      `${kind}.resources`,
    );
    const from = conversion.from.allocate(first.role);
    const to = conversion.to.allocate(first.role);
    allocatorHandle(core, {
      kind: 'allocationConverted',
      frameworkId: framework.id,
      agentId: agent.id,
      from,
      to,
    });
    convertAgentResources(core, agent, conversion);
    core.log.info(
      {
        framework_id: framework.id.value,
        agent_id: agent.id.value,
        to: clipForLog(conversion.to.toString()),
      },
      `resources ${kind}d`,
    );
    return available.minus(from).plus(to);
  } catch (error) {
    if (!(error instanceof BadRequestError)) throw error;
    // Mesos drops an invalid operation and goes on with the others.
    core.log.warn(
      { framework_id: framework.id.value, type: kind.toUpperCase(), reason: error.message },
      'operation dropped',
    );
    return available;
  }
}

function launch(
  core: CoreContext,
  framework: FrameworkRecord,
  agent: AgentRecord | undefined,
  first: OfferRecord,
  taskInfos: readonly TaskInfo[],
  offered: Resources,
): Resources {
  let available = offered;
  for (const task of taskInfos) {
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
      sendMasterStatus(core, framework, task.task_id, task.agent_id, 'TASK_ERROR', {
        reason: 'REASON_TASK_INVALID',
        message: problem,
      });
      continue;
    }
    if (agent?.link.state !== 'connected') {
      sendMasterStatus(core, framework, task.task_id, task.agent_id, 'TASK_DROPPED', {
        reason: 'REASON_AGENT_DISCONNECTED',
        message: 'Agent disconnected',
      });
      continue;
    }
    available = available.minus(resources);
    launchTask(core, framework, agent, task, resources, first.role);
  }
  return available;
}

function offersProblem(
  core: CoreContext,
  framework: FrameworkRecord,
  ids: readonly string[],
): string | undefined {
  if (ids.length === 0) return 'No offers were given';
  if (new Set(ids).size !== ids.length) return 'Offers were given more than once';
  let agentIdValue: string | undefined;
  let role: string | undefined;
  for (const id of ids) {
    const offer = core.books.offers.get(id);
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
