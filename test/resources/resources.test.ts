import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Resources } from '../../src/resources/index.js';
import { BadRequestError, type Resource } from '../../src/wire/index.js';

const cpus = (value: number, extra: Partial<Resource> = {}): Resource => ({
  name: 'cpus',
  type: 'SCALAR',
  scalar: { value },
  ...extra,
});
const ports = (...spans: [number, number][]): Resource => ({
  name: 'ports',
  type: 'RANGES',
  ranges: { range: spans.map(([begin, end]) => ({ begin, end })) },
});
const zones = (...item: string[]): Resource => ({ name: 'zones', type: 'SET', set: { item } });
const of = (...list: Resource[]) => Resources.fromWire(list);

test('resources scalars add in thousandths, so 0.1 + 0.2 is 0.3', () => {
  const sum = Resources.scalars({ cpus: 0.1 }).plus(Resources.scalars({ cpus: 0.2 }));
  assert.equal(sum.scalar('cpus'), 0.3);
  assert.ok(sum.equals(Resources.scalars({ cpus: 0.3 })));
  assert.deepEqual(sum.toWire(), [cpus(0.3)]);
});

test('resources scalars round at the fourth decimal', () => {
  const cases: [input: number, expected: number][] = [
    [1.2344, 1.234],
    [1.2346, 1.235],
    [0.0004, 0],
    [0.0006, 0.001],
    [2.5, 2.5],
    [1e-9, 0],
  ];
  for (const [input, expected] of cases) {
    assert.equal(of(cpus(input)).scalar('cpus'), expected, `${input}`);
    assert.equal(Resources.scalars({ cpus: input }).scalar('cpus'), expected, `${input}`);
  }
});

test('resources scalar that rounds to zero disappears', () => {
  assert.ok(of(cpus(0.0004)).isEmpty());
  assert.ok(Resources.scalars({ cpus: 0, mem: 0 }).isEmpty());
  assert.ok(
    of(cpus(1))
      .minus(of(cpus(1)))
      .isEmpty(),
  );
});

test('resources plus merges ranges and sets', () => {
  const cases: [name: string, x: Resource, y: Resource, sum: Resource][] = [
    ['adjacent ranges', ports([1, 3]), ports([4, 6]), ports([1, 6])],
    ['overlapping ranges', ports([1, 5]), ports([3, 8]), ports([1, 8])],
    ['disjoint ranges', ports([10, 12]), ports([1, 3]), ports([1, 3], [10, 12])],
    ['ranges bridged by a third', ports([1, 3], [7, 9]), ports([4, 6]), ports([1, 9])],
    ['unsorted input', ports([7, 9], [1, 2]), ports([3, 3]), ports([1, 3], [7, 9])],
    ['sets', zones('b', 'a'), zones('c', 'a'), zones('a', 'b', 'c')],
  ];
  for (const [name, x, y, sum] of cases) {
    assert.deepEqual(of(x).plus(of(y)).toWire(), [sum], name);
  }
});

test('resources minus splits ranges and removes set items', () => {
  const cases: [name: string, x: Resource, y: Resource, rest: Resource | undefined][] = [
    [
      'one port from the middle',
      ports([31000, 32000]),
      ports([31005, 31005]),
      ports([31000, 31004], [31006, 32000]),
    ],
    ['the first port', ports([31000, 32000]), ports([31000, 31000]), ports([31001, 32000])],
    ['the last port', ports([31000, 32000]), ports([32000, 32000]), ports([31000, 31999])],
    ['two holes', ports([1, 10]), ports([2, 3], [7, 8]), ports([1, 1], [4, 6], [9, 10])],
    ['everything', ports([1, 10]), ports([1, 10]), undefined],
    ['set items', zones('a', 'b', 'c'), zones('b'), zones('a', 'c')],
  ];
  for (const [name, x, y, rest] of cases) {
    assert.deepEqual(of(x).minus(of(y)).toWire(), rest === undefined ? [] : [rest], name);
  }
});

