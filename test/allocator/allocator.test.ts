import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMinAllocatable, refuseMsFrom } from '../../src/allocator/index.js';
import { Resources } from '../../src/resources/index.js';
import { agentId, frameworkId } from '../../src/wire/index.js';
import { Bed, R, seeded, summary } from './harness.js';

test('allocator offers an added agent whole to one framework, and not again until recovered', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').framework('f', ['*']);
  const [offer, ...rest] = bed.allocate();
  assert.equal(rest.length, 0);
  assert.ok(offer?.resources.unallocate().equals(R('cpus:4;mem:4096')));
  assert.deepEqual(offer?.resources.allocationRoles(), ['*']);
  assert.deepEqual(bed.allocate(), [], 'nothing is free any more');
  if (offer === undefined) return;
  bed.recover(offer);
  assert.deepEqual(summary(bed.allocate()), ['f@s1/*']);
});

test('allocator re-offers declined resources once refuse_seconds have passed', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').framework('f', ['*']);
  const [offer] = bed.allocate();
  if (offer === undefined) throw new Error('no offer');
  bed.nowMs = 10;
  bed.recover(offer, offer.resources, 5000);
  bed.nowMs = 5009;
  assert.deepEqual(bed.allocate(), []);
  bed.nowMs = 5010;
  assert.equal(bed.allocate().length, 1);
});

test('allocator offers what one framework declined to another meanwhile', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').framework('a', ['*']).framework('b', ['*']);
  const [first] = bed.allocate();
  if (first === undefined) throw new Error('no offer');
  assert.equal(first.frameworkId.value, 'a', 'equal shares: ties go by name');
  bed.recover(first, first.resources, 60_000);
  assert.deepEqual(summary(bed.allocate()), ['b@s1/*']);
});

test('allocator lifts a refuse filter early when more resources than were declined are free', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').framework('f', ['*']);
  const [offer] = bed.allocate();
  if (offer === undefined) throw new Error('no offer');
  // The framework keeps 2 CPUs (a task), declines the rest for a minute.
  const task = R('cpus:2;mem:2048').allocate('*');
  bed.recover(offer, offer.resources.minus(task), 60_000);
  assert.deepEqual(bed.allocate(), [], 'the declined half is filtered');
  bed.recover({ ...offer, resources: task }); // the task ends: 4 CPUs are free, more than declined
  const [again] = bed.allocate();
  assert.ok(again?.resources.unallocate().equals(R('cpus:4;mem:4096')));
});

test('allocator revive clears filters and suppression', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').framework('f', ['*']);
  const [offer] = bed.allocate();
  if (offer === undefined) throw new Error('no offer');
  bed.recover(offer, offer.resources, 3_600_000);
  bed.handle({ kind: 'offersSuppressed', frameworkId: frameworkId('f'), roles: [] });
  assert.deepEqual(bed.allocate(), []);
  bed.handle({ kind: 'offersRevived', frameworkId: frameworkId('f'), roles: [] });
  assert.deepEqual(summary(bed.allocate()), ['f@s1/*']);
});

test("allocator suppress of one role keeps offers flowing to the framework's other roles", () => {
  const bed = new Bed()
    .agent('s1', 'cpus:4;mem:4096')
    .framework('f', ['a', 'b'], { suppressed: ['a'] });
  assert.deepEqual(summary(bed.allocate()), ['f@s1/b']);
});

test('allocator offers nothing to an inactive framework or from an inactive or draining agent', () => {
  const bed = new Bed()
    .agent('s1', 'cpus:4;mem:4096')
    .agent('s2', 'cpus:4;mem:4096')
    .framework('f', ['*']);
  bed.handle({ kind: 'frameworkDeactivated', frameworkId: frameworkId('f') });
  assert.deepEqual(bed.allocate(), []);
  bed.handle({ kind: 'frameworkActivated', frameworkId: frameworkId('f') });
  bed.handle({ kind: 'agentDeactivated', agentId: agentId('s1') });
  bed.handle({ kind: 'agentDraining', agentId: agentId('s2'), isDraining: true });
  assert.deepEqual(bed.allocate(), []);
  bed.handle({ kind: 'agentActivated', agentId: agentId('s1') });
  assert.deepEqual(summary(bed.allocate()), ['f@s1/*']);
  bed.handle({ kind: 'agentDraining', agentId: agentId('s2'), isDraining: false });
  assert.deepEqual(summary(bed.allocate()), ['f@s2/*']);
});

