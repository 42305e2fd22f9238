// The order agents are visited in each allocation cycle. Mesos shuffles them
// (--agent_sort=random); --agent_sort=uptime prefers agents that have stayed up.

export type AgentSort = 'random' | 'uptime';

/** Fisher–Yates with the caller's random source (seeded in tests). */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

/**
 * An agent's selection probability for --agent_sort=uptime: p = min(1, t / T)
 * with t the time it has been registered and T the expected uptime, never
 * below `floor` so a new agent is still chosen sometimes.
 */
export function uptimeWeight(uptimeMs: number, expectedUptimeMs: number, floor: number): number {
  if (expectedUptimeMs <= 0) return 1;
  return Math.max(floor, Math.min(1, Math.max(0, uptimeMs) / expectedUptimeMs));
}

/**
 * A weighted random order: each item draws key = u^(1/w) and the largest keys
 * go first (Efraimidis and Spirakis, 2006). An item is then first with
 * probability w / Σw, and of two items, a comes before b with probability
 * wa / (wa + wb): stable agents first, flapping ones last, but no agent never.
 */
export function weightedOrder<T>(
  items: readonly T[],
  weight: (item: T) => number,
  random: () => number,
): T[] {
  const keyed = items.map((item) => {
    const w = weight(item);
    const u = random();
    // log(u)/w orders as u^(1/w) does, without underflow for small w.
    return {
      item,
      key: w > 0 ? Math.log(u > 0 ? u : Number.MIN_VALUE) / w : Number.NEGATIVE_INFINITY,
    };
  });
  keyed.sort((a, b) => b.key - a.key);
  return keyed.map((k) => k.item);
}
