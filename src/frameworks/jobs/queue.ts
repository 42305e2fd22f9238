// One offer cycle's plan: which runs' pending tasks go on which offers. Across runs the order is
// the brief's priority rule, p = (1/d)·(1 + wait/τ) (placement's `priorityOrder`), so small jobs
// pass big ones and aging keeps big ones from starving; within a run, its tasks are placed on
// the offers by the job's own policy (placement's `place`). Pure.
//
// Aging only orders; to make it bound a big job's wait, a run first in line that fits none of
// this cycle's offers, but would fit an agent once enough of it is free, reserves the offer
// closest to holding one of its tasks (Slurm's backfill does the same with its reservations):
// runs behind it may use every other offer but not that one, so what frees up there
// accumulates for it instead of being taken by smaller tasks as it frees. Only the first such
// run reserves (DEFAULT_MAX_RESERVATIONS). A run that no known
// agent could ever hold reserves nothing.
import { RE2JS } from 're2js';
import {
  type PlacementPolicy,
  placeCopies,
  priorityOrder,
  type Quantities,
} from '../../placement/index.js';
import type { Constraint } from './spec.js';

/**
 * How many runs may hold an offer back per cycle. One, as EASY backfilling reserves for the head
 * of the queue only: reserving for every blocked run would, under a backlog of big tasks, hold
 * back most agents and leave small tasks waiting (bench/RESULTS.md, "Jobs framework").
 */
export const DEFAULT_MAX_RESERVATIONS = 1;

export interface QueueEntry {
  /** The run's key, unique in one call. */
  readonly key: string;
  /** One task's demand. */
  readonly demand: Quantities;
  /** Since when it has waited: its aging starts here. */
  readonly submittedAtMs: number;
  /** How many of its tasks may launch now (waiting, past backoff, within parallelism). */
  readonly launchable: number;
  readonly policy: PlacementPolicy;
  readonly constraints: readonly Constraint[];
  /** The role its tasks run as: only offers to that role are used. */
  readonly role: string;
}

export interface OfferSlot {
  readonly offerId: string;
  readonly agentId: string;
  readonly free: Quantities;
  readonly attributes: Readonly<Record<string, string>>;
  readonly role: string;
}

export type WaitReason =
  | { readonly kind: 'behind'; readonly ahead: number }
  | { readonly kind: 'no-offer-fits' }
  | { readonly kind: 'never-fits' }
  | { readonly kind: 'constraints' };

export interface CyclePlan {
  /** Per run key, how many of its tasks go on each offer. */
  readonly placements: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Runs left with launchable tasks, and why. */
  readonly waiting: ReadonlyMap<string, WaitReason>;
}

export interface CycleOptions {
  readonly nowMs: number;
  /**
   * The order across runs: the brief's priority rule (default), or first come first served —
   * kept to measure what the rule buys (bench/jobs.ts), with the same holding back of the runs
   * behind a head that waits for room.
   */
  readonly order?: 'priority' | 'fifo';
  /** How many blocked runs may reserve an offer (DEFAULT_MAX_RESERVATIONS); Infinity: all. */
  readonly maxReservations?: number;
  readonly agingMs: number;
  /** The cluster's capacity per resource: the denominator of shares (C_k). */
  readonly clusterCapacity: Quantities;
  /** Each known agent's capacity (at least the most it was ever offered): can a task ever fit? */
  readonly agentCapacities: readonly {
    readonly free: Quantities;
    readonly attributes: Readonly<Record<string, string>>;
  }[];
}

