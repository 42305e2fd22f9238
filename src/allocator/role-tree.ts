// The role tree of hierarchical DRF. Roles form a tree by their '/' paths; at each
// node, children compete by weighted dominant share of their whole subtree, and a
// role's own frameworks compete, as one "self" slot, with its sub-roles (as Mesos'
// hierarchical sorter does with its virtual leaf). Frameworks within a role compete
// by their own dominant share in that role. Every comparison is kept in an indexed
// heap, so one allocation costs O(depth × log siblings), not a sort.

import type { Resources, ScalarVector } from '../resources/index.js';
import type { FrameworkID } from '../wire/index.js';
import { type HeapItem, IndexedHeap } from './indexed-heap.js';
import {
  addVector,
  addVectorForShare,
  isZeroVector,
  type Quantities,
  type SlotAmount,
  slotAmounts,
  vectorQuantities,
  vectorShare,
} from './quantities.js';
import type { FrameworkCapabilities } from './types.js';

/** A refuse filter: offers of these resources (or less) of one agent are held back until untilMs. */
export interface RefuseFilter {
  readonly resources: Resources;
  readonly untilMs: number;
}

/** One quantity of a --min_allocatable_resources alternative: a scalar slot and thousandths. */
export interface MinAllocatableTerm {
  readonly name: string;
  readonly slot: number;
  readonly millis: number;
}

/** What a framework looks like to the tree. */
export interface FrameworkBooks {
  readonly id: FrameworkID;
  readonly entries: Map<string, RoleEntry>;
  readonly capabilities: FrameworkCapabilities;
}

/** One framework in one of its roles: the unit frameworks are ordered by. */
export class RoleEntry implements HeapItem {
  heapIndex = -1;
  share = 0;
  /** The framework id: the tie-break among equal shares (a field, compared in every heap step). */
  readonly name: string;
  /** Offered or used, in thousandths per scalar slot. */
  readonly allocated: number[] = [];
  /**
   * On how many agents it holds something, scalars or not: a role the framework left is
   * forgotten only at zero (ports alone leave `allocated` at zero).
   */
  heldOn = 0;
  /** Filters per agent id value. */
  readonly filters = new Map<string, RefuseFilter[]>();
  /** Agent id values the framework's offer constraints exclude for this role (none: undefined). */
  excludedAgents: ReadonlySet<string> | undefined = undefined;
  /**
   * The framework's offer_filters for this role, as (scalar slot, thousandths) alternatives;
   * undefined: the global --min_allocatable_resources applies.
   */
  minAllocatable: readonly (readonly MinAllocatableTerm[])[] | undefined = undefined;

  constructor(
    readonly framework: FrameworkBooks,
    readonly role: RoleNode,
  ) {
    this.name = framework.id.value;
  }
}

/** A role's own frameworks, as one competitor among its sub-roles. */
export class SelfSlot implements HeapItem {
  readonly kind = 'self';
  heapIndex = -1;
  share = 0;
  readonly name: string;
  constructor(readonly node: RoleNode) {
    this.name = node.name;
  }
}

export type Slot = RoleNode | SelfSlot;

const bySlotShare = (a: Slot, b: Slot) =>
  a.share < b.share || (a.share === b.share && a.name < b.name);
const byEntryShare = (a: RoleEntry, b: RoleEntry) =>
  a.share < b.share || (a.share === b.share && a.name < b.name);

export class RoleNode implements HeapItem {
  readonly kind = 'role';
  heapIndex = -1;
  /** Weighted dominant share of the whole subtree's allocation: the key among siblings. */
  share = 0;
  weight = 1;
  readonly children = new Map<string, RoleNode>();
  /** Sub-roles with frameworks that want offers, and `self` when this role has some. */
  readonly slots = new IndexedHeap<Slot>(bySlotShare);
  /** This role's frameworks that want offers (active, role not suppressed). */
  readonly wanting = new IndexedHeap<RoleEntry>(byEntryShare);
  /** Every framework subscribed to this role, wanting or not. */
  readonly entries = new Set<RoleEntry>();
  /** Made in the constructor: a field initialiser would run before `name` is set (ES2022 fields). */
  readonly self: SelfSlot;
  // The running totals below are dense vectors (thousandths per scalar slot): they change
  // on every offer, a dozen of them at a time.
  /** Offered or used: this role's frameworks only (the self slot's key). */
  readonly selfAllocated: number[] = [];
  /** Offered or used, whole subtree. */
  readonly allocated: number[] = [];
  /** Unreserved non-revocable scalars offered or used, whole subtree: quota consumption's first half. */
  readonly allocatedQuota: number[] = [];
  /** Reserved to the subtree's roles on any agent, allocated or not: quota consumption's second half. */
  readonly reserved: number[] = [];
  /** Set through RoleTree.setQuota(), which keeps the fields below in step. */
  guarantees: Quantities = new Map();
  limits: Quantities = new Map();
  /** guarantees and limits by scalar slot: what the per-offer arithmetic walks. */
  guaranteeSlots: readonly SlotAmount[] = [];
  limitSlots: readonly SlotAmount[] = [];
  /**
   * The farthest of this role and its ancestors with a guarantee: whose guarantee
   * allocations here count toward. Kept by RoleTree, since it is asked on every offer.
   */
  outermostGuaranteed: RoleNode | undefined;
  /** Whether this role or an ancestor has limits (kept by RoleTree, asked on every offer). */
  isLimited: boolean;
  /** Set explicitly by an operator (so the role is shown even when idle). */
  hasWeight = false;

