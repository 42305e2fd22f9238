// The Resource algebra (Mesos `Resources` in src/common/resources.cpp), as an immutable value.
// Long file: one value type whose operations share its private, interned representation.
//
// A Resources is a map from an identity key to one entry per identity. The identity is what
// Mesos compares before it adds two resources: name, type, reservation stack, allocation role,
// disk, revocable and shared. Entries of one identity merge; entries of different identities
// never do. Values are kept normalised (scalars as integer thousandths, ranges as merged
// bounds, sets as sorted items), so plus, minus, contains and equals are linear sweeps and
// never re-read JSON. An entry whose value becomes empty is removed, so isEmpty is a size check.
import assert from 'node:assert';
import {
  assertNever,
  BadRequestError,
  type DiskInfo,
  type Label,
  type Labels,
  type ReservationInfo,
  type Resource,
} from '../wire/index.js';
import { parseResourceText } from './parse.js';
import {
  type Bounds,
  boundsContain,
  boundsEqual,
  boundsFromRanges,
  boundsToRanges,
  formatRanges,
  subtractBounds,
  unionBounds,
} from './ranges.js';
import { isStrictSubroleOf, roleError } from './roles.js';
import { existingScalarSlot, type ScalarVector, scalarSlot } from './scalar-slots.js';
import {
  formatItems,
  type Items,
  itemsContain,
  itemsEqual,
  itemsFromList,
  subtractItems,
  unionItems,
} from './sets.js';

/**
 * How reservations appear on the wire (WIRE §3; Mesos `convertResourceFormat`):
 * - 'post-refinement': `reservations` stack when reserved, never `role` (the v1 default);
 * - 'pre-refinement': `role` ('*' when unreserved) plus `reservation` {principal, labels} for a
 *   dynamic reservation; for frameworks without RESERVATION_REFINEMENT;
 * - 'endpoint': what the legacy `*_full` JSON fields show, `role`, `reservation` and
 *   `reservations` together (refined reservations show only `reservations`).
 */
export type ResourceFormat = 'post-refinement' | 'pre-refinement' | 'endpoint';

/** Mesos keeps three decimals of a scalar (fixed point, `Value::Scalar` arithmetic). */
const MILLIS_PER_UNIT = 1000;

interface Identity {
  /** Identity without the allocation role: `allocate` swaps only the role part of `key`. */
  readonly baseKey: string;
  readonly key: string;
  readonly name: string;
  readonly type: Resource['type'];
  /** Post-refinement stack, frozen; empty when unreserved. The last entry is current. */
  readonly reservations: readonly ReservationInfo[];
  readonly allocationRole: string | undefined;
  readonly disk: DiskInfo | undefined;
  readonly isRevocable: boolean;
  // TODO: shared resources (`shared: {}`) are only an identity bit here. Mesos lets a shared
  // persistent volume be offered and used by several tasks at once (copies are counted, see
  // Resources::sharedCount); until the master supports SHARED_RESOURCES, they add and
  // subtract like any other resource.
  readonly isShared: boolean;
  /** This identity under each allocation role, itself included; shared by all of them. */
  readonly variants: Map<string | undefined, Identity>;
}

/**
 * Scalar totals in thousandths, as dense vectors by scalar slot (scalar-slots.ts): of every
 * entry, and of the quota part only. The allocator's running totals add these; a name's total
 * is read at its slot. (Two maps by name were made beside them for every value split: most
 * of a split's 700 bytes, and every offer and re-registered agent has one.)
 */
interface ScalarSplit {
  readonly allVector: ScalarVector;
  readonly quotaVector: ScalarVector;
}

type Entry =
  | { readonly id: Identity; readonly type: 'SCALAR'; readonly millis: number }
  | { readonly id: Identity; readonly type: 'RANGES'; readonly bounds: Bounds }
  | { readonly id: Identity; readonly type: 'SET'; readonly items: Items };

/** A value keeps this many multiples (times()) at most; then it starts over. */
const MAX_MULTIPLES = 16;
const NO_ROLES: readonly string[] = Object.freeze([]);

/** Resources.shared's table; cleared whole when full (values in use stay where they are). */
const MAX_SHARED_VALUES = 4096;
const sharedValues = new Map<string, Resources>();

/** An immutable collection of resources: every operation returns a new value. */
export class Resources {
  static readonly EMPTY: Resources = new Resources(new Map());

  /** scalarMillisSplit(), computed once: values are immutable and the allocator asks per offer. */
  private split: ScalarSplit | undefined;
  /** Whether no entry is reserved, computed once: the allocator asks per offer. */
  private isUnreservedMemo: boolean | undefined;
  /** toString(), computed once. */
  private text: string | undefined;
  /** unallocate(), computed once: the books and the allocator ask per re-registering agent. */
  private unallocated: Resources | undefined;
  /** allocationRoles(), computed once. */
  private roles: readonly string[] | undefined;
  /**
   * Sums of `count` copies of this value, by count (sum() of a run of one value): the tasks
   * of one shape on agents of one kind add up to the same value, one per count, not one
   * per agent (#10: 10,000 agents re-registering with their tasks).
   */
  private multiples: Map<number, Resources> | undefined;

  private constructor(private readonly entries: ReadonlyMap<string, Entry>) {}

