// Roles as the master keeps them: the one copy of the weights and quota (the
// allocator is fed from here), and each role's resources broken down as
// Mesos' /roles shows them.
import type { QuotaConfig } from '../../allocator/index.js';
import { Resources, roleAncestors } from '../../resources/index.js';
import { firstFew } from '../../runtime/index.js';
import { allocatorHandle, type CoreContext, persist } from './context.js';
import { frameworkRoles } from './framework-info.js';
import { closeOffer } from './offers.js';
import type { QuotaContext } from './quota.js';

/** A role's resources as Mesos' /roles shows them. Units; subtree sums. */
export interface RoleBreakdown {
  readonly name: string;
  readonly weight: number;
  readonly frameworkIds: readonly string[];
  readonly allocated: Readonly<Record<string, number>>;
  readonly offered: Readonly<Record<string, number>>;
  readonly reserved: Readonly<Record<string, number>>;
  /** Used (not offered) unreserved resources plus reservations: Mesos' quota consumption. */
  readonly consumed: Readonly<Record<string, number>>;
  readonly quota: QuotaConfig | undefined;
  readonly dominantShare: number;
}

/** Weights and quota read back from the registry at start-up. */
export function recoverRoleSettings(
  core: CoreContext,
  weights: ReadonlyMap<string, number>,
  quotas: ReadonlyMap<string, QuotaConfig>,
): void {
  for (const [role, weight] of weights) core.roles.weights.set(role, weight);
  for (const [role, quota] of quotas) core.roles.quotas.set(role, quota);
  if (weights.size > 0)
    allocatorHandle(core, {
      kind: 'weightsUpdated',
      weights: [...weights].map(([role, weight]) => ({ role, weight })),
    });
  if (quotas.size > 0)
    allocatorHandle(core, { kind: 'quotaUpdated', configs: [...quotas.values()] });
}

/** UPDATE_WEIGHTS (validated): recorded, made durable, and handed to the allocator. */
export function updateWeights(
  core: CoreContext,
  weights: readonly { readonly role: string; readonly weight: number }[],
): void {
  persist(core, { kind: 'updateWeights', weights });
  for (const { role, weight } of weights) core.roles.weights.set(role, weight);
  allocatorHandle(core, { kind: 'weightsUpdated', weights });
  // A count and a few names: a request may list thousands of roles.
  core.log.info(
    { count: weights.length, roles: firstFew(weights.map((w) => w.role)) },
    'weights updated',
  );
}

/**
 * UPDATE_QUOTA (validated): recorded, made durable, handed to the allocator.
 * Outstanding offers are rescinded, so no role keeps offers beyond a new limit
 * and new guarantees can draw on everything (as Mesos does).
 */
export function updateQuota(core: CoreContext, configs: readonly QuotaConfig[]): void {
  persist(core, { kind: 'updateQuotas', configs });
  for (const config of configs) {
    if (Object.keys(config.guarantees).length === 0 && Object.keys(config.limits).length === 0)
      core.roles.quotas.delete(config.role);
    else core.roles.quotas.set(config.role, config);
  }
  allocatorHandle(core, { kind: 'quotaUpdated', configs });
  for (const offer of [...core.books.offers.values()]) closeOffer(core, offer, 'rescinded');
  core.log.info(
    { count: configs.length, roles: firstFew(configs.map((c) => c.role)) },
    'quota updated',
  );
  core.allocation.runSoon();
}

/** What quota validation needs to know about the cluster now. */
export function quotaContext(core: CoreContext): QuotaContext {
  const breakdown = new Map(roleBreakdowns(core).map((b) => [b.name, b]));
  let capacity = Resources.EMPTY;
  for (const agent of core.books.agents.values())
    if (agent.link.state === 'connected' || agent.link.state === 'disconnected')
      capacity = capacity.plus(agent.total.unreserved());
  return {
    current: core.roles.quotas,
    consumed: (role) => breakdown.get(role)?.consumed ?? {},
    capacity: Object.fromEntries(capacity.names().map((name) => [name, capacity.scalar(name)])),
  };
}

/**
 * Every role the master knows (with frameworks, reservations, quota, weight
 * or allocations, and their ancestors), with its resources broken down as
 * Mesos' /roles shows them. Sums cover each role's subtree.
 */
export function roleBreakdowns(core: CoreContext): RoleBreakdown[] {
  const { weights, quotas } = core.roles;
  const views = new Map(core.allocator.roles().map((view) => [view.name, view]));
  const names = new Set<string>([...views.keys(), ...weights.keys(), ...quotas.keys()]);
  const frameworksByRole = new Map<string, string[]>();
  for (const framework of core.books.frameworks.values())
    for (const role of frameworkRoles(framework.info)) {
      names.add(role);
      frameworksByRole.set(role, [...(frameworksByRole.get(role) ?? []), framework.id.value]);
    }
  for (const name of [...names]) for (const ancestor of roleAncestors(name)) names.add(ancestor);
  const allocated = new Map<string, Resources>();
  const offered = new Map<string, Resources>();
  const addUp = (into: Map<string, Resources>, role: string, resources: Resources) => {
    for (const name of [role, ...roleAncestors(role)])
      into.set(name, (into.get(name) ?? Resources.EMPTY).plus(resources.unallocate()));
  };
  for (const framework of core.books.frameworks.values())
    for (const task of framework.tasks.values())
      if (!task.isRecovered) addUp(allocated, task.role, task.resources);
  for (const offer of core.books.offers.values()) addUp(offered, offer.role, offer.resources);
  return [...names].sort().map((name) => {
    const view = views.get(name);
    const used = allocated.get(name) ?? Resources.EMPTY;
    const reserved = view?.reserved ?? {};
    const consumed: Record<string, number> = { ...reserved };
    const unreservedUse = used.quotaScalars();
    for (const resource of unreservedUse.names())
      consumed[resource] = (consumed[resource] ?? 0) + unreservedUse.scalar(resource);
    return {
      name,
      weight: weights.get(name) ?? 1,
      frameworkIds: frameworksByRole.get(name) ?? [],
      allocated: scalarsOf(used),
      offered: scalarsOf(offered.get(name) ?? Resources.EMPTY),
      reserved,
      consumed,
      quota: quotas.get(name),
      dominantShare: view?.dominantShare ?? 0,
    };
  });
}

function scalarsOf(resources: Resources): Record<string, number> {
  return Object.fromEntries(
    [...resources.scalarMillis()].map(([name, millis]) => [name, millis / 1000]),
  );
}
