// Where a framework puts its pending tasks on offered agents: min-delay, priority, binpack,
// spread (pure; see README.md). Used by the SDK and the bundled frameworks, not the allocator.
export { dominantShare } from './model.js';
export { place, totalDelay } from './place.js';
export { placeCopies } from './place-copies.js';
export { priorityOrder, priorityScore } from './priority.js';
export { offerFree, type Quantities, sumQuantities } from './quantities.js';
export {
  type AgentFree,
  DEFAULT_AGING_MS,
  type PendingTask,
  PLACEMENT_POLICIES,
  type Placement,
  type PlacementPolicy,
  type PlaceOptions,
} from './types.js';
