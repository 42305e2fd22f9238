// A batch writes only the chunks it changed, counted in a real ZooKeeper (the
// znodes created, and the modification zxid of those kept) and a real etcd (the
// keys the write's revision touched), and the registry still reads back whole.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import zookeeper from 'node-zookeeper-client';
import { zkCall } from '../../src/coordination/index.js';
import { encodeSnapshot, snapshotPieces } from '../../src/registry/codec.js';
import {
  EtcdRegistry,
  type RegistryOperation,
  ZooKeeperRegistry,
} from '../../src/registry/index.js';
import { agentId } from '../../src/wire/index.js';
import { type Server, startEtcd, startZooKeeper } from '../coordination/servers.js';
import { agent, fold, framework } from './fixtures.js';

const AGENTS = 3000;
/** Chunks average chunkBytes / 16 = 4 KiB here: about 150 for the registry below. */
const CHUNK_BYTES = 64 * 1024;

const admissions: RegistryOperation[] = Array.from({ length: AGENTS }, (_, i) => ({
  kind: 'admitAgent',
  agent: agent(`agent-${String(i).padStart(5, '0')}`),
}));
const later: RegistryOperation[] = [
  { kind: 'admitAgent', agent: agent('agent-01500a') },
  { kind: 'markAgentUnreachable', agentId: agentId('agent-00042'), sinceSec: 7 },
];

let zk: Server | undefined;
let client: zookeeper.Client;
let etcd: Server | undefined;
let etcdClient: Etcd3;
before(async () => {
  [zk, etcd] = await Promise.all([startZooKeeper(), startEtcd()]);
  client = zookeeper.createClient(zk.address, { sessionTimeout: 10_000 });
  const connected = new Promise<void>((resolve) => client.once('connected', () => resolve()));
  client.connect();
  await connected;
  etcdClient = new Etcd3({ hosts: [`http://${etcd.address}`] });
});
after(async () => {
  client?.close();
  etcdClient?.close();
  await zk?.stop();
  await etcd?.stop();
});

test('snapshot pieces join to exactly the snapshot text', () => {
  const state = fold([
    ...admissions.slice(0, 50),
    ...later,
    { kind: 'markAgentGone', agentId: agentId('agent-00007') },
    { kind: 'addFramework', framework: framework('fw-1') },
    { kind: 'updateWeights', weights: [{ role: 'web', weight: 2 }] },
    { kind: 'deactivateAgent', agentId: agentId('agent-00003') },
  ]);
  const pieces = snapshotPieces(4, state);
  assert.equal(pieces.map((piece) => piece.text).join(''), encodeSnapshot(4, state));
  assert.ok(pieces.length > 50, 'one piece per entry');
});

test('through ZooKeeper, a batch creates only the chunks it changed and keeps the rest', async () => {
  const path = '/chunk-writes';
  await zkCall<string>((done) => client.mkdirp(path, done));
  const fence = await zkCall<string>((done) =>
    client.create(
      `${path}/json.info_`,
      Buffer.from('{}'),
      zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
      done,
    ),
  );
  const where = `${path}/registry`;
  const open = () => new ZooKeeperRegistry({ client, path: where, fence, chunkBytes: CHUNK_BYTES });
  const registry = open();
  await registry.recover();
  await Promise.all(admissions.map((op) => registry.apply(op)));
  const before = await zkChunks(where);
  assert.ok(before.size >= 50, `expected many chunks, got ${before.size}`);

  for (const op of later) await registry.apply(op);
  const afterward = await zkChunks(where);
  const created = [...afterward.keys()].filter((name) => !before.has(name));
  const kept = [...afterward].filter(([name]) => before.has(name));
  // Each operation touches one entry: one chunk each (two if it lands on a boundary).
  assert.ok(created.length >= 1 && created.length <= 4, `created ${created.join(', ')}`);
  assert.ok(kept.length >= afterward.size - 4);
  for (const [name, mzxid] of kept) assert.equal(mzxid, before.get(name), `${name} was rewritten`);
  // What the new head dropped is gone in the same transaction: nothing unnamed is left.
  assert.equal(afterward.size, new Set(await headChunkNames(where)).size);
  await registry.close();

  const again = open();
  assert.deepEqual(await again.recover(), fold([...admissions, ...later]));
  assert.deepEqual(again.recoveryReport?.removedFiles, []);
  await again.close();
});

test('through etcd, a batch puts only the chunks it changed', async () => {
  const path = '/chunk-writes';
  const lease = etcdClient.lease(30);
  const fence = `${path}/election/${BigInt(await lease.grant()).toString(16)}`;
  await etcdClient
    .put(fence)
    .value('{}')
    .lease(await lease.grant())
    .exec();
  const where = `${path}/registry`;
  const open = () =>
    new EtcdRegistry({ client: etcdClient, path: where, fence, chunkBytes: CHUNK_BYTES });
  const registry = open();
  await registry.recover();
  await Promise.all(admissions.map((op) => registry.apply(op)));
  const total = (await etcdKeys(where)).size;
  assert.ok(total >= 50, `expected many chunks, got ${total}`);

  await registry.apply(later[0] ?? assert.fail());
  const keys = await etcdKeys(where);
  const revision = keys.get(`${where}/head`) ?? assert.fail('no head');
  const written = [...keys].filter(([, modified]) => modified === revision).map(([key]) => key);
  // The head and the one or two chunks around the new agent, nothing else.
  assert.ok(written.length >= 2 && written.length <= 3, `written ${written.join(', ')}`);
  await registry.apply(later[1] ?? assert.fail());
  await registry.close();

  const again = open();
  assert.deepEqual(await again.recover(), fold([...admissions, ...later]));
  await again.close();
  lease.revoke().catch(() => undefined);
});

/** The registry's chunk znodes (not the head): name -> the zxid that last modified it. */
async function zkChunks(where: string): Promise<Map<string, string>> {
  const names = await zkCall<string[]>((done) => client.getChildren(where, done));
  const chunks = new Map<string, string>();
  for (const name of names.filter((n) => n !== 'head')) {
    const stat = await zkCall<zookeeper.Stat>((done) => client.exists(`${where}/${name}`, done));
    chunks.set(name, stat.mzxid.toString('hex'));
  }
  return chunks;
}

/** Every key under the registry: key -> its mod revision. */
async function etcdKeys(where: string): Promise<Map<string, string>> {
  const response = await etcdClient.getAll().prefix(`${where}/`).exec();
  return new Map(response.kvs.map((kv) => [kv.key.toString(), kv.mod_revision]));
}

/** The chunk names the stored head lists. */
async function headChunkNames(where: string): Promise<string[]> {
  const data = await zkCall<Buffer>((done) => client.getData(`${where}/head`, done));
  const head = JSON.parse(data.toString('utf8')) as { chunks: [string, number, string][] };
  return head.chunks.map(([name]) => name);
}