  /**
   * Builds resources from wire objects that passed `ResourceSchema`, in either reservation
   * format: a non-empty `reservations` stack wins (so the 'endpoint' format reads back too);
   * otherwise `role` absent or '*' is unreserved, `role` alone a static reservation and `role`
   * plus `reservation` a dynamic one. Entries of one identity are added up; empty ones vanish.
   * Throws BadRequestError('resources', …) for what the schema cannot see: a value missing
   * for its type, a reservation on role '*', a malformed reservation stack.
   */
  static fromWire(list: readonly Resource[]): Resources {
    const entries = new Map<string, Entry>();
    for (const resource of list) {
      const entry = entryFromWire(resource);
      if (entry !== undefined) mergeInto(entries, entry);
    }
    return new Resources(entries);
  }

  /**
   * Parses Mesos' resource text, 'cpus:2;mem:1024;ports:[31000-32000];cpus(eng):1' (the
   * JSON array form of the --resources flags is parseResourcesFlag's). A role in parentheses statically reserves the
   * resource; '*' or no role means unreserved, unless `defaultRole` is given, which then
   * statically reserves resources that name no role. Throws BadRequestError('resources', …).
   */
  static parse(text: string, defaultRole?: string): Resources {
    return Resources.fromWire(parseResourceText(text, defaultRole));
  }

  /** Unreserved scalar resources, e.g. `{ cpus: 0.5, mem: 128 }`; zero quantities vanish. */
  static scalars(quantities: Readonly<Record<string, number>>): Resources {
    const entries = new Map<string, Entry>();
    for (const [name, value] of Object.entries(quantities)) {
      assert(Number.isFinite(value) && value >= 0, `scalar ${name} must be >= 0, not ${value}`);
      const millis = toMillis(value);
      if (millis > 0) {
        mergeInto(entries, { id: identity(name, 'SCALAR', [], {}), type: 'SCALAR', millis });
      }
    }
    return new Resources(entries);
  }

  /** The wire form, in the given reservation format ('post-refinement' unless told). */
  toWire(format: ResourceFormat = 'post-refinement'): Resource[] {
    return [...this.entries.values()].map((entry) => entryToWire(entry, format));
  }

  /**
   * The sum of many: one map built up, where a chain of plus() makes a new value per step.
   * A run of one value (the same object again, as tasks of one shape share theirs) is added
   * once, times its length; a sum that is one run is that value's kept multiple (times()).
   */
  static sum(all: Iterable<Resources>): Resources {
    // The runs before the current one, added up; undefined while there was only one.
    let entries: Map<string, Entry> | undefined;
    let run: Resources | undefined;
    let count = 0;
    for (const resources of all) {
      if (resources.entries.size === 0) continue;
      if (resources === run) {
        count += 1;
        continue;
      }
      if (run !== undefined) {
        entries ??= new Map();
        Resources.addTimes(entries, run, count);
      }
      run = resources;
      count = 1;
    }
    if (run === undefined) return Resources.EMPTY;
    if (entries === undefined) return run.times(count);
    Resources.addTimes(entries, run, count);
    return new Resources(entries);
  }

  /**
   * `count` copies of this added up (count >= 1): scalars multiplied, ranges and sets as
   * they are (adding a range or set to itself is their union, itself). Kept per count.
   */
  times(count: number): Resources {
    assert(Number.isSafeInteger(count) && count >= 1, `cannot add ${count} copies`);
    if (count === 1 || this.entries.size === 0) return this;
    const kept = this.multiples?.get(count);
    if (kept !== undefined) return kept;
    const entries = new Map<string, Entry>();
    Resources.addTimes(entries, this, count);
    const multiple = new Resources(entries);
    this.multiples ??= new Map();
    if (this.multiples.size >= MAX_MULTIPLES) this.multiples.clear();
    this.multiples.set(count, multiple);
    return multiple;
  }

  /** Adds `count` copies of `resources` into `entries`. */
  private static addTimes(entries: Map<string, Entry>, resources: Resources, count: number): void {
    for (const entry of resources.entries.values())
      mergeInto(
        entries,
        count === 1 || entry.type !== 'SCALAR'
          ? entry
          : { id: entry.id, type: 'SCALAR', millis: entry.millis * count },
      );
  }

  plus(other: Resources): Resources {
    if (other.entries.size === 0) return this;
    if (this.entries.size === 0) return other;
    const entries = copyOf(this.entries);
    for (const entry of other.entries.values()) mergeInto(entries, entry);
    return new Resources(entries);
  }

  /**
   * This without `other`. Precondition: `this.contains(other)`; asserted, because callers
   * check containment of untrusted input first (a BadRequestError there), so a failure here
   * is a bug in the bookkeeping.
   */
  minus(other: Resources): Resources {
    // Identity first: the allocator takes whole agents, and `other` need not be read then.
    if (other === this) return Resources.EMPTY;
    if (other.entries.size === 0) return this;
    const entries = copyOf(this.entries);
    for (const entry of other.entries.values()) {
      const mine = entries.get(entry.id.key);
      if (mine === undefined || !entryContains(mine, entry)) {
        assert.fail(`cannot subtract ${other.toString()} from ${this.toString()}: not contained`);
      }
      const rest = entryMinus(mine, entry);
      if (rest === undefined) entries.delete(entry.id.key);
      else entries.set(entry.id.key, rest);
    }
    return new Resources(entries);
  }

