// Hierarchical weighted DRF with quota, reservations and filters: Mesos'
// HierarchicalAllocator re-done as a pure module. See README.md in this folder.
// Long file: one allocation cycle over books it shares (role tree, heaps, dense totals);
// split, its state would sit behind calls on the hottest path (bench/RESULTS.md).
import assert from 'node:assert';
import { Resources, type ScalarVector, scalarSlot } from '../resources/index.js';
import {
  type AgentID,
  assertNever,
  type FrameworkID,
  frameworkId as mintFrameworkId,
} from '../wire/index.js';
import { type AgentSort, shuffle, uptimeWeight, weightedOrder } from './agent-order.js';
import { AgentTable, type TableSlot } from './agent-table.js';
import { type HeapItem, IndexedHeap } from './indexed-heap.js';
import { DEFAULT_MIN_ALLOCATABLE, parseMinAllocatable } from './min-allocatable.js';
import {
  addVector,
  fromUnits,
  SlotMap,
  toUnits,
  vectorQuantities,
  vectorShare,
} from './quantities.js';
import {
  type FrameworkBooks,
  type MinAllocatableTerm,
  type RefuseFilter,
  RoleEntry,
  type RoleNode,
  RoleTree,
} from './role-tree.js';
import type {
  Allocation,
  Allocator,
  AllocatorEvent,
  FrameworkCapabilities,
  MinAllocatableByRole,
  QuotaConfig,
  RoleView,
} from './types.js';

export interface HierarchicalAllocatorOptions {
  /** The random source for agent order; seeded in tests, so a run can be replayed. */
  readonly random: () => number;
  /** --agent_sort: 'random' (Mesos' shuffle, the default) or 'uptime'. */
  readonly agentSort?: AgentSort;
  /** --agent_expected_uptime: T in p = min(1, t/T); default one hour. */
  readonly agentExpectedUptimeMs?: number;
  /** The least selection weight under --agent_sort=uptime, so a new agent is still chosen. */
  readonly agentUptimeWeightFloor?: number;
  /** --min_allocatable_resources, e.g. 'cpus:0.01|mem:32' (the default). */
  readonly minAllocatableResources?: string;
}

export const DEFAULT_AGENT_EXPECTED_UPTIME_MS = 60 * 60 * 1000;
export const DEFAULT_AGENT_UPTIME_WEIGHT_FLOOR = 0.05;

interface AgentBooks extends HeapItem, TableSlot {
  readonly id: AgentID;
  total: Resources;
  /** Not offered or used by anyone. Set through setAvailable(), which keeps the table in step. */
  available: Resources;
  isActive: boolean;
  isDraining: boolean;
  /** In another region than the master's: only REGION_AWARE frameworks get it. */
  readonly isRemote: boolean;
  /** Active, not draining, with something available: awake (in the table) or in `idle`. */
  isOfferable: boolean;
  readonly addedAtMs: number;
  /**
   * What each framework holds here, one holding per role entry: recovered resources must
   * come out of these. A short list (most agents have one holder), made when first needed:
   * a map made with the agent was one more cold object for the cycle to touch per offer.
   */
  holdings: Holding[] | undefined;
  /** In `idle`: nobody could take this agent's resources when a cycle last visited it. */
  isIdle: boolean;
  /** While idle: quota (limits, or headroom held back) cut some offer of it, so it is in `idleByQuota` too. */
  isIdleByQuota: boolean;
  /** While idle: when the earliest filter that kept it idle expires (infinity if none did). */
  idleUntilMs: number;
}

interface Framework extends FrameworkBooks {
  roles: Set<string>;
  suppressed: Set<string>;
  isActive: boolean;
  capabilities: FrameworkCapabilities;
  /** Per role, agent id values its offer constraints exclude (kept while the role's entry comes and goes). */
  readonly excluded: Map<string, Set<string>>;
  /** Per role, its offer_filters' alternatives; a role absent uses the global minimum. */
  minAllocatable: Map<string, readonly (readonly MinAllocatableTerm[])[]>;
}

type Attempt = 'allocated' | 'next-framework' | 'next-role';

/** Which idle agents to wake before the next cycle: none, those some offer of which quota cut, all. */
type Wake = 'none' | 'quota' | 'all';
const WAKE_ORDER: readonly Wake[] = ['none', 'quota', 'all'];
const wider = (a: Wake, b: Wake): Wake => (WAKE_ORDER.indexOf(a) >= WAKE_ORDER.indexOf(b) ? a : b);

/**
 * Decides offers by hierarchical weighted Dominant Resource Fairness
 * (Ghodsi et al., NSDI 2011), in two stages as Mesos does: first roles whose
 * quota guarantees are unmet, up to them; then everyone by fair share, holding
 * back enough unreserved resources to meet the remaining guarantees. Quota
 * limits are never exceeded; reserved resources go only to their role's
 * subtree; refuse filters, suppression and --min_allocatable_resources apply.
 *
 * Pure: no clock (time is an argument), no timers, no I/O; randomness comes
 * from the options. The same events and seed give the same offers.
 */
export class HierarchicalAllocator implements Allocator {
  private readonly tree = new RoleTree();
  /** The allocation cycle's state, started anew by each allocate(). */
  private readonly cycle = new Cycle();
  private readonly agents = new Map<string, AgentBooks>();
  private readonly frameworks = new Map<string, Framework>();
  /**
   * The agents' hot numbers in dense arrays (available scalars, whether they are plain),
   * and the awake ones: offerable agents the next cycle visits (those added, changed or
   * given resources back since a cycle last visited them, or taken only in part). A cycle
   * costs O(awake agents), not O(agents).
   */
  private readonly table = new AgentTable<AgentBooks>();
  /** Scratch for take(): an agent's available scalars, read from the table. */
  private readonly freeScratch: number[] = [];
  /**
   * Offerable agents nobody could take when a cycle last visited them: skipped until an
   * event could change that (wakeIdle), or until a filter that kept them idle expires.
   */
  private readonly idle = new Set<AgentBooks>();
  /** The idle agents some offer of which quota cut: more room under limits or headroom may wake them. */
  private readonly idleByQuota = new Set<AgentBooks>();
  /**
   * Idle agents kept idle by a filter, by when the earliest such filter expires; ties by
   * agent id, so agents wake in an order the heap's layout does not decide.
   */
  private readonly idleUntil = new IndexedHeap<AgentBooks>(
    (a, b) =>
      a.idleUntilMs < b.idleUntilMs || (a.idleUntilMs === b.idleUntilMs && a.id.value < b.id.value),
  );
  /** Unreserved non-revocable scalars on offerable agents: what quota headroom can come from. */
  private readonly freeQuota: number[] = [];
  /** --min_allocatable_resources: alternatives, each a list of (scalar slot, thousandths). */
  private readonly minAllocatable: readonly (readonly MinAllocatableTerm[])[];
  /** Which idle agents the next cycle wakes, after events that could let someone take them. */
  private pendingWake: Wake = 'none';
  /**
   * take()'s last subtraction, its operands and result (values are immutable): agents of one
   * kind re-registering with the same tasks (a failover's 10,000) are left the same value,
   * and share what is computed of it, instead of one each.
   */
  private lastFrom: Resources | undefined;
  private lastTaken: Resources | undefined;
  private lastLeft: Resources = Resources.EMPTY;

