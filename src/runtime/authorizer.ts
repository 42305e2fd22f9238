// Mesos' local authorizer (docs/authorization.md): ACLs in its JSON format (--acls), each
// action a list of rules `{ "principals": Entity, "<object>": Entity }`, where an Entity is
// `{ "values": [...] }` or `{ "type": "ANY" | "NONE" }`. Rules are tried in order and the
// first that matches decides; when none does, `permissive` (true by default) does. Pure: the
// shell reads the file and maps a denial to 403.
import { HttpError } from './http-errors.js';

/** Each action and the field that names its object, as in Mesos' acls.proto. */
export const ACL_OBJECT_FIELDS = {
  register_frameworks: 'roles',
  run_tasks: 'users',
  teardown_frameworks: 'framework_principals',
  reserve_resources: 'roles',
  unreserve_resources: 'reserver_principals',
  create_volumes: 'roles',
  destroy_volumes: 'creator_principals',
  update_weight: 'roles',
  update_quota: 'roles',
  view_frameworks: 'users',
  view_tasks: 'users',
  view_executors: 'users',
  access_sandboxes: 'users',
  access_mesos_logs: 'logs',
  get_endpoints: 'paths',
  update_maintenance_schedule: 'machines',
  drain_agent: 'agents',
  mark_agent_gone: 'agents',
  // An agent's standalone containers (LAUNCH_CONTAINER without a parent, and the calls on
  // one): objects are given implicitly, so only ANY or NONE decide, as in Mesos.
  launch_standalone_containers: 'users',
  kill_standalone_containers: 'users',
  wait_standalone_containers: 'users',
  remove_standalone_containers: 'users',
  view_standalone_containers: 'users',
  // Reading what operators see, filtered per caller (roles, quotas, maintenance).
  view_roles: 'roles',
  get_quotas: 'roles',
  get_maintenance_schedules: 'machines',
  get_maintenance_statuses: 'machines',
  start_maintenances: 'machines',
  stop_maintenances: 'machines',
  deactivate_agents: 'agents',
  reactivate_agents: 'agents',
  resize_volumes: 'roles',
  // Objects given implicitly: only ANY or NONE decide, as in Mesos.
  view_flags: 'flags',
  set_log_level: 'level',
  register_agents: 'agents',
  // A task's containers on its agent, by the user the task's executor runs as.
  view_containers: 'users',
  launch_nested_containers_as_user: 'users',
  launch_nested_containers_under_parent_with_user: 'users',
  launch_nested_container_sessions_as_user: 'users',
  launch_nested_container_sessions_under_parent_with_user: 'users',
  kill_nested_containers: 'users',
  wait_nested_containers: 'users',
  remove_nested_containers: 'users',
  attach_containers_input: 'users',
  attach_containers_output: 'users',
  // What Agora has no call for (resource providers, image pruning, CSI disks): loaded, so
  // that a Mesos ACL file loads whole; no request can reach what they guard.
  view_resource_providers: 'resource_providers',
  modify_resource_provider_configs: 'resource_providers',
  mark_resource_providers_gone: 'resource_providers',
  prune_images: 'images',
  create_block_disks: 'roles',
  destroy_block_disks: 'roles',
  create_mount_disks: 'roles',
  destroy_mount_disks: 'roles',
  destroy_raw_disks: 'roles',
} as const;

export type AclAction = keyof typeof ACL_OBJECT_FIELDS;

/**
 * Mesos' own names (acls.proto's JSON) for the actions this table names in the singular: an
 * ACL file written for Mesos says `update_quotas`, and was refused as an unknown action.
 */
const MESOS_ACTION_NAMES: Readonly<Record<string, AclAction>> = {
  update_weights: 'update_weight',
  update_quotas: 'update_quota',
  update_maintenance_schedules: 'update_maintenance_schedule',
  drain_agents: 'drain_agent',
  mark_agents_gone: 'mark_agent_gone',
};

export type Entity =
  | { readonly kind: 'any' }
  | { readonly kind: 'none' }
  | { readonly kind: 'some'; readonly values: ReadonlySet<string> };

export interface AclRule {
  readonly principals: Entity;
  readonly object: Entity;
}

export interface Acls {
  readonly permissive: boolean;
  readonly rules: Readonly<Partial<Record<AclAction, readonly AclRule[]>>>;
}

/** No ACLs: everything is allowed (the default without --acls). */
export const PERMISSIVE_ACLS: Acls = { permissive: true, rules: {} };

/** Bounds on an ACL file: rules and values are checked on every request. */
export const MAX_ACL_RULES = 10_000;
export const MAX_ENTITY_VALUES = 10_000;
const MAX_VALUE_LENGTH = 4096;

export class AclsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AclsError';
  }
}

function parseEntity(raw: unknown, where: string): Entity {
  if (raw === undefined) return { kind: 'any' }; // Mesos: an entity left out is ANY
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AclsError(`${where}: expected an object with "values" or "type"`);
  const { type, values } = raw as Record<string, unknown>;
  if (values !== undefined) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))
      throw new AclsError(`${where}.values: expected a list of strings`);
    if (values.length > MAX_ENTITY_VALUES)
      throw new AclsError(`${where}.values: more than ${MAX_ENTITY_VALUES}`);
    if ((values as string[]).some((v) => v.length > MAX_VALUE_LENGTH))
      throw new AclsError(`${where}.values: a value longer than ${MAX_VALUE_LENGTH}`);
    if (type !== undefined && type !== 'SOME')
      throw new AclsError(`${where}: "values" goes with no type (or SOME), not ${String(type)}`);
    return { kind: 'some', values: new Set(values as string[]) };
  }
  if (type === 'ANY') return { kind: 'any' };
  if (type === 'NONE') return { kind: 'none' };
  throw new AclsError(`${where}.type: expected ANY or NONE, got ${JSON.stringify(type)}`);
}

