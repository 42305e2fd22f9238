// Plain scalar quantities per resource name, the only currency placement deals in, so it
// depends on no offer format. Inside, quantities become integer thousandths (the fixed point
// Mesos keeps, as in src/resources) so that "fits" and "free minus demand" are exact:
// 0.1 + 0.2 cpus fit in 0.3, and no rounding can over-commit an agent.
import assert from 'node:assert';
import type { Resources } from '../resources/index.js';

/** Scalar quantities per resource name, e.g. `{ cpus: 1, mem: 512 }`; absent means 0. */
export type Quantities = Readonly<Record<string, number>>;

const MILLIS_PER_UNIT = 1000;

/**
 * The unallocated scalar quantities of `resources` (an offer's, an agent's), summed over
 * reservations: `{ cpus: 4, mem: 8192, disk: 1000 }`. Ranges and sets (ports) are left out:
 * placement does not place them. Names whose quantity is 0 are left out.
 */
export function offerFree(resources: Resources): Quantities {
  const unallocated = resources.unallocate();
  const free: Record<string, number> = {};
  for (const name of unallocated.names()) {
    const quantity = unallocated.scalar(name);
    if (quantity > 0) free[name] = quantity;
  }
  return Object.freeze(free);
}

/**
 * The sum of `list` per name, in thousandths so that sums are exact: the cluster capacity from
 * the agents' totals, for example. Throws (assertion) on a negative or non-finite quantity.
 */
export function sumQuantities(list: readonly Quantities[]): Quantities {
  const millis = new Map<string, number>();
  for (const quantities of list)
    for (const [name, value] of Object.entries(quantities))
      millis.set(name, (millis.get(name) ?? 0) + toMillis(value, name));
  const sum: Record<string, number> = {};
  for (const [name, total] of [...millis].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    if (total > 0) sum[name] = total / MILLIS_PER_UNIT;
  return Object.freeze(sum);
}

/** `value` in integer thousandths; asserts it is finite and not negative. */
export function toMillis(value: number, name: string): number {
  assert(Number.isFinite(value) && value >= 0, `quantity ${name} must be >= 0, not ${value}`);
  return Math.round(value * MILLIS_PER_UNIT);
}

/** `quantities` as thousandths in the order of `names`; a name it lacks is 0. */
export function millisVector(quantities: Quantities, names: readonly string[]): number[] {
  return names.map((name) => toMillis(quantities[name] ?? 0, name));
}