  constructor(private readonly options: HierarchicalAllocatorOptions) {
    this.minAllocatable = parseMinAllocatable(
      options.minAllocatableResources ?? DEFAULT_MIN_ALLOCATABLE,
    ).map((alternative) =>
      [...alternative].map(([name, millis]) => ({ name, slot: scalarSlot(name), millis })),
    );
  }

  // ------------------------------------------------------------------- events

  handle(event: AllocatorEvent, nowMs: number): void {
    this.pendingWake = wider(this.pendingWake, this.idleAgentsWoken(event));
    switch (event.kind) {
      case 'agentAdded':
        this.addAgent(event.agentId, event.total, event.used, event.isRemote ?? false, nowMs);
        break;
      case 'agentRemoved':
        this.removeAgent(event.agentId.value);
        break;
      case 'agentActivated':
      case 'agentDeactivated':
        this.withAgent(event.agentId.value, (agent) => {
          agent.isActive = event.kind === 'agentActivated';
        });
        break;
      case 'agentDraining':
        this.withAgent(event.agentId.value, (agent) => {
          agent.isDraining = event.isDraining;
        });
        break;
      case 'availableConverted':
        this.withAgent(event.agentId.value, (agent) => {
          assert(
            agent.available.contains(event.from),
            'converting resources that are not available',
          );
          this.setTotal(agent, agent.total.minus(event.from).plus(event.to));
          this.setAvailable(agent, agent.available.minus(event.from).plus(event.to));
        });
        break;
      case 'allocationConverted':
        this.convertAllocation(event.frameworkId, event.agentId.value, event.from, event.to);
        break;
      case 'frameworkAdded': {
        const framework = this.ensureFramework(event.frameworkId);
        framework.isActive = true;
        if (event.capabilities !== undefined) framework.capabilities = event.capabilities;
        if (event.minAllocatable !== undefined)
          this.setMinAllocatable(framework, event.minAllocatable);
        this.setRoles(framework, event.roles, event.suppressedRoles);
        for (const [agentIdValue, used] of event.used)
          this.trackUsed(framework, agentIdValue, used);
        break;
      }
      case 'frameworkUpdated':
        this.withFramework(event.frameworkId.value, (framework) => {
          if (event.capabilities !== undefined) framework.capabilities = event.capabilities;
          if (event.minAllocatable !== undefined)
            this.setMinAllocatable(framework, event.minAllocatable);
          this.setRoles(framework, event.roles, event.suppressedRoles);
        });
        break;
      case 'agentExcluded':
        this.withFramework(event.frameworkId.value, (framework) => {
          let excluded = framework.excluded.get(event.role);
          if (event.isExcluded) {
            if (excluded === undefined) {
              excluded = new Set();
              framework.excluded.set(event.role, excluded);
            }
            excluded.add(event.agentId.value);
          } else {
            excluded?.delete(event.agentId.value);
            if (excluded?.size === 0) {
              framework.excluded.delete(event.role);
              excluded = undefined;
            }
          }
          const entry = framework.entries.get(event.role);
          if (entry !== undefined) entry.excludedAgents = excluded;
          // One more taker for this agent alone: wake it, not every idle agent.
          const agent = this.agents.get(event.agentId.value);
          if (!event.isExcluded && agent?.isIdle === true) this.wake(agent);
        });
        break;
      case 'frameworkRemoved':
        this.removeFramework(event.frameworkId.value);
        break;
      case 'frameworkActivated':
      case 'frameworkDeactivated':
        this.withFramework(event.frameworkId.value, (framework) => {
          framework.isActive = event.kind === 'frameworkActivated';
          this.refreshWanting(framework);
        });
        break;
      case 'resourcesRecovered':
        this.recover(
          event.frameworkId.value,
          event.agentId.value,
          event.resources,
          event.refuseMs,
          nowMs,
        );
        break;
      case 'resourcesUsed':
        this.withFramework(event.frameworkId.value, (framework) =>
          this.trackUsed(framework, event.agentId.value, event.resources),
        );
        break;
      case 'offersSuppressed':
      case 'offersRevived':
        this.withFramework(event.frameworkId.value, (framework) => {
          const roles = event.roles.length === 0 ? [...framework.roles] : event.roles;
          for (const role of roles) {
            if (event.kind === 'offersSuppressed') framework.suppressed.add(role);
            else {
              framework.suppressed.delete(role);
              framework.entries.get(role)?.filters.clear();
            }
          }
          this.refreshWanting(framework);
        });
        break;
      case 'weightsUpdated':
        for (const { role, weight } of event.weights) {
          assert(weight > 0 && Number.isFinite(weight), `weight of ${role} must be positive`);
          const node = this.tree.ensure(role);
          node.hasWeight = weight !== 1;
          this.tree.setWeight(node, weight);
          this.tree.prune(node);
        }
        break;
      case 'quotaUpdated':
        for (const config of event.configs) this.setQuota(config);
        break;
      default:
        assertNever(event);
    }
  }

  /**
   * Which idle agents an event could let some framework take, beyond the agents it
   * touches itself (those wake on their own).
   * - 'all': new takers, or new quota: a framework added, changed, activated or revived.
   * - 'quota': more room under a limit or more headroom surplus, while some role has quota:
   *   anything that gives back, adds, removes or converts resources, or makes an agent
   *   offerable or not. Only agents some offer of which quota cut can gain from that: any
   *   other was refused by every taker for reasons quota does not touch (filters, crumbs,
   *   reservations), and quota can only cut an offer, never make a smaller one acceptable.
   * - 'none': fewer takers or another order (suppress, deactivate a framework, weights, an
   *   agent excluded); an agent no longer excluded for some role is woken alone, in handle().
   */
  private idleAgentsWoken(event: AllocatorEvent): Wake {
    switch (event.kind) {
      case 'frameworkAdded':
      case 'frameworkUpdated':
      case 'frameworkActivated':
      case 'offersRevived':
      case 'quotaUpdated':
        return 'all';
      case 'agentAdded':
      case 'agentRemoved':
      case 'agentActivated':
      case 'agentDeactivated':
      case 'agentDraining':
      case 'availableConverted':
      case 'allocationConverted':
      case 'frameworkRemoved':
      case 'resourcesRecovered':
      case 'resourcesUsed':
        return this.hasQuota ? 'quota' : 'none';
      case 'frameworkDeactivated':
      case 'offersSuppressed':
      case 'weightsUpdated':
      case 'agentExcluded':
        return 'none';
      default:
        return assertNever(event);
    }
  }