  /** True when, for every entry of `other`, the same identity here holds at least as much. */
  contains(other: Resources): boolean {
    for (const entry of other.entries.values()) {
      const mine = this.entries.get(entry.id.key);
      if (mine === undefined || !entryContains(mine, entry)) return false;
    }
    return true;
  }

  equals(other: Resources): boolean {
    if (this.entries.size !== other.entries.size) return false;
    for (const entry of other.entries.values()) {
      const mine = this.entries.get(entry.id.key);
      if (mine === undefined || !entryEquals(mine, entry)) return false;
    }
    return true;
  }

  isEmpty(): boolean {
    return this.entries.size === 0;
  }

  /**
   * An equal value that may be shared: scalar-only values (a task's usual `cpus` and `mem`)
   * come from a bounded table of one instance per value, so that 100,000 tasks of one shape
   * keep one Resources (its map and entries) instead of 100,000. Others are returned as they
   * are. Safe because a Resources never changes.
   */
  shared(): Resources {
    let key = '';
    for (const entry of this.entries.values()) {
      if (entry.type !== 'SCALAR') return this;
      key += `${entry.id.key}\u0000${entry.millis}\u0000`;
    }
    const known = sharedValues.get(key);
    if (known !== undefined) return known;
    if (sharedValues.size >= MAX_SHARED_VALUES) sharedValues.clear();
    sharedValues.set(key, this);
    return this;
  }

  /** How many distinct identities these resources hold (each merges into one entry). */
  entryCount(): number {
    return this.entries.size;
  }

  /** Sum of scalar `name` over all entries, whatever their reservation or allocation; 0 if none. */
  scalar(name: string): number {
    return this.scalarMillisOf(name) / MILLIS_PER_UNIT;
  }

  /** Distinct resource names, sorted. */
  names(): readonly string[] {
    return distinctSorted([...this.entries.values()].map((entry) => entry.id.name));
  }

  unreserved(): Resources {
    return this.select((entry) => entry.id.reservations.length === 0);
  }

  /** All reserved resources, or those whose current (last) reservation is for exactly `role`. */
  reserved(role?: string): Resources {
    return this.select((entry) => {
      const current = entry.id.reservations.at(-1);
      return current !== undefined && (role === undefined || current.role === role);
    });
  }

  /** Roles of the current reservations, distinct and sorted. */
  reservedRoles(): readonly string[] {
    if (this.isUnreserved()) return NO_ROLES;
    const roles: string[] = [];
    for (const entry of this.entries.values()) {
      const role = entry.id.reservations.at(-1)?.role;
      if (role !== undefined) roles.push(role);
    }
    return distinctSorted(roles);
  }

  /** The same resources with `allocation_info: { role }` (replacing any earlier allocation). */
  allocate(role: string): Resources {
    return this.withAllocationRole(role);
  }

  /** The same resources without `allocation_info` (the same value each time it is asked). */
  unallocate(): Resources {
    this.unallocated ??= this.withAllocationRole(undefined);
    return this.unallocated;
  }

  /**
   * The entries allocated to exactly `role` (`filter` on `allocation_info.role`, without
   * writing each entry's wire form to ask): the whole value when all are.
   */
  ofAllocationRole(role: string): Resources {
    return this.select((entry) => entry.id.allocationRole === role);
  }

  /** Roles of `allocation_info`, distinct and sorted (computed once). */
  allocationRoles(): readonly string[] {
    if (this.roles === undefined) {
      // Mostly one role (the allocator stamps every offer with one): then a shared list.
      let only: string | undefined;
      let isOne = true;
      for (const entry of this.entries.values()) {
        const role = entry.id.allocationRole;
        if (role === undefined || role === only) continue;
        if (only === undefined) only = role;
        else isOne = false;
      }
      if (only === undefined) this.roles = NO_ROLES;
      else if (isOne) this.roles = onlyRole(only);
      else {
        const roles: string[] = [];
        for (const entry of this.entries.values())
          if (entry.id.allocationRole !== undefined) roles.push(entry.id.allocationRole);
        this.roles = Object.freeze(distinctSorted(roles));
      }
    }
    return this.roles;
  }

  /**
   * Scalar totals per name in thousandths (the fixed point Mesos keeps), over all entries
   * whatever their reservation or allocation. The allocator's shares and quota arithmetic
   * run on these integers.
   */
  scalarMillis(): Map<string, number> {
    // By name, in the order the entries name them.
    const all = new Map<string, number>();
    for (const entry of this.entries.values())
      if (entry.type === 'SCALAR')
        all.set(entry.id.name, (all.get(entry.id.name) ?? 0) + entry.millis);
    return all;
  }

  /**
   * scalarMillis() of everything and of the quota part (unreserved, non-revocable), in one pass:
   * the allocator's accounting needs both for every offer.
   */
  scalarMillisSplit(): ScalarSplit {
    if (this.split !== undefined) return this.split;
    const allVector: number[] = [];
    const quotaVector: number[] = [];
    for (const entry of this.entries.values()) {
      if (entry.type !== 'SCALAR') continue;
      const slot = scalarSlot(entry.id.name);
      addAt(allVector, slot, entry.millis);
      if (isQuotaScalar(entry)) addAt(quotaVector, slot, entry.millis);
    }
    this.split = { allVector, quotaVector };
    return this.split;
  }

