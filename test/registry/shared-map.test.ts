import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedMap } from '../../src/registry/shared-map.js';

test('shared map versions stay what they were while later ones change', () => {
  // A seeded walk of sets and deletes, checked against plain Maps version by version.
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const versions: { shared: SharedMap<number>; plain: Map<string, number> }[] = [
    { shared: SharedMap.of(new Map<string, number>()), plain: new Map() },
  ];
  for (let step = 0; step < 3_000; step++) {
    const last = versions.at(-1);
    assert.ok(last !== undefined);
    const key = `k${random(400)}`;
    const plain = new Map(last.plain);
    let shared: SharedMap<number>;
    if (random(3) === 0) {
      plain.delete(key);
      shared = last.shared.delete(key);
    } else {
      plain.set(key, step);
      shared = last.shared.set(key, step);
    }
    versions.push({ shared, plain });
  }
  for (const [i, { shared, plain }] of versions.entries()) {
    if (i % 97 !== 0 && i !== versions.length - 1) continue;
    assert.equal(shared.size, plain.size, `size of version ${i}`);
    assert.deepEqual(shared.toMap(), plain, `entries of version ${i}`);
    for (let k = 0; k < 400; k++) {
      assert.equal(shared.has(`k${k}`), plain.has(`k${k}`));
      assert.equal(shared.get(`k${k}`), plain.get(`k${k}`));
    }
  }
});

test('shared map deletes of absent keys return the same version', () => {
  const map = SharedMap.of(new Map([['a', 1]]));
  assert.equal(map.delete('b'), map);
  assert.equal(map.delete('a').has('a'), false);
  assert.equal(map.has('a'), true);
});
