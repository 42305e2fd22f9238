// Leader election through a real ZooKeeper, with Mesos' znode layout.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import {
  detectMaster,
  masterInfoJson,
  parseCoordinatorUrl,
  ZooKeeperCoordinator,
  zkCall,
} from '../../src/coordination/index.js';
import type { MasterInfo } from '../../src/wire/index.js';
import { type Server, startZooKeeper } from './servers.js';

let zk: Server;
before(async () => {
  zk = await startZooKeeper();
});
after(async () => {
  await zk?.stop();
});

const info = (id: string, port: number): MasterInfo => ({
  id,
  ip: 16777343,
  port,
  pid: `master@127.0.0.1:${port}`,
  hostname: '127.0.0.1',
  version: '1.11.0',
  address: { hostname: '127.0.0.1', ip: '127.0.0.1', port },
  capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }],
});

function coordinator(path: string): ZooKeeperCoordinator {
  const url = parseCoordinatorUrl(`zk://${zk.address}${path}`, '--zk');
  if (url.kind !== 'zookeeper') throw new Error('not zk');
  return new ZooKeeperCoordinator({ url, sessionTimeoutMs: 2000 });
}

test('the first candidate leads and publishes its MasterInfo JSON as Mesos writes it', async (t) => {
  const first = coordinator('/election-a');
  const second = coordinator('/election-a');
  t.after(() => Promise.all([first.close(), second.close()]));
  await first.connect();
  await second.connect();
  const a = await first.contend(info('a', 5050));
  const b = await second.contend(info('b', 5051));
  await a.elected;
  assert.match(a.fence, /^\/election-a\/json\.info_\d{10}$/);
  const leaders: (string | undefined)[] = [];
  second.watchLeader((leader) => leaders.push(leader?.id));
  let isBElected = false;
  void b.elected.then(() => {
    isBElected = true;
  });

  // What a Mesos detector reads: the lowest json.info_ child and its data.
  const raw = zookeeper.createClient(zk.address);
  raw.connect();
  t.after(() => raw.close());
  const children = await zkCall<string[]>((done) => raw.getChildren('/election-a', done));
  assert.deepEqual(children.sort(), [a.fence, b.fence].map((p) => p.split('/')[2]).sort());
  const data = await zkCall<Buffer>((done) => raw.getData(a.fence, done));
  assert.equal(data.toString(), masterInfoJson(info('a', 5050)));
  assert.equal(
    data.toString(),
    '{"address":{"hostname":"127.0.0.1","ip":"127.0.0.1","port":5050},"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"}],"hostname":"127.0.0.1","id":"a","ip":16777343,"pid":"master@127.0.0.1:5050","port":5050,"version":"1.11.0"}',
  );
  assert.equal(isBElected, false);
  assert.equal(
    (await detectMaster(`zk://${zk.address}/election-a`)).href,
    'http://127.0.0.1:5050/',
  );

  // The leader leaves: its ephemeral node goes, and the next candidate leads.
  await first.close();
  await b.elected;
  assert.equal(
    (await detectMaster(`zk://${zk.address}/election-a`)).href,
    'http://127.0.0.1:5051/',
  );
  await waitUntil(() => leaders.at(-1) === 'b');
  assert.deepEqual(leaders, ['a', 'b']);
});

test('a leader whose node is deleted is seen to lead no more', async (t) => {
  const first = coordinator('/election-b');
  t.after(() => first.close());
  await first.connect();
  const seen: (string | undefined)[] = [];
  first.watchLeader((leader) => seen.push(leader?.id));
  const a = await first.contend(info('a', 6000));
  await a.elected;
  await waitUntil(() => seen.at(-1) === 'a');
  const raw = zookeeper.createClient(zk.address);
  raw.connect();
  t.after(() => raw.close());
  await zkCall<undefined>((done) => raw.remove(a.fence, -1, (error) => done(error, undefined)));
  await waitUntil(() => seen.at(-1) === undefined);
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