  /**
   * What may be allocated to `role` (Mesos `allocatableTo`): unreserved resources and those
   * reserved to `role` or to one of its ancestors.
   */
  allocatableTo(role: string): Resources {
    if (this.isUnreserved()) return this;
    return this.select((entry) => {
      const reservedTo = entry.id.reservations.at(-1)?.role;
      return reservedTo === undefined || reservedTo === role || isStrictSubroleOf(role, reservedTo);
    });
  }

  /**
   * The part that counts toward quota: unreserved, non-revocable scalars. Reservations count
   * toward quota already, wherever they are allocated; revocable resources never do.
   */
  quotaScalars(): Resources {
    return this.select(isQuotaScalar);
  }

  /** Everything but quotaScalars(). */
  withoutQuotaScalars(): Resources {
    return this.select((entry) => !isQuotaScalar(entry));
  }

  /**
   * The same resources with each unreserved non-revocable scalar cut down to at most
   * `capsMillis[name]` thousandths (names without a cap are kept whole; a cap of 0 or less
   * removes the name). Mesos calls this "shrinking" an offer to quota headroom.
   */
  shrinkQuotaScalars(capsMillis: ReadonlyMap<string, number>): Resources {
    if (capsMillis.size === 0) return this;
    const { quotaVector } = this.scalarMillisSplit();
    let isWithinCaps = true;
    for (const [name, cap] of capsMillis)
      if (atSlotOf(quotaVector, name) > Math.max(0, cap)) isWithinCaps = false;
    if (isWithinCaps) return this;
    // The cap is per name: several entries of one name (disks of different sources) share it.
    const left = new Map(capsMillis);
    let changed = false;
    const entries = new Map<string, Entry>();
    for (const [key, entry] of this.entries) {
      const cap = isQuotaScalar(entry) ? left.get(entry.id.name) : undefined;
      if (cap === undefined || entry.type !== 'SCALAR') {
        entries.set(key, entry);
        continue;
      }
      const kept = Math.max(0, Math.min(entry.millis, cap));
      left.set(entry.id.name, cap - kept);
      if (kept !== entry.millis) changed = true;
      if (kept > 0)
        entries.set(
          key,
          kept === entry.millis ? entry : { id: entry.id, type: 'SCALAR', millis: kept },
        );
    }
    return changed ? new Resources(entries) : this;
  }

  /**
   * Each entry with its current (last) reservation taken off: what a RESERVE
   * converted these resources from, or what UNRESERVE gives back.
   */
  popReservation(): Resources {
    return this.mapReservations((stack) => stack.slice(0, -1));
  }

  /** Each entry without its DYNAMIC reservations: its form before any RESERVE (static or unreserved). */
  withoutDynamicReservations(): Resources {
    return this.mapReservations((stack) => stack.filter((r) => r.type !== 'DYNAMIC'));
  }

  /** True if every entry is reserved and its current reservation is DYNAMIC. */
  isDynamicallyReserved(): boolean {
    for (const entry of this.entries.values())
      if (entry.id.reservations.at(-1)?.type !== 'DYNAMIC') return false;
    return true;
  }

  /** The persistent volumes: entries whose disk carries `persistence` (Mesos `persistentVolumes`). */
  persistentVolumes(): Resources {
    return this.select((entry) => entry.id.disk?.persistence !== undefined);
  }

  /**
   * Each entry with its persistent volume taken off: `persistence` and `volume` removed from
   * its disk (the disk info goes when no `source` is left) and `shared` cleared. What CREATE
   * made a volume from, and what DESTROY gives back (Mesos strips volumes the same way in
   * getResourceConversions). Entries without a volume are unchanged.
   */
  withoutPersistentVolumes(): Resources {
    if (this.persistentVolumes().isEmpty()) return this;
    const entries = new Map<string, Entry>();
    for (const entry of this.entries.values()) {
      const { id } = entry;
      if (id.disk?.persistence === undefined) {
        mergeInto(entries, entry);
        continue;
      }
      const extras = {
        ...(id.allocationRole !== undefined
          ? { allocation_info: { role: id.allocationRole } }
          : {}),
        ...(id.disk.source !== undefined ? { disk: { source: id.disk.source } } : {}),
        ...(id.isRevocable ? { revocable: {} } : {}),
      };
      mergeInto(entries, rekeyed(entry, identity(id.name, id.type, id.reservations, extras)));
    }
    return new Resources(entries);
  }

  /**
   * What an agent must keep across restarts (Mesos' checkpointed resources): entries with a
   * DYNAMIC reservation anywhere in their stack, and persistent volumes (on static
   * reservations too). The rest comes back from the agent's configuration.
   */
  checkpointed(): Resources {
    return this.select(
      (entry) =>
        entry.id.disk?.persistence !== undefined ||
        entry.id.reservations.some((reservation) => reservation.type === 'DYNAMIC'),
    );
  }

  /** `scalar(name)` as a number of thousandths, for exact arithmetic on sizes. */
  scalarMillisOf(name: string): number {
    return atSlotOf(this.scalarMillisSplit().allVector, name);
  }

  /**
   * The same single scalar entry resized to `millis` thousandths (GROW_VOLUME, SHRINK_VOLUME).
   * Precondition: exactly one SCALAR entry and millis > 0; asserted, callers check input first.
   */
  withScalarMillis(millis: number): Resources {
    const [only, ...rest] = [...this.entries.values()];
    assert(
      only !== undefined && rest.length === 0 && only.type === 'SCALAR' && millis > 0,
      `cannot resize ${this.toString()} to ${millis / MILLIS_PER_UNIT}`,
    );
    return new Resources(new Map([[only.id.key, { id: only.id, type: 'SCALAR', millis }]]));
  }

