// One contract, every framework store: in-memory, the embedded log on a temp
// dir, a chunk store in memory, ZooKeeper and etcd (both started here).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import zookeeper from 'node-zookeeper-client';
import { zkCall } from '../../src/coordination/index.js';
import {
  ChunkedFrameworkStore,
  EmbeddedFrameworkStore,
  etcdFrameworkStore,
  type FrameworkStore,
  FrameworkStoreInputError,
  InMemoryFrameworkStore,
  RegistryClosedError,
  RegistryFailedError,
  RegistryLockedError,
  zooKeeperFrameworkStore,
} from '../../src/registry/index.js';
import { type Server, startEtcd, startZooKeeper } from '../coordination/servers.js';

interface StoreFactory {
  open(): Promise<FrameworkStore>;
  readonly isDurable: boolean;
}

function conformance(name: string, make: () => Promise<StoreFactory>): void {
  describe(`${name} framework store`, () => {
    test('a fresh store recovers nothing', async () => {
      const store = await (await make()).open();
      assert.deepEqual([...(await store.recover())], []);
      await store.close();
    });

    test('writes apply in order, atomically per batch, and survive a reopen', async () => {
      const factory = await make();
      const store = await factory.open();
      await store.recover();
      const writes = [];
      for (let i = 0; i < 50; i++)
        writes.push(store.write([{ kind: 'put', key: `k:${i % 7}`, value: `v${i}` }]));
      writes.push(
        store.write([
          { kind: 'delete', key: 'k:0' },
          { kind: 'put', key: 'app:/team/web', value: '{"id":"/team/web"}' },
        ]),
      );
      await Promise.all(writes);
      const expected = new Map([
        ['k:1', 'v43'],
        ['k:2', 'v44'],
        ['k:3', 'v45'],
        ['k:4', 'v46'],
        ['k:5', 'v47'],
        ['k:6', 'v48'],
        ['app:/team/web', '{"id":"/team/web"}'],
      ]);
      assert.deepEqual(new Map(store.snapshot()), expected);
      await store.close();
      if (!factory.isDurable) return;
      const again = await factory.open();
      assert.deepEqual(new Map(await again.recover()), expected);
      await again.write([{ kind: 'delete', key: 'k:1' }]);
      await again.close();
      const third = await factory.open();
      expected.delete('k:1');
      assert.deepEqual(new Map(await third.recover()), expected);
      await third.close();
    });

    test('bad keys and oversized values are refused, and nothing of the batch is written', async () => {
      const store = await (await make()).open();
      await store.recover();
      for (const changes of [
        [{ kind: 'put' as const, key: '', value: 'x' }],
        [{ kind: 'put' as const, key: 'has space', value: 'x' }],
        [{ kind: 'put' as const, key: 'k'.repeat(513), value: 'x' }],
        [
          { kind: 'put' as const, key: 'ok', value: 'x' },
          { kind: 'put' as const, key: 'big', value: 'x'.repeat(1024 * 1024 + 1) },
        ],
      ])
        await assert.rejects(store.write(changes), FrameworkStoreInputError);
      assert.equal(store.snapshot().size, 0);
      await store.write([{ kind: 'put', key: 'ok', value: 'fine' }]);
      assert.equal(store.snapshot().get('ok'), 'fine');
      await store.close();
    });

    test('a write after close is refused', async () => {
      const store = await (await make()).open();
      await store.recover();
      await store.close();
      await assert.rejects(
        store.write([{ kind: 'put', key: 'a', value: 'b' }]),
        RegistryClosedError,
      );
      await store.close();
    });
  });
}

conformance('in-memory', async () => ({
  isDurable: false,
  open: async () => new InMemoryFrameworkStore(),
}));

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agora-fstore-'));
  dirs.push(dir);
  return dir;
}

conformance('embedded', async () => {
  const directory = tempDir();
  return {
    isDurable: true,
    open: async () => new EmbeddedFrameworkStore({ directory, compactEveryBatches: 3 }),
  };
});

