// What an operator may read of roles, weights, quotas and maintenance, as Mesos filters each
// per caller (docs/authorization.md): a role by view_roles (GET_ROLES, GET_WEIGHTS, /roles,
// /weights), a quota by get_quotas, a machine by get_maintenance_schedules or
// get_maintenance_statuses. What the caller may not see is left out, never refused. Pure.
import { type AclAction, type Acls, isAuthorized, isGoverned } from '../../runtime/index.js';
import type { MachineID, MaintenanceSchedule } from '../../wire/index.js';

/** `items` whose object (by `objectOf`) `principal` may `action`; `items` itself when all are. */
function kept<T>(
  acls: Acls,
  action: AclAction,
  principal: string | undefined,
  items: readonly T[],
  objectOf: (item: T) => string | undefined,
): readonly T[] {
  if (!isGoverned(acls, action)) return items;
  return items.filter((item) => isAuthorized(acls, action, principal, objectOf(item)));
}

/** The roles (anything named by role) `principal` may view. */
export function shownRoles<T>(
  acls: Acls,
  principal: string | undefined,
  roles: readonly T[],
  nameOf: (role: T) => string,
): readonly T[] {
  return kept(acls, 'view_roles', principal, roles, nameOf);
}

/** The quotas (by role) `principal` may get. */
export function shownQuotas<T>(
  acls: Acls,
  principal: string | undefined,
  quotas: ReadonlyMap<string, T>,
): ReadonlyMap<string, T> {
  if (!isGoverned(acls, 'get_quotas')) return quotas;
  return new Map([...quotas].filter(([role]) => isAuthorized(acls, 'get_quotas', principal, role)));
}

const machineName = (machine: MachineID) => machine.hostname ?? machine.ip;

/** The schedule's windows with only the machines `principal` may see; windows left empty go. */
export function shownSchedule(
  acls: Acls,
  principal: string | undefined,
  schedule: MaintenanceSchedule,
): MaintenanceSchedule {
  if (!isGoverned(acls, 'get_maintenance_schedules') || schedule.windows === undefined)
    return schedule;
  const windows = schedule.windows.flatMap((window) => {
    const machines = kept(
      acls,
      'get_maintenance_schedules',
      principal,
      window.machine_ids ?? [],
      machineName,
    );
    return machines.length === 0 ? [] : [{ ...window, machine_ids: machines }];
  });
  return windows.length === 0 ? {} : { windows };
}

interface MaintenanceStatus {
  readonly draining_machines?: readonly { readonly id: MachineID }[];
  readonly down_machines?: readonly MachineID[];
}

/** A maintenance status (render.ts maintenanceStatus) with only the machines `principal` may see. */
export function shownMaintenanceStatus(
  acls: Acls,
  principal: string | undefined,
  status: MaintenanceStatus,
): MaintenanceStatus {
  const action = 'get_maintenance_statuses';
  if (!isGoverned(acls, action)) return status;
  const draining = kept(acls, action, principal, status.draining_machines ?? [], (m) =>
    machineName(m.id),
  );
  const down = kept(acls, action, principal, status.down_machines ?? [], machineName);
  return {
    ...(draining.length > 0 ? { draining_machines: draining } : {}),
    ...(down.length > 0 ? { down_machines: down } : {}),
  };
}