  private mapReservations(
    change: (stack: readonly ReservationInfo[]) => readonly ReservationInfo[],
  ): Resources {
    const entries = new Map<string, Entry>();
    for (const entry of this.entries.values()) {
      const { id } = entry;
      const extras = {
        ...(id.allocationRole !== undefined
          ? { allocation_info: { role: id.allocationRole } }
          : {}),
        ...(id.disk !== undefined ? { disk: id.disk } : {}),
        ...(id.isRevocable ? { revocable: {} } : {}),
        ...(id.isShared ? { shared: {} } : {}),
      };
      mergeInto(
        entries,
        rekeyed(entry, identity(id.name, id.type, change(id.reservations), extras)),
      );
    }
    return new Resources(entries);
  }

  /** Without refined reservations (stacks deeper than one), for frameworks that cannot handle them. */
  withoutRefinedReservations(): Resources {
    if (this.isUnreserved()) return this;
    return this.select((entry) => entry.id.reservations.length <= 1);
  }

  /** True if any entry carries a refined (stacked) reservation. */
  hasRefinedReservations(): boolean {
    for (const entry of this.entries.values()) if (entry.id.reservations.length > 1) return true;
    return false;
  }

  /** The entries for which `predicate` holds; it sees each entry's post-refinement wire form. */
  filter(predicate: (resource: Resource) => boolean): Resources {
    return this.select((entry) => predicate(entryToWire(entry, 'post-refinement')));
  }

  /**
   * 'cpus:2;mem:1024;ports:[31000-32000];cpus(eng):1', which Resources.parse reads back for
   * unreserved and statically reserved resources. Anything else is described as Mesos logs
   * it, e.g. 'cpus(allocated: eng)(reservations: [(DYNAMIC,eng,ops)]){REV}:1', which does not
   * parse.
   */
  toString(): string {
    // Once per value: an agent's total is logged at each of its registrations.
    this.text ??= [...this.entries.values()].map(entryToString).join(';');
    return this.text;
  }

  /** True when no entry is reserved (computed once per value). */
  isUnreserved(): boolean {
    if (this.isUnreservedMemo === undefined) {
      this.isUnreservedMemo = true;
      for (const entry of this.entries.values())
        if (entry.id.reservations.length > 0) this.isUnreservedMemo = false;
    }
    return this.isUnreservedMemo;
  }

  private select(keep: (entry: Entry) => boolean): Resources {
    // Most selections keep everything (an agent without reservations, say): check before copying.
    let keepsAll = true;
    for (const entry of this.entries.values())
      if (!keep(entry)) {
        keepsAll = false;
        break;
      }
    if (keepsAll) return this;
    const entries = new Map<string, Entry>();
    for (const [key, entry] of this.entries) if (keep(entry)) entries.set(key, entry);
    return new Resources(entries);
  }

  private withAllocationRole(role: string | undefined): Resources {
    // Entries under one allocation role have distinct base identities, so they stay
    // distinct under another: no merging. That is the usual case (the allocator stamps
    // every offer, an agent's resources having none), so it is built in one pass, and
    // redone with merging only if the entries turn out to be under several roles.
    const entries = new Map<string, Entry>();
    let onlyRole: string | undefined;
    let isFirst = true;
    for (const entry of this.entries.values()) {
      const from = entry.id.allocationRole;
      if (isFirst) onlyRole = from;
      else if (from !== onlyRole) return this.withAllocationRoleMerged(role);
      isFirst = false;
      if (from === role) continue; // then so is every entry, or the value is redone merged
      const id = withRole(entry.id, role);
      entries.set(id.key, rekeyed(entry, id));
    }
    return onlyRole === role ? this : new Resources(entries);
  }

  private withAllocationRoleMerged(role: string | undefined): Resources {
    const entries = new Map<string, Entry>();
    for (const entry of this.entries.values()) {
      const id = entry.id.allocationRole === role ? entry.id : withRole(entry.id, role);
      mergeInto(entries, rekeyed(entry, id));
    }
    return new Resources(entries);
  }
}

/**
 * The identity with another allocation role. The allocator stamps a role on every offer it
 * makes (tens of thousands a cycle) and identities are immutable, so each is made once: all
 * role variants of one identity share one `variants` map (bounded by the roles in use).
 */
function withRole(id: Identity, role: string | undefined): Identity {
  let variant = id.variants.get(role);
  if (variant === undefined) {
    variant = Object.freeze({ ...id, allocationRole: role, key: fullKey(id.baseKey, role) });
    id.variants.set(role, variant);
  }
  return variant;
}

/** One frozen `[role]` per role (bounded: forgotten all at once when full). */
const onlyRoles = new Map<string, readonly string[]>();

function onlyRole(role: string): readonly string[] {
  let roles = onlyRoles.get(role);
  if (roles === undefined) {
    if (onlyRoles.size >= MAX_SHARED_VALUES) onlyRoles.clear();
    roles = Object.freeze([role]);
    onlyRoles.set(role, roles);
  }
  return roles;
}

/** Adds `millis` at `slot`, the vector grown with zeros to reach it. */
function addAt(vector: number[], slot: number, millis: number): void {
  while (vector.length <= slot) vector.push(0);
  vector[slot] = (vector[slot] as number) + millis;
}

