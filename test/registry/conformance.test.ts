// The Registry contract run against every implementation, each on a real store:
// the embedded log on a temp dir, in-memory, ZooKeeper and etcd (started here).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Etcd3 } from 'etcd3';
import zookeeper from 'node-zookeeper-client';
import { zkCall } from '../../src/coordination/index.js';
import {
  EmbeddedRegistry,
  EtcdRegistry,
  InMemoryRegistry,
  ZooKeeperRegistry,
} from '../../src/registry/index.js';
import { type Server, startEtcd, startZooKeeper } from '../coordination/servers.js';
import { registryConformance } from './conformance.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

registryConformance('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-conformance-'));
  dirs.push(dir);
  return { isDurable: true, open: async () => new EmbeddedRegistry({ directory: dir }) };
});

registryConformance('in-memory', async () => {
  return { isDurable: false, open: async () => new InMemoryRegistry() };
});

let zk: Server | undefined;
let client: zookeeper.Client | undefined;
let stores = 0;
before(async () => {
  zk = await startZooKeeper();
  client = zookeeper.createClient(zk.address, { sessionTimeout: 10_000 });
  const connected = new Promise<void>((resolve) => client?.once('connected', () => resolve()));
  client.connect();
  await connected;
});
after(async () => {
  client?.close();
  await zk?.stop();
});

registryConformance('zookeeper', async () => {
  const zkClient = client ?? assert.fail('no ZooKeeper client');
  const path = `/conformance-${stores++}`;
  await zkCall<string>((done) => zkClient.mkdirp(path, done));
  // The writer's fence: an ephemeral node of this session, as a master's election node is.
  const fence = await zkCall<string>((done) =>
    zkClient.create(
      `${path}/json.info_`,
      Buffer.from('{}'),
      zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
      done,
    ),
  );
  // Small chunks here too, so several chunks are written even for small states.
  return {
    isDurable: true,
    open: async () =>
      new ZooKeeperRegistry({
        client: zkClient,
        path: `${path}/registry`,
        fence,
        chunkBytes: 64 * 1024,
      }),
  };
});

let etcd: Server | undefined;
let etcdClient: Etcd3 | undefined;
before(async () => {
  const server = await startEtcd();
  etcd = server;
  etcdClient = new Etcd3({ hosts: [`http://${server.address}`] });
});
after(async () => {
  etcdClient?.close();
  await etcd?.stop();
});

registryConformance('etcd', async () => {
  const client = etcdClient ?? assert.fail('no etcd client');
  const path = `/conformance-${stores++}`;
  // The writer's fence: a key on a lease, as a master's election key is.
  const lease = client.lease(30);
  const fence = `${path}/election/${BigInt(await lease.grant()).toString(16)}`;
  await client
    .put(fence)
    .value('{}')
    .lease(await lease.grant())
    .exec();
  return {
    isDurable: true,
    open: async () =>
      new EtcdRegistry({ client, path: `${path}/registry`, fence, chunkBytes: 64 * 1024 }),
  };
});