test('resources minus asserts containment', () => {
  const cases: [name: string, x: Resources, y: Resources][] = [
    ['more cpus', of(cpus(1)), of(cpus(1.001))],
    ['a port outside', of(ports([1, 10])), of(ports([5, 11]))],
    ['a missing set item', of(zones('a')), of(zones('a', 'b'))],
    ['another reservation', of(cpus(2)), of(cpus(1, { role: 'eng' }))],
    ['another allocation', of(cpus(2)), of(cpus(1)).allocate('eng')],
  ];
  for (const [name, x, y] of cases) {
    assert.equal(x.contains(y), false, name);
    assert.throws(() => x.minus(y), assert.AssertionError, name);
  }
});

test('resources of different identities never merge', () => {
  const list = [
    cpus(1),
    cpus(1, { role: 'eng' }),
    cpus(1, { role: 'eng', reservation: { principal: 'ops' } }),
    cpus(1, { allocation_info: { role: 'eng' } }),
    cpus(1, { revocable: {} }),
    cpus(1, { shared: {} }),
  ];
  const all = of(...list);
  assert.equal(all.toWire().length, list.length);
  assert.equal(all.scalar('cpus'), 6);
  assert.deepEqual(all.names(), ['cpus']);
  assert.equal(of(cpus(1), cpus(2)).toWire().length, 1);
});

test('resources labels of a reservation compare regardless of order', () => {
  const labelled = (labels: { key: string; value?: string }[]) =>
    of(cpus(1, { reservations: [{ type: 'DYNAMIC', role: 'eng', labels: { labels } }] }));
  const x = labelled([{ key: 'a', value: '1' }, { key: 'b' }]);
  const y = labelled([{ key: 'b' }, { key: 'a', value: '1' }]);
  assert.ok(x.equals(y));
  assert.equal(x.plus(y).scalar('cpus'), 2);
  assert.equal(x.plus(labelled([{ key: 'a', value: '2' }])).toWire().length, 2);
});

test('resources reserved, unreserved and reservedRoles select by current reservation', () => {
  const agent = of(
    cpus(4),
    cpus(2, { role: 'eng' }),
    cpus(1, { role: 'ops', reservation: { principal: 'ops' } }),
    cpus(0.5, {
      reservations: [
        { type: 'STATIC', role: 'eng' },
        { type: 'DYNAMIC', role: 'eng/web', principal: 'web' },
      ],
    }),
  );
  assert.equal(agent.unreserved().scalar('cpus'), 4);
  assert.equal(agent.reserved().scalar('cpus'), 3.5);
  assert.equal(agent.reserved('eng').scalar('cpus'), 2);
  assert.equal(agent.reserved('eng/web').scalar('cpus'), 0.5);
  assert.equal(agent.reserved('ops').scalar('cpus'), 1);
  assert.ok(agent.reserved('nobody').isEmpty());
  assert.deepEqual(agent.reservedRoles(), ['eng', 'eng/web', 'ops']);
});

test('resources allocate sets allocation_info and unallocate removes it', () => {
  const offered = of(cpus(1), cpus(2, { role: 'eng' }), ports([31000, 31010])).allocate('eng');
  assert.deepEqual(offered.allocationRoles(), ['eng']);
  for (const resource of offered.toWire())
    assert.deepEqual(resource.allocation_info, { role: 'eng' });
  assert.ok(
    offered.unallocate().equals(of(cpus(1), cpus(2, { role: 'eng' }), ports([31000, 31010]))),
  );
  assert.deepEqual(offered.unallocate().allocationRoles(), []);
  const mixed = of(cpus(1))
    .allocate('a')
    .plus(of(cpus(1)).allocate('b'));
  assert.deepEqual(mixed.allocationRoles(), ['a', 'b']);
  assert.deepEqual(mixed.allocate('c').toWire(), [cpus(2, { allocation_info: { role: 'c' } })]);
});

