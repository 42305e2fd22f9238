// Leader election and fencing through a real etcd.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  detectMaster,
  EtcdCoordinator,
  masterInfoJson,
  parseCoordinatorUrl,
} from '../../src/coordination/index.js';
import { EtcdRegistry, RegistryFailedError } from '../../src/registry/index.js';
import type { MasterInfo } from '../../src/wire/index.js';
import { fold, operations } from '../registry/fixtures.js';
import { type Server, startEtcd } from './servers.js';

let etcd: Server;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

const info = (id: string, port: number): MasterInfo => ({
  id,
  ip: 16777343,
  port,
  pid: `master@127.0.0.1:${port}`,
  hostname: '127.0.0.1',
  address: { hostname: '127.0.0.1', ip: '127.0.0.1', port },
});

function coordinator(path: string): EtcdCoordinator {
  const url = parseCoordinatorUrl(`http://${etcd.address}${path}`, '--etcd', 'etcd');
  if (url.kind !== 'etcd') throw new Error('not etcd');
  return new EtcdCoordinator({ url, sessionTimeoutMs: 3000 });
}

test('the first candidate leads; when it leaves, the next does', async (t) => {
  const first = coordinator('/etcd-a');
  const second = coordinator('/etcd-a');
  t.after(() => Promise.all([first.close(), second.close()]));
  await first.connect();
  await second.connect();
  const a = await first.contend(info('a', 5050));
  await a.elected;
  const b = await second.contend(info('b', 5051));
  const value = await first.client.get(a.fence).string();
  assert.equal(value, masterInfoJson(info('a', 5050)));
  assert.equal(
    (await detectMaster(`etcd://${etcd.address}/etcd-a`)).href,
    'http://127.0.0.1:5050/',
  );
  await first.close();
  await b.elected;
  assert.equal(
    (await detectMaster(`etcd://${etcd.address}/etcd-a`)).href,
    'http://127.0.0.1:5051/',
  );
});

test('a leader whose lease is gone cannot write the registry', async (t) => {
  const leader = coordinator('/etcd-b');
  t.after(() => leader.close());
  await leader.connect();
  const candidacy = await leader.contend(info('a', 5050));
  await candidacy.elected;
  const registry = new EtcdRegistry({
    client: leader.client,
    path: '/etcd-b/registry',
    fence: candidacy.fence,
  });
  await registry.recover();
  const ops = operations(3);
  await registry.apply(ops[0] ?? assert.fail());
  // As if the lease expired while the leader was paused: its key goes with it.
  await leader.client.delete().key(candidacy.fence).exec();
  await assert.rejects(registry.apply(ops[1] ?? assert.fail()), RegistryFailedError);
  await registry.close();

  const successor = coordinator('/etcd-b');
  t.after(() => successor.close());
  await successor.connect();
  const next = await successor.contend(info('b', 5051));
  await next.elected;
  const again = new EtcdRegistry({
    client: successor.client,
    path: '/etcd-b/registry',
    fence: next.fence,
  });
  assert.deepEqual(await again.recover(), fold(ops.slice(0, 1)));
  await again.close();
});