test('allocator offers reserved resources only to their role and its sub-roles', () => {
  const bed = new Bed().agent('s1', 'cpus(ops):4;mem(ops):4096').framework('eng', ['eng']);
  assert.deepEqual(bed.allocate(), [], 'reserved to ops: nothing for eng');
  bed.framework('sub', ['ops/batch']);
  const [offer] = bed.allocate();
  assert.equal(
    offer?.frameworkId.value,
    'sub',
    "a sub-role may use its parent role's reservations",
  );
  assert.deepEqual(offer?.resources.reservedRoles(), ['ops']);
});

test('allocator still offers a role at its limit its reservations on agents visited later', () => {
  // 'a' can take no unreserved cpus or memory; once found at its limit it is skipped for the
  // rest of the cycle, but not on s5, whose reserved cpus limits do not cut. Every agent
  // order (seed) must give the same offers.
  for (let seed = 1; seed <= 12; seed++) {
    const bed = new Bed({}, seed);
    for (const name of ['s1', 's2', 's3', 's4']) bed.agent(name, 'cpus:4;mem:4096');
    bed
      .agent('s5', 'cpus(a):2;mem:1024')
      .framework('A', ['a'])
      .framework('B', ['b'])
      .quota('a', { limits: { cpus: 0, mem: 0 } });
    const offers = bed.allocate();
    assert.deepEqual(
      summary(offers),
      ['A@s5/a', 'B@s1/b', 'B@s2/b', 'B@s3/b', 'B@s4/b', 'B@s5/b'],
      `seed ${seed}`,
    );
    const toA = offers.find((o) => o.frameworkId.value === 'A');
    assert.equal(toA?.resources.unallocate().toString(), 'cpus(a):2', `seed ${seed}`);
  }
});

test("allocator splits an agent between unreserved use and a reservation's role", () => {
  const bed = new Bed()
    .agent('s1', 'cpus:2;mem:2048;cpus(ops):4;mem(ops):1024')
    .framework('eng', ['eng'])
    .framework('ops', ['ops']);
  const offers = bed.allocate();
  const byFramework = Object.fromEntries(
    offers.map((o) => [o.frameworkId.value, o.resources.unallocate().toString()]),
  );
  // Equal shares: ties go by name, so eng picks first and gets the unreserved part; ops its reservation.
  assert.deepEqual(byFramework, { eng: 'cpus:2;mem:2048', ops: 'cpus(ops):4;mem(ops):1024' });
});

test('allocator offers refined reservations only to frameworks that understand them', () => {
  const refined = Resources.fromWire([
    {
      name: 'cpus',
      type: 'SCALAR',
      scalar: { value: 2 },
      reservations: [
        { type: 'DYNAMIC', role: 'eng', principal: 'ops' },
        { type: 'DYNAMIC', role: 'eng/web', principal: 'ops' },
      ],
    },
    { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
  ]);
  const bed = new Bed().handle({
    kind: 'agentAdded',
    agentId: agentId('s1'),
    total: refined,
    used: new Map(),
  });
  bed.framework('old', ['eng/web']);
  const [plain] = bed.allocate();
  assert.equal(
    plain?.resources.hasRefinedReservations(),
    false,
    'no refined reservation for the old framework',
  );
  assert.equal(plain?.resources.scalar('cpus'), 0);
  bed.framework('new', ['eng/web'], { refinement: true });
  const [withRefinement] = bed.allocate();
  assert.equal(withRefinement?.frameworkId.value, 'new');
  assert.equal(withRefinement?.resources.scalar('cpus'), 2);
});

test('allocator does not offer crumbs below --min_allocatable_resources', () => {
  const bed = new Bed().agent('s1', 'cpus:0.005;mem:16;disk:100').framework('f', ['*']);
  assert.deepEqual(bed.allocate(), [], 'the default needs cpus:0.01 or mem:32');
  const lenient = new Bed({ minAllocatableResources: 'disk:50' })
    .agent('s1', 'cpus:0.005;mem:16;disk:100')
    .framework('f', ['*']);
  assert.equal(lenient.allocate().length, 1);
});

test('allocator parses --min_allocatable_resources alternatives, and rejects nonsense', () => {
  assert.deepEqual(
    parseMinAllocatable('cpus:0.01|mem:32').map((q) => Object.fromEntries(q)),
    [{ cpus: 10 }, { mem: 32_000 }],
  );
  assert.deepEqual(
    parseMinAllocatable('cpus:1;mem:64').map((q) => Object.fromEntries(q)),
    [{ cpus: 1000, mem: 64_000 }],
  );
  assert.throws(() => parseMinAllocatable('cpus:lots'), /min_allocatable_resources/);
  assert.throws(() => parseMinAllocatable('ports:[1-2]'), /scalars only/);
});

test("allocator gives a removed framework's resources to others", () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').framework('a', ['*']);
  assert.deepEqual(summary(bed.allocate()), ['a@s1/*']);
  bed.framework('b', ['*']);
  bed.handle({ kind: 'frameworkRemoved', frameworkId: frameworkId('a') });
  assert.deepEqual(summary(bed.allocate()), ['b@s1/*']);
  assert.deepEqual(bed.allocator.roles().find((r) => r.name === '*')?.frameworkIds, ['b']);
});

