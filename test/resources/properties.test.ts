import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseResourcesFlag, Resources } from '../../src/resources/index.js';
import type { Resource } from '../../src/wire/index.js';
import {
  arbNonEmptyResources,
  arbPlainResources,
  arbResources,
  arbUnrefinedResources,
} from './arbitraries.js';

const a = arbResources();
const RUNS = { numRuns: 300 };

/**
 * `y` without the ports and set items it shares with `x`. Ranges and sets are sets, as in
 * Mesos: [1-5] + [3-8] is [1-8], so (a + b) - b == a holds only when a and b share no range or
 * set element of the same identity (scalars always add). This makes any `y` so.
 */
function apartFrom(x: Resources, y: Resources): Resources {
  return x.plus(y).minus(x);
}

test('resources plus then minus gives back the original', () => {
  fc.assert(
    fc.property(a, a, (x, y) => {
      const b = apartFrom(x, y);
      return x.plus(b).minus(b).equals(x);
    }),
    RUNS,
  );
});

test('resources plus then minus of scalars gives back the original, overlapping or not', () => {
  const scalarsOnly = arbResources().map((r) => r.filter((w) => w.type === 'SCALAR'));
  fc.assert(
    fc.property(a, scalarsOnly, (x, y) => x.plus(y).minus(y).equals(x)),
    RUNS,
  );
});

test('resources sum contains each addend', () => {
  fc.assert(
    fc.property(a, a, (x, y) => x.plus(y).contains(x) && x.plus(y).contains(y)),
    RUNS,
  );
});

test('resources sum of repeated values equals the chain of plus, in value and wire order', () => {
  // Tasks of one shape share their value, so a sum adds a run of one object as a multiple,
  // and a sum of one value is that value's kept multiple.
  const pool = fc.array(a, { minLength: 1, maxLength: 12 });
  const picks = fc.array(fc.nat(), { maxLength: 30 });
  fc.assert(
    fc.property(pool, picks, (values, indexes) => {
      const parts = indexes.map((i) => values[i % values.length] as Resources);
      const chained = parts.reduce((sum, part) => sum.plus(part), Resources.EMPTY);
      const summed = Resources.sum(parts);
      assert.ok(summed.equals(chained), `${summed.toString()} != ${chained.toString()}`);
      assert.deepEqual(summed.toWire('endpoint'), chained.toWire('endpoint'));
      // Asked again (a kept multiple), the same answer.
      assert.ok(Resources.sum(parts).equals(chained));
    }),
    RUNS,
  );
});

test('resources sum of many distinct values, some again, keeps the chain order', () => {
  // Twelve values, each of a name of its own, in a rotated order, then some again.
  const values = Array.from({ length: 12 }, (_, k) => Resources.scalars({ [`r${k}`]: 1 }));
  fc.assert(
    fc.property(fc.array(fc.nat(11), { maxLength: 20 }), fc.nat(4), (again, shift) => {
      const parts = [
        ...values.slice(shift),
        ...values.slice(0, shift),
        ...again.map((i) => values[i] as Resources),
      ];
      const chained = parts.reduce((sum, part) => sum.plus(part), Resources.EMPTY);
      assert.deepEqual(Resources.sum(parts).toWire(), chained.toWire());
    }),
    RUNS,
  );
});

test('resources times(n) is n copies added up, and the same value for the same n', () => {
  fc.assert(
    fc.property(a, fc.integer({ min: 1, max: 40 }), (x, n) => {
      let chained = x;
      for (let i = 1; i < n; i++) chained = chained.plus(x);
      assert.ok(x.times(n).equals(chained));
      assert.deepEqual(x.times(n).toWire(), chained.toWire());
      assert.equal(x.times(n), x.times(n));
      if (!x.isEmpty()) assert.equal(Resources.sum(Array.from({ length: n }, () => x)), x.times(n));
    }),
    RUNS,
  );
});

test('resources allocationRoles are the distinct allocation roles of the wire form, sorted', () => {
  fc.assert(
    fc.property(a, (x) => {
      const roles = x
        .toWire()
        .flatMap((r) => (r.allocation_info?.role !== undefined ? [r.allocation_info.role] : []));
      assert.deepEqual(x.allocationRoles(), [...new Set(roles)].sort());
      assert.equal(x.allocationRoles(), x.allocationRoles());
    }),
    RUNS,
  );
});

test('resources plus is commutative', () => {
  fc.assert(
    fc.property(a, a, (x, y) => x.plus(y).equals(y.plus(x))),
    RUNS,
  );
});

test('resources plus is associative', () => {
  fc.assert(
    fc.property(a, a, a, (x, y, z) =>
      x
        .plus(y)
        .plus(z)
        .equals(x.plus(y.plus(z))),
    ),
    RUNS,
  );
});

test('resources contain themselves', () => {
  fc.assert(
    fc.property(a, (x) => x.contains(x) && x.equals(x)),
    RUNS,
  );
});

test('resources minus themselves are empty', () => {
  fc.assert(
    fc.property(a, (x) => x.minus(x).isEmpty()),
    RUNS,
  );
});

