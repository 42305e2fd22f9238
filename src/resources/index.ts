// The Resource algebra: pure values, no I/O (see README.md).
export { parseAttributes, summarizeAttributes } from './attributes.js';
export { parseResourcesFlag } from './parse-json.js';
export { type ResourceFormat, Resources } from './resources.js';
export { isStrictSubroleOf, roleAncestors, roleError } from './roles.js';
export {
  existingScalarSlot,
  type ScalarVector,
  scalarSlot,
  scalarSlotName,
  scalarVector,
} from './scalar-slots.js';
export { summarize } from './summary.js';