test('resources scalar sums over every reservation and allocation', () => {
  const r = of(cpus(1), cpus(0.25, { role: 'eng' }), cpus(0.5, { allocation_info: { role: 'x' } }));
  assert.equal(r.scalar('cpus'), 1.75);
  assert.equal(r.scalar('mem'), 0);
  assert.equal(of(ports([1, 2])).scalar('ports'), 0);
});

test('resources names lists each name once, sorted', () => {
  const r = of(ports([1, 2]), cpus(1), cpus(1, { role: 'eng' }), zones('a'));
  assert.deepEqual(r.names(), ['cpus', 'ports', 'zones']);
});

test('resources filter sees the post-refinement wire form', () => {
  const r = of(cpus(1), cpus(2, { role: 'eng' }), cpus(4, { revocable: {} }));
  const seen: Resource[] = [];
  const kept = r.filter((w) => {
    seen.push(w);
    return w.revocable === undefined;
  });
  assert.equal(kept.scalar('cpus'), 3);
  assert.ok(seen.every((w) => w.role === undefined));
  assert.deepEqual(seen[1]?.reservations, [{ type: 'STATIC', role: 'eng' }]);
});

test('resources empty is empty and neutral', () => {
  const r = of(cpus(1), ports([1, 2]));
  assert.ok(Resources.EMPTY.isEmpty());
  assert.ok(r.plus(Resources.EMPTY).equals(r));
  assert.ok(r.minus(Resources.EMPTY).equals(r));
  assert.ok(r.contains(Resources.EMPTY));
  assert.equal(Resources.EMPTY.contains(r), false);
  assert.deepEqual(Resources.EMPTY.toWire(), []);
  assert.equal(Resources.EMPTY.toString(), '');
  assert.ok(of(ports(), zones()).isEmpty());
});

test('resources values are not changed by operations', () => {
  const x = of(cpus(2), ports([1, 10]));
  const before = JSON.stringify(x.toWire());
  x.plus(of(cpus(1)));
  x.minus(of(ports([3, 4])));
  x.allocate('eng');
  assert.equal(JSON.stringify(x.toWire()), before);
  const wire = x.toWire();
  (wire[0] as { scalar: { value: number } }).scalar.value = 99;
  assert.equal(x.scalar('cpus'), 2);
});

// WIRE §3: the reservation formats, one row per state.
const FORMATS: {
  readonly state: string;
  readonly post: Resource;
  readonly pre: Resource | 'assert';
  readonly endpoint: Resource;
}[] = [
  {
    state: 'unreserved',
    post: cpus(1),
    pre: cpus(1, { role: '*' }),
    endpoint: cpus(1, { role: '*' }),
  },
  {
    state: 'static eng',
    post: cpus(1, { reservations: [{ type: 'STATIC', role: 'eng' }] }),
    pre: cpus(1, { role: 'eng' }),
    endpoint: cpus(1, { role: 'eng', reservations: [{ type: 'STATIC', role: 'eng' }] }),
  },
  {
    state: 'dynamic eng by ops',
    post: cpus(1, { reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'ops' }] }),
    pre: cpus(1, { role: 'eng', reservation: { principal: 'ops' } }),
    endpoint: cpus(1, {
      role: 'eng',
      reservation: { principal: 'ops' },
      reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'ops' }],
    }),
  },
  {
    state: 'refined eng to eng/web',
    post: cpus(1, {
      reservations: [
        { type: 'DYNAMIC', role: 'eng', principal: 'ops' },
        { type: 'DYNAMIC', role: 'eng/web' },
      ],
    }),
    pre: 'assert',
    endpoint: cpus(1, {
      reservations: [
        { type: 'DYNAMIC', role: 'eng', principal: 'ops' },
        { type: 'DYNAMIC', role: 'eng/web' },
      ],
    }),
  },
];