  private get hasQuota(): boolean {
    for (const node of this.tree.all())
      if (node.guarantees.size > 0 || node.limits.size > 0) return true;
    return false;
  }

  private withAgent(idValue: string, change: (agent: AgentBooks) => void): void {
    const agent = this.agents.get(idValue);
    if (agent === undefined) return;
    this.leaveOfferable(agent);
    change(agent);
    this.joinOfferable(agent);
  }

  private withFramework(idValue: string, change: (framework: Framework) => void): void {
    const framework = this.frameworks.get(idValue);
    if (framework !== undefined) change(framework);
  }

  private addAgent(
    id: AgentID,
    total: Resources,
    used: ReadonlyMap<string, Resources>,
    isRemote: boolean,
    nowMs: number,
  ): void {
    if (this.agents.has(id.value)) this.removeAgent(id.value);
    const agent: AgentBooks = {
      id,
      total: Resources.EMPTY,
      available: Resources.EMPTY,
      isActive: true,
      isDraining: false,
      isRemote,
      isOfferable: false,
      addedAtMs: nowMs,
      holdings: undefined,
      isIdle: false,
      isIdleByQuota: false,
      idleUntilMs: Number.POSITIVE_INFINITY,
      heapIndex: -1,
      slot: -1,
    };
    this.agents.set(id.value, agent);
    this.table.add(agent);
    this.setTotal(agent, total);
    this.setAvailable(agent, total);
    this.joinOfferable(agent);
    for (const [frameworkIdValue, resources] of used) {
      const framework = this.ensureFramework(mintFrameworkId(frameworkIdValue));
      this.trackUsed(framework, id.value, resources);
    }
  }

  private removeAgent(idValue: string): void {
    const agent = this.agents.get(idValue);
    if (agent === undefined) return;
    this.leaveOfferable(agent);
    const holders = new Set<FrameworkBooks>();
    for (const { entry, resources } of agent.holdings ?? []) {
      const { allVector, quotaVector } = resources.scalarMillisSplit();
      this.tree.account(entry, allVector, quotaVector, -1);
      entry.heldOn -= 1;
      holders.add(entry.framework);
    }
    for (const framework of holders)
      for (const entry of framework.entries.values()) entry.filters.delete(idValue);
    this.setTotal(agent, Resources.EMPTY);
    this.table.remove(agent);
    this.agents.delete(idValue);
  }

  /** Sets what is available on `agent`, and the table's numbers for it. */
  private setAvailable(agent: AgentBooks, available: Resources): void {
    agent.available = available;
    const { allVector, quotaVector } = available.scalarMillisSplit();
    this.table.setAvailable(
      agent,
      allVector,
      available.isUnreserved() && isSameVector(allVector, quotaVector),
    );
  }

  /** Keeps the cluster totals and the per-role reservation counts in step with an agent's total. */
  private setTotal(agent: AgentBooks, total: Resources): void {
    addVector(this.tree.totals, agent.total.scalarMillisSplit().allVector, -1);
    for (const role of agent.total.reservedRoles())
      this.tree.accountReserved(
        this.tree.ensure(role),
        agent.total.reserved(role).scalarMillisSplit().allVector,
        -1,
      );
    agent.total = total;
    addVector(this.tree.totals, total.scalarMillisSplit().allVector);
    for (const role of total.reservedRoles())
      this.tree.accountReserved(
        this.tree.ensure(role),
        total.reserved(role).scalarMillisSplit().allVector,
        1,
      );
    this.tree.totalsChanged();
  }

  /** Makes `agent` offerable (and awake) if it is active, not draining and has something free. */
  private joinOfferable(agent: AgentBooks): void {
    if (!agent.isActive || agent.isDraining || agent.available.isEmpty() || agent.isOfferable)
      return;
    this.table.wake(agent);
    agent.isOfferable = true;
    addVector(this.freeQuota, agent.available.scalarMillisSplit().quotaVector);
  }

  private leaveOfferable(agent: AgentBooks): void {
    if (!agent.isOfferable) return;
    addVector(this.freeQuota, agent.available.scalarMillisSplit().quotaVector, -1);
    this.dropOfferable(agent);
  }

  /** Takes `agent` out of `awake` or `idle`; the caller keeps freeQuota right. */
  private dropOfferable(agent: AgentBooks): void {
    agent.isOfferable = false;
    if (agent.isIdle) this.forgetIdle(agent);
    else this.table.sleep(agent);
  }

  /** Nobody could take `agent` in this cycle: skip it until an event or `untilMs` wakes it. */
  private markIdle(agent: AgentBooks, untilMs: number, isByQuota: boolean): void {
    this.table.sleep(agent);
    this.idle.add(agent);
    agent.isIdle = true;
    agent.idleUntilMs = untilMs;
    if (untilMs !== Number.POSITIVE_INFINITY) this.idleUntil.push(agent);
    agent.isIdleByQuota = isByQuota;
    if (isByQuota) this.idleByQuota.add(agent);
  }

  /** Back to `awake`: something changed that may let someone take it. */
  private wake(agent: AgentBooks): void {
    this.forgetIdle(agent);
    this.table.wake(agent);
  }

  private forgetIdle(agent: AgentBooks): void {
    this.idle.delete(agent);
    if (this.idleUntil.has(agent)) this.idleUntil.remove(agent);
    if (agent.isIdleByQuota) this.idleByQuota.delete(agent);
    agent.isIdle = false;
    agent.isIdleByQuota = false;
    agent.idleUntilMs = Number.POSITIVE_INFINITY;
  }

  /**
   * Before a cycle: wakes the idle agents that events since the last cycle could let
   * someone take (batched here, so a burst of events costs one pass), and those whose
   * filters have expired by `nowMs`.
   */
  private wakeIdle(nowMs: number): void {
    if (this.pendingWake === 'all') {
      for (const agent of this.idle) {
        agent.isIdle = false;
        agent.isIdleByQuota = false;
        agent.idleUntilMs = Number.POSITIVE_INFINITY;
        this.table.wake(agent);
      }
      this.idle.clear();
      this.idleByQuota.clear();
      this.idleUntil.clear();
    } else if (this.pendingWake === 'quota') {
      for (const agent of [...this.idleByQuota]) this.wake(agent);
    }
    this.pendingWake = 'none';
    for (let next = this.idleUntil.peek(); next !== undefined; next = this.idleUntil.peek()) {
      if (next.idleUntilMs > nowMs) break;
      this.wake(next);
    }
  }