/** A vector's total for `name`; 0 for a name no value ever held (it has no slot). */
function atSlotOf(vector: ScalarVector, name: string): number {
  const slot = existingScalarSlot(name);
  return slot === undefined ? 0 : (vector[slot] ?? 0);
}

function isQuotaScalar(entry: Entry): boolean {
  return entry.type === 'SCALAR' && entry.id.reservations.length === 0 && !entry.id.isRevocable;
}

function toMillis(value: number): number {
  // Mesos rounds to the nearest thousandth (std::llround) when it converts a double.
  return Math.round(value * MILLIS_PER_UNIT);
}

function distinctSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * A copy of an entries map. Not `new Map(entries)`: the constructor walks its argument through
 * the iterator protocol, a result object and a [key, value] array per entry (64 bytes of
 * garbage for a two-entry value; plus() and minus() run for every offer and agent). Entries
 * are always keyed by their identity's key.
 */
function copyOf(entries: ReadonlyMap<string, Entry>): Map<string, Entry> {
  const copy = new Map<string, Entry>();
  for (const entry of entries.values()) copy.set(entry.id.key, entry);
  return copy;
}

function mergeInto(entries: Map<string, Entry>, entry: Entry): void {
  const mine = entries.get(entry.id.key);
  entries.set(entry.id.key, mine === undefined ? entry : entryPlus(mine, entry));
}

/**
 * The same value under another identity. Entries are always built as literals with the
 * fields in one order ({id, type, value}): a spread of the union went through V8's generic
 * object clone, and was an eighth of an allocation cycle (stamping every offer's role).
 */
function rekeyed(entry: Entry, id: Identity): Entry {
  switch (entry.type) {
    case 'SCALAR':
      return { id, type: 'SCALAR', millis: entry.millis };
    case 'RANGES':
      return { id, type: 'RANGES', bounds: entry.bounds };
    case 'SET':
      return { id, type: 'SET', items: entry.items };
    default:
      return assertNever(entry);
  }
}

// Entries passed to the functions below share an identity key, so they share a type; the
// `fail` at the end of each is the broken-invariant case.

function entryPlus(a: Entry, b: Entry): Entry {
  if (a.type === 'SCALAR' && b.type === 'SCALAR')
    return { id: a.id, type: 'SCALAR', millis: a.millis + b.millis };
  if (a.type === 'RANGES' && b.type === 'RANGES')
    return { id: a.id, type: 'RANGES', bounds: unionBounds(a.bounds, b.bounds) };
  if (a.type === 'SET' && b.type === 'SET')
    return { id: a.id, type: 'SET', items: unionItems(a.items, b.items) };
  return mismatch(a, b);
}

/** `a` without `b`, or undefined when nothing is left. Precondition: entryContains(a, b). */
function entryMinus(a: Entry, b: Entry): Entry | undefined {
  if (a.type === 'SCALAR' && b.type === 'SCALAR') {
    const millis = a.millis - b.millis;
    return millis === 0 ? undefined : { id: a.id, type: 'SCALAR', millis };
  }
  if (a.type === 'RANGES' && b.type === 'RANGES') {
    const bounds = subtractBounds(a.bounds, b.bounds);
    return bounds.length === 0 ? undefined : { id: a.id, type: 'RANGES', bounds };
  }
  if (a.type === 'SET' && b.type === 'SET') {
    const items = subtractItems(a.items, b.items);
    return items.length === 0 ? undefined : { id: a.id, type: 'SET', items };
  }
  return mismatch(a, b);
}

function entryContains(a: Entry, b: Entry): boolean {
  if (a.type === 'SCALAR' && b.type === 'SCALAR') return a.millis >= b.millis;
  if (a.type === 'RANGES' && b.type === 'RANGES') return boundsContain(a.bounds, b.bounds);
  if (a.type === 'SET' && b.type === 'SET') return itemsContain(a.items, b.items);
  return mismatch(a, b);
}

function entryEquals(a: Entry, b: Entry): boolean {
  if (a.type === 'SCALAR' && b.type === 'SCALAR') return a.millis === b.millis;
  if (a.type === 'RANGES' && b.type === 'RANGES') return boundsEqual(a.bounds, b.bounds);
  if (a.type === 'SET' && b.type === 'SET') return itemsEqual(a.items, b.items);
  return mismatch(a, b);
}

function mismatch(a: Entry, b: Entry): never {
  assert.fail(`entries of one identity ${a.id.key} have types ${a.type} and ${b.type}`);
}

// --- From the wire --------------------------------------------------------------------------

function bad(reason: string): BadRequestError {
  return new BadRequestError('resources', reason);
}

function entryFromWire(resource: Resource): Entry | undefined {
  const id = identity(resource.name, resource.type, reservationStack(resource), resource);
  switch (resource.type) {
    case 'SCALAR': {
      const value = resource.scalar?.value;
      if (value === undefined) throw bad(`SCALAR resource '${resource.name}' has no scalar`);
      if (!Number.isFinite(value) || value < 0) {
        throw bad(`resource '${resource.name}' has scalar ${value}, not a finite number >= 0`);
      }
      const millis = toMillis(value);
      return millis === 0 ? undefined : { id, type: 'SCALAR', millis };
    }
    case 'RANGES': {
      const ranges = resource.ranges?.range;
      if (ranges === undefined) throw bad(`RANGES resource '${resource.name}' has no ranges`);
      for (const { begin, end } of ranges) {
        if (
          !Number.isSafeInteger(begin) ||
          !Number.isSafeInteger(end) ||
          begin < 0 ||
          begin > end
        ) {
          throw bad(`resource '${resource.name}' has range ${begin}-${end}`);
        }
      }
      const bounds = boundsFromRanges(ranges);
      return bounds.length === 0 ? undefined : { id, type: 'RANGES', bounds };
    }
    case 'SET': {
      const list = resource.set?.item;
      if (list === undefined) throw bad(`SET resource '${resource.name}' has no set`);
      const items = itemsFromList(list);
      return items.length === 0 ? undefined : { id, type: 'SET', items };
    }
    default:
      return assertNever(resource.type);
  }
}

