// Why `agora run` has no offer to launch its task on, told from what the
// master shows (`/master/slaves`, `/master/roles`), best effort. Pure: the
// caller fetches, this reads. A framework cannot see the allocator's books,
// so every reason is a reading of public numbers, and says what it compared.

/** Scalar quantities by resource name, as `/master/*` JSON shows them. */
export type Scalars = Readonly<Record<string, number | string>>;

/** The fields of a `/master/slaves` entry that matter here. */
export interface AgentView {
  readonly hostname: string;
  readonly resources: Scalars;
  readonly used_resources?: Scalars;
  readonly offered_resources?: Scalars;
  readonly unreserved_resources?: Scalars;
  readonly reserved_resources?: Readonly<Record<string, Scalars>>;
}

/** The fields of a `/master/roles` entry that matter here. */
export interface RoleView {
  readonly name: string;
  readonly quota?: {
    readonly guarantee?: Scalars;
    readonly limit?: Scalars;
    readonly consumed?: Scalars;
  };
}

export type WaitingKind =
  | 'no-agents'
  | 'never-fits'
  | 'quota-limit'
  | 'no-free-resources'
  | 'held-for-guarantees'
  | 'not-offered';

export interface WaitingReason {
  readonly kind: WaitingKind;
  /** One line for a person: what is missing, with the numbers compared. */
  readonly message: string;
}

/** Resource names compared: what the task needs, as scalars (ports and sets are left out). */
export function whyWaiting(
  needed: Readonly<Record<string, number>>,
  role: string,
  agents: readonly AgentView[],
  roles: readonly RoleView[],
): WaitingReason {
  const names = Object.keys(needed).filter((name) => (needed[name] ?? 0) > 0);
  const wanted = format(needed, names);
  if (agents.length === 0)
    return { kind: 'no-agents', message: 'no agent is registered with the master' };

  const totals = agents.map((agent) => ({ agent, have: pick(agent.resources, names) }));
  if (!totals.some(({ have }) => covers(have, needed, names))) {
    const list = agents
      .map((a) => `${a.hostname} (${names.map((n) => `${n}:${num(a.resources[n])}`).join(', ')})`)
      .join(', ');
    return {
      kind: 'never-fits',
      message: `no agent can ever fit a task needing ${wanted}; agents: ${list}`,
    };
  }

  // The role and each ancestor ("a/b" is limited by "a" too), as Mesos' quota is hierarchical.
  for (const name of [role, ...ancestors(role)]) {
    const quota = roles.find((r) => r.name === name)?.quota;
    const over = names.find((n) => {
      const limit = quota?.limit?.[n];
      return limit !== undefined && num(quota?.consumed?.[n]) + (needed[n] ?? 0) > num(limit);
    });
    if (over !== undefined)
      return {
        kind: 'quota-limit',
        message:
          `role ${name} is at its quota limit for ${over}: limit ${num(quota?.limit?.[over])}, ` +
          `consumed ${num(quota?.consumed?.[over])}, the task needs ${needed[over]}`,
      };
  }

  const free = agents.map((agent) => ({ agent, free: freeFor(agent, role, names) }));
  const roomy = free.filter(({ free: f }) => covers(f, needed, names));
  if (roomy.length === 0) {
    const closest = free.reduce((best, entry) =>
      fitRatio(entry.free, needed, names) > fitRatio(best.free, needed, names) ? entry : best,
    );
    return {
      kind: 'no-free-resources',
      message:
        `no agent has enough free resources: the task needs ${wanted}, ` +
        `the most free is ${format(closest.free, names)} on ${closest.agent.hostname}`,
    };
  }

  // Free resources the allocator keeps back so other roles can reach their guarantees.
  const headroom: Record<string, number> = {};
  const guaranteeing: string[] = [];
  for (const other of roles) {
    if (other.name === role || ancestors(role).includes(other.name)) continue;
    let holds = false;
    for (const n of names) {
      const short = num(other.quota?.guarantee?.[n]) - num(other.quota?.consumed?.[n]);
      if (short > 0) {
        headroom[n] = (headroom[n] ?? 0) + short;
        holds = true;
      }
    }
    if (holds) guaranteeing.push(other.name);
  }
  const totalFree: Record<string, number> = {};
  for (const { free: f } of free)
    for (const n of names) totalFree[n] = (totalFree[n] ?? 0) + num(f[n]);
  const heldBack = names.find((n) => num(totalFree[n]) - num(headroom[n]) < (needed[n] ?? 0));
  if (heldBack !== undefined)
    return {
      kind: 'held-for-guarantees',
      message:
        `the free ${heldBack} (${round(num(totalFree[heldBack]))}) is held for the quota ` +
        `guarantees of ${guaranteeing.join(', ')} (${round(num(headroom[heldBack]))} not yet used)`,
    };

  const first = roomy[0];
  return {
    kind: 'not-offered',
    message:
      `${first?.agent.hostname ?? 'an agent'} has room (${format(first?.free ?? {}, names)}) ` +
      'but no offer of it came: it may be filtered (declined earlier) or offered to ' +
      'another framework first; waiting for the next allocation',
  };
}

function ancestors(role: string): string[] {
  const parts = role.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** What `role` could be offered on `agent`: total less used and offered, within what it may use. */
function freeFor(agent: AgentView, role: string, names: readonly string[]): Record<string, number> {
  const own = [role, ...ancestors(role)];
  const free: Record<string, number> = {};
  for (const n of names) {
    const left =
      num(agent.resources[n]) - num(agent.used_resources?.[n]) - num(agent.offered_resources?.[n]);
    const reservedForRole = own.reduce(
      (sum, r) => sum + num(agent.reserved_resources?.[r]?.[n]),
      0,
    );
    const allowed =
      agent.unreserved_resources === undefined
        ? left
        : num(agent.unreserved_resources[n]) + reservedForRole;
    free[n] = round(Math.max(0, Math.min(left, allowed)));
  }
  return free;
}

function pick(scalars: Scalars, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, num(scalars[n])]));
}

function covers(
  have: Readonly<Record<string, number>>,
  needed: Readonly<Record<string, number>>,
  names: readonly string[],
): boolean {
  return names.every((n) => num(have[n]) >= (needed[n] ?? 0));
}

/** How close an agent comes to fitting: the smallest have/need over the needed names. */
function fitRatio(
  have: Readonly<Record<string, number>>,
  needed: Readonly<Record<string, number>>,
  names: readonly string[],
): number {
  return Math.min(...names.map((n) => num(have[n]) / (needed[n] ?? 1)));
}

function format(quantities: Readonly<Record<string, number | string>>, names: readonly string[]) {
  return names.map((n) => `${n}:${round(num(quantities[n]))}`).join(';');
}

function num(value: number | string | undefined): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** Three decimals, as Mesos keeps scalars. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