  private ensureFramework(id: FrameworkID): Framework {
    let framework = this.frameworks.get(id.value);
    if (framework === undefined) {
      // Unknown until now (e.g. an agent re-registered with its tasks before it
      // resubscribed): inactive, so it holds resources but is offered nothing.
      framework = {
        id,
        entries: new Map(),
        roles: new Set(),
        suppressed: new Set(),
        isActive: false,
        capabilities: { reservationRefinement: false },
        excluded: new Map(),
        minAllocatable: new Map(),
      };
      this.frameworks.set(id.value, framework);
    }
    return framework;
  }

  private entryFor(framework: Framework, role: string): RoleEntry {
    let entry = framework.entries.get(role);
    if (entry === undefined) {
      entry = new RoleEntry(framework, this.tree.ensure(role));
      entry.excludedAgents = framework.excluded.get(role);
      entry.minAllocatable = framework.minAllocatable.get(role);
      framework.entries.set(role, entry);
      entry.role.entries.add(entry);
    }
    return entry;
  }

  /** FrameworkInfo.offer_filters, per role, as slots and thousandths (units come in). */
  private setMinAllocatable(framework: Framework, byRole: MinAllocatableByRole): void {
    framework.minAllocatable = new Map(
      [...byRole].map(([role, alternatives]) => [
        role,
        alternatives.map((alternative) =>
          Object.entries(alternative).map(([name, units]) => ({
            name,
            slot: scalarSlot(name),
            millis: Math.round(units * 1000),
          })),
        ),
      ]),
    );
    for (const [role, entry] of framework.entries)
      entry.minAllocatable = framework.minAllocatable.get(role);
  }

  private setRoles(
    framework: Framework,
    roles: readonly string[],
    suppressed: readonly string[],
  ): void {
    framework.roles = new Set(roles);
    framework.suppressed = new Set(suppressed);
    for (const role of roles) this.entryFor(framework, role);
    this.refreshWanting(framework);
    // A role the framework left stays while it still holds resources in it.
    for (const [role, entry] of [...framework.entries])
      if (!framework.roles.has(role) && entry.heldOn === 0) this.dropEntry(framework, role, entry);
  }

  private dropEntry(framework: Framework, role: string, entry: RoleEntry): void {
    this.tree.setWanting(entry, false);
    entry.role.entries.delete(entry);
    framework.entries.delete(role);
    this.tree.prune(entry.role);
  }

  private refreshWanting(framework: Framework): void {
    for (const [role, entry] of framework.entries)
      this.tree.setWanting(
        entry,
        framework.isActive && framework.roles.has(role) && !framework.suppressed.has(role),
      );
  }

  private removeFramework(idValue: string): void {
    const framework = this.frameworks.get(idValue);
    if (framework === undefined) return;
    // Stamped with their role: a framework may hold resources in several roles on one agent.
    for (const agent of this.agents.values())
      for (const [role, resources] of heldBy(agent, framework))
        this.recover(idValue, agent.id.value, resources.allocate(role), undefined, 0);
    for (const [role, entry] of [...framework.entries]) this.dropEntry(framework, role, entry);
    this.frameworks.delete(idValue);
  }

  private setQuota(config: QuotaConfig): void {
    const node = this.tree.ensure(config.role);
    this.tree.setQuota(node, fromUnits(config.guarantees), fromUnits(config.limits));
    for (const [name, millis] of [...node.guarantees, ...node.limits])
      assert(millis >= 0, `quota of ${config.role} for ${name} must not be negative`);
    this.tree.prune(node);
  }

  /** Marks resources as held by a framework without offering them (tasks the allocator did not place). */
  private trackUsed(framework: Framework, agentIdValue: string, resources: Resources): void {
    const agent = this.agents.get(agentIdValue);
    if (agent === undefined) return;
    for (const role of resources.allocationRoles()) {
      const part = resources.ofAllocationRole(role).unallocate();
      // Used resources the agent does not list (a report that raced a change) are ignored.
      const held = agent.available.contains(part) ? part : Resources.EMPTY;
      if (held.isEmpty()) continue;
      this.take(agent, this.entryFor(framework, role), held);
    }
  }

  private convertAllocation(
    frameworkId: FrameworkID,
    agentIdValue: string,
    from: Resources,
    to: Resources,
  ): void {
    const agent = this.agents.get(agentIdValue);
    const framework = this.frameworks.get(frameworkId.value);
    if (agent === undefined || framework === undefined) return;
    for (const role of from.allocationRoles()) {
      const before = from.filter((r) => r.allocation_info?.role === role).unallocate();
      const after = to.filter((r) => r.allocation_info?.role === role).unallocate();
      const entry = framework.entries.get(role);
      const held = entry === undefined ? undefined : holdingOf(agent, entry)?.resources;
      assert(
        entry !== undefined && held?.contains(before) === true,
        'converting resources the framework does not hold',
      );
      this.give(agent, entry, before);
      this.leaveOfferable(agent);
      this.setAvailable(agent, agent.available.minus(before));
      this.setTotal(agent, agent.total.minus(before).plus(after));
      this.setAvailable(agent, agent.available.plus(after));
      this.joinOfferable(agent);
      this.take(agent, entry, after);
    }
  }

  private recover(
    frameworkIdValue: string,
    agentIdValue: string,
    resources: Resources,
    refuseMs: number | undefined,
    nowMs: number,
  ): void {
    const agent = this.agents.get(agentIdValue);
    const framework = this.frameworks.get(frameworkIdValue);
    if (agent === undefined || framework === undefined) return;
    for (const [role, part] of byAllocationRole(resources, heldBy(agent, framework))) {
      const entry = framework.entries.get(role);
      const held = entry === undefined ? undefined : holdingOf(agent, entry)?.resources;
      assert(
        entry !== undefined && held?.contains(part) === true,
        'recovering resources that were not allocated',
      );
      this.give(agent, entry, part);
      if (refuseMs !== undefined && refuseMs > 0) {
        const filters = entry.filters.get(agentIdValue) ?? [];
        filters.push({ resources: part, untilMs: nowMs + refuseMs });
        entry.filters.set(agentIdValue, filters);
      }
      if (entry.heldOn === 0 && !framework.roles.has(role)) this.dropEntry(framework, role, entry);
    }
  }

  /** Moves resources from an agent's available pool to a framework's allocation. */
  private take(agent: AgentBooks, entry: RoleEntry, resources: Resources): void {
    // The whole of a plain agent (the usual offer): its numbers are in the table, and all
    // of its scalars count toward quota.
    let allVector: ScalarVector;
    let quotaVector: ScalarVector;
    if (resources === agent.available && this.table.isPlain(agent)) {
      allVector = this.table.readFree(agent, this.freeScratch);
      quotaVector = allVector;
    } else ({ allVector, quotaVector } = resources.scalarMillisSplit());
    this.setAvailable(agent, this.without(agent.available, resources));
    if (agent.isOfferable) {
      addVector(this.freeQuota, quotaVector, -1);
      if (agent.available.isEmpty()) this.dropOfferable(agent);
    }
    const holding = holdingOf(agent, entry);
    if (holding !== undefined) holding.resources = holding.resources.plus(resources);
    else {
      if (agent.holdings === undefined) agent.holdings = [{ entry, resources }];
      else agent.holdings.push({ entry, resources });
      entry.heldOn += 1;
    }
    this.tree.account(entry, allVector, quotaVector, 1);
  }