/** Parses --acls JSON (already decoded); throws AclsError naming the field at fault. */
export function parseAcls(json: unknown): Acls {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new AclsError('expected a JSON object');
  const rules: Partial<Record<AclAction, AclRule[]>> = {};
  let permissive = true;
  let count = 0;
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (key === 'permissive') {
      if (typeof value !== 'boolean') throw new AclsError('permissive: expected true or false');
      permissive = value;
      continue;
    }
    const action =
      MESOS_ACTION_NAMES[key] ?? (key in ACL_OBJECT_FIELDS ? (key as AclAction) : undefined);
    if (action === undefined)
      throw new AclsError(
        `${key}: not an action this authorizer knows (${Object.keys(ACL_OBJECT_FIELDS).join(', ')}, permissive)`,
      );
    if (!Array.isArray(value)) throw new AclsError(`${key}: expected a list of rules`);
    const field = ACL_OBJECT_FIELDS[action];
    // Both spellings in one file: their rules in the file's order.
    rules[action] = (rules[action] ?? []).concat(
      value.map((rule, i) => {
        const where = `${key}[${i}]`;
        if (typeof rule !== 'object' || rule === null || Array.isArray(rule))
          throw new AclsError(`${where}: expected an object`);
        const { principals, [field]: object, ...rest } = rule as Record<string, unknown>;
        const [unknown] = Object.keys(rest);
        if (unknown !== undefined)
          throw new AclsError(`${where}.${unknown}: ${key} takes principals and ${field}`);
        count += 1;
        return {
          principals: parseEntity(principals, `${where}.principals`),
          object: parseEntity(object, `${where}.${field}`),
        };
      }),
    );
  }
  if (count > MAX_ACL_RULES) throw new AclsError(`more than ${MAX_ACL_RULES} rules`);
  return { permissive, rules };
}

/**
 * Whether `action` can deny anything: it has rules, or the ACLs are not permissive. Lets a
 * reader that filters a list per caller skip the filter when it would keep everything.
 */
export function isGoverned(acls: Acls, action: AclAction): boolean {
  return !acls.permissive || acls.rules[action] !== undefined;
}

/** Whether a rule's entity applies to the request's value (undefined: no principal or object). */
function matches(value: string | undefined, entity: Entity): boolean {
  if (entity.kind !== 'some') return true;
  return value !== undefined && entity.values.has(value);
}

/** Whether a matching rule's entity grants: NONE never does, ANY always, values when listed. */
function grants(value: string | undefined, entity: Entity): boolean {
  if (entity.kind === 'any') return true;
  if (entity.kind === 'none') return false;
  return value !== undefined && entity.values.has(value);
}

/**
 * Whether `principal` (undefined: an anonymous caller) may do `action` on `object`. The first
 * rule whose principals and object both apply decides; a rule naming values applies only to
 * those values, ANY and NONE apply to all (NONE then denies). A caller without a principal is
 * matched only by ANY or NONE, as in Mesos.
 */
export function isAuthorized(
  acls: Acls,
  action: AclAction,
  principal: string | undefined,
  object: string | undefined,
): boolean {
  for (const rule of acls.rules[action] ?? []) {
    if (!matches(principal, rule.principals) || !matches(object, rule.object)) continue;
    return grants(principal, rule.principals) && grants(object, rule.object);
  }
  return acls.permissive;
}

/** Throws the 403 Mesos answers, naming the action, unless allowed. */
export function requireAuthorized(
  acls: Acls,
  action: AclAction,
  principal: string | undefined,
  object: string | undefined,
): void {
  if (isAuthorized(acls, action, principal, object)) return;
  const who = principal === undefined ? 'an anonymous caller' : `principal '${principal}'`;
  const what = object === undefined ? '' : ` on '${object}'`;
  throw new HttpError('FORBIDDEN', `Forbidden: ${who} is not authorized to ${action}${what}`);
}

/** What a caller may see of frameworks, tasks and executors, each judged by a user. */
export interface Visibility {
  framework(user: string | undefined): boolean;
  task(user: string | undefined): boolean;
  executor(user: string | undefined): boolean;
}

/**
 * The caller's visibility (view_frameworks, view_tasks, view_executors), or undefined when
 * the ACLs hide nothing (no filtering needed).
 */
export function visibilityFor(acls: Acls, principal: string | undefined): Visibility | undefined {
  const { rules } = acls;
  if (
    acls.permissive &&
    rules.view_frameworks === undefined &&
    rules.view_tasks === undefined &&
    rules.view_executors === undefined
  )
    return undefined;
  return {
    framework: (user) => isAuthorized(acls, 'view_frameworks', principal, user),
    task: (user) => isAuthorized(acls, 'view_tasks', principal, user),
    executor: (user) => isAuthorized(acls, 'view_executors', principal, user),
  };
}