test('resources minus leaves what contains agrees is left', () => {
  fc.assert(
    fc.property(a, a, (x, y) => {
      const b = apartFrom(x, y);
      const sum = x.plus(b);
      const rest = sum.minus(x);
      return rest.equals(b) && sum.contains(rest) && rest.plus(x).equals(sum);
    }),
    RUNS,
  );
});

test('resources scalar sums exactly across plus', () => {
  fc.assert(
    fc.property(a, a, fc.constantFrom('cpus', 'mem', 'disk', 'gpus'), (x, y, name) => {
      const millis = (r: Resources) => Math.round(r.scalar(name) * 1000);
      return millis(x.plus(y)) === millis(x) + millis(y);
    }),
    RUNS,
  );
});

test('resources minus of a value not contained throws an assertion', () => {
  fc.assert(
    fc.property(a, arbNonEmptyResources, (x, extra) => {
      // A set or range element x already holds adds nothing (sets are sets), so
      // only what x lacks makes the sum bigger.
      const more = apartFrom(x, extra);
      fc.pre(!more.isEmpty());
      assert.equal(x.contains(x.plus(more)), false);
      assert.throws(() => x.minus(x.plus(more)), assert.AssertionError);
    }),
    RUNS,
  );
});

for (const format of ['post-refinement', 'endpoint'] as const) {
  test(`resources read back their ${format} wire form`, () => {
    fc.assert(
      fc.property(a, (x) => Resources.fromWire(x.toWire(format)).equals(x)),
      RUNS,
    );
  });
}

test('resources without refined reservations read back their pre-refinement wire form', () => {
  fc.assert(
    fc.property(arbUnrefinedResources, (x) =>
      Resources.fromWire(x.toWire('pre-refinement')).equals(x),
    ),
    RUNS,
  );
});

test('resources survive a JSON round trip of the wire form', () => {
  fc.assert(
    fc.property(a, (x) => {
      const json = JSON.parse(JSON.stringify(x.toWire())) as Resource[];
      return Resources.fromWire(json).equals(x);
    }),
    RUNS,
  );
});

test('resources unreserved and static parse back from toString', () => {
  fc.assert(
    fc.property(arbPlainResources, (x) => Resources.parse(x.toString()).equals(x)),
    RUNS,
  );
});

test('resources flag reads back the JSON array of their wire form', () => {
  fc.assert(
    fc.property(a, (x) => parseResourcesFlag(JSON.stringify(x.toWire())).equals(x)),
    RUNS,
  );
});

test('resources split into unreserved and reserved parts that add up', () => {
  fc.assert(
    fc.property(a, (x) => {
      const byRole = x
        .reservedRoles()
        .reduce((sum, role) => sum.plus(x.reserved(role)), Resources.EMPTY);
      return x.unreserved().plus(x.reserved()).equals(x) && byRole.equals(x.reserved());
    }),
    RUNS,
  );
});

test('resources allocate then unallocate keeps every quantity', () => {
  fc.assert(
    fc.property(a, (x) => {
      const allocated = x.allocate('eng');
      assert.ok(allocated.allocationRoles().length <= 1);
      assert.ok(allocated.unallocate().equals(x.unallocate()));
      for (const name of x.names()) assert.equal(allocated.scalar(name), x.scalar(name));
    }),
    RUNS,
  );
});

test('resources ranges agree with a model of port sets', () => {
  const ports = fc.array(
    fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 6 })),
    { maxLength: 5 },
  );
  const toResources = (spans: readonly (readonly [number, number])[]) =>
    Resources.fromWire([
      {
        name: 'ports',
        type: 'RANGES',
        ranges: { range: spans.map(([b, n]) => ({ begin: b, end: b + n })) },
      },
    ]);
  const model = (r: Resources): number[] => {
    const set = new Set<number>();
    for (const resource of r.toWire())
      for (const { begin, end } of resource.ranges?.range ?? [])
        for (let p = begin; p <= end; p++) set.add(p);
    return [...set].sort((x, y) => x - y);
  };
  fc.assert(
    fc.property(ports, ports, (xs, ys) => {
      const x = toResources(xs);
      const y = toResources(ys);
      const inX = new Set(model(x));
      const inY = new Set(model(y));
      assert.deepEqual(
        model(x.plus(y)),
        [...new Set([...inX, ...inY])].sort((p, q) => p - q),
      );
      assert.equal(
        x.contains(y),
        [...inY].every((p) => inX.has(p)),
      );
      if (x.contains(y)) {
        assert.deepEqual(
          model(x.minus(y)),
          [...inX].filter((p) => !inY.has(p)).sort((p, q) => p - q),
        );
      }
      // Normalised: no two intervals touch or overlap.
      for (const resource of x.plus(y).toWire()) {
        const range = resource.ranges?.range ?? [];
        for (let i = 1; i < range.length; i++) {
          const previous = range[i - 1];
          const current = range[i];
          assert.ok(previous !== undefined && current !== undefined);
          assert.ok(previous.end + 1 < current.begin);
        }
      }
    }),
    RUNS,
  );
});