  /** The node and its ancestors, nearest first, root excluded (a plain array: walked per offer). */
  readonly lineage: readonly RoleNode[];

  constructor(
    readonly name: string,
    readonly parent: RoleNode | undefined,
  ) {
    this.lineage = parent === undefined ? [] : [this, ...parent.lineage];
    this.self = new SelfSlot(this);
    this.outermostGuaranteed = parent?.outermostGuaranteed;
    this.isLimited = parent?.isLimited ?? false;
  }

  /** Quota consumption (Mesos' definition): unreserved allocations plus all reservations. */
  consumed(): Quantities {
    const consumed = [...this.allocatedQuota];
    addVector(consumed, this.reserved);
    return vectorQuantities(consumed);
  }

  /** consumed() of one scalar slot. */
  consumedAt(slot: number): number {
    return (this.allocatedQuota[slot] ?? 0) + (this.reserved[slot] ?? 0);
  }

  get isIdle(): boolean {
    return (
      this.entries.size === 0 &&
      this.children.size === 0 &&
      isZeroVector(this.allocated) &&
      isZeroVector(this.reserved) &&
      this.guarantees.size === 0 &&
      this.limits.size === 0 &&
      !this.hasWeight
    );
  }
}

/**
 * The tree and the cluster totals the shares are computed against. Shares are
 * recomputed lazily (refreshShares) after the totals change, and incrementally
 * as allocations change.
 */
export class RoleTree {
  readonly root = new RoleNode('', undefined);
  private readonly nodes = new Map<string, RoleNode>();
  /** Every agent's scalars, in thousandths per scalar slot. */
  readonly totals: number[] = [];
  private areSharesStale = false;
  /** What bench() took out of the competition, in order: unbenchAll() puts it back. */
  private readonly benched: RoleNode[] = [];

  get(name: string): RoleNode | undefined {
    return this.nodes.get(name);
  }

  all(): IterableIterator<RoleNode> {
    return this.nodes.values();
  }

  /** The node for `name`, created with its ancestors if missing. */
  ensure(name: string): RoleNode {
    const existing = this.nodes.get(name);
    if (existing !== undefined) return existing;
    const slash = name.lastIndexOf('/');
    const parent = slash === -1 ? this.root : this.ensure(name.slice(0, slash));
    const node = new RoleNode(name, parent);
    parent.children.set(name, node);
    this.nodes.set(name, node);
    return node;
  }

  /**
   * Sets a role's quota, and for it and its sub-roles which role their allocations count
   * toward a guarantee of, and whether limits apply.
   */
  setQuota(node: RoleNode, guarantees: Quantities, limits: Quantities): void {
    node.guarantees = guarantees;
    node.limits = limits;
    node.guaranteeSlots = slotAmounts(guarantees);
    node.limitSlots = slotAmounts(limits);
    const visit = (current: RoleNode) => {
      current.outermostGuaranteed =
        current.parent?.outermostGuaranteed ?? (current.guarantees.size > 0 ? current : undefined);
      current.isLimited = (current.parent?.isLimited ?? false) || current.limits.size > 0;
      for (const child of current.children.values()) visit(child);
    };
    visit(node);
  }

  /** Drops `node` and then its ancestors, as long as they hold nothing worth keeping. */
  prune(node: RoleNode): void {
    let current: RoleNode | undefined = node;
    while (current?.parent !== undefined && current.isIdle) {
      const parent: RoleNode = current.parent;
      if (parent.slots.has(current)) parent.slots.remove(current);
      parent.children.delete(current.name);
      this.nodes.delete(current.name);
      current = parent;
    }
  }

