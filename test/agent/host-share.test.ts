import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type HostShare, splitHost } from '../../src/agent/host-share.js';

const HOST: HostShare = {
  cpus: 2,
  memMb: 23552,
  diskMb: 75776,
  ports: { begin: 31000, end: 32000 },
};

test('splitHost gives two agents half a 2-CPU host each, and disjoint ports', () => {
  assert.deepEqual(splitHost(HOST, 2), [
    { cpus: 1, memMb: 11776, diskMb: 37888, ports: { begin: 31000, end: 31499 } },
    { cpus: 1, memMb: 11776, diskMb: 37888, ports: { begin: 31500, end: 31999 } },
  ]);
});

test('splitHost gives one agent the whole host', () => {
  assert.deepEqual(splitHost(HOST, 1), [HOST]);
});

test('splitHost rounds cpus down to three decimals, and to whole CPUs when they divide', () => {
  const cases: [cpus: number, count: number, each: number][] = [
    [2, 3, 0.666],
    [8, 4, 2],
    [3, 2, 1.5],
    [1, 7, 0.142],
    [0.5, 2, 0.25],
  ];
  for (const [cpus, count, each] of cases)
    assert.equal(splitHost({ ...HOST, cpus }, count)[0]?.cpus, each, `${cpus} CPUs / ${count}`);
});

test('splitHost refuses a split that leaves an agent no CPU or no port', () => {
  assert.throws(() => splitHost({ ...HOST, cpus: 1 }, 1001), /cannot share 1 CPUs/);
  assert.throws(() => splitHost({ ...HOST, cpus: 2000 }, 1002), /cannot share the ports/);
  assert.throws(() => splitHost(HOST, 0), RangeError);
});

test('splitHost shares never add up to more than the host, and never overlap on a port', () => {
  const host = fc.record({
    cpus: fc.integer({ min: 1, max: 256_000 }).map((m) => m / 1000),
    memMb: fc.nat(1_000_000),
    diskMb: fc.nat(10_000_000),
    ports: fc
      .tuple(fc.integer({ min: 1, max: 65535 }), fc.nat(5000))
      .map(([begin, length]) => ({ begin, end: Math.min(65535, begin + length) })),
  });
  fc.assert(
    fc.property(host, fc.integer({ min: 1, max: 64 }), (h, count) => {
      let shares: HostShare[];
      try {
        shares = splitHost(h, count);
      } catch (error) {
        return error instanceof RangeError;
      }
      const sum = (pick: (s: HostShare) => number) => shares.reduce((a, s) => a + pick(s), 0);
      assert.equal(shares.length, count);
      assert.ok(Math.round(sum((s) => s.cpus) * 1000) <= Math.round(h.cpus * 1000));
      assert.ok(sum((s) => s.memMb) <= h.memMb);
      assert.ok(sum((s) => s.diskMb) <= h.diskMb);
      shares.forEach((s, i) => {
        assert.ok(s.ports.begin >= h.ports.begin && s.ports.end <= h.ports.end);
        assert.ok(s.ports.begin <= s.ports.end);
        const next = shares[i + 1];
        if (next !== undefined) assert.ok(s.ports.end < next.ports.begin);
      });
      return true;
    }),
  );
});
