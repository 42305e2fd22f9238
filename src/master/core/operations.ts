// Operation feedback (Mesos docs/scheduler-http-api.md, UPDATE_OPERATION_STATUS): an offer
// operation with an `id` (RESERVE, UNRESERVE, CREATE, DESTROY, GROW_VOLUME, SHRINK_VOLUME)
// is answered with its status. An invalid one gets OPERATION_ERROR, sent once and not kept
// (no uuid), as Mesos' Master::drop does. One that was applied gets OPERATION_FINISHED with
// a uuid and is kept until the framework acknowledges it; RECONCILE_OPERATIONS answers with
// the latest status, without a uuid.
//
// In Mesos the agent applies the operation and reports OPERATION_FINISHED itself (agents with
// AGENT_OPERATION_FEEDBACK). These operations are speculative: the master has applied them to
// its books and the agent only checkpoints the outcome (CHECKPOINT_RESOURCES, on the same
// ordered stream), so the master reports the outcome at once, and resends an unacknowledged
// status when the framework subscribes again, where Mesos' agent would retry it.
import type { Resources } from '../../resources/index.js';
import type {
  AgentID,
  OfferOperation,
  OperationState,
  OperationStatus,
  ReconcileOperations,
} from '../../wire/index.js';
import { type CoreContext, toFramework } from './context.js';
import type { FrameworkRecord, OperationRecord } from './records.js';

const TERMINAL: ReadonlySet<OperationState> = new Set<OperationState>([
  'OPERATION_FINISHED',
  'OPERATION_FAILED',
  'OPERATION_ERROR',
  'OPERATION_DROPPED',
  'OPERATION_GONE_BY_OPERATOR',
]);

export function isTerminalOperationState(state: OperationState): boolean {
  return TERMINAL.has(state);
}

function sendStatus(core: CoreContext, framework: FrameworkRecord, status: OperationStatus): void {
  toFramework(core, framework, {
    type: 'UPDATE_OPERATION_STATUS',
    update_operation_status: { status },
  });
}

/**
 * An operation that could not be applied: OPERATION_ERROR with the reason, if it asked for
 * feedback. Not kept, and without agent id, as Mesos does for operations it drops.
 */
export function operationError(
  core: CoreContext,
  framework: FrameworkRecord,
  operation: OfferOperation,
  message: string,
  state: 'OPERATION_ERROR' | 'OPERATION_DROPPED' = 'OPERATION_ERROR',
): void {
  core.metrics.count(`master/operations/${state === 'OPERATION_ERROR' ? 'error' : 'dropped'}`);
  core.log.warn(
    {
      framework_id: framework.id.value,
      type: operation.type,
      operation_id: operation.id?.value,
      reason: message,
    },
    'operation dropped',
  );
  if (operation.id === undefined) return;
  sendStatus(core, framework, { operation_id: operation.id, state, message });
}

/** An operation applied on `agentId`: OPERATION_FINISHED, kept until acknowledged. */
export function operationFinished(
  core: CoreContext,
  framework: FrameworkRecord,
  agentId: AgentID,
  operation: OfferOperation,
  converted: Resources,
): void {
  core.metrics.count('master/operations/finished');
  if (operation.id === undefined) return;
  const statusUuid = core.newUuid();
  const status: OperationStatus = {
    operation_id: operation.id,
    state: 'OPERATION_FINISHED',
    converted_resources: converted.toWire('post-refinement'),
    uuid: { value: statusUuid },
    agent_id: agentId,
  };
  const record: OperationRecord = {
    frameworkId: framework.id,
    agentId,
    info: operation,
    uuid: core.newUuid(),
    statuses: [status],
    unacknowledgedUuid: statusUuid,
  };
  framework.operations.set(operation.id.value, record);
  sendStatus(core, framework, status);
}

/**
 * ACKNOWLEDGE_OPERATION_STATUS: the status with `uuid` arrived. An acknowledged terminal
 * status retires the operation. An unknown operation or uuid is counted and ignored, as
 * Mesos does (the call still answers 202).
 */
export function acknowledgeOperation(
  core: CoreContext,
  framework: FrameworkRecord,
  operationIdValue: string,
  uuid: string,
): void {
  const record = framework.operations.get(operationIdValue);
  const status = record?.statuses.find((s) => s.uuid?.value === uuid);
  if (record === undefined || status === undefined) {
    core.metrics.count('master/invalid_operation_status_update_acknowledgements');
    core.log.warn(
      { framework_id: framework.id.value, operation_id: operationIdValue },
      'acknowledgement of an unknown operation status ignored',
    );
    return;
  }
  core.metrics.count('master/valid_operation_status_update_acknowledgements');
  if (record.unacknowledgedUuid === uuid) record.unacknowledgedUuid = undefined;
  if (isTerminalOperationState(status.state)) framework.operations.delete(operationIdValue);
}

/** The latest status of an operation, without its uuid: reconciliation replies are not acknowledged. */
function latestWithoutUuid(record: OperationRecord): OperationStatus | undefined {
  const latest = record.statuses.at(-1);
  if (latest === undefined) return undefined;
  const { uuid: _uuid, ...rest } = latest;
  return rest;
}

/**
 * RECONCILE_OPERATIONS: implicit (no operations named) answers every operation the master
 * keeps for the framework; explicit answers each one named, as Mesos'
 * Master::reconcileOperations does for agent default resources.
 */
export function reconcileOperations(
  core: CoreContext,
  framework: FrameworkRecord,
  call: ReconcileOperations,
): void {
  const named = call.operations ?? [];
  if (named.length === 0) {
    for (const record of framework.operations.values()) {
      const status = latestWithoutUuid(record);
      if (status !== undefined) sendStatus(core, framework, status);
    }
    return;
  }
  for (const { operation_id, agent_id } of named) {
    const record = framework.operations.get(operation_id.value);
    const known = record === undefined ? undefined : latestWithoutUuid(record);
    if (known !== undefined) {
      sendStatus(core, framework, known);
      continue;
    }
    const agent = agent_id === undefined ? undefined : core.books.agents.get(agent_id.value);
    const reply = (state: OperationState, message: string) =>
      sendStatus(core, framework, {
        operation_id,
        state,
        message,
        ...(agent_id !== undefined ? { agent_id } : {}),
      });
    const link = agent?.link.state;
    if (agent_id === undefined)
      reply(
        'OPERATION_UNKNOWN',
        "Reconciliation: Operation is unknown and no 'agent_id' was provided",
      );
    else if (link === 'recovered')
      reply('OPERATION_RECOVERING', 'Reconciliation: Agent is recovered but has not re-registered');
    else if (link === 'connected' || link === 'disconnected')
      reply('OPERATION_UNKNOWN', 'Reconciliation: Operation is unknown');
    else if (link === 'unreachable')
      reply('OPERATION_UNREACHABLE', 'Reconciliation: Agent is unreachable');
    else if (link === 'gone')
      reply('OPERATION_GONE_BY_OPERATOR', 'Reconciliation: Agent marked gone by operator');
    else reply('OPERATION_UNKNOWN', 'Reconciliation: Both operation and agent are unknown');
  }
}

/**
 * A framework subscribed again: statuses it has not acknowledged may have been lost with its
 * old stream, so they go out again (with their uuids), as Mesos' agent retries them.
 */
export function resendUnacknowledged(core: CoreContext, framework: FrameworkRecord): void {
  for (const record of framework.operations.values()) {
    if (record.unacknowledgedUuid === undefined) continue;
    const status = record.statuses.find((s) => s.uuid?.value === record.unacknowledgedUuid);
    if (status !== undefined) sendStatus(core, framework, status);
  }
}