export function planCycle(
  entries: readonly QueueEntry[],
  offers: readonly OfferSlot[],
  options: CycleOptions,
): CyclePlan {
  const placements = new Map<string, Map<string, number>>();
  const waiting = new Map<string, WaitReason>();
  const free = new Map(offers.map((o) => [o.offerId, { ...o.free } as Record<string, number>]));
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const order = orderEntries(entries, options);
  /** Offers held for a run ahead that fits nowhere yet, and by whom (its position). */
  const reserved = new Map<string, number>();
  for (const [position, key] of order.entries()) {
    const entry = byKey.get(key);
    if (entry === undefined || entry.launchable <= 0) continue;
    const matching = offers.filter(
      (o) => o.role === entry.role && matches(entry.constraints, o.attributes),
    );
    const usable = matching.filter((o) => !reserved.has(o.offerId));
    const agents = usable.map((o) => ({ id: o.offerId, free: free.get(o.offerId) ?? {} }));
    // A run's tasks are identical: placed as copies, one heap step each (placement's
    // `placeCopies`, equal to `place` task by task), not a scan of every offer per task.
    const perOffer = placeCopies(entry.policy, entry.demand, entry.launchable, agents, {
      nowMs: options.nowMs,
      clusterCapacity: options.clusterCapacity,
      agingMs: options.agingMs,
    });
    let placedCount = 0;
    for (const [offerId, n] of perOffer) {
      placedCount += n;
      const left = free.get(offerId);
      if (left !== undefined)
        for (const [name, q] of Object.entries(entry.demand))
          left[name] = round((left[name] ?? 0) - q * n);
    }
    if (perOffer.size > 0) placements.set(key, perOffer);
    if (placedCount >= entry.launchable) continue;
    const couldFit = options.agentCapacities.some(
      (agent) => fitsIn(entry.demand, agent.free) && matches(entry.constraints, agent.attributes),
    );
    const anyAgentMatches = options.agentCapacities.some((a) =>
      matches(entry.constraints, a.attributes),
    );
    if (!couldFit) {
      waiting.set(key, {
        kind: anyAgentMatches || entry.constraints.length === 0 ? 'never-fits' : 'constraints',
      });
      continue;
    }
    // Held back: it would fit an offer reserved for a run ahead of it.
    const heldBy = matching.flatMap((o) => {
      const holder = reserved.get(o.offerId);
      return holder !== undefined && fitsIn(entry.demand, free.get(o.offerId) ?? {})
        ? [holder]
        : [];
    });
    waiting.set(
      key,
      heldBy.length > 0
        ? { kind: 'behind', ahead: position - Math.min(...heldBy) }
        : { kind: 'no-offer-fits' },
    );
    if (placedCount > 0 || reserved.size >= (options.maxReservations ?? DEFAULT_MAX_RESERVATIONS))
      continue;
    const closest = closestOffer(entry.demand, usable, free);
    if (closest !== undefined) reserved.set(closest, position);
  }
  return { placements, waiting };
}

/** Run keys in priority order (highest first): placement's rule on one task of each run. */
export function orderEntries(entries: readonly QueueEntry[], options: CycleOptions): string[] {
  if (options.order === 'fifo')
    return [...entries]
      .sort(
        (a, b) => a.submittedAtMs - b.submittedAtMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
      )
      .map((e) => e.key);
  return priorityOrder(
    entries.map((e) => ({ id: e.key, demand: e.demand, submittedAtMs: e.submittedAtMs })),
    { nowMs: options.nowMs, clusterCapacity: options.clusterCapacity, agingMs: options.agingMs },
  ).map((t) => t.id);
}

/** Whether an agent with `attributes` satisfies every constraint (Metronome's IS, LIKE, UNLIKE). */
export function matches(
  constraints: readonly Constraint[],
  attributes: Readonly<Record<string, string>>,
): boolean {
  for (const c of constraints) {
    const value = attributes[c.attribute];
    switch (c.operator) {
      case 'IS':
        if (value !== c.value) return false;
        break;
      case 'LIKE':
        if (value === undefined || !fullMatch(c.value, value)) return false;
        break;
      case 'UNLIKE':
        if (value !== undefined && fullMatch(c.value, value)) return false;
        break;
    }
  }
  return true;
}

const compiled = new Map<string, RE2JS | undefined>();

/** RE2 (linear time), never RegExp: the pattern comes from a user's spec. */
function fullMatch(pattern: string, value: string): boolean {
  if (!compiled.has(pattern)) {
    let re: RE2JS | undefined;
    try {
      re = RE2JS.compile(pattern);
    } catch {
      re = undefined;
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return compiled.get(pattern)?.matches(value) ?? false;
}

/** The offer on which the most of one task of `demand` is free (min over its resources). */
function closestOffer(
  demand: Quantities,
  offers: readonly OfferSlot[],
  free: ReadonlyMap<string, Readonly<Record<string, number>>>,
): string | undefined {
  let best: string | undefined;
  let bestShare = -1;
  for (const offer of offers) {
    const left = free.get(offer.offerId) ?? {};
    let share = Number.POSITIVE_INFINITY;
    for (const [name, q] of Object.entries(demand))
      if (q > 0) share = Math.min(share, (left[name] ?? 0) / q);
    if (share > bestShare) {
      bestShare = share;
      best = offer.offerId;
    }
  }
  return best;
}

export function fitsIn(demand: Quantities, free: Quantities): boolean {
  return Object.entries(demand).every(([name, q]) => q <= 0 || (free[name] ?? 0) + 1e-9 >= q);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
