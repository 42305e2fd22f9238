// `count` copies of one task placed by a policy, as `place` would place them one by one, in
// O((count + agents) · log agents) instead of O(count · agents). An array job's tasks are
// identical; with a thousand offers and a thousand tasks a cycle, `place`'s per-task scan of
// every agent was most of the jobs framework's planning time (bench/RESULTS.md).
//
// Why it equals `place`: for one task, every policy's score of an agent depends only on that
// agent's free resources (delay Σ ω r / s, what is left after it, or 0 for first fit), and
// `place` takes the least score, the first agent in order on a tie. Booking a copy changes
// only the chosen agent's score, so a heap of (score, position) gives the same choice each
// time. test/placement/place-copies.test.ts checks this against `place`.
import { assertNever } from '../wire/index.js';
import { type AgentRow, book, buildModel, delayCost, fits, leftAfter } from './model.js';
import type { Quantities } from './quantities.js';
import type { AgentFree, PlacementPolicy, PlaceOptions } from './types.js';

/** How many of the copies go on each agent (only agents given some); fewer if not all fit. */
export function placeCopies(
  policy: PlacementPolicy,
  demand: Quantities,
  count: number,
  agents: readonly AgentFree[],
  options: PlaceOptions,
): Map<string, number> {
  const placed = new Map<string, number>();
  if (count <= 0 || agents.length === 0) return placed;
  const model = buildModel(
    [{ id: 'copy', demand, submittedAtMs: 0 }],
    agents,
    options.clusterCapacity,
  );
  const row = model.tasks[0];
  if (row === undefined) return placed;
  const score = (agent: AgentRow): number => {
    switch (policy) {
      case 'min-delay':
        return delayCost(row, agent);
      case 'priority':
        return 0;
      case 'binpack':
        return leftAfter(row, agent, model.capacityMillis);
      case 'spread':
        return -leftAfter(row, agent, model.capacityMillis);
      default:
        return assertNever(policy);
    }
  };
  const heap = new Heap();
  model.agents.forEach((agent, position) => {
    if (fits(row, agent)) heap.push({ score: score(agent), position });
  });
  for (let n = 0; n < count; n++) {
    const top = heap.pop();
    if (top === undefined) break;
    const agent = model.agents[top.position] as AgentRow;
    book(row, agent);
    placed.set(agent.agent.id, (placed.get(agent.agent.id) ?? 0) + 1);
    if (fits(row, agent)) heap.push({ score: score(agent), position: top.position });
  }
  return placed;
}

interface Entry {
  readonly score: number;
  readonly position: number;
}

/** A binary min-heap on (score, position). */
class Heap {
  private readonly items: Entry[] = [];

  push(entry: Entry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(items[i] as Entry, items[parent] as Entry)) break;
      [items[i], items[parent]] = [items[parent] as Entry, items[i] as Entry];
      i = parent;
    }
  }

  pop(): Entry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && less(items[left] as Entry, items[least] as Entry)) least = left;
      if (right < items.length && less(items[right] as Entry, items[least] as Entry)) least = right;
      if (least === i) break;
      [items[i], items[least]] = [items[least] as Entry, items[i] as Entry];
      i = least;
    }
    return top;
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.score < b.score || (a.score === b.score && a.position < b.position);
}