/** A ChunkStore in memory, with a head compared by version as the real ones do. */
function memoryChunks() {
  const chunks = new Map<string, Buffer>();
  let head: { data: Buffer; version: string } | undefined;
  return {
    where: 'memory:',
    async prepare() {},
    async readHead() {
      return head;
    },
    async listChunks() {
      return [...chunks.keys()];
    },
    async readChunk(name: string) {
      const data = chunks.get(name);
      if (data === undefined) throw new Error(`${name} is missing`);
      return data;
    },
    async putChunk(name: string, data: Buffer) {
      chunks.set(name, Buffer.from(data));
    },
    async commitHead(
      data: Buffer,
      expected: string | undefined,
      writes: readonly { name: string; data: Buffer }[],
      removals: readonly string[],
    ) {
      if (head?.version !== expected) throw new Error('the head moved');
      for (const write of writes) chunks.set(write.name, Buffer.from(write.data));
      head = { data, version: String(Number(expected ?? 0) + 1) };
      for (const name of removals) chunks.delete(name);
      return head.version;
    },
    async removeChunk(name: string) {
      chunks.delete(name);
    },
  };
}

conformance('chunked (memory)', async () => {
  const chunks = memoryChunks();
  return { isDurable: true, open: async () => new ChunkedFrameworkStore(chunks, undefined, 16) };
});

test('embedded framework store: a second process-local open is locked out, a torn tail is cut', async () => {
  const directory = tempDir();
  const store = new EmbeddedFrameworkStore({ directory });
  await store.recover();
  await store.write([{ kind: 'put', key: 'a', value: '1' }]);
  await store.write([{ kind: 'put', key: 'b', value: '2' }]);
  // The lock holds this pid, which is alive: another store here must not open.
  await assert.rejects(new EmbeddedFrameworkStore({ directory }).recover(), RegistryLockedError);
  await store.close();
  const log = join(directory, readdirSync(directory).find((n) => n.startsWith('log.')) ?? 'log.0');
  truncateSync(log, statSync(log).size - 3);
  const reopened = new EmbeddedFrameworkStore({ directory });
  assert.deepEqual(new Map(await reopened.recover()), new Map([['a', '1']]));
  await reopened.write([{ kind: 'put', key: 'c', value: '3' }]);
  await reopened.close();
  const third = new EmbeddedFrameworkStore({ directory });
  assert.deepEqual(
    new Map(await third.recover()),
    new Map([
      ['a', '1'],
      ['c', '3'],
    ]),
  );
  await third.close();
});

test('chunked framework store: a second writer on the same store fails, the first keeps going', async () => {
  const chunks = memoryChunks();
  const first = new ChunkedFrameworkStore(chunks);
  await first.recover();
  const second = new ChunkedFrameworkStore(chunks);
  await second.recover();
  await first.write([{ kind: 'put', key: 'a', value: '1' }]);
  await assert.rejects(second.write([{ kind: 'put', key: 'a', value: '2' }]), RegistryFailedError);
  await assert.rejects(second.write([{ kind: 'put', key: 'b', value: '2' }]), RegistryFailedError);
  await first.write([{ kind: 'put', key: 'b', value: '1' }]);
  await Promise.all([first.close(), second.close()]);
});

let zk: Server | undefined;
let zkClient: zookeeper.Client | undefined;
let etcd: Server | undefined;
let etcdClient: Etcd3 | undefined;
let paths = 0;
before(async () => {
  zk = await startZooKeeper();
  const client = zookeeper.createClient(zk.address, { sessionTimeout: 10_000 });
  const connected = new Promise<void>((resolve) => client.once('connected', () => resolve()));
  client.connect();
  await connected;
  zkClient = client;
  etcd = await startEtcd();
  etcdClient = new Etcd3({ hosts: [`http://${etcd.address}`] });
});
after(async () => {
  zkClient?.close();
  etcdClient?.close();
  await zk?.stop();
  await etcd?.stop();
});

conformance('zookeeper', async () => {
  const client = zkClient ?? assert.fail('no ZooKeeper client');
  const path = `/frameworks-${paths++}/services`;
  await zkCall<string>((done) => client.mkdirp(path, done));
  return { isDurable: true, open: async () => zooKeeperFrameworkStore(client, path) };
});

conformance('etcd', async () => {
  const client = etcdClient ?? assert.fail('no etcd client');
  const path = `/frameworks-${paths++}/services`;
  return { isDurable: true, open: async () => etcdFrameworkStore(client, path) };
});
