import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executorLimits } from '../../src/agent/executor-limits.js';
import { Resources } from '../../src/resources/index.js';
import type { Resource } from '../../src/wire/index.js';

const executor = Resources.fromWire([
  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
]);
const asking = (cpus: number, mem: number): Resource[] => [
  { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
  { name: 'mem', type: 'SCALAR', scalar: { value: mem } },
];

test('executorLimits: none without the tasks having limits', () => {
  assert.equal(executorLimits(executor, [{}], false), undefined);
  assert.equal(executorLimits(executor, [{ limits: {} }], true), undefined);
  assert.equal(executorLimits(executor, [{ resources: asking(1, 64) }, {}], true), undefined);
});

test("executorLimits: the task's limit plus the executor's request, Infinity staying none", () => {
  assert.deepEqual(executorLimits(executor, [{ limits: { cpus: 0.5, mem: 96 } }], false), {
    cpus: 0.6,
    memMb: 128,
  });
  assert.deepEqual(executorLimits(executor, [{ limits: { mem: 'Infinity' } }], false), {
    memMb: Number.POSITIVE_INFINITY,
  });
  assert.deepEqual(executorLimits(Resources.EMPTY, [{ limits: { cpus: 1 } }], false), { cpus: 1 });
});

test("executorLimits: several tasks' limits add up, with the requests of those that have none", () => {
  const tasks = [
    { limits: { cpus: 1, mem: 256 }, resources: asking(0.5, 128) },
    { resources: asking(0.25, 64) },
  ];
  // Memory: 256 + the executor's 32 + the other task's 64. CPU: with CFS quotas the other
  // task's request counts too; without them there is no CPU limit (it would throttle that task).
  assert.deepEqual(executorLimits(executor, tasks, true), { cpus: 1.35, memMb: 352 });
  assert.deepEqual(executorLimits(executor, tasks, false), { memMb: 352 });
  assert.deepEqual(
    executorLimits(executor, [...tasks, { limits: { mem: 'Infinity' } }], true)?.memMb,
    Number.POSITIVE_INFINITY,
  );
});