for (const { state, post, pre, endpoint } of FORMATS) {
  test(`resources ${state} converts between reservation formats`, () => {
    const r = of(post);
    assert.deepEqual(r.toWire(), [post]);
    assert.deepEqual(r.toWire('post-refinement'), [post]);
    assert.deepEqual(r.toWire('endpoint'), [endpoint]);
    assert.ok(of(endpoint).equals(r));
    if (pre === 'assert') {
      assert.throws(() => r.toWire('pre-refinement'), assert.AssertionError);
    } else {
      assert.deepEqual(r.toWire('pre-refinement'), [pre]);
      assert.ok(of(pre).equals(r));
    }
  });
}

test('resources dynamic reservation keeps its labels in the pre-refinement format', () => {
  const labels = { labels: [{ key: 'team', value: 'web' }] };
  const r = of(cpus(1, { role: 'eng', reservation: { principal: 'ops', labels } }));
  assert.deepEqual(r.toWire(), [
    cpus(1, { reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'ops', labels }] }),
  ]);
  assert.deepEqual(r.toWire('pre-refinement'), [
    cpus(1, { role: 'eng', reservation: { principal: 'ops', labels } }),
  ]);
  assert.deepEqual(of(cpus(1, { role: 'eng', reservation: {} })).toWire('pre-refinement'), [
    cpus(1, { role: 'eng', reservation: {} }),
  ]);
});

test('resources keep allocation_info, revocable, shared and disk in every format', () => {
  const volume: Resource = {
    name: 'disk',
    type: 'SCALAR',
    scalar: { value: 1024 },
    reservations: [{ type: 'DYNAMIC', role: 'db', principal: 'pg-op' }],
    allocation_info: { role: 'db' },
    disk: {
      persistence: { id: 'pgdata-1', principal: 'pg-op' },
      volume: { container_path: 'pgdata', mode: 'RW' },
    },
    shared: {},
  };
  const r = of(volume, cpus(1, { revocable: {} }));
  assert.deepEqual(r.toWire(), [volume, cpus(1, { revocable: {} })]);
  for (const format of ['pre-refinement', 'endpoint'] as const) {
    const [disk, cpu] = r.toWire(format);
    assert.deepEqual(disk?.disk, volume.disk);
    assert.deepEqual(disk?.allocation_info, { role: 'db' });
    assert.deepEqual(disk?.shared, {});
    assert.deepEqual(cpu?.revocable, {});
  }
});

test('resources fromWire rejects what the schema cannot see', () => {
  const cases: [name: string, resource: Resource, reason: RegExp][] = [
    ['scalar missing', { name: 'cpus', type: 'SCALAR' }, /'cpus' has no scalar/],
    ['negative scalar', cpus(-1), /scalar -1/],
    ['ranges missing', { name: 'ports', type: 'RANGES' }, /'ports' has no ranges/],
    ['inverted range', ports([5, 1]), /range 5-1/],
    ['set missing', { name: 'zones', type: 'SET' }, /'zones' has no set/],
    ['reservation on *', cpus(1, { role: '*', reservation: { principal: 'p' } }), /role '\*'/],
    ['invalid role', cpus(1, { role: '-x' }), /'-x'/],
    ['reservation without role', cpus(1, { reservations: [{ type: 'STATIC' }] }), /without a role/],
    [
      'refinement to a non-subrole',
      cpus(1, {
        reservations: [
          { type: 'STATIC', role: 'eng' },
          { type: 'DYNAMIC', role: 'ops' },
        ],
      }),
      /'eng' to 'ops'/,
    ],
    [
      'static refinement',
      cpus(1, {
        reservations: [
          { type: 'DYNAMIC', role: 'eng' },
          { type: 'STATIC', role: 'eng/a' },
        ],
      }),
      /non-DYNAMIC/,
    ],
  ];
  for (const [name, resource, reason] of cases) {
    assert.throws(
      () => Resources.fromWire([resource]),
      (error: unknown) =>
        error instanceof BadRequestError &&
        error.field === 'resources' &&
        reason.test(error.reason),
      name,
    );
  }
});