test('allocator cycle after resources come back visits the agents that changed, not idle ones', () => {
  // The agent order draws from `random` once per agent visited (a shuffle), so the draws
  // count the visits. 200 agents hold crumbs below --min_allocatable_resources: idle.
  let draws = 0;
  const random = seeded(7);
  const bed = new Bed({
    random: () => {
      draws += 1;
      return random();
    },
  });
  for (let i = 0; i < 200; i++) bed.agent(`crumbs${i}`, 'cpus:0.005;mem:16');
  bed
    .agent('big', 'cpus:4;mem:4096')
    .framework('f', ['a'])
    .quota('a', { limits: { cpus: 8 } });
  const [offer] = bed.allocate();
  assert.equal(offer?.agentId.value, 'big');
  assert.deepEqual(bed.allocate(), [], 'nothing changed: nothing to visit');
  draws = 0;
  if (offer !== undefined) bed.recover(offer);
  assert.deepEqual(summary(bed.allocate()), ['f@big/a']);
  assert.ok(draws <= 2, `${draws} draws: the cycle visited idle agents`);
});

test("allocator offers an agent kept idle by a limit once a removed framework's share frees room", () => {
  const bed = new Bed()
    .agent('s1', 'cpus:4;mem:4096')
    .agent('s2', 'cpus:4;mem:4096')
    .framework('F1', ['a'])
    .framework('F2', ['a'])
    .quota('a', { limits: { cpus: 4, mem: 4096 } });
  const [first, ...none] = bed.allocate();
  assert.equal(first?.frameworkId.value, 'F1', 'equal shares: F1 by name');
  assert.deepEqual(none, [], "the other agent: 'a' is at its limit");
  const held = first?.agentId.value ?? '';
  const other = held === 's1' ? 's2' : 's1';
  bed.handle({ kind: 'agentDeactivated', agentId: agentId(held) });
  assert.deepEqual(bed.allocate(), [], 'still at the limit');
  // F1's resources come back on an inactive agent: 'a' has room again, for the other agent only.
  bed.handle({ kind: 'frameworkRemoved', frameworkId: frameworkId('F1') });
  assert.deepEqual(summary(bed.allocate()), [`F2@${other}/a`]);
});

test('allocator gives back everything a removed framework held in two roles on one agent', () => {
  const bed = new Bed().agent('s1', 'cpus:4;mem:4096').handle({
    kind: 'frameworkAdded',
    frameworkId: frameworkId('a'),
    roles: ['x', 'y'],
    suppressedRoles: [],
    // Tasks in both roles on s1, as a re-registering framework reports them.
    used: new Map([
      ['s1', R('cpus:1;mem:1024').allocate('x').plus(R('cpus:3;mem:3072').allocate('y'))],
    ]),
  });
  assert.deepEqual(bed.allocate(), [], 'a holds all of s1');
  bed.framework('b', ['y']);
  bed.handle({ kind: 'frameworkRemoved', frameworkId: frameworkId('a') });
  const [offer] = bed.allocate();
  assert.ok(offer?.resources.unallocate().equals(R('cpus:4;mem:4096')), 'all of s1 comes back');
  assert.equal(offer?.frameworkId.value, 'b');
});

test('allocator keeps a role a framework left while it still holds ports there', () => {
  // With no --min_allocatable_resources, ports alone are offered; a framework that leaves
  // the role still holds them, and must be able to give them back.
  const bed = new Bed({ minAllocatableResources: '' })
    .agent('s1', 'ports:[31000-31010]')
    .framework('f', ['c']);
  const [offer] = bed.allocate();
  assert.equal(offer?.role, 'c');
  bed.handle({
    kind: 'frameworkUpdated',
    frameworkId: frameworkId('f'),
    roles: ['d'],
    suppressedRoles: [],
  });
  if (offer !== undefined) bed.recover(offer);
  assert.deepEqual(summary(bed.allocate()), ['f@s1/d']);
  assert.ok(
    bed.allocator.roles().every((role) => role.name !== 'c'),
    "'c' is gone once empty",
  );
});

