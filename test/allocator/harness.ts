// A pure test bed for allocators: agents and frameworks in memory, a seeded
// random source, and frameworks that behave as the DRF paper assumes (one
// task per offer, the rest declined), so whole scenarios run in microseconds.
import {
  type Allocation,
  type AllocatorEvent,
  HierarchicalAllocator,
  type HierarchicalAllocatorOptions,
} from '../../src/allocator/index.js';
import { Resources } from '../../src/resources/index.js';
import { mulberry32 } from '../../src/sim/index.js';
import { agentId, frameworkId } from '../../src/wire/index.js';

/** A seeded PRNG, so every run can be replayed. */
export const seeded = (seed: number) => mulberry32(seed);

export const R = (text: string) => Resources.parse(text);

export class Bed {
  readonly allocator: HierarchicalAllocator;
  nowMs = 0;

  constructor(options: Partial<HierarchicalAllocatorOptions> = {}, seed = 1) {
    this.allocator = new HierarchicalAllocator({ random: seeded(seed), ...options });
  }

  handle(event: AllocatorEvent): this {
    this.allocator.handle(event, this.nowMs);
    return this;
  }

  agent(name: string, resources: string): this {
    return this.handle({
      kind: 'agentAdded',
      agentId: agentId(name),
      total: R(resources),
      used: new Map(),
    });
  }

  framework(
    name: string,
    roles: readonly string[],
    options: { suppressed?: readonly string[]; refinement?: boolean; regionAware?: boolean } = {},
  ): this {
    return this.handle({
      kind: 'frameworkAdded',
      frameworkId: frameworkId(name),
      roles,
      suppressedRoles: options.suppressed ?? [],
      used: new Map(),
      capabilities: {
        reservationRefinement: options.refinement ?? false,
        regionAware: options.regionAware ?? false,
      },
    });
  }

  weights(weights: Record<string, number>): this {
    return this.handle({
      kind: 'weightsUpdated',
      weights: Object.entries(weights).map(([role, weight]) => ({ role, weight })),
    });
  }

  quota(
    role: string,
    quota: { guarantees?: Record<string, number>; limits?: Record<string, number> },
  ): this {
    return this.handle({
      kind: 'quotaUpdated',
      configs: [{ role, guarantees: quota.guarantees ?? {}, limits: quota.limits ?? {} }],
    });
  }

  allocate(): readonly Allocation[] {
    return this.allocator.allocate(this.nowMs);
  }

  recover(allocation: Allocation, resources = allocation.resources, refuseMs?: number): void {
    this.handle({
      kind: 'resourcesRecovered',
      frameworkId: allocation.frameworkId,
      agentId: allocation.agentId,
      resources,
      ...(refuseMs !== undefined ? { refuseMs } : {}),
    });
  }

  /**
   * Runs cycles in which each framework launches one task of its `demand` per
   * offer that fits it and declines the rest (refuse 0, as progressive filling
   * assumes), until a cycle launches nothing. Returns tasks per framework.
   */
  runTasks(demand: Readonly<Record<string, string>>, maxCycles = 1000): Record<string, number> {
    const tasks: Record<string, number> = Object.fromEntries(
      Object.keys(demand).map((name) => [name, 0]),
    );
    for (let cycle = 0; cycle < maxCycles; cycle++) {
      this.nowMs += 1000;
      let launched = 0;
      for (const offer of this.allocate()) {
        const want = demand[offer.frameworkId.value];
        const task = want === undefined ? undefined : R(want).allocate(offer.role);
        if (task !== undefined && offer.resources.contains(task)) {
          tasks[offer.frameworkId.value] = (tasks[offer.frameworkId.value] ?? 0) + 1;
          launched += 1;
          const rest = offer.resources.minus(task);
          if (!rest.isEmpty()) this.recover(offer, rest, 0);
        } else this.recover(offer, offer.resources, 0);
      }
      if (launched === 0) return tasks;
    }
    throw new Error(`no steady state after ${maxCycles} cycles`);
  }
}

/** `framework@agent/role` for each allocation, sorted: compact to assert on. */
export function summary(allocations: readonly Allocation[]): string[] {
  return allocations.map((a) => `${a.frameworkId.value}@${a.agentId.value}/${a.role}`).sort();
}
