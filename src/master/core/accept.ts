// ACCEPT and DECLINE: a framework's answer to its offers. ACCEPT runs the
// operations in order against what the offers hold (RESERVE, UNRESERVE, CREATE,
// DESTROY, GROW_VOLUME, SHRINK_VOLUME, LAUNCH, LAUNCH_GROUP); whatever is left goes
// back, filtered for refuse_seconds.
import { refuseMsFrom } from '../../allocator/index.js';
import { Resources } from '../../resources/index.js';
import { clipForLog } from '../../runtime/index.js';
import {
  type Accept,
  assertNever,
  BadRequestError,
  type ExecutorInfo,
  type OfferOperation,
  type TaskInfo,
} from '../../wire/index.js';
import { convertAgentResources } from './agent-resources.js';
import { allocatorHandle, type CoreContext } from './context.js';
import { launchTaskGroup } from './executors.js';
import { closeOffer, recoverResources } from './offers.js';
import { operationError, operationFinished } from './operations.js';
import {
  type AgentRecord,
  executorKey,
  type FrameworkRecord,
  type OfferRecord,
} from './records.js';
import { type Conversion, reserveConversion, unreserveConversion } from './reservations.js';
import { taskError } from './task-validation.js';
import { launchTask, sendMasterStatus } from './tasks.js';
import {
  createConversion,
  destroyConversion,
  growConversion,
  shrinkConversion,
} from './volumes.js';

/**
 * Whether the framework may run each operation of an ACCEPT (ACLs run_tasks,
 * reserve_resources, unreserve_resources, create_volumes, destroy_volumes): each answers why
 * not, or undefined when allowed. Given by the shell, which holds the ACLs; as in Mesos, a
 * refused task is TASK_ERROR with REASON_TASK_UNAUTHORIZED (a task group's every task with
 * REASON_TASK_GROUP_UNAUTHORIZED), a refused RESERVE, UNRESERVE or volume operation is
 * dropped (OPERATION_ERROR when it asked for feedback), and the others of the ACCEPT go on.
 */
export interface AcceptAuthorizer {
  /** A RESERVE, UNRESERVE, CREATE, DESTROY, GROW_VOLUME or SHRINK_VOLUME. */
  operation(operation: OfferOperation): string | undefined;
  /** A task of a LAUNCH, or of a LAUNCH_GROUP with `executor`. */
  task(task: TaskInfo, executor?: ExecutorInfo): string | undefined;
}

/** Allows everything: no ACLs. */
export const ALLOW_ALL: AcceptAuthorizer = {
  operation: () => undefined,
  task: () => undefined,
};

/** What an ACCEPT's operations may still draw on, and what they set aside for the end. */
interface AcceptState {
  readonly authorizer: AcceptAuthorizer;
  /** Offered resources (allocated to the offers' role) the following operations may use. */
  available: Resources;
  /**
   * What GROW_VOLUME and SHRINK_VOLUME made: not usable by later operations of the same
   * ACCEPT (Mesos' rule, docs/persistent-volume.md), given back with the leftovers.
   */
  resized: Resources;
}

function tasksOf(operation: OfferOperation): readonly TaskInfo[] {
  if (operation.type === 'LAUNCH') return operation.launch.task_infos;
  if (operation.type === 'LAUNCH_GROUP') return operation.launch_group.task_group.tasks;
  return [];
}

