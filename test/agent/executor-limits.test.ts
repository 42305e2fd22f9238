import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executorLimits } from '../../src/agent/executor-limits.js';
import { Resources } from '../../src/resources/index.js';

const executor = Resources.fromWire([
  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
]);

test('executorLimits: none without the task having limits', () => {
  assert.equal(executorLimits(executor, {}), undefined);
  assert.equal(executorLimits(executor, { limits: {} }), undefined);
});

test("executorLimits: the task's limit plus the executor's request, Infinity staying none", () => {
  assert.deepEqual(executorLimits(executor, { limits: { cpus: 0.5, mem: 96 } }), {
    cpus: 0.6,
    memMb: 128,
  });
  assert.deepEqual(executorLimits(executor, { limits: { mem: 'Infinity' } }), {
    memMb: Number.POSITIVE_INFINITY,
  });
  assert.deepEqual(executorLimits(Resources.EMPTY, { limits: { cpus: 1 } }), { cpus: 1 });
});
