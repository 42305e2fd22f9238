// Scalar quantities per resource name, in thousandths (the fixed point Mesos keeps),
// so shares, limits and headroom compare exactly.

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

/** target += sign × delta, in place. */
export function addInto(target: Quantities, delta: ReadonlyMap<string, number>, sign = 1): void {
  for (const [name, millis] of delta) {
    const next = (target.get(name) ?? 0) + sign * millis;
    if (next === 0) target.delete(name);
    else target.set(name, next);
  }
}

/** max(0, a − b) per name of `a`. */
export function positiveDifference(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
): Quantities {
  const out: Quantities = new Map();
  for (const [name, millis] of a) {
    const left = millis - (b.get(name) ?? 0);
    if (left > 0) out.set(name, left);
  }
  return out;
}

/**
 * The dominant share: the largest fraction of the cluster's total held in any
 * one resource (Ghodsi et al., NSDI 2011). Names the cluster has none of are
 * ignored.
 */
export function dominantShare(
  held: ReadonlyMap<string, number>,
  totals: ReadonlyMap<string, number>,
): number {
  let share = 0;
  for (const [name, millis] of held) {
    const total = totals.get(name) ?? 0;
    if (total > 0 && millis / total > share) share = millis / total;
  }
  return share;
}

export function isZero(quantities: ReadonlyMap<string, number>): boolean {
  for (const millis of quantities.values()) if (millis !== 0) return false;
  return true;
}
