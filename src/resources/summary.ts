// The legacy JSON summary of a resource list (WIRE §7.1; Mesos `model(const Resources&)` in
// src/common/http.cpp), as /master/state and /slave(1)/state show `resources`.
import { assertNever, type Resource } from '../wire/index.js';
import {
  type Bounds,
  boundsFromRanges,
  boundsToRanges,
  formatRanges,
  unionBounds,
} from './ranges.js';
import type { Resources } from './resources.js';
import { formatItems, type Items, itemsFromList, unionItems } from './sets.js';

type Total =
  | { readonly type: 'SCALAR'; readonly millis: number }
  | { readonly type: 'RANGES'; readonly bounds: Bounds }
  | { readonly type: 'SET'; readonly items: Items };

const ALWAYS_PRESENT = ['cpus', 'gpus', 'mem', 'disk'] as const;

/**
 * `{"cpus":8,"gpus":0,"mem":31744,"disk":81920,"ports":"[31000-32000]"}`: one key per name,
 * whatever the reservation or allocation, with scalars summed, ranges as '[b-e, …]' and sets
 * as '{a, b}'. cpus, gpus, mem and disk always come first (0 when absent), then the other
 * names sorted, then revocable resources under '<name>_revocable'. Should a name carry more
 * than one type, the first one seen wins.
 */
export function summarize(resources: Resources): Readonly<Record<string, number | string>> {
  // Resources are immutable: a task's summary is the same at every GET /master/state, which
  // summarizes 100,000 of them at 10,000 agents. Frozen, as every caller shares it.
  const cached = summaries.get(resources);
  if (cached !== undefined) return cached;
  const summary = Object.freeze(summarizeOnce(resources));
  summaries.set(resources, summary);
  return summary;
}

const summaries = new WeakMap<Resources, Readonly<Record<string, number | string>>>();

function summarizeOnce(resources: Resources): Record<string, number | string> {
  const totals = new Map<string, Total>();
  for (const resource of resources.toWire()) {
    const key = resource.revocable === undefined ? resource.name : `${resource.name}_revocable`;
    const total = add(totals.get(key), resource);
    if (total !== undefined) totals.set(key, total);
  }
  const summary: Record<string, number | string> = {};
  for (const name of ALWAYS_PRESENT) summary[name] = 0;
  const keys = [...totals.keys()].sort();
  const revocable = keys.filter((key) => key.endsWith('_revocable'));
  for (const key of [...keys.filter((key) => !key.endsWith('_revocable')), ...revocable]) {
    const total = totals.get(key);
    if (total !== undefined) summary[key] = render(total);
  }
  return summary;
}

/** `total` plus `resource`, or undefined when their types differ (the first type wins). */
function add(total: Total | undefined, resource: Resource): Total | undefined {
  switch (resource.type) {
    case 'SCALAR': {
      // Sum thousandths, as Resources does, so that 0.1 + 0.2 shows as 0.3.
      const millis = Math.round((resource.scalar?.value ?? 0) * 1000);
      if (total === undefined) return { type: 'SCALAR', millis };
      return total.type === 'SCALAR'
        ? { type: 'SCALAR', millis: total.millis + millis }
        : undefined;
    }
    case 'RANGES': {
      const bounds = boundsFromRanges(resource.ranges?.range ?? []);
      if (total === undefined) return { type: 'RANGES', bounds };
      return total.type === 'RANGES'
        ? { type: 'RANGES', bounds: unionBounds(total.bounds, bounds) }
        : undefined;
    }
    case 'SET': {
      const items = itemsFromList(resource.set?.item ?? []);
      if (total === undefined) return { type: 'SET', items };
      return total.type === 'SET'
        ? { type: 'SET', items: unionItems(total.items, items) }
        : undefined;
    }
    default:
      return assertNever(resource.type);
  }
}

function render(total: Total): number | string {
  switch (total.type) {
    case 'SCALAR':
      return total.millis / 1000;
    case 'RANGES':
      return formatRanges(boundsToRanges(total.bounds), ', ');
    case 'SET':
      return formatItems(total.items, ', ');
    default:
      return assertNever(total);
  }
}
