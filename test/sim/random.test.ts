import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exponential, mulberry32, uniform } from '../../src/sim/index.js';

test('mulberry32 gives the reference sequence for a seed', () => {
  const random = mulberry32(1);
  assert.deepEqual(
    [random(), random(), random()],
    [0.6270739405881613, 0.002735721180215478, 0.5274470399599522],
  );
});

test('mulberry32 stays in [0, 1) and differs between seeds', () => {
  const a = mulberry32(7);
  const b = mulberry32(8);
  let same = 0;
  for (let i = 0; i < 10_000; i++) {
    const x = a();
    assert.ok(x >= 0 && x < 1);
    if (x === b()) same++;
  }
  assert.equal(same, 0);
});

test('uniform draws in the range, rounded to the step', () => {
  const random = mulberry32(3);
  for (let i = 0; i < 1000; i++) {
    const cpus = uniform(random, 0.5, 2, 0.1);
    assert.ok(cpus >= 0.5 && cpus <= 2, String(cpus));
    assert.equal(Math.round(cpus * 10) / 10, cpus);
  }
});

test('exponential has the mean it is given, within 3% over 20,000 draws', () => {
  const random = mulberry32(5);
  let sum = 0;
  for (let i = 0; i < 20_000; i++) sum += exponential(random, 2000);
  assert.ok(Math.abs(sum / 20_000 - 2000) < 60, String(sum / 20_000));
});
