export { type AgentSort, shuffle, uptimeWeight, weightedOrder } from './agent-order.js';
export {
  DEFAULT_AGENT_EXPECTED_UPTIME_MS,
  DEFAULT_AGENT_UPTIME_WEIGHT_FLOOR,
  HierarchicalAllocator,
  type HierarchicalAllocatorOptions,
} from './hierarchical-allocator.js';
export { DEFAULT_MIN_ALLOCATABLE, parseMinAllocatable } from './min-allocatable.js';
export { DEFAULT_REFUSE_SECONDS, MAX_REFUSE_SECONDS, refuseMsFrom } from './refuse.js';
export type {
  Allocation,
  Allocator,
  AllocatorEvent,
  AllocatorEventKind,
  FrameworkCapabilities,
  MinAllocatableByRole,
  QuotaConfig,
  RoleView,
} from './types.js';