test('allocator forgets a removed agent: no offers, and the cluster total shrinks', () => {
  const bed = new Bed()
    .agent('s1', 'cpus:4;mem:4096')
    .agent('s2', 'cpus:4;mem:4096')
    .framework('f', ['*']);
  assert.equal(bed.allocate().length, 2);
  bed.handle({ kind: 'agentRemoved', agentId: agentId('s1') });
  const role = bed.allocator.roles().find((r) => r.name === '*');
  assert.deepEqual(role?.allocated, { cpus: 4, mem: 4096 });
  assert.equal(role?.dominantShare, 1, 'all that is left is held by the one framework');
});

test('allocator does not offer resources that re-registered tasks use', () => {
  const bed = new Bed().framework('f', ['*']).framework('g', ['*']);
  bed.handle({
    kind: 'agentAdded',
    agentId: agentId('s1'),
    total: R('cpus:4;mem:4096'),
    used: new Map([['f', R('cpus:3;mem:1024').allocate('*')]]),
  });
  const offers = bed.allocate();
  assert.deepEqual(summary(offers), ['g@s1/*'], 'f already holds 3 CPUs: g (share 0) goes first');
  assert.ok(offers[0]?.resources.unallocate().equals(R('cpus:1;mem:3072')));
});

test('allocator gives a multi-role framework one offer per role, each allocated to it', () => {
  const bed = new Bed()
    .agent('s1', 'cpus(a):1;mem(a):512;cpus(b):1;mem(b):512')
    .framework('f', ['a', 'b']);
  const offers = bed.allocate();
  assert.deepEqual(summary(offers), ['f@s1/a', 'f@s1/b']);
  for (const offer of offers) assert.deepEqual(offer.resources.allocationRoles(), [offer.role]);
});

test('allocator is deterministic for the same events and seed', () => {
  const run = (seed: number) => {
    const bed = new Bed({}, seed).framework('a', ['x']).framework('b', ['y']);
    for (let i = 0; i < 20; i++)
      bed.agent(`s${i}`, `cpus:${1 + (i % 4)};mem:${1024 * (1 + (i % 3))}`);
    return bed
      .allocate()
      .map((o) => `${o.frameworkId.value}@${o.agentId.value}:${o.resources.toString()}`);
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8), 'another seed visits agents in another order');
});

test('refuseMsFrom follows Mesos: default 5 s, 0 means no filter, capped at 365 days', () => {
  const day = 24 * 60 * 60 * 1000;
  const cases: [seconds: number | undefined, ms: number][] = [
    [undefined, 5000],
    [-1, 5000],
    [Number.NaN, 5000],
    [0, 0],
    [1.5, 1500],
    [400 * 24 * 60 * 60, 365 * day],
    [Number.POSITIVE_INFINITY, 365 * day],
  ];
  for (const [seconds, ms] of cases) assert.equal(refuseMsFrom(seconds), ms, String(seconds));
});

test('allocator roles view reports weights, quota, consumption and frameworks', () => {
  const bed = new Bed()
    .agent('s1', 'cpus:4;mem:4096;cpus(eng):2;mem(eng):1024')
    .framework('f', ['eng/web'])
    .weights({ eng: 3 })
    .quota('eng', { guarantees: { cpus: 1 }, limits: { cpus: 5 } });
  bed.allocate();
  const eng = bed.allocator.roles().find((r) => r.name === 'eng');
  assert.equal(eng?.weight, 3);
  assert.deepEqual(eng?.guarantees, { cpus: 1 });
  assert.deepEqual(eng?.limits, { cpus: 5 });
  assert.deepEqual(eng?.reserved, { cpus: 2, mem: 1024 });
  // eng/web got its parent's reservation plus unreserved CPUs up to the limit (5 - 2 reserved = 3).
  assert.deepEqual(eng?.consumed, { cpus: 5, mem: 5120 });
  const web = bed.allocator.roles().find((r) => r.name === 'eng/web');
  assert.deepEqual(web?.frameworkIds, ['f']);
});

test('allocator offers an agent of another region only to REGION_AWARE frameworks', () => {
  const bed = new Bed()
    .handle({
      kind: 'agentAdded',
      agentId: agentId('remote'),
      total: R('cpus:4;mem:4096'),
      used: new Map(),
      isRemote: true,
    })
    .framework('unaware', ['*']);
  assert.deepEqual(bed.allocate(), [], 'the unaware framework is never offered the remote agent');
  bed.handle({
    kind: 'frameworkAdded',
    frameworkId: frameworkId('aware'),
    roles: ['*'],
    suppressedRoles: [],
    used: new Map(),
    capabilities: { reservationRefinement: false, regionAware: true },
  });
  assert.deepEqual(summary(bed.allocate()), ['aware@remote/*']);
  bed.agent('local', 'cpus:4;mem:4096');
  assert.deepEqual(
    summary(bed.allocate()),
    ['unaware@local/*'],
    'a local agent goes to either, here the framework with less',
  );
});