  /** `from.minus(taken)`, the value of the last call when asked for the same two again. */
  private without(from: Resources, taken: Resources): Resources {
    if (from === this.lastFrom && taken === this.lastTaken) return this.lastLeft;
    const left = from.minus(taken);
    this.lastFrom = from;
    this.lastTaken = taken;
    this.lastLeft = left;
    return left;
  }

  /** The reverse of take(). */
  private give(agent: AgentBooks, entry: RoleEntry, resources: Resources): void {
    const holding = holdingOf(agent, entry);
    const left = (holding?.resources ?? Resources.EMPTY).minus(resources);
    if (holding !== undefined && !left.isEmpty()) holding.resources = left;
    else if (holding !== undefined && agent.holdings !== undefined) {
      agent.holdings = agent.holdings.filter((other) => other !== holding);
      if (agent.holdings.length === 0) agent.holdings = undefined;
      entry.heldOn -= 1;
    }
    const { allVector, quotaVector } = resources.scalarMillisSplit();
    this.tree.account(entry, allVector, quotaVector, -1);
    this.setAvailable(agent, agent.available.plus(resources));
    if (agent.isOfferable) {
      addVector(this.freeQuota, quotaVector);
      if (agent.isIdle) this.wake(agent);
    } else this.joinOfferable(agent);
  }

  // --------------------------------------------------------------- allocation

  allocate(nowMs: number): readonly Allocation[] {
    this.tree.refreshShares();
    this.wakeIdle(nowMs);
    const agents = this.order(this.table.awake(), nowMs);
    if (agents.length === 0) return [];
    const { cycle } = this;
    cycle.start(nowMs, [...this.tree.all()].filter(hasGuarantees));
    // Each stage's loop over the agents is a method of its own: V8 then compiles each once
    // and keeps it. As one method, called once per cycle, it ran each cycle's first agents
    // unoptimised until on-stack replacement, then dropped that code at the loop's end.
    const stillNeedy = this.meetGuarantees(agents, cycle);
    // Stage 2 in a fresh order (stage 1 favours the first agents), unless stage 1 did nothing.
    this.offerByShare(
      stillNeedy === 0 && cycle.recorded === 0 ? agents : this.order(agents, nowMs),
      cycle,
    );
    return cycle.finish();
  }

  /**
   * Stage 1: roles below their guarantees get up to them first, even under contention.
   * Returns how many guaranteed roles are still below their guarantees.
   */
  private meetGuarantees(agents: readonly AgentBooks[], cycle: Cycle): number {
    const needy = cycle.guaranteed.filter(isNeedy);
    if (needy.length === 0) return 0;
    for (const agent of agents) {
      if (needy.length > 1) needy.sort(byShareThenName);
      for (const quotaRole of needy) {
        if (!agent.isOfferable) break;
        this.offerAgent(agent, quotaRole, cycle, quotaRole);
      }
      for (let i = needy.length - 1; i >= 0; i--) {
        const node = needy[i];
        if (node !== undefined && !hasUnmetGuarantee(node)) needy.splice(i, 1);
      }
      if (needy.length === 0) break;
    }
    return needy.length;
  }

  /** Stage 2: everyone, by fair share; marks idle the agents nobody could take. */
  private offerByShare(agents: readonly AgentBooks[], cycle: Cycle): void {
    try {
      for (const agent of agents) {
        const before = cycle.recorded;
        cycle.isCutByQuota = false;
        this.offerAgent(agent, this.tree.root, cycle, undefined);
        // Roles still benched were not tried on this agent: their limits kept them off it.
        if (cycle.recorded === before && agent.isOfferable)
          this.markIdle(
            agent,
            cycle.earliestFilterExpiry(agent),
            cycle.isCutByQuota || this.tree.hasBenched,
          );
      }
    } finally {
      this.tree.unbenchAll();
    }
  }

  private order(agents: readonly AgentBooks[], nowMs: number): AgentBooks[] {
    const { random } = this.options;
    if (this.options.agentSort !== 'uptime') return shuffle(agents, random);
    const expectedMs = this.options.agentExpectedUptimeMs ?? DEFAULT_AGENT_EXPECTED_UPTIME_MS;
    const floor = this.options.agentUptimeWeightFloor ?? DEFAULT_AGENT_UPTIME_WEIGHT_FLOOR;
    return weightedOrder(
      agents,
      (agent) => uptimeWeight(nowMs - agent.addedAtMs, expectedMs, floor),
      random,
    );
  }

  /**
   * Offers what is left on `agent` to the roles under `subtree` in DRF order,
   * framework by framework, until nothing allocatable is left. In stage 1,
   * `quotaRole` is the role whose guarantee is being met.
   */
  private offerAgent(
    agent: AgentBooks,
    subtree: RoleNode,
    cycle: Cycle,
    quotaRole: RoleNode | undefined,
  ): void {
    // Roles at their limit were benched on agents whose resources are all cut by limits;
    // reservations and revocable resources are not, so such an agent sees every role.
    if (this.tree.hasBenched && !this.isCutWholeByLimits(agent)) this.tree.unbenchAll();
    // Each allocation changes the shares, so the search restarts; it ends because each
    // allocation takes something from the agent, or nothing was allocated.
    while (agent.isOfferable && this.isAgentAllocatable(agent)) {
      // The common case first: the framework of least share under the least-share role takes it.
      const first = firstCandidate(subtree);
      if (first !== undefined && this.tryOffer(agent, first, cycle, quotaRole) === 'allocated')
        continue;
      this.benchRolesAtLimit(agent, cycle);
      const isAllocated = this.offerInOrder(agent, subtree, cycle, quotaRole, first);
      this.benchRolesAtLimit(agent, cycle);
      if (!isAllocated) return;
    }
  }

  /**
   * Benches the roles tryOffer() found at their limit, now that no walk of the tree is
   * under way: skipped for the rest of the cycle, they cost nothing on later agents. Not
   * while `agent` has something limits do not cut: the rest of it may still go to them.
   */
  private benchRolesAtLimit(agent: AgentBooks, cycle: Cycle): void {
    if (cycle.atLimit.length === 0) return;
    if (this.isCutWholeByLimits(agent)) for (const node of cycle.atLimit) this.tree.bench(node);
    cycle.atLimit.length = 0;
  }

