// Validation of quota and weight updates (UPDATE_QUOTA, SET_QUOTA, UPDATE_WEIGHTS):
// pure, so every rule is tested without a master. Errors name the field.
import type { QuotaConfig } from '../../allocator/index.js';
import { isStrictSubroleOf, roleError } from '../../resources/index.js';
import {
  AgoraError,
  BadRequestError,
  type QuotaConfigMessage,
  quote,
  type WeightInfo,
} from '../../wire/index.js';

export interface QuotaContext {
  readonly current: ReadonlyMap<string, QuotaConfig>;
  /** A role's quota consumption now (allocations and reservations of its subtree), in units. */
  readonly consumed: (role: string) => Readonly<Record<string, number>>;
  /** What guarantees can come from: the cluster's total less static reservations, in units. */
  readonly capacity: Readonly<Record<string, number>>;
}

const units = (values: QuotaConfigMessage['guarantees']) =>
  Object.fromEntries(Object.entries(values ?? {}).map(([name, scalar]) => [name, scalar.value]));

/**
 * Turns UPDATE_QUOTA's configs into quota configs, or throws: BadRequestError
 * naming the field for a malformed or inconsistent request, AgoraError
 * CONFLICT when (without `force`) a role already consumes more than its new
 * limit or the guarantees exceed what the cluster has.
 */
export function validateQuotaUpdate(
  configs: readonly QuotaConfigMessage[],
  force: boolean,
  context: QuotaContext,
  field = 'update_quota.quota_configs',
): QuotaConfig[] {
  const seen = new Set<string>();
  const updated: QuotaConfig[] = configs.map((config, i) => {
    const at = `${field}[${i}]`;
    const reason = roleError(config.role);
    if (reason !== undefined) throw new BadRequestError(`${at}.role`, reason);
    if (seen.has(config.role))
      throw new BadRequestError(`${at}.role`, `role ${quote(config.role)} appears more than once`);
    seen.add(config.role);
    const guarantees = units(config.guarantees);
    const limits = units(config.limits);
    for (const name of [...Object.keys(guarantees), ...Object.keys(limits)])
      if (name === '' || name === 'ports')
        throw new BadRequestError(at, `quota is for scalar resources, not '${name}'`);
    for (const [name, guarantee] of Object.entries(guarantees)) {
      const limit = limits[name];
      if (limit !== undefined && guarantee > limit)
        throw new BadRequestError(
          `${at}.guarantees.${name}`,
          `guarantee ${guarantee} exceeds the limit ${limit}`,
        );
    }
    return { role: config.role, guarantees, limits };
  });

  // The whole set after the update must be consistent along the role tree.
  const after = new Map(context.current);
  for (const config of updated) {
    if (Object.keys(config.guarantees).length === 0 && Object.keys(config.limits).length === 0)
      after.delete(config.role);
    else after.set(config.role, config);
  }
  for (const config of after.values()) {
    for (const ancestor of after.values()) {
      if (!isStrictSubroleOf(config.role, ancestor.role)) continue;
      for (const [name, limit] of Object.entries(config.limits)) {
        const parentLimit = ancestor.limits[name];
        if (parentLimit !== undefined && limit > parentLimit)
          throw new BadRequestError(
            field,
            `role '${config.role}' would have a ${name} limit of ${limit}, above its ancestor '${ancestor.role}''s ${parentLimit}`,
          );
      }
    }
    for (const [name, guarantee] of Object.entries(config.guarantees)) {
      const children = [...after.values()].filter((c) => isChild(c.role, config.role));
      const sum = children.reduce((total, child) => total + (child.guarantees[name] ?? 0), 0);
      if (sum > guarantee)
        throw new BadRequestError(
          field,
          `the sub-roles of '${config.role}' would be guaranteed ${sum} ${name}, more than its own guarantee of ${guarantee}`,
        );
    }
  }
  if (force) return updated;

  for (const config of updated) {
    const consumed = context.consumed(config.role);
    for (const [name, limit] of Object.entries(config.limits)) {
      const now = consumed[name] ?? 0;
      if (now > limit)
        throw new AgoraError(
          'CONFLICT',
          `role '${config.role}' already consumes ${now} ${name}, above the new limit of ${limit}; set 'force' to apply it anyway`,
        );
    }
  }
  // Mesos' capacity heuristic: top-level guarantees together must fit in the cluster.
  const guaranteed: Record<string, number> = {};
  for (const config of after.values()) {
    if ([...after.keys()].some((role) => isStrictSubroleOf(config.role, role))) continue;
    for (const [name, amount] of Object.entries(config.guarantees))
      guaranteed[name] = (guaranteed[name] ?? 0) + amount;
  }
  for (const [name, amount] of Object.entries(guaranteed)) {
    const capacity = context.capacity[name] ?? 0;
    if (amount > capacity)
      throw new AgoraError(
        'CONFLICT',
        `guarantees would total ${amount} ${name}, more than the cluster's ${capacity} (not statically reserved); set 'force' to apply them anyway`,
      );
  }
  return updated;
}

function isChild(role: string, parent: string): boolean {
  return isStrictSubroleOf(role, parent) && !role.slice(parent.length + 1).includes('/');
}

/** UPDATE_WEIGHTS: valid, distinct roles with positive weights (the schema checked the numbers). */
export function validateWeights(
  infos: readonly WeightInfo[],
  field = 'update_weights.weight_infos',
): { role: string; weight: number }[] {
  const seen = new Set<string>();
  return infos.map((info, i) => {
    const role = info.role;
    if (role === undefined) throw new BadRequestError(`${field}[${i}].role`, 'required');
    const reason = roleError(role);
    if (reason !== undefined) throw new BadRequestError(`${field}[${i}].role`, reason);
    if (seen.has(role))
      throw new BadRequestError(
        `${field}[${i}].role`,
        `role ${quote(role)} appears more than once`,
      );
    seen.add(role);
    return { role, weight: info.weight };
  });
}