  /** The cluster's scalar totals changed: every share must be recomputed before the next use. */
  totalsChanged(): void {
    this.areSharesStale = true;
  }

  /** Recomputes every share and re-heapifies, if the totals changed since the last time. O(roles + entries). */
  refreshShares(): void {
    if (!this.areSharesStale) return;
    this.areSharesStale = false;
    const visit = (node: RoleNode) => {
      for (const child of node.children.values()) visit(child);
      for (const entry of node.entries) entry.share = vectorShare(entry.allocated, this.totals);
      node.wanting.rebuild();
      node.self.share = vectorShare(node.selfAllocated, this.totals) / node.weight;
      node.share = vectorShare(node.allocated, this.totals) / node.weight;
      node.slots.rebuild();
    };
    visit(this.root);
  }

  /** Adds (sign 1) or removes (sign −1) an allocation of `entry`, keeping every heap in order. */
  account(entry: RoleEntry, all: ScalarVector, quota: ScalarVector, sign: 1 | -1): void {
    const { totals } = this;
    entry.share = addVectorForShare(entry.allocated, all, sign, totals);
    const role = entry.role;
    if (role.wanting.has(entry)) role.wanting.update(entry);
    role.self.share = addVectorForShare(role.selfAllocated, all, sign, totals) / role.weight;
    if (role.slots.has(role.self)) role.slots.update(role.self);
    for (const node of role.lineage) {
      node.share = addVectorForShare(node.allocated, all, sign, totals) / node.weight;
      addVector(node.allocatedQuota, quota, sign);
      if (node.parent?.slots.has(node)) node.parent.slots.update(node);
    }
  }

  /** Adds or removes reservations to `role` (counted up the tree, for quota consumption). */
  accountReserved(role: RoleNode, reserved: ScalarVector, sign: 1 | -1): void {
    for (const node of role.lineage) addVector(node.reserved, reserved, sign);
  }

  setWeight(node: RoleNode, weight: number): void {
    node.weight = weight;
    node.self.share = vectorShare(node.selfAllocated, this.totals) / weight;
    node.share = vectorShare(node.allocated, this.totals) / weight;
    if (node.slots.has(node.self)) node.slots.update(node.self);
    if (node.parent?.slots.has(node)) node.parent.slots.update(node);
  }

  /** Puts `entry` in or out of its role's competition (active and not suppressed, or not). */
  setWanting(entry: RoleEntry, isWanting: boolean): void {
    const role = entry.role;
    if (isWanting === role.wanting.has(entry)) return;
    if (isWanting) role.wanting.push(entry);
    else role.wanting.remove(entry);
    const hasSelf = role.wanting.size > 0;
    if (hasSelf !== role.slots.has(role.self)) {
      if (hasSelf) role.slots.push(role.self);
      else role.slots.remove(role.self);
      this.propagateLiveness(role);
    }
  }

  /** A node competes in its parent exactly when something below it wants offers. */
  private propagateLiveness(from: RoleNode): void {
    for (let node: RoleNode | undefined = from; node?.parent !== undefined; node = node.parent) {
      const isLive = node.slots.size > 0;
      if (isLive === node.parent.slots.has(node)) return;
      if (isLive) node.parent.slots.push(node);
      else node.parent.slots.remove(node);
    }
  }

  /**
   * Takes `node` out of its parent's competition until unbenchAll(), and each
   * ancestor left with no competitor out of its own parent's: a role that can
   * take nothing for the rest of a cycle then costs nothing. Not while a
   * rolesInOrder() walk is under way (it changes heaps).
   */
  bench(node: RoleNode): void {
    for (let current = node; current.parent !== undefined; current = current.parent) {
      const parent: RoleNode = current.parent;
      if (!parent.slots.has(current)) return;
      parent.slots.remove(current);
      this.benched.push(current);
      if (parent.slots.size > 0) return;
    }
  }

  get hasBenched(): boolean {
    return this.benched.length > 0;
  }

  /** Puts every benched node back, last benched first, so the tree is as it was before. */
  unbenchAll(): void {
    for (let i = this.benched.length - 1; i >= 0; i--) {
      const node = this.benched[i];
      if (node?.parent !== undefined) node.parent.slots.push(node);
    }
    this.benched.length = 0;
  }

  /**
   * The roles under `node` (itself included) whose frameworks want offers, in
   * hierarchical DRF order. Lazy; the tree must not change while iterating.
   */
  *rolesInOrder(node: RoleNode): Generator<RoleNode> {
    for (const slot of node.slots.ordered()) {
      if (slot.kind === 'self') yield slot.node;
      else yield* this.rolesInOrder(slot);
    }
  }
}