  /**
   * The outermost of `role` and its ancestors whose limits (its own and its ancestors')
   * leave less room than every --min_allocatable_resources alternative needs of some
   * resource. Nothing under it can then be offered anything allocatable that limits cut,
   * for the rest of the cycle: consumption only grows within one.
   */
  private outermostAtLimit(role: RoleNode, cycle: Cycle): RoleNode | undefined {
    if (this.minAllocatable.length === 0) return undefined;
    const room = cycle.scratchRoom;
    room.clear();
    for (let i = role.lineage.length - 1; i >= 0; i--) {
      const node = role.lineage[i];
      if (node === undefined || node.limitSlots.length === 0) continue;
      for (const { slot, millis: limit } of node.limitSlots)
        room.set(
          slot,
          Math.min(room.get(slot) ?? Number.POSITIVE_INFINITY, limit - node.consumedAt(slot)),
        );
      let isAtLimit = true;
      for (const alternative of this.minAllocatable)
        if (!isShortOf(alternative, room)) isAtLimit = false;
      if (isAtLimit) return node;
    }
    return undefined;
  }

  /**
   * Whether limits cut every scalar available on `agent` that --min_allocatable_resources
   * counts (all unreserved and non-revocable), so that a role at its limit can be
   * offered nothing allocatable from them.
   */
  private isCutWholeByLimits(agent: AgentBooks): boolean {
    if (this.table.isPlain(agent)) return true;
    const { allVector, quotaVector } = agent.available.scalarMillisSplit();
    for (const alternative of this.minAllocatable)
      for (const { slot } of alternative)
        if ((allVector[slot] ?? 0) !== (quotaVector[slot] ?? 0)) return false;
    return true;
  }

  /** The full search in hierarchical DRF order; `skip` was tried already. True if it allocated. */
  private offerInOrder(
    agent: AgentBooks,
    subtree: RoleNode,
    cycle: Cycle,
    quotaRole: RoleNode | undefined,
    skip: RoleEntry | undefined,
  ): boolean {
    for (const role of this.tree.rolesInOrder(subtree)) {
      for (const entry of role.wanting.ordered()) {
        if (entry === skip) continue;
        const attempt = this.tryOffer(agent, entry, cycle, quotaRole);
        if (attempt === 'next-framework') continue;
        if (attempt === 'next-role') break;
        return true;
      }
    }
    return false;
  }

  private tryOffer(
    agent: AgentBooks,
    entry: RoleEntry,
    cycle: Cycle,
    quotaRole: RoleNode | undefined,
  ): Attempt {
    // Mesos' isCapableOfReceivingAgent: a remote agent only for REGION_AWARE frameworks.
    if (agent.isRemote && entry.framework.capabilities.regionAware !== true)
      return 'next-framework';
    const role = entry.role;
    // Offer constraints: looked up, never evaluated here (the master did, once per change).
    if (entry.excludedAgents?.has(agent.id.value) === true) return 'next-framework';
    // A plain agent (nothing reserved) is allocatable whole to every role, and offerAgent()
    // saw it hold something allocatable.
    const isPlain = this.table.isPlain(agent);
    let available = agent.available;
    if (!isPlain) {
      available = available.allocatableTo(role.name);
      if (!entry.framework.capabilities.reservationRefinement)
        available = available.withoutRefinedReservations();
      if (available.isEmpty()) return 'next-role';
    }
    let toOffer: Resources;
    if (quotaRole === undefined) {
      // Only unreserved non-revocable scalars are cut: shrinkQuotaScalars leaves the rest whole.
      const caps = this.caps(role, cycle, undefined);
      // A role at its limit is often first in line (its share stays the lowest): find out
      // from the numbers, before building the cut-down offer, that it could take nothing.
      if (
        caps !== undefined &&
        !(isPlain ? this.isAgentAllocatable(agent, caps) : this.isAllocatable(available, caps))
      ) {
        const atLimit = this.outermostAtLimit(role, cycle);
        if (atLimit !== undefined) cycle.atLimit.push(atLimit);
        cycle.isCutByQuota = true;
        return 'next-role';
      }
      toOffer =
        caps === undefined || (isPlain && this.isAgentWithinCaps(agent, caps))
          ? available
          : available.shrinkQuotaScalars(caps.byName());
      if (toOffer !== available) cycle.isCutByQuota = true;
    } else {
      // Stage 1: some progress toward the guarantee, or nothing at all. Per name, what
      // goes toward the unmet guarantee is offered whole; the rest only within the caps.
      const towardGuarantee = cycle.scratchTowardGuarantee;
      towardGuarantee.clear();
      const quotaVector = isPlain ? undefined : available.scalarMillisSplit().quotaVector;
      for (const { slot, millis: guarantee } of quotaRole.guaranteeSlots) {
        const millis =
          quotaVector === undefined ? this.table.freeAt(agent, slot) : (quotaVector[slot] ?? 0);
        const unmet = guarantee - quotaRole.consumedAt(slot);
        if (millis > 0 && unmet > 0) towardGuarantee.set(slot, Math.min(millis, unmet));
      }
      if (towardGuarantee.size === 0) return 'next-role';
      const caps = this.caps(role, cycle, towardGuarantee);
      if (caps === undefined) toOffer = available;
      else {
        for (const slot of caps.slots)
          caps.set(slot, (towardGuarantee.get(slot) ?? 0) + Math.max(0, caps.get(slot) ?? 0));
        toOffer =
          isPlain && this.isAgentWithinCaps(agent, caps)
            ? available
            : available.shrinkQuotaScalars(caps.byName());
      }
    }
    // offerAgent() checked the agent's whole availability before this attempt. A framework's
    // offer_filters replace the global minimum for its role, and are its own: next framework.
    if (entry.minAllocatable !== undefined) {
      if (!this.isAllocatable(toOffer, undefined, entry.minAllocatable)) return 'next-framework';
    } else if (toOffer !== agent.available && !this.isAllocatable(toOffer)) return 'next-role';
    if (this.isFiltered(entry, agent, toOffer, cycle)) return 'next-framework';

    this.take(agent, entry, toOffer);
    cycle.record(entry, agent, toOffer);
    cycle.consumptionChanged(role);
    return 'allocated';
  }

