// The data placement reads and returns (README.md defines each policy).
import type { Quantities } from './quantities.js';

/**
 * - `min-delay`: least total delay Σ_i Σ_k ω_ik · r_ik / s_jk, greedily, largest dominant share first;
 * - `priority`: in order of p_i = (1 / d_i) · (1 + wait_i / τ), each to the first agent it fits;
 * - `binpack`: in submission order, each to the agent with the least left after it (best fit);
 * - `spread`: in submission order, each to the agent with the most left after it (worst fit).
 */
export type PlacementPolicy = 'min-delay' | 'priority' | 'binpack' | 'spread';

export const PLACEMENT_POLICIES: readonly PlacementPolicy[] = Object.freeze([
  'min-delay',
  'priority',
  'binpack',
  'spread',
]);

/** A task waiting to be placed. Ids are unique within one call. */
export interface PendingTask {
  readonly id: string;
  /** What it needs, per resource name (`{ cpus: 1, mem: 512 }`), to three decimals. */
  readonly demand: Quantities;
  /** When it was submitted, on the caller's clock: the first tie-break, and its age in `priority`. */
  readonly submittedAtMs: number;
}

/** An agent with what is free on it now (an offer's, see `offerFree`). Ids are unique within one call. */
export interface AgentFree {
  readonly id: string;
  readonly free: Quantities;
  /** The agent's total; informative only, no policy reads it. */
  readonly capacity?: Quantities;
}

/** Task `taskId` goes on agent `agentId`. */
export interface Placement {
  readonly taskId: string;
  readonly agentId: string;
}

export interface PlaceOptions {
  /** Now, on the clock of `submittedAtMs`; only `priority` reads it (a task's wait). */
  readonly nowMs: number;
  /**
   * The cluster's total per resource, C_k: the denominator of shares. Names it lacks (or holds
   * 0 of) carry no weight in any score, though a task that needs them still fits only where
   * they are free.
   */
  readonly clusterCapacity: Quantities;
  /** τ of `priority`'s aging: a task's priority grows by its base value every τ it waits. */
  readonly agingMs?: number;
}

/** τ when `agingMs` is not given. */
export const DEFAULT_AGING_MS = 60_000;
