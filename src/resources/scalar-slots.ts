// Scalar resource names as small integers, the same in every module of the process, so that
// hot arithmetic on quantities (the allocator adds one agent's scalars to a dozen running
// totals per offer) can run over dense arrays instead of maps keyed by name. A cluster has a
// handful of scalar names (cpus, mem, disk, gpus and a few custom ones); a slot is never
// reused, which is what lets a vector outlive the values it was computed from.

const slotByName = new Map<string, number>();
const nameBySlot: string[] = [];

/**
 * Thousandths per slot: index = scalarSlot(name). It may be shorter than the number of slots
 * (the names it never saw are zero), never longer.
 */
export type ScalarVector = readonly number[];

/** The slot of `name`, allocated on first use. */
export function scalarSlot(name: string): number {
  let slot = slotByName.get(name);
  if (slot === undefined) {
    slot = nameBySlot.length;
    nameBySlot.push(name);
    slotByName.set(name, slot);
  }
  return slot;
}

/** The slot of `name` if it has one: a name no value ever held is zero everywhere. */
export function existingScalarSlot(name: string): number | undefined {
  return slotByName.get(name);
}

export function scalarSlotName(slot: number): string {
  const name = nameBySlot[slot];
  if (name === undefined) throw new RangeError(`no scalar slot ${slot}`);
  return name;
}

/** A dense vector of the quantities in `byName`. */
export function scalarVector(byName: ReadonlyMap<string, number>): number[] {
  const vector: number[] = [];
  for (const [name, millis] of byName) {
    const slot = scalarSlot(name);
    while (vector.length <= slot) vector.push(0);
    vector[slot] = millis;
  }
  return vector;
}