/** ACCEPT: runs the operations in order against the offers; leftovers are declined. */
export function accept(
  core: CoreContext,
  framework: FrameworkRecord,
  call: Accept,
  authorizer: AcceptAuthorizer = ALLOW_ALL,
): void {
  const operations = call.operations ?? [];
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
    for (const operation of operations) {
      if (operation.type !== 'LAUNCH' && operation.type !== 'LAUNCH_GROUP') {
        operationError(
          core,
          framework,
          operation,
          `Operation attempted with invalid offers: ${problem}`,
        );
        continue;
      }
      for (const task of tasksOf(operation))
        sendMasterStatus(core, framework, task.task_id, task.agent_id, 'TASK_DROPPED', {
          reason: 'REASON_INVALID_OFFERS',
          message: `Task launched with invalid offers: ${problem}`,
        });
    }
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
  const state: AcceptState = {
    authorizer,
    available: offers.reduce((sum, offer) => sum.plus(offer.resources), Resources.EMPTY),
    resized: Resources.EMPTY,
  };
  for (const operation of operations)
    applyOperation(core, framework, agent, first, operation, state);
  const left = state.available.plus(state.resized);
  if (!left.isEmpty())
    recoverResources(core, first, left, refuseMsFrom(call.filters?.refuse_seconds));
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

/** One operation of an ACCEPT, against (and changing) what the offers still hold. */
function applyOperation(
  core: CoreContext,
  framework: FrameworkRecord,
  agent: AgentRecord | undefined,
  first: OfferRecord,
  operation: OfferOperation,
  state: AcceptState,
): void {
  switch (operation.type) {
    case 'LAUNCH':
      if (operation.id !== undefined) {
        refuseTasks(core, framework, operation, 'REASON_TASK_INVALID');
        return;
      }
      state.available = launch(core, framework, agent, first, operation.launch.task_infos, state);
      return;
    case 'LAUNCH_GROUP':
      if (operation.id !== undefined) {
        refuseTasks(core, framework, operation, 'REASON_TASK_GROUP_INVALID');
        return;
      }
      {
        // The whole group or none of it (Mesos reports the first refusal to every task).
        const { executor, task_group } = operation.launch_group;
        const refusal = task_group.tasks
          .map((task) => state.authorizer.task(task, executor))
          .find((r) => r !== undefined);
        if (refusal !== undefined) {
          for (const task of task_group.tasks)
            sendMasterStatus(core, framework, task.task_id, task.agent_id, 'TASK_ERROR', {
              reason: 'REASON_TASK_GROUP_UNAUTHORIZED',
              message: refusal,
            });
          return;
        }
      }
      state.available = launchTaskGroup(
        core,
        framework,
        agent,
        operation.launch_group.executor,
        operation.launch_group.task_group.tasks,
        { agentIdValue: first.agentId.value, role: first.role, available: state.available },
      );
      return;
    case 'CREATE_DISK':
    case 'DESTROY_DISK':
      operationError(
        core,
        framework,
        operation,
        `Not supported on agent ${first.agentId.value} because it does not have RESOURCE_PROVIDER capability`,
      );
      return;
    case 'RESERVE':
    case 'UNRESERVE':
    case 'CREATE':
    case 'DESTROY':
    case 'GROW_VOLUME':
    case 'SHRINK_VOLUME':
      convert(core, framework, agent, first, operation, state);
      return;
    default:
      assertNever(operation);
  }
}

/** Feedback is not for launches: `id` on LAUNCH or LAUNCH_GROUP fails its tasks (Mesos). */
function refuseTasks(
  core: CoreContext,
  framework: FrameworkRecord,
  operation: OfferOperation,
  reason: 'REASON_TASK_INVALID' | 'REASON_TASK_GROUP_INVALID',
): void {
  for (const task of tasksOf(operation))
    sendMasterStatus(core, framework, task.task_id, task.agent_id, 'TASK_ERROR', {
      reason,
      message: `The \`id\` field cannot be set on ${operation.type} operations`,
    });
}

type ConvertingOperation = Extract<
  OfferOperation,
  { type: 'RESERVE' | 'UNRESERVE' | 'CREATE' | 'DESTROY' | 'GROW_VOLUME' | 'SHRINK_VOLUME' }
>;

/** The conversion an operation asks for, or a BadRequestError saying why it cannot be. */
function conversionOf(
  operation: ConvertingOperation,
  context: {
    readonly available: Resources;
    readonly role: string;
    readonly principal?: string;
    readonly volumes: Resources;
    readonly used: Resources;
  },
): Conversion {
  switch (operation.type) {
    case 'RESERVE':
      if ((operation.reserve.source ?? []).length > 0)
        throw new BadRequestError(
          'reserve.source',
          'Reservation updates are not yet implemented for the scheduler API.',
        );
      return reserveConversion(operation.reserve.resources, context, 'reserve.resources');
    case 'UNRESERVE':
      return unreserveConversion(operation.unreserve.resources, context, 'unreserve.resources');
    case 'CREATE':
      return createConversion(operation.create.volumes, context, 'create.volumes');
    case 'DESTROY':
      return destroyConversion(operation.destroy.volumes, context, 'destroy.volumes');
    case 'GROW_VOLUME':
      return growConversion(
        operation.grow_volume.volume,
        operation.grow_volume.addition,
        context,
        'grow_volume',
      );
    case 'SHRINK_VOLUME':
      return shrinkConversion(
        operation.shrink_volume.volume,
        operation.shrink_volume.subtract.value,
        context,
        'shrink_volume',
      );
    default:
      return assertNever(operation);
  }
}

/**
 * RESERVE, UNRESERVE and the volume operations: the offered resources change form, on the
 * agent and in the allocator, and the outcome goes back as operation feedback if asked for.
 * Mesos drops an invalid operation and goes on with the others.
 */
function convert(
  core: CoreContext,
  framework: FrameworkRecord,
  agent: AgentRecord | undefined,
  first: OfferRecord,
  operation: ConvertingOperation,
  state: AcceptState,
): void {
  if (operation.id !== undefined && framework.operations.has(operation.id.value)) {
    operationError(
      core,
      framework,
      operation,
      `Operation ID '${operation.id.value}' is already in use by an operation not yet acknowledged`,
    );
    return;
  }
  if (agent?.link.state !== 'connected') {
    operationError(core, framework, operation, 'Agent disconnected', 'OPERATION_DROPPED');
    return;
  }
  const refusal = state.authorizer.operation(operation);
  if (refusal !== undefined) {
    operationError(core, framework, operation, refusal);
    return;
  }
  let conversion: Conversion;
  try {
    conversion = conversionOf(operation, {
      available: state.available.unallocate(),
      role: first.role,
      ...(framework.info.principal !== undefined ? { principal: framework.info.principal } : {}),
      volumes: agent.total.persistentVolumes(),
      used: core.books.usedOn(agent).unallocate(),
    });
  } catch (error) {
    if (!(error instanceof BadRequestError)) throw error;
    operationError(core, framework, operation, error.message);
    return;
  }
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
  if (operation.type === 'GROW_VOLUME' || operation.type === 'SHRINK_VOLUME') {
    state.available = state.available.minus(from);
    state.resized = state.resized.plus(to);
  } else state.available = state.available.minus(from).plus(to);
  operationFinished(core, framework, agent.id, operation, to);
  core.log.info(
    {
      framework_id: framework.id.value,
      agent_id: agent.id.value,
      type: operation.type,
      ...(operation.id !== undefined ? { operation_id: operation.id.value } : {}),
      to: clipForLog(conversion.to.toString()),
    },
    'operation applied',
  );
}

function launch(
  core: CoreContext,
  framework: FrameworkRecord,
  agent: AgentRecord | undefined,
  first: OfferRecord,
  taskInfos: readonly TaskInfo[],
  state: AcceptState,
): Resources {
  let available = state.available;
  for (const given of taskInfos) {
    const refusal = state.authorizer.task(given);
    if (refusal !== undefined) {
      sendMasterStatus(core, framework, given.task_id, given.agent_id, 'TASK_ERROR', {
        reason: 'REASON_TASK_UNAUTHORIZED',
        message: refusal,
      });
      continue;
    }
    // A custom executor without a framework id gets the launching framework's, as in Mesos.
    const task: TaskInfo =
      given.executor === undefined || given.executor.framework_id !== undefined
        ? given
        : { ...given, executor: { ...given.executor, framework_id: framework.id } };
    const resources = Resources.fromWire(task.resources ?? [])
      .unallocate()
      .allocate(first.role);
    const executorKeyValue =
      task.executor === undefined
        ? undefined
        : executorKey(framework.id.value, task.executor.executor_id.value);
    const existing =
      executorKeyValue === undefined ? undefined : agent?.executors.get(executorKeyValue);
    const executorResources = Resources.fromWire(task.executor?.resources ?? [])
      .unallocate()
      .allocate(first.role);
    const foreignRole = [...(task.resources ?? []), ...(task.executor?.resources ?? [])].find(
      (r) => r.allocation_info !== undefined && r.allocation_info.role !== first.role,
    );
    const problem =
      foreignRole !== undefined
        ? `Task uses resources allocated to role '${foreignRole.allocation_info?.role}' but the offers are for role '${first.role}'`
        : taskError(task, resources, {
            agentIdValue: first.agentId.value,
            available,
            isTaskIdInUse: (id) => framework.tasks.has(id),
            frameworkIdValue: framework.id.value,
            existingExecutor: existing?.info,
            executorResources,
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
    if (task.executor !== undefined && executorKeyValue !== undefined && existing === undefined) {
      // The framework's own executor: its resources are held until the agent says it exited.
      agent.executors.set(executorKeyValue, {
        executorId: task.executor.executor_id,
        frameworkId: framework.id,
        agentId: agent.id,
        info: task.executor,
        role: first.role,
        resources: executorResources,
      });
      available = available.minus(executorResources);
    }
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
