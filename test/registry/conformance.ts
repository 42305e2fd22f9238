// One contract, every Registry: the same cases run against the embedded store,
// the in-memory one, ZooKeeper and etcd (conformance.test.ts). What only one
// store can do (crash images, fencing) is tested in that store's own file.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Registry,
  RegistryClosedError,
  type RegistryOperation,
} from '../../src/registry/index.js';
import { agentId } from '../../src/wire/index.js';
import { agent, fold, operations } from './fixtures.js';

export interface RegistryFactory {
  /** A new registry on the same store each call (not yet recovered); closed by the suite. */
  open(): Promise<Registry>;
  /** Whether a registry opened after close() finds what was written (false for in-memory). */
  readonly isDurable: boolean;
}

/**
 * Registers the conformance cases for one store. `makeStore` gives a fresh,
 * empty store for each case.
 */
export function registryConformance(name: string, makeStore: () => Promise<RegistryFactory>): void {
  describe(`${name} registry conformance`, () => {
    test('a fresh store recovers the empty state', async () => {
      const store = await makeStore();
      const registry = await store.open();
      assert.deepEqual(await registry.recover(), fold([]));
      await registry.close();
    });

    test('concurrent applies resolve in call order, each with the state after it', async () => {
      const store = await makeStore();
      const registry = await store.open();
      await registry.recover();
      const ops = operations(12);
      const results = await Promise.all(ops.map((op) => registry.apply(op)));
      results.forEach((state, i) => {
        assert.deepEqual(state, fold(ops.slice(0, i + 1)));
      });
      await registry.close();
    });

    test('a registry opened after close recovers everything acknowledged', async (t) => {
      const store = await makeStore();
      if (!store.isDurable) return t.skip('not durable');
      const ops = operations(20);
      const first = await store.open();
      await first.recover();
      for (const op of ops.slice(0, 10)) await first.apply(op);
      await first.close();
      const second = await store.open();
      assert.deepEqual(await second.recover(), fold(ops.slice(0, 10)));
      for (const op of ops.slice(10)) await second.apply(op);
      await second.close();
      const third = await store.open();
      assert.deepEqual(await third.recover(), fold(ops));
      await third.close();
    });

    test('a malformed operation is refused and nothing of it is written', async () => {
      const store = await makeStore();
      const registry = await store.open();
      await registry.recover();
      const good = operations(2);
      await registry.apply(good[0] ?? assert.fail());
      await assert.rejects(
        registry.apply({ kind: 'admitAgent', agent: { hostname: 'no-id' } }),
        assert.AssertionError,
      );
      await assert.rejects(
        registry.apply({ kind: 'admitAgent', agent: { ...agent('nan'), port: Number.NaN } }),
        assert.AssertionError,
      );
      assert.deepEqual(await registry.apply(good[1] ?? assert.fail()), fold(good));
      await registry.close();
      if (!store.isDurable) return;
      const again = await store.open();
      assert.deepEqual(await again.recover(), fold(good));
      await again.close();
    });

    test('apply before recover fails an assertion; after close it is RegistryClosedError', async () => {
      const store = await makeStore();
      const registry = await store.open();
      const op: RegistryOperation = { kind: 'removeAgent', agentId: agentId('a0') };
      await assert.rejects(registry.apply(op), assert.AssertionError);
      await registry.recover();
      await registry.close();
      await registry.close();
      await assert.rejects(registry.apply(op), RegistryClosedError);
    });

    test('a state over 1 MiB round-trips (past ZooKeeper and etcd value limits)', async () => {
      const store = await makeStore();
      const registry = await store.open();
      await registry.recover();
      // 40,000 roles with weights: about 1.6 MB of snapshot JSON.
      const big: RegistryOperation = {
        kind: 'updateWeights',
        weights: Array.from({ length: 40_000 }, (_, i) => ({
          role: `role-with-a-longish-name-${i}`,
          weight: 1 + (i % 7),
        })),
      };
      const small = operations(3);
      assert.deepEqual(await registry.apply(big), fold([big]));
      for (const op of small) await registry.apply(op);
      await registry.close();
      if (!store.isDurable) return;
      const again = await store.open();
      assert.deepEqual(await again.recover(), fold([big, ...small]));
      await again.close();
    });
  });
}
