// Scalar quantities per resource name, in thousandths (the fixed point Mesos keeps),
// so shares, limits and headroom compare exactly.

import { type ScalarVector, scalarSlot, scalarSlotName } from '../resources/index.js';

export type Quantities = Map<string, number>;

const MILLIS_PER_UNIT = 1000;

export function fromUnits(values: Readonly<Record<string, number>>): Quantities {
  const out: Quantities = new Map();
  for (const [name, value] of Object.entries(values))
    out.set(name, Math.round(value * MILLIS_PER_UNIT));
  return out;
}

export function toUnits(quantities: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, millis] of quantities) if (millis !== 0) out[name] = millis / MILLIS_PER_UNIT;
  return out;
}

// Dense vectors (ScalarVector, from src/resources): the running totals the allocator updates
// on every offer. A vector may be shorter than another; the missing slots are zero.

/** target += sign × delta, in place; target grows to delta's length. */
export function addVector(target: number[], delta: ScalarVector, sign = 1): void {
  const length = delta.length;
  while (target.length < length) target.push(0);
  for (let slot = 0; slot < length; slot++)
    target[slot] = (target[slot] ?? 0) + sign * (delta[slot] ?? 0);
}

/**
 * addVector(), then the dominant share of the sum (vectorShare) in the same pass: the
 * allocator does both to a handful of running totals on every offer.
 */
export function addVectorForShare(
  target: number[],
  delta: ScalarVector,
  sign: number,
  totals: ScalarVector,
): number {
  const length = delta.length;
  while (target.length < length) target.push(0);
  let share = 0;
  for (let slot = 0; slot < target.length; slot++) {
    const millis = (target[slot] ?? 0) + (slot < length ? sign * (delta[slot] ?? 0) : 0);
    target[slot] = millis;
    const total = totals[slot] ?? 0;
    if (total > 0 && millis / total > share) share = millis / total;
  }
  return share;
}

/**
 * The dominant share: the largest fraction of the cluster's total held in any
 * one resource (Ghodsi et al., NSDI 2011). Names the cluster has none of are
 * ignored.
 */
export function vectorShare(held: ScalarVector, totals: ScalarVector): number {
  let share = 0;
  for (let slot = 0; slot < held.length; slot++) {
    const total = totals[slot] ?? 0;
    const millis = held[slot] ?? 0;
    if (total > 0 && millis / total > share) share = millis / total;
  }
  return share;
}

export function isZeroVector(vector: ScalarVector): boolean {
  for (const millis of vector) if (millis !== 0) return false;
  return true;
}

/** The nonzero quantities of `vector`, by name. */
export function vectorQuantities(vector: ScalarVector): Quantities {
  const out: Quantities = new Map();
  vector.forEach((millis, slot) => {
    if (millis !== 0) out.set(scalarSlotName(slot), millis);
  });
  return out;
}

// Quota by scalar slot: guarantees and limits are few names, but the allocator reads them on
// every offer that quota touches; maps keyed by name cost a lookup per name and per read.

/** An amount of one scalar slot, in thousandths. */
export interface SlotAmount {
  readonly slot: number;
  readonly millis: number;
}

/** `quantities` by scalar slot (slots are made for names not seen before). */
export function slotAmounts(quantities: ReadonlyMap<string, number>): SlotAmount[] {
  return [...quantities].map(([name, millis]) => ({ slot: scalarSlot(name), millis }));
}

/**
 * Thousandths by scalar slot for some slots, made once and cleared for reuse (a cycle's
 * scratch): a dense array, and the list of slots set, in the order they were first set.
 */
export class SlotMap {
  private readonly values: number[] = [];
  private readonly isSet: boolean[] = [];
  /** The slots set, in the order they were first set. */
  readonly slots: number[] = [];

  get size(): number {
    return this.slots.length;
  }

  get(slot: number): number | undefined {
    return this.isSet[slot] === true ? this.values[slot] : undefined;
  }

  set(slot: number, millis: number): void {
    if (this.isSet[slot] !== true) {
      this.isSet[slot] = true;
      this.slots.push(slot);
    }
    this.values[slot] = millis;
  }

  clear(): void {
    for (const slot of this.slots) this.isSet[slot] = false;
    this.slots.length = 0;
  }

  /** The same quantities by name. */
  byName(): Quantities {
    const out: Quantities = new Map();
    for (const slot of this.slots) out.set(scalarSlotName(slot), this.values[slot] ?? 0);
    return out;
  }
}
