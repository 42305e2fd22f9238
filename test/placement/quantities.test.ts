import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dominantShare, offerFree, sumQuantities } from '../../src/placement/index.js';
import { Resources } from '../../src/resources/index.js';

test('offer free sums scalars over reservations and allocation, and leaves ports out', () => {
  const offered = Resources.parse('cpus:4;mem:1024;ports:[31000-32000];cpus(eng):2;disk:0');
  assert.deepEqual(offerFree(offered), { cpus: 6, mem: 1024 });
  assert.deepEqual(offerFree(offered.allocate('eng')), { cpus: 6, mem: 1024 });
  assert.deepEqual(offerFree(Resources.EMPTY), {});
});

test('sum quantities adds per name in thousandths', () => {
  assert.deepEqual(sumQuantities([{ cpus: 0.1, mem: 1 }, { cpus: 0.2 }, {}]), {
    cpus: 0.3,
    mem: 1,
  });
  assert.deepEqual(sumQuantities([]), {});
  assert.throws(() => sumQuantities([{ cpus: -1 }]), assert.AssertionError);
});

test('dominant share is the largest share of the cluster, ignoring what it has none of', () => {
  const capacity = { cpus: 320, mem: 1_310_720, gpus: 0 };
  assert.equal(dominantShare({ cpus: 16, mem: 16_384 }, capacity), 0.05);
  assert.equal(dominantShare({ cpus: 1, mem: 131_072 }, capacity), 0.1);
  assert.equal(dominantShare({ gpus: 2, disk: 10 }, capacity), 0);
  assert.equal(dominantShare({}, capacity), 0);
});