  /**
   * The cut on unreserved scalars an offer to `role` must take, or undefined for
   * none: the least room under the role's and its ancestors' limits (less
   * `pending`, promised already in this offer), and what the cycle must hold
   * back for unmet guarantees.
   */
  private caps(role: RoleNode, cycle: Cycle, pending: SlotMap | undefined): SlotMap | undefined {
    // Most offers, once guarantees are met: no limits above the role, no headroom held back.
    if (!role.isLimited && cycle.headroomSlots === 0) return undefined;
    // The cycle's scratch: every caller is done with it before the next call.
    const caps = cycle.scratchCaps;
    caps.clear();
    for (const node of role.lineage) {
      for (const { slot, millis: limit } of node.limitSlots) {
        const left = limit - node.consumedAt(slot) - (pending?.get(slot) ?? 0);
        caps.set(slot, Math.min(caps.get(slot) ?? Number.POSITIVE_INFINITY, left));
      }
    }
    const { requiredHeadroom } = cycle;
    for (let slot = 0; slot < requiredHeadroom.length; slot++) {
      const need = requiredHeadroom[slot] ?? 0;
      if (need === 0) continue;
      const surplus = (this.freeQuota[slot] ?? 0) - need;
      caps.set(slot, Math.min(caps.get(slot) ?? Number.POSITIVE_INFINITY, surplus));
    }
    return caps.size === 0 ? undefined : caps;
  }

  /**
   * Whether `resources` hold some --min_allocatable_resources alternative in full. With
   * `caps`, as they would after shrinkQuotaScalars(caps), worked out from the numbers
   * without building that value (only quota scalars are cut, per name). Plain loops over
   * slots: this runs several times per offer.
   */
  private isAllocatable(
    resources: Resources,
    caps?: SlotMap,
    alternatives: readonly (readonly MinAllocatableTerm[])[] = this.minAllocatable,
  ): boolean {
    if (resources.isEmpty()) return false;
    if (alternatives.length === 0) return true;
    const { allVector, quotaVector } = resources.scalarMillisSplit();
    for (const alternative of alternatives) {
      let isEnough = true;
      for (const { slot, millis } of alternative) {
        let held = allVector[slot] ?? 0;
        const cap = caps?.get(slot);
        if (cap !== undefined) {
          const quota = quotaVector[slot] ?? 0;
          held -= quota - Math.min(quota, Math.max(0, cap));
        }
        if (held < millis) {
          isEnough = false;
          break;
        }
      }
      if (isEnough) return true;
    }
    return false;
  }

  /**
   * isAllocatable() of everything available on `agent`, from the table: for a plain agent
   * (every scalar unreserved and non-revocable) with `caps` too, else without.
   */
  private isAgentAllocatable(agent: AgentBooks, caps?: SlotMap): boolean {
    if (this.minAllocatable.length === 0) return !agent.available.isEmpty();
    for (const alternative of this.minAllocatable) {
      let isEnough = true;
      for (const { slot, millis } of alternative) {
        const cap = caps?.get(slot);
        const free = this.table.freeAt(agent, slot);
        if ((cap === undefined ? free : Math.min(free, Math.max(0, cap))) < millis) {
          isEnough = false;
          break;
        }
      }
      if (isEnough) return true;
    }
    return false;
  }

  /** Whether no cap would cut a plain agent's scalars: shrinkQuotaScalars(caps) would keep them whole. */
  private isAgentWithinCaps(agent: AgentBooks, caps: SlotMap): boolean {
    for (const slot of caps.slots)
      if (this.table.freeAt(agent, slot) > Math.max(0, caps.get(slot) ?? 0)) return false;
    return true;
  }

  /** A refuse filter holds while it has not expired and covers everything this offer would hold. */
  private isFiltered(
    entry: RoleEntry,
    agent: AgentBooks,
    toOffer: Resources,
    cycle: Cycle,
  ): boolean {
    if (entry.filters.size === 0) return false;
    const filters = entry.filters.get(agent.id.value);
    if (filters === undefined) return false;
    const live: RefuseFilter[] = [];
    for (const filter of filters) if (filter.untilMs > cycle.nowMs) live.push(filter);
    if (live.length === 0) {
      entry.filters.delete(agent.id.value);
      return false;
    }
    if (live.length !== filters.length) entry.filters.set(agent.id.value, live);
    let isBlocked = false;
    for (const filter of live)
      if (filter.resources.contains(toOffer)) {
        cycle.noteFilter(agent, filter.untilMs);
        isBlocked = true;
      }
    return isBlocked;
  }

  // -------------------------------------------------------------------- views

