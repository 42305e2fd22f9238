// Which ACL actions an operator call needs, and on what objects (docs/authorization.md):
// one entry per object, every one of which must be allowed. Pure: the handler checks them
// all before the call touches any state, and a denial is a 403 naming the action.
import { type AclAction, type Acls, isAuthorized, requireAuthorized } from '../../runtime/index.js';
import type {
  ExecutorInfo,
  FrameworkInfo,
  MachineID,
  MasterCall,
  OfferOperation,
  QuotaRequest,
  Resource,
  TaskInfo,
} from '../../wire/index.js';
import type { AcceptAuthorizer } from '../core/accept.js';
import type { ReadonlyBooks } from '../core/books.js';

export interface Needed {
  readonly action: AclAction;
  readonly object: string | undefined;
}

/** The role of a resource's current reservation (`*` when unreserved). */
export function reservedRole(resource: Resource): string {
  return resource.reservations?.at(-1)?.role ?? resource.role ?? '*';
}

/** The principal that made a resource's current reservation, if it said. */
export function reserverPrincipal(resource: Resource): string | undefined {
  return resource.reservations?.at(-1)?.principal ?? resource.reservation?.principal;
}

const each = (action: AclAction, objects: readonly (string | undefined)[]): Needed[] =>
  [...new Set(objects)].map((object) => ({ action, object }));

const machineName = (machine: MachineID) => machine.hostname ?? machine.ip;

export function quotaRequestRole(request: QuotaRequest): string {
  return request.role ?? '*';
}

/** What `call` needs to be allowed; empty for a call no ACL governs. */
export function operatorCallNeeds(call: MasterCall, books: ReadonlyBooks): Needed[] {
  switch (call.type) {
    case 'TEARDOWN': {
      const framework = books.frameworks.get(call.teardown.framework_id.value);
      return each('teardown_frameworks', [framework?.info.principal]);
    }
    case 'UPDATE_WEIGHTS':
      return each(
        'update_weight',
        (call.update_weights?.weight_infos ?? []).map((w) => w.role),
      );
    case 'UPDATE_QUOTA':
      return each(
        'update_quota',
        (call.update_quota?.quota_configs ?? []).map((c) => c.role),
      );
    case 'SET_QUOTA':
      return each('update_quota', [quotaRequestRole(call.set_quota.quota_request)]);
    case 'REMOVE_QUOTA':
      return each('update_quota', [call.remove_quota.role]);
    case 'RESERVE_RESOURCES':
      return each('reserve_resources', (call.reserve_resources?.resources ?? []).map(reservedRole));
    case 'UNRESERVE_RESOURCES':
      return each(
        'unreserve_resources',
        (call.unreserve_resources?.resources ?? []).map(reserverPrincipal),
      );
    case 'CREATE_VOLUMES':
      return each('create_volumes', call.create_volumes.volumes.map(reservedRole));
    case 'DESTROY_VOLUMES':
      return each(
        'destroy_volumes',
        call.destroy_volumes.volumes.map((v) => v.disk?.persistence?.principal),
      );
    case 'GROW_VOLUME':
      return each('resize_volumes', [reservedRole(call.grow_volume.volume)]);
    case 'SHRINK_VOLUME':
      return each('resize_volumes', [reservedRole(call.shrink_volume.volume)]);
    case 'UPDATE_MAINTENANCE_SCHEDULE':
      return each(
        'update_maintenance_schedule',
        (call.update_maintenance_schedule.schedule.windows ?? []).flatMap((w) =>
          (w.machine_ids ?? []).map(machineName),
        ),
      );
    case 'START_MAINTENANCE':
      return each('start_maintenances', call.start_maintenance.machines.map(machineName));
    case 'STOP_MAINTENANCE':
      return each('stop_maintenances', call.stop_maintenance.machines.map(machineName));
    case 'DRAIN_AGENT':
      return each('drain_agent', [call.drain_agent.agent_id.value]);
    case 'DEACTIVATE_AGENT':
      return each('deactivate_agents', [call.deactivate_agent.agent_id.value]);
    case 'REACTIVATE_AGENT':
      return each('reactivate_agents', [call.reactivate_agent.agent_id.value]);
    // Objects given implicitly (Mesos): only an ANY or NONE rule decides.
    case 'GET_FLAGS':
      return each('view_flags', [undefined]);
    case 'SET_LOGGING_LEVEL':
      return each('set_log_level', [undefined]);
    case 'MARK_AGENT_GONE':
      return each('mark_agent_gone', [call.mark_agent_gone.agent_id.value]);
    default:
      return [];
  }
}

/**
 * Throws 403 unless `principal` may make `call`. The legacy endpoints describe their work
 * as the operator call that does it, so both are authorized alike.
 */
export function authorizeCall(
  master: { readonly acls: Acls; readonly books: ReadonlyBooks },
  principal: string | undefined,
  call: MasterCall,
): void {
  for (const { action, object } of operatorCallNeeds(call, master.books))
    requireAuthorized(master.acls, action, principal, object);
}

/** What an offer operation (other than a launch) needs, as its operator call would. */
export function offerOperationNeeds(operation: OfferOperation): Needed[] {
  switch (operation.type) {
    case 'RESERVE':
      return each('reserve_resources', operation.reserve.resources.map(reservedRole));
    case 'UNRESERVE':
      return each('unreserve_resources', operation.unreserve.resources.map(reserverPrincipal));
    case 'CREATE':
      return each('create_volumes', operation.create.volumes.map(reservedRole));
    case 'DESTROY':
      return each(
        'destroy_volumes',
        operation.destroy.volumes.map((v) => v.disk?.persistence?.principal),
      );
    // Mesos authorizes both resizes as one action on the volume's role (resize_volumes).
    case 'GROW_VOLUME':
      return each('resize_volumes', [reservedRole(operation.grow_volume.volume)]);
    case 'SHRINK_VOLUME':
      return each('resize_volumes', [reservedRole(operation.shrink_volume.volume)]);
    default:
      return [];
  }
}

/**
 * The user a task runs as (ACL run_tasks' object): its command's, else its executor's (or its
 * group's executor's), else the framework's (docs/authorization.md).
 */
export function taskUser(
  task: TaskInfo,
  framework: FrameworkInfo,
  executor?: ExecutorInfo,
): string | undefined {
  return (
    task.command?.user ?? task.executor?.command?.user ?? executor?.command?.user ?? framework.user
  );
}

const refusal = (action: AclAction, principal: string | undefined, object: string | undefined) =>
  `Not authorized to ${action}${object === undefined ? '' : ` on '${object}'`} as ${
    principal === undefined ? 'a framework without a principal' : `principal '${principal}'`
  }`;

/** An ACCEPT's authorizer: the framework's principal against `acls`, for the core to ask. */
export function acceptAuthorizer(acls: Acls, framework: FrameworkInfo): AcceptAuthorizer {
  const { principal } = framework;
  return {
    operation(operation) {
      for (const { action, object } of offerOperationNeeds(operation))
        if (!isAuthorized(acls, action, principal, object))
          return refusal(action, principal, object);
      return undefined;
    },
    task(task, executor) {
      const user = taskUser(task, framework, executor);
      return isAuthorized(acls, 'run_tasks', principal, user)
        ? undefined
        : refusal('run_tasks', principal, user);
    },
  };
}
