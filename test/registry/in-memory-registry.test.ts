import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  InMemoryRegistry,
  RegistryClosedError,
} from '../../src/registry/index.js';
import { agent, fold, operations } from './fixtures.js';

test('in-memory registry recovers the state it was given', async () => {
  const initial = applyOperation(EMPTY_REGISTRY_STATE, {
    kind: 'admitAgent',
    agent: agent('a1'),
  });
  const registry = new InMemoryRegistry({ initial });
  assert.equal(await registry.recover(), initial);
  assert.equal(registry.recoveryReport?.recordsReplayed, 0);
  await registry.close();
});

test('in-memory registry applies concurrent calls in call order', async () => {
  const registry = new InMemoryRegistry();
  await registry.recover();
  const ops = operations(15);
  const results = await Promise.all(ops.map((op) => registry.apply(op)));
  results.forEach((state, i) => {
    assert.deepEqual(state, fold(ops.slice(0, i + 1)));
  });
  await registry.close();
});

test('in-memory registry refuses what the embedded one would refuse', async () => {
  const registry = new InMemoryRegistry();
  const op = { kind: 'admitAgent', agent: { ...agent('a1'), port: Number.NaN } } as const;
  await assert.rejects(registry.apply(op), assert.AssertionError, 'apply before recover');
  await registry.recover();
  await assert.rejects(registry.apply(op), assert.AssertionError, 'not storable as JSON');
  await registry.close();
  await registry.close();
  await assert.rejects(registry.apply(operations(1)[0] ?? assert.fail()), RegistryClosedError);
});
