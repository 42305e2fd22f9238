// The resources of the tasks a re-registering agent reports. A framework's tasks are mostly
// alike, so the same few wire lists come back thousands of times in a failover (10,000
// agents × their tasks): each distinct list is parsed once and the tasks of one shape share
// one value, where each task used to build its own (a map and its entries, then another for
// its allocation role, then a key string to find the shared one) (#10).
import { Resources } from '../../resources/index.js';
import type { Resource } from '../../wire/index.js';
import { jsonEqual } from './json-equal.js';

/** One wire list, parsed: what the books make of a task reporting it. */
export interface ReportedShape {
  readonly wire: readonly Resource[];
  /** As Resources.fromWire reads the list (allocation roles as reported). */
  readonly resources: Resources;
  /** The first of its allocation roles, sorted; undefined when it names none. */
  readonly allocationRole: string | undefined;
  /** The value last given by allocatedTo, and its role. */
  allocated: Resources | undefined;
  allocatedRole: string | undefined;
}

/**
 * The shapes seen last, newest first. A handful: an agent's report interleaves a few
 * frameworks' shapes; a list that matches none costs its parse, as before, plus the compares.
 * Tasks' lists and agents' own (their configured resources) are kept apart: each agent's
 * SUBSCRIBE asks for both, and in one list each was compared with the other first.
 */
const MAX_SHAPES = 4;
const taskShapes: ReportedShape[] = [];
const agentShapes: ReportedShape[] = [];

/**
 * The shape of a task's `wire`: one seen lately when equal to it as JSON (Resources are
 * immutable, and fromWire reads nothing but the list), else parsed now. Throws what fromWire
 * throws.
 */
export function reportedShape(wire: readonly Resource[]): ReportedShape {
  return shapeIn(taskShapes, wire);
}

/** reportedShape, for the resources an agent is configured with. */
export function agentShape(wire: readonly Resource[]): ReportedShape {
  return shapeIn(agentShapes, wire);
}

function shapeIn(shapes: ReportedShape[], wire: readonly Resource[]): ReportedShape {
  for (let i = 0; i < shapes.length; i++) {
    const shape = shapes[i] as ReportedShape;
    if (shape.wire === wire || (!plainlyDiffer(shape.wire, wire) && jsonEqual(shape.wire, wire))) {
      // To the front, moving those before it back one (splice would make an array).
      for (let j = i; j > 0; j--) shapes[j] = shapes[j - 1] as ReportedShape;
      shapes[0] = shape;
      return shape;
    }
  }
  const resources = Resources.fromWire(wire);
  const shape: ReportedShape = {
    wire,
    resources,
    allocationRole: resources.allocationRoles()[0],
    allocated: undefined,
    allocatedRole: undefined,
  };
  shapes.unshift(shape);
  if (shapes.length > MAX_SHAPES) shapes.pop();
  return shape;
}

/**
 * True when the lists cannot be equal as JSON: their lengths, or a resource's name or scalar
 * value, differ. Tasks of a few sizes take turns in a report, so most compares with a shape
 * of the cache are with another size: told apart here by a few reads instead of a walk of
 * every key of both lists (jsonEqual, which decides when this cannot).
 */
function plainlyDiffer(a: readonly Resource[], b: readonly Resource[]): boolean {
  if (a.length !== b.length) return true;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Resource;
    const y = b[i] as Resource;
    if (x.name !== y.name || x.scalar?.value !== y.scalar?.value) return true;
  }
  return false;
}

/**
 * The shape's resources allocated to `role`, as a task keeps them (`allocate(role).shared()`):
 * made once per shape and role.
 */
export function allocatedTo(shape: ReportedShape, role: string): Resources {
  if (shape.allocated !== undefined && shape.allocatedRole === role) return shape.allocated;
  const allocated = shape.resources.allocate(role).shared();
  shape.allocated = allocated;
  shape.allocatedRole = role;
  return allocated;
}