test('resources toString prints the agent flag syntax', () => {
  const cases: [Resources, string][] = [
    [Resources.parse('cpus:2;mem:1024;ports:[31000-32000]'), 'cpus:2;mem:1024;ports:[31000-32000]'],
    [Resources.scalars({ cpus: 0.1, mem: 128.5 }), 'cpus:0.1;mem:128.5'],
    [of(cpus(1, { role: 'eng' }), zones('b', 'a')), 'cpus(eng):1;zones:{a,b}'],
    [of(ports([1, 2], [5, 6])), 'ports:[1-2,5-6]'],
  ];
  for (const [r, text] of cases) assert.equal(r.toString(), text);
});

test('resources toString describes what the flag syntax cannot', () => {
  const r = of(
    cpus(1, { role: 'eng', reservation: { principal: 'ops' }, allocation_info: { role: 'eng' } }),
    cpus(2, { revocable: {} }),
  );
  assert.equal(
    r.toString(),
    'cpus(allocated: eng)(reservations: [(DYNAMIC,eng,ops)]):1;cpus{REV}:2',
  );
});

test('resources allocatableTo keeps unreserved and the role and its ancestors reservations', () => {
  const r = Resources.parse('cpus:1;cpus(eng):2;cpus(eng/web):4;cpus(ops):8');
  assert.equal(r.allocatableTo('eng/web').scalar('cpus'), 7);
  assert.equal(r.allocatableTo('eng').scalar('cpus'), 3);
  assert.equal(r.allocatableTo('ops').scalar('cpus'), 9);
  assert.equal(r.allocatableTo('*').scalar('cpus'), 1);
});

test('resources scalarMillis sums each scalar name in thousandths', () => {
  const millis = Resources.parse('cpus:0.1;cpus(eng):0.2;mem:32;ports:[1-2]').scalarMillis();
  assert.deepEqual([...millis.entries()].sort(), [
    ['cpus', 300],
    ['mem', 32_000],
  ]);
});

test('resources shrinkQuotaScalars cuts only unreserved scalars, per name', () => {
  const r = Resources.parse('cpus:4;cpus(eng):2;mem:1024;ports:[1-5]');
  const shrunk = r.shrinkQuotaScalars(
    new Map([
      ['cpus', 1500],
      ['mem', 0],
    ]),
  );
  assert.equal(shrunk.unreserved().scalar('cpus'), 1.5);
  assert.equal(shrunk.reserved('eng').scalar('cpus'), 2);
  assert.equal(shrunk.scalar('mem'), 0);
  assert.ok(shrunk.contains(Resources.parse('ports:[1-5]')));
  assert.equal(r.shrinkQuotaScalars(new Map([['cpus', 10_000]])), r, 'nothing to cut: same value');
  assert.ok(r.quotaScalars().plus(r.withoutQuotaScalars()).equals(r));
});

test('resources popReservation and withoutDynamicReservations undo RESERVE', () => {
  const unreserved = Resources.parse('cpus:2;mem:512');
  const reserved = Resources.fromWire([
    {
      name: 'cpus',
      type: 'SCALAR',
      scalar: { value: 2 },
      reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'p' }],
    },
  ]);
  const refined = Resources.fromWire([
    {
      name: 'cpus',
      type: 'SCALAR',
      scalar: { value: 2 },
      reservations: [
        { type: 'STATIC', role: 'eng' },
        { type: 'DYNAMIC', role: 'eng/web', principal: 'p' },
      ],
    },
  ]);
  assert.ok(reserved.popReservation().equals(Resources.parse('cpus:2')));
  assert.ok(reserved.isDynamicallyReserved());
  assert.ok(!unreserved.isDynamicallyReserved());
  assert.ok(
    refined.popReservation().equals(Resources.parse('cpus(eng):2')),
    'back to the static reservation',
  );
  assert.ok(refined.withoutDynamicReservations().equals(Resources.parse('cpus(eng):2')));
  assert.ok(!Resources.parse('cpus(eng):2').isDynamicallyReserved(), 'static is not dynamic');
  assert.ok(
    reserved.allocate('eng').popReservation().equals(Resources.parse('cpus:2').allocate('eng')),
    'keeps allocation',
  );
});
