// Invariants of the allocator over random event sequences (fast-check). Each
// run keeps its own model of what is outstanding and checks every invariant
// after every allocation cycle. A failing case prints its seed and path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Allocation } from '../../src/allocator/index.js';
import { isStrictSubroleOf, Resources } from '../../src/resources/index.js';
import { agentId, frameworkId } from '../../src/wire/index.js';
import { Bed, R, summary } from './harness.js';

const ROLES = ['*', 'a', 'b', 'a/x'] as const;
const RESERVABLE = ['a', 'b', 'a/x'] as const;

interface AgentSpec {
  readonly cpus: number;
  readonly memGb: number;
  readonly reservedTo: (typeof RESERVABLE)[number] | undefined;
  readonly reservedCpus: number;
  /** In another region than the master's: only REGION_AWARE frameworks may be offered it. */
  readonly isRemote: boolean;
}
interface FrameworkSpec {
  readonly roles: readonly string[];
  readonly refinement: boolean;
  readonly regionAware: boolean;
}
type Step =
  | { readonly kind: 'allocate' }
  | {
      readonly kind: 'recover';
      readonly pick: number;
      readonly half: boolean;
      readonly refuseMs: number;
    }
  | { readonly kind: 'suppress' | 'revive' | 'deactivate' | 'activate'; readonly framework: number }
  | { readonly kind: 'toggleAgent'; readonly agent: number }
  | {
      readonly kind: 'exclude';
      readonly framework: number;
      readonly role: number;
      readonly agent: number;
      readonly isExcluded: boolean;
    }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'weight'; readonly role: string; readonly weight: number }
  | {
      readonly kind: 'quota';
      readonly role: string;
      readonly guaranteeCpus: number;
      readonly limitCpus: number | undefined;
    };

