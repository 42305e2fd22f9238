export { DEFAULT_REFUSE_SECONDS, MAX_REFUSE_SECONDS, refuseMsFrom } from './refuse.js';
export { SimpleAllocator } from './simple-allocator.js';
export type {
  Allocation,
  Allocator,
  AllocatorEvent,
  AllocatorEventKind,
} from './types.js';
