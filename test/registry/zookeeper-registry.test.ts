// What only the ZooKeeper registry does: fencing by the writer's election node,
// a head that moved under a stale writer, and chunks under ZooKeeper's 1 MB limit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { zkCall } from '../../src/coordination/index.js';
import {
  RegistryFailedError,
  type RegistryOperation,
  ZooKeeperRegistry,
} from '../../src/registry/index.js';
import { type Server, startZooKeeper } from '../coordination/servers.js';
import { fold, operations } from './fixtures.js';

let zk: Server | undefined;
let client: zookeeper.Client;
let paths = 0;
before(async () => {
  zk = await startZooKeeper();
  client = zookeeper.createClient(zk.address, { sessionTimeout: 10_000 });
  const connected = new Promise<void>((resolve) => client.once('connected', () => resolve()));
  client.connect();
  await connected;
});
after(async () => {
  client?.close();
  await zk?.stop();
});

async function electionNode(path: string): Promise<string> {
  await zkCall<string>((done) => client.mkdirp(path, done));
  return zkCall<string>((done) =>
    client.create(
      `${path}/json.info_`,
      Buffer.from('{}'),
      zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
      done,
    ),
  );
}

const remove = (node: string) =>
  zkCall<undefined>((done) => client.remove(node, -1, (error) => done(error, undefined)));

test('a writer whose election node is gone cannot write, and what it had stays', async () => {
  const path = `/fence-${paths++}`;
  const fence = await electionNode(path);
  const registry = new ZooKeeperRegistry({ client, path: `${path}/registry`, fence });
  await registry.recover();
  const ops = operations(4);
  for (const op of ops.slice(0, 2)) await registry.apply(op);
  // Its session expired, as far as ZooKeeper is concerned: the ephemeral node went.
  await remove(fence);
  await assert.rejects(registry.apply(ops[2] ?? assert.fail()), RegistryFailedError);
  await assert.rejects(registry.apply(ops[3] ?? assert.fail()), RegistryFailedError);
  await registry.close();

  const successor = new ZooKeeperRegistry({
    client,
    path: `${path}/registry`,
    fence: await electionNode(path),
  });
  assert.deepEqual(await successor.recover(), fold(ops.slice(0, 2)));
  await successor.close();
});

test('a stale writer loses to the one that wrote after it', async () => {
  const path = `/fence-${paths++}`;
  const ops = operations(3);
  const old = new ZooKeeperRegistry({
    client,
    path: `${path}/registry`,
    fence: await electionNode(path),
  });
  await old.recover();
  await old.apply(ops[0] ?? assert.fail());
  const next = new ZooKeeperRegistry({
    client,
    path: `${path}/registry`,
    fence: await electionNode(path),
  });
  await next.recover();
  await next.apply(ops[1] ?? assert.fail());
  await assert.rejects(old.apply(ops[2] ?? assert.fail()), RegistryFailedError);
  await old.close();
  await next.close();
  const reader = new ZooKeeperRegistry({
    client,
    path: `${path}/registry`,
    fence: await electionNode(path),
  });
  assert.deepEqual(await reader.recover(), fold(ops.slice(0, 2)));
  await reader.close();
});

test('a state over ZooKeeper’s 1 MB request limit is stored in chunks', async () => {
  const path = `/chunks-${paths++}`;
  const big: RegistryOperation = {
    kind: 'updateWeights',
    weights: Array.from({ length: 40_000 }, (_, i) => ({ role: `chunked-role-${i}`, weight: 2 })),
  };
  // The limit is real: one node of that size is refused.
  await zkCall<string>((done) => client.mkdirp(path, done));
  await assert.rejects(
    zkCall<string>((done) => client.create(`${path}/whole`, Buffer.alloc(1_200_000, 120), done)),
  );
  const registry = new ZooKeeperRegistry({
    client,
    path: `${path}/registry`,
    fence: await electionNode(path),
  });
  await registry.recover();
  await registry.apply(big);
  await registry.close();
  const children = await zkCall<string[]>((done) => client.getChildren(`${path}/registry`, done));
  assert.ok(children.length >= 3, `expected several chunks, got ${children.join(', ')}`);
  const again = new ZooKeeperRegistry({
    client,
    path: `${path}/registry`,
    fence: await electionNode(path),
  });
  assert.deepEqual(await again.recover(), fold([big]));
  await again.close();
});

test('operations applied while a write is under way share the next write', async () => {
  const path = `/batch-${paths++}`;
  const registry = new ZooKeeperRegistry({
    client,
    path: `${path}/registry`,
    fence: await electionNode(path),
  });
  await registry.recover();
  // A registration storm: each agent's admission would otherwise rewrite the whole state.
  const ops = operations(200);
  await Promise.all(ops.map((op) => registry.apply(op)));
  await registry.close();
  const again = new ZooKeeperRegistry({
    client,
    path: `${path}/registry`,
    fence: await electionNode(path),
  });
  assert.deepEqual(await again.recover(), fold(ops));
  const generation = again.recoveryReport?.snapshotGeneration ?? 0;
  assert.ok(generation <= 3, `200 operations took ${generation} writes`);
  await again.close();
});