/** The post-refinement stack of `resource` in either format (Mesos `convertResourceFormat`). */
function reservationStack(resource: Resource): ReservationInfo[] {
  const { name } = resource;
  if (resource.reservations !== undefined && resource.reservations.length > 0) {
    const stack = resource.reservations.map(copyReservation);
    let below: string | undefined;
    for (const reservation of stack) {
      const role = reservation.role;
      if (role === undefined) throw bad(`resource '${name}' has a reservation without a role`);
      const reason = role === '*' ? `role '*' cannot be reserved` : roleError(role);
      if (reason !== undefined) throw bad(`resource '${name}' is reserved: ${reason}`);
      if (below !== undefined && !isStrictSubroleOf(role, below)) {
        throw bad(`resource '${name}' refines role '${below}' to '${role}', not a subrole`);
      }
      if (below !== undefined && reservation.type !== 'DYNAMIC') {
        throw bad(`resource '${name}' refines its reservation with a non-DYNAMIC one`);
      }
      below = role;
    }
    return stack;
  }
  const role = resource.role ?? '*';
  if (role === '*') {
    if (resource.reservation !== undefined) {
      throw bad(`resource '${name}' with role '*' cannot carry a reservation`);
    }
    return [];
  }
  const reason = roleError(role);
  if (reason !== undefined) throw bad(`resource '${name}': ${reason}`);
  if (resource.reservation === undefined) return [Object.freeze({ type: 'STATIC', role })];
  return [copyReservation({ ...resource.reservation, type: 'DYNAMIC', role })];
}

/** A frozen copy in proto field order, without unset fields. */
function copyReservation(r: ReservationInfo): ReservationInfo {
  return Object.freeze({
    ...(r.type === undefined ? {} : { type: r.type }),
    ...(r.role === undefined ? {} : { role: r.role }),
    ...(r.principal === undefined ? {} : { principal: r.principal }),
    ...(r.labels === undefined ? {} : { labels: copyLabels(r.labels) }),
  });
}

function copyLabels(labels: Labels): Labels {
  return Object.freeze({
    labels: Object.freeze(
      labels.labels.map((l: Label) =>
        Object.freeze(l.value === undefined ? { key: l.key } : { key: l.key, value: l.value }),
      ),
    ),
  });
}

function identity(
  name: string,
  type: Resource['type'],
  reservations: readonly ReservationInfo[],
  extras: Pick<Resource, 'allocation_info' | 'disk' | 'revocable' | 'shared'>,
): Identity {
  const isRevocable = extras.revocable !== undefined;
  const isShared = extras.shared !== undefined;
  const allocationRole = extras.allocation_info?.role;
  // Most resources are plain (unreserved, no disk, neither revocable nor shared): found by
  // name and type without building the key, which every agent's SUBSCRIBE would otherwise
  // do for each resource of each task it holds.
  const isPlain =
    reservations.length === 0 && extras.disk === undefined && !isRevocable && !isShared;
  if (isPlain) {
    const plain = plainIdentities.get(type)?.get(name);
    if (plain !== undefined) return withRole(plain, allocationRole);
  }
  const baseKey = JSON.stringify([
    name,
    type,
    reservations.map(reservationKey),
    extras.disk === undefined ? null : canonicalJson(extras.disk),
    isRevocable,
    isShared,
  ]);
  const interned = internedIdentities.get(baseKey);
  if (interned !== undefined) {
    if (isPlain) rememberPlain(interned);
    return withRole(interned, allocationRole);
  }
  if (internedIdentities.size >= MAX_INTERNED_IDENTITIES) {
    internedIdentities.clear();
    plainIdentities.clear();
  }
  const disk = extras.disk === undefined ? undefined : deepFreeze(structuredClone(extras.disk));
  const variants = new Map<string | undefined, Identity>();
  const id: Identity = Object.freeze({
    baseKey,
    key: fullKey(baseKey, allocationRole),
    name,
    type,
    reservations: Object.freeze([...reservations]),
    allocationRole,
    disk,
    isRevocable,
    isShared,
    variants,
  });
  variants.set(allocationRole, id);
  internedIdentities.set(baseKey, id);
  if (isPlain) rememberPlain(id);
  return id;
}

function rememberPlain(id: Identity): void {
  let byName = plainIdentities.get(id.type);
  if (byName === undefined) {
    byName = new Map();
    plainIdentities.set(id.type, byName);
  }
  // The base identity (no allocation role): withRole finds the role variants from it.
  byName.set(id.name, id.variants.get(undefined) ?? id);
}

/**
 * Identities by base key, so that every agent's `cpus` (say) is one object and so are its
 * role variants (withRole), made once for the whole cluster rather than once per agent.
 * Only a saving: entries are matched by `key`, never by object, so starting over when the
 * table is full (unique volume ids can make many) loses nothing but the sharing.
 */