const agentSpec: fc.Arbitrary<AgentSpec> = fc.record({
  cpus: fc.integer({ min: 1, max: 8 }),
  memGb: fc.integer({ min: 1, max: 8 }),
  reservedTo: fc.option(fc.constantFrom(...RESERVABLE), { nil: undefined }),
  reservedCpus: fc.integer({ min: 1, max: 3 }),
  isRemote: fc.boolean(),
});
const frameworkSpec: fc.Arbitrary<FrameworkSpec> = fc.record({
  roles: fc.subarray([...ROLES], { minLength: 1 }),
  refinement: fc.boolean(),
  regionAware: fc.boolean(),
});
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('recover' as const),
      pick: fc.nat(),
      half: fc.boolean(),
      refuseMs: fc.constantFrom(0, 1000, 60_000),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'suppress' as const,
        'revive' as const,
        'deactivate' as const,
        'activate' as const,
      ),
      framework: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('toggleAgent' as const), agent: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('exclude' as const),
      framework: fc.nat(),
      role: fc.nat(),
      agent: fc.nat(),
      isExcluded: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 90_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('weight' as const),
      role: fc.constantFrom(...ROLES),
      weight: fc.constantFrom(0.5, 1, 2, 5),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('quota' as const),
      role: fc.constantFrom('a', 'b', '*'),
      guaranteeCpus: fc.integer({ min: 0, max: 6 }),
      limitCpus: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
    }),
  },
);

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  agents: fc.array(agentSpec, { minLength: 1, maxLength: 4 }),
  frameworks: fc.array(frameworkSpec, { minLength: 1, maxLength: 4 }),
  steps: fc.array(step, { maxLength: 40 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function agentTotal(spec: AgentSpec): Resources {
  const reserved =
    spec.reservedTo === undefined ? '' : `;cpus(${spec.reservedTo}):${spec.reservedCpus}`;
  return R(`cpus:${spec.cpus};mem:${spec.memGb * 1024}${reserved}`);
}

/** Quota consumption in CPUs of `role` per the model: its subtree's unreserved allocations plus reservations. */
function consumedCpus(
  role: string,
  outstanding: readonly Allocation[],
  totals: readonly Resources[],
): number {
  const inSubtree = (r: string) => r === role || isStrictSubroleOf(r, role);
  let cpus = 0;
  for (const allocation of outstanding)
    if (inSubtree(allocation.role)) cpus += allocation.resources.unreserved().scalar('cpus');
  for (const total of totals)
    for (const reservedTo of total.reservedRoles())
      if (inSubtree(reservedTo)) cpus += total.reserved(reservedTo).scalar('cpus');
  return cpus;
}

/** Runs a scenario, checking invariants after each cycle; returns a trace of every offer. */
function run(s: Scenario): string[] {
  const bed = new Bed({}, s.seed);
  const totals = s.agents.map(agentTotal);
  for (const [i, total] of totals.entries())
    bed.handle({
      kind: 'agentAdded',
      agentId: agentId(`s${i}`),
      total,
      used: new Map(),
      isRemote: s.agents[i]?.isRemote,
    });
  for (const [i, f] of s.frameworks.entries())
    bed.framework(`f${i}`, f.roles, { refinement: f.refinement, regionAware: f.regionAware });
  const agentActive = totals.map(() => true);
  const limits = new Map<string, number>();
  /** Roles with a guarantee or a limit: while none has, a cycle leaves nothing a second could offer. */
  const quotaRoles = new Set<string>();
  let outstanding: Allocation[] = [];
  const trace: string[] = [];

  for (const action of s.steps) {
    switch (action.kind) {
      case 'allocate': {
        const before = new Map(
          [...limits.keys()].map((role) => [role, consumedCpus(role, outstanding, totals)]),
        );
        const offers = bed.allocate();
        for (const offer of offers) {
          trace.push(
            `${bed.nowMs} ${offer.frameworkId.value}@${offer.agentId.value}/${offer.role} ${offer.resources.toString()}`,
          );
          // Reserved resources only to their role or its sub-roles.
          for (const reservedTo of offer.resources.reservedRoles())
            assert.ok(
              offer.role === reservedTo || isStrictSubroleOf(offer.role, reservedTo),
              `${reservedTo} offered to ${offer.role}`,
            );
          // Allocation carries the role it was made for.
          assert.deepEqual(offer.resources.allocationRoles(), [offer.role]);
        }
        outstanding = [...outstanding, ...offers];
        // Nothing is offered twice: what is outstanding on an agent fits in its total.
        totals.forEach((total, i) => {
          const held = outstanding
            .filter((o) => o.agentId.value === `s${i}`)
            .reduce((sum, o) => sum.plus(o.resources.unallocate()), Resources.EMPTY);
          assert.ok(
            total.contains(held),
            `agent s${i}: ${held.toString()} outstanding of ${total.toString()}`,
          );
        });
        // Limits are never exceeded by new allocations.
        for (const [role, limit] of limits) {
          const after = consumedCpus(role, outstanding, totals);
          assert.ok(
            after <= Math.max(limit, before.get(role) ?? 0) + 1e-9,
            `${role} consumes ${after} cpus, limit ${limit}`,
          );
        }
        // Agents a cycle leaves idle are ones nobody can take: woken all at once (an empty
        // quota update wakes every idle agent and changes nothing else), a second cycle at
        // the same time offers nothing. With quota, an offer made late in a cycle may free
        // headroom an agent visited earlier could use, so this holds only without it.
        if (quotaRoles.size === 0) {
          bed.handle({ kind: 'quotaUpdated', configs: [] });
          assert.deepEqual(summary(bed.allocate()), [], 'an agent left idle could be offered');
        }
        break;
      }
      case 'recover': {
        const offer = outstanding[action.pick % Math.max(1, outstanding.length)];
        if (offer === undefined) break;
        const cpus = offer.resources.unreserved().scalar('cpus');
        const part =
          action.half && cpus >= 2
            ? R(`cpus:${Math.floor(cpus / 2)}`).allocate(offer.role)
            : offer.resources;
        bed.recover(offer, part, action.refuseMs);
        const left = offer.resources.minus(part);
        outstanding = outstanding.filter((o) => o !== offer);
        if (!left.isEmpty()) outstanding.push({ ...offer, resources: left });
        break;
      }
      case 'suppress':
      case 'revive':
      case 'deactivate':
      case 'activate': {
        const id = frameworkId(`f${action.framework % s.frameworks.length}`);
        const kind = {
          suppress: 'offersSuppressed',
          revive: 'offersRevived',
          deactivate: 'frameworkDeactivated',
          activate: 'frameworkActivated',
        } as const;
        if (action.kind === 'suppress' || action.kind === 'revive')
          bed.handle({ kind: kind[action.kind], frameworkId: id, roles: [] });
        else bed.handle({ kind: kind[action.kind], frameworkId: id });
        break;
      }
      case 'toggleAgent': {
        const i = action.agent % totals.length;
        agentActive[i] = !agentActive[i];
        bed.handle({
          kind: agentActive[i] ? 'agentActivated' : 'agentDeactivated',
          agentId: agentId(`s${i}`),
        });
        break;
      }
      case 'exclude': {
        const spec = s.frameworks[action.framework % s.frameworks.length];
        const role = spec?.roles[action.role % spec.roles.length];
        if (role === undefined) break;
        bed.handle({
          kind: 'agentExcluded',
          frameworkId: frameworkId(`f${action.framework % s.frameworks.length}`),
          role,
          agentId: agentId(`s${action.agent % totals.length}`),
          isExcluded: action.isExcluded,
        });
        break;
      }
      case 'advance':
        bed.nowMs += action.ms;
        break;
      case 'weight':
        bed.weights({ [action.role]: action.weight });
        break;
      case 'quota':
        if (action.limitCpus === undefined) limits.delete(action.role);
        else limits.set(action.role, action.limitCpus);
        if (action.limitCpus === undefined && action.guaranteeCpus === 0)
          quotaRoles.delete(action.role);
        else quotaRoles.add(action.role);
        bed.quota(action.role, {
          guarantees:
            action.guaranteeCpus > 0
              ? { cpus: Math.min(action.guaranteeCpus, action.limitCpus ?? 99) }
              : {},
          limits: action.limitCpus === undefined ? {} : { cpus: action.limitCpus },
        });
        break;
    }
  }

  // Recovered resources come back whole: give everything back, then one framework in every
  // role, alone and unrestricted, is offered exactly the sum of all agents.
  for (const offer of outstanding) bed.recover(offer);
  for (const role of bed.allocator.roles())
    assert.deepEqual(role.allocated, {}, `${role.name} still holds resources`);
  for (const i of s.frameworks.keys())
    bed.handle({ kind: 'frameworkDeactivated', frameworkId: frameworkId(`f${i}`) });
  for (const i of totals.keys()) bed.handle({ kind: 'agentActivated', agentId: agentId(`s${i}`) });
  bed.handle({
    kind: 'quotaUpdated',
    configs: ['a', 'b', '*'].map((role) => ({ role, guarantees: {}, limits: {} })),
  });
  bed.framework('everything', [...ROLES], { refinement: true, regionAware: true });
  const all = bed
    .allocate()
    .reduce((sum, o) => sum.plus(o.resources.unallocate()), Resources.EMPTY);
  const whole = totals.reduce((sum, t) => sum.plus(t), Resources.EMPTY);
  assert.ok(all.equals(whole), `offered ${all.toString()} of ${whole.toString()}`);
  return trace;
}

test('allocator invariants hold over random event sequences', () => {
  fc.assert(
    fc.property(scenario, (s) => {
      run(s);
    }),
    { numRuns: 300 },
  );
});

test('allocator is deterministic: the same events and seed give the same offers', () => {
  fc.assert(
    fc.property(scenario, (s) => {
      assert.deepEqual(run(s), run(s));
    }),
    { numRuns: 50 },
  );
});

test('allocator meets every guarantee the cluster has room for, in one cycle', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.array(
        fc.record({ cpus: fc.integer({ min: 1, max: 8 }), memGb: fc.integer({ min: 1, max: 8 }) }),
        { minLength: 1, maxLength: 6 },
      ),
      fc.tuple(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
      ),
      fc.integer({ min: 0, max: 3 }),
      (seed, agents, [shareA, shareB], noise) => {
        const totalCpus = agents.reduce((sum, a) => sum + a.cpus, 0);
        const totalMem = agents.reduce((sum, a) => sum + a.memGb * 1024, 0);
        // Guarantees that together fit in the cluster.
        const gA = {
          cpus: Math.floor(totalCpus * shareA * 0.5),
          mem: Math.floor(totalMem * shareB * 0.5),
        };
        const gB = {
          cpus: Math.floor(totalCpus * shareB * 0.5),
          mem: Math.floor(totalMem * shareA * 0.5),
        };
        // A guarantee only crumbs could meet (no cpus, under 32 MB: below the default
        // --min_allocatable_resources) is never offered, as in Mesos: see the example test.
        fc.pre(isOfferableGuarantee(gA) && isOfferableGuarantee(gB));
        const bed = new Bed({}, seed);
        for (const [i, a] of agents.entries())
          bed.agent(`s${i}`, `cpus:${a.cpus};mem:${a.memGb * 1024}`);
        for (let i = 0; i < noise; i++) bed.framework(`noise${i}`, ['*', 'c']);
        bed
          .framework('A', ['a'])
          .framework('B', ['b'])
          .quota('a', { guarantees: gA })
          .quota('b', { guarantees: gB });
        bed.allocate();
        for (const [role, guarantee] of [
          ['a', gA],
          ['b', gB],
        ] as const) {
          const consumed = bed.allocator.roles().find((r) => r.name === role)?.consumed ?? {};
          for (const [name, amount] of Object.entries(guarantee))
            assert.ok(
              (consumed[name] ?? 0) >= amount,
              `${role}: ${name} ${consumed[name] ?? 0} < guarantee ${amount}`,
            );
        }
      },
    ),
    { numRuns: 300 },
  );
});

/** Whether a guarantee's unmet part can make an offer under the default cpus:0.01|mem:32. */
function isOfferableGuarantee(guarantee: { cpus: number; mem: number }): boolean {
  return (
    guarantee.cpus >= 0.01 || guarantee.mem >= 32 || (guarantee.cpus === 0 && guarantee.mem === 0)
  );
}

test('allocator holds back headroom for a guarantee under --min_allocatable_resources, but cannot offer it', () => {
  // The case the property above leaves out (found by it): b is guaranteed 1 MB. Stage 1
  // gives a everything but that 1 MB, which is then too little to offer anyone.
  const bed = new Bed({}, 1)
    .agent('s1', 'cpus:1;mem:1024')
    .framework('A', ['a'])
    .framework('B', ['b'])
    .quota('a', { guarantees: { mem: 1 } })
    .quota('b', { guarantees: { mem: 1 } });
  const offers = bed.allocate();
  assert.deepEqual(summary(offers), ['A@s1/a']);
  assert.equal(offers[0]?.resources.unallocate().toString(), 'cpus:1;mem:1023');
  assert.deepEqual(bed.allocate(), [], 'the 1 MB left is not allocatable');
});