  roles(): readonly RoleView[] {
    const views: RoleView[] = [];
    for (const node of this.tree.all()) {
      if (node.isIdle) continue;
      views.push({
        name: node.name,
        weight: node.weight,
        frameworkIds: [...node.entries].map((entry) => entry.framework.id.value).sort(),
        allocated: toUnits(vectorQuantities(node.allocated)),
        reserved: toUnits(vectorQuantities(node.reserved)),
        consumed: toUnits(node.consumed()),
        guarantees: toUnits(node.guarantees),
        limits: toUnits(node.limits),
        dominantShare: vectorShare(node.allocated, this.tree.totals),
      });
    }
    return views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

const byShareThenName = (a: RoleNode, b: RoleNode) =>
  a.share - b.share || (a.name < b.name ? -1 : 1);

// Callbacks of the cycle are functions of the module, not closures made per call (nor does the
// cycle make closures): a closure dies with the call, and optimised code that inlined it is
// thrown away at the next GC.
const hasGuarantees = (node: RoleNode) => node.guarantees.size > 0;
const isNeedy = (node: RoleNode) => node.slots.size > 0 && hasUnmetGuarantee(node);

/** Whether `room` (thousandths by slot) is less than `alternative` needs of some scalar. */
function isShortOf(
  alternative: readonly { slot: number; millis: number }[],
  room: SlotMap,
): boolean {
  for (const { slot, millis } of alternative)
    if (Math.max(0, room.get(slot) ?? Number.POSITIVE_INFINITY) < millis) return true;
  return false;
}

/** True while `node` consumes less than its guarantee of some resource. */
function hasUnmetGuarantee(node: RoleNode): boolean {
  for (const { slot, millis } of node.guaranteeSlots)
    if (node.consumedAt(slot) < millis) return true;
  return false;
}

/** The framework of least share in the role of least share under `subtree`: heap tops, no search. */
function firstCandidate(subtree: RoleNode): RoleEntry | undefined {
  let node = subtree;
  for (;;) {
    const slot = node.slots.peek();
    if (slot === undefined) return undefined;
    if (slot.kind === 'self') return slot.node.wanting.peek();
    node = slot;
  }
}

/** What `framework` holds on `agent`, by role. */
function heldBy(agent: AgentBooks, framework: FrameworkBooks): Map<string, Resources> {
  const held = new Map<string, Resources>();
  for (const { entry, resources } of agent.holdings ?? [])
    if (entry.framework === framework) held.set(entry.role.name, resources);
  return held;
}

/** What one role entry (a framework in one role) holds on an agent. */
interface Holding {
  readonly entry: RoleEntry;
  resources: Resources;
}

function holdingOf(agent: AgentBooks, entry: RoleEntry): Holding | undefined {
  if (agent.holdings === undefined) return undefined;
  for (const holding of agent.holdings) if (holding.entry === entry) return holding;
  return undefined;
}

/**
 * Splits resources by allocation role, unallocated. Resources without
 * allocation_info belong to the framework's only role on the agent, if it has
 * exactly one there.
 */
/** Whether two vectors hold the same thousandths in every slot (missing slots are zero). */
function isSameVector(a: ScalarVector, b: ScalarVector): boolean {
  for (let slot = 0; slot < Math.max(a.length, b.length); slot++)
    if ((a[slot] ?? 0) !== (b[slot] ?? 0)) return false;
  return true;
}

function byAllocationRole(
  resources: Resources,
  held: ReadonlyMap<string, Resources> | undefined,
): [role: string, resources: Resources][] {
  const roles = resources.allocationRoles();
  if (roles.length === 0) {
    const only = held?.size === 1 ? [...held.keys()][0] : undefined;
    assert(only !== undefined, 'recovered resources carry no allocation role');
    return [[only, resources]];
  }
  return roles.map((role) => [
    role,
    resources.filter((r) => r.allocation_info?.role === role).unallocate(),
  ]);
}

/** One allocation cycle's scratch state: the time, the decisions, cached quota figures. */
class Cycle {
  nowMs = 0;
  /** Roles with guarantees; none means no headroom is ever held back. */
  guaranteed: readonly RoleNode[] = [];
  /** This cycle's allocations, in the order made; one per agent and role entry. */
  private allocations: Allocation[] = [];
  /**
   * Where the allocations of agents that still had something left after an offer are, so
   * a later offer of the same agent to the same role entry merges into the first. Agents
   * taken whole (most) are never offered again in the cycle and are not kept here.
   */
  private readonly partlyOffered = new Map<AgentBooks, { entry: RoleEntry; index: number }[]>();
  /** How many offers were made in this cycle (several may merge into one allocation). */
  recorded = 0;
  /**
   * Unreserved resources to hold back for unmet guarantees: the sum over guaranteed roles
   * with no guaranteed ancestor (a sub-role's guarantee is inside its parent's) of
   * guarantee minus consumption. Kept up to date, term by term, as allocations are made.
   */
  readonly requiredHeadroom: number[] = [];
  /** How many slots of requiredHeadroom are not zero. */
  headroomSlots = 0;
  private readonly unmetByGuaranteedRole = new Map<RoleNode, number[]>();
  /** Scratch for tryOffer() and caps(), reused offer after offer instead of made anew. */
  readonly scratchTowardGuarantee = new SlotMap();
  readonly scratchCaps = new SlotMap();
  readonly scratchRoom = new SlotMap();
  /** Roles found at their limit in stage 2, to be benched once the current walk is over. */
  readonly atLimit: RoleNode[] = [];
  /** Whether quota cut an offer of the agent stage 2 is visiting (so its idleness may end with more room). */
  isCutByQuota = false;
  private readonly filterExpiry = new Map<AgentBooks, number>();

  /**
   * Starts a cycle at `nowMs`. The allocator keeps one Cycle and starts it anew each time:
   * a Cycle made per cycle died with it, and with it the hidden classes V8 had given it and
   * its scratch, so the next GC threw away the optimised code of everything that touches
   * it (deoptimised for "weak objects"), and each cycle was compiled again as it ran.
   */
  start(nowMs: number, guaranteed: readonly RoleNode[]): void {
    this.forget();
    this.nowMs = nowMs;
    this.guaranteed = guaranteed;
    this.recorded = 0;
    this.requiredHeadroom.length = 0;
    this.headroomSlots = 0;
    this.isCutByQuota = false;
    for (const node of guaranteed) if (node.outermostGuaranteed === node) this.refreshUnmet(node);
  }

  /** This cycle's allocations, in the order made; the cycle lets go of everything else. */
  finish(): Allocation[] {
    const allocations = this.allocations;
    this.forget();
    return allocations;
  }

  /** Drops what the last cycle referred to (agents, roles, offers), so none is kept alive. */
  private forget(): void {
    this.allocations = [];
    this.guaranteed = [];
    this.partlyOffered.clear();
    this.unmetByGuaranteedRole.clear();
    this.filterExpiry.clear();
    this.atLimit.length = 0;
  }

  /** An allocation to `role` changed its consumption, and so perhaps the headroom needed. */
  consumptionChanged(role: RoleNode): void {
    const outermost = role.outermostGuaranteed;
    if (outermost !== undefined) this.refreshUnmet(outermost);
  }

  /** Brings `node`'s term of the headroom up to date, name by name (no maps made after the first). */
  private refreshUnmet(node: RoleNode): void {
    let unmet = this.unmetByGuaranteedRole.get(node);
    if (unmet === undefined) {
      unmet = [];
      this.unmetByGuaranteedRole.set(node, unmet);
    }
    for (const { slot, millis: guarantee } of node.guaranteeSlots) {
      const now = Math.max(0, guarantee - node.consumedAt(slot));
      const change = now - (unmet[slot] ?? 0);
      if (change === 0) continue;
      unmet[slot] = now;
      while (this.requiredHeadroom.length <= slot) this.requiredHeadroom.push(0);
      const before = this.requiredHeadroom[slot] ?? 0;
      const after = before + change;
      this.requiredHeadroom[slot] = after;
      if (before === 0) this.headroomSlots += 1;
      if (after === 0) this.headroomSlots -= 1;
    }
  }

  /** Records an offer just taken from `agent`: stamped with its role now, while it is in cache. */
  record(entry: RoleEntry, agent: AgentBooks, resources: Resources): void {
    this.recorded += 1;
    const stamped = resources.allocate(entry.role.name);
    const earlierOffers = this.partlyOffered.size === 0 ? undefined : this.partlyOffered.get(agent);
    let earlier: { entry: RoleEntry; index: number } | undefined;
    for (const offer of earlierOffers ?? []) if (offer.entry === entry) earlier ??= offer;
    const merged = earlier === undefined ? undefined : this.allocations[earlier.index];
    if (earlier !== undefined && merged !== undefined) {
      this.allocations[earlier.index] = { ...merged, resources: merged.resources.plus(stamped) };
      return;
    }
    this.allocations.push({
      frameworkId: entry.framework.id,
      agentId: agent.id,
      role: entry.role.name,
      resources: stamped,
    });
    if (agent.isOfferable) {
      const index = this.allocations.length - 1;
      if (earlierOffers === undefined) this.partlyOffered.set(agent, [{ entry, index }]);
      else earlierOffers.push({ entry, index });
    }
  }

  noteFilter(agent: AgentBooks, untilMs: number): void {
    this.filterExpiry.set(
      agent,
      Math.min(this.filterExpiry.get(agent) ?? Number.POSITIVE_INFINITY, untilMs),
    );
  }

  earliestFilterExpiry(agent: AgentBooks): number {
    return this.filterExpiry.get(agent) ?? Number.POSITIVE_INFINITY;
  }
}