const MAX_INTERNED_IDENTITIES = 100_000;
const internedIdentities = new Map<string, Identity>();
/** The plain identities of internedIdentities, by type and name (cleared with it). */
const plainIdentities = new Map<string, Map<string, Identity>>();

function fullKey(baseKey: string, allocationRole: string | undefined): string {
  // baseKey is a complete JSON array, so appending another JSON value stays unambiguous.
  return baseKey + JSON.stringify(allocationRole ?? null);
}

function reservationKey(r: ReservationInfo): unknown[] {
  // Label order does not matter to Mesos (operator== on Labels compares them as a multiset).
  const labels = r.labels?.labels.map((l) => JSON.stringify([l.key, l.value ?? null])).sort();
  return [r.type ?? null, r.role ?? null, r.principal ?? null, labels ?? null];
}

/** JSON with object keys sorted, so that equal values give equal strings. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const field of Object.values(value)) deepFreeze(field);
    Object.freeze(value);
  }
  return value;
}

// --- To the wire ----------------------------------------------------------------------------

function entryToWire(entry: Entry, format: ResourceFormat): Resource {
  const { id } = entry;
  return {
    name: id.name,
    type: id.type,
    ...wireValue(entry),
    ...reservationFields(id.reservations, format),
    ...(id.allocationRole === undefined ? {} : { allocation_info: { role: id.allocationRole } }),
    ...(id.disk === undefined ? {} : { disk: id.disk }),
    ...(id.isRevocable ? { revocable: {} } : {}),
    ...(id.isShared ? { shared: {} } : {}),
  };
}

function wireValue(entry: Entry): Pick<Resource, 'scalar' | 'ranges' | 'set'> {
  switch (entry.type) {
    case 'SCALAR':
      return { scalar: { value: entry.millis / MILLIS_PER_UNIT } };
    case 'RANGES':
      return { ranges: { range: boundsToRanges(entry.bounds) } };
    case 'SET':
      return { set: { item: [...entry.items] } };
    default:
      return assertNever(entry);
  }
}

function reservationFields(
  stack: readonly ReservationInfo[],
  format: ResourceFormat,
): Pick<Resource, 'role' | 'reservation' | 'reservations'> {
  switch (format) {
    case 'post-refinement':
      return stack.length === 0 ? {} : { reservations: [...stack] };
    case 'pre-refinement':
    case 'endpoint': {
      if (stack.length === 0) return { role: '*' };
      const [only] = stack;
      if (stack.length > 1 || only === undefined) {
        // Mesos CHECKs this too: frameworks without RESERVATION_REFINEMENT are never offered
        // refined reservations, so the caller must have filtered them out.
        assert(format === 'endpoint', 'refined reservations have no pre-refinement format');
        return { reservations: [...stack] };
      }
      return {
        role: only.role ?? '*',
        ...(only.type === 'DYNAMIC' ? { reservation: preRefinementReservation(only) } : {}),
        ...(format === 'endpoint' ? { reservations: [only] } : {}),
      };
    }
    default:
      return assertNever(format);
  }
}

function preRefinementReservation(r: ReservationInfo): ReservationInfo {
  return {
    ...(r.principal === undefined ? {} : { principal: r.principal }),
    ...(r.labels === undefined ? {} : { labels: r.labels }),
  };
}

// --- Text -----------------------------------------------------------------------------------

function entryToString(entry: Entry): string {
  const { id } = entry;
  return `${id.name}${qualifiers(id)}:${valueToString(entry)}`;
}

function qualifiers(id: Identity): string {
  const [only] = id.reservations;
  const isPlain =
    id.allocationRole === undefined && id.disk === undefined && !id.isRevocable && !id.isShared;
  if (isPlain && id.reservations.length === 0) return '';
  if (isPlain && id.reservations.length === 1 && only !== undefined && isBareStatic(only)) {
    return `(${only.role})`;
  }
  let text = id.allocationRole === undefined ? '' : `(allocated: ${id.allocationRole})`;
  if (id.reservations.length > 0) {
    text += `(reservations: [${id.reservations.map(reservationToString).join(', ')}])`;
  }
  if (id.disk !== undefined) text += `[${canonicalJson(id.disk)}]`;
  if (id.isRevocable) text += '{REV}';
  if (id.isShared) text += '<SHARED>';
  return text;
}

function isBareStatic(r: ReservationInfo): boolean {
  return r.type === 'STATIC' && r.principal === undefined && r.labels === undefined;
}

function reservationToString(r: ReservationInfo): string {
  const parts = [r.type ?? 'UNKNOWN', r.role ?? ''];
  if (r.principal !== undefined) parts.push(r.principal);
  if (r.labels !== undefined) {
    const labels = r.labels.labels.map((l) =>
      l.value === undefined ? l.key : `${l.key}: ${l.value}`,
    );
    parts.push(`{${labels.join(', ')}}`);
  }
  return `(${parts.join(',')})`;
}

function valueToString(entry: Entry): string {
  switch (entry.type) {
    case 'SCALAR':
      return String(entry.millis / MILLIS_PER_UNIT);
    case 'RANGES':
      return formatRanges(boundsToRanges(entry.bounds), ',');
    case 'SET':
      return formatItems(entry.items, ',');
    default:
      return assertNever(entry);
  }
}
