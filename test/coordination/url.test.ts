// The pure parts of coordination: URLs as Mesos takes them, and which node leads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidates, leaderNode, parseCoordinatorUrl } from '../../src/coordination/index.js';

test('zk:// URLs take several servers, credentials and a path; "/" alone is refused', () => {
  assert.deepEqual(parseCoordinatorUrl('zk://a:2181,b:2182/mesos', '--zk'), {
    kind: 'zookeeper',
    servers: 'a:2181,b:2182',
    path: '/mesos',
  });
  assert.deepEqual(parseCoordinatorUrl('zk://u:p@a:2181/m/x/', '--zk'), {
    kind: 'zookeeper',
    servers: 'a:2181',
    path: '/m/x',
    credentials: { user: 'u', password: 'p' },
  });
  assert.throws(() => parseCoordinatorUrl('zk://a:2181/', '--zk'), /--zk: the path must not be/);
  assert.throws(() => parseCoordinatorUrl('zk://a:2181', '--zk'), /a path is required/);
  assert.throws(() => parseCoordinatorUrl('zk://a:99999/m', '--zk'), /port must be/);
  assert.throws(() => parseCoordinatorUrl('zk://a/m', '--zk'), /is not host:port/);
  assert.throws(() => parseCoordinatorUrl('http://a:1/m', '--zk'), /expected zk:\/\//);
  assert.throws(() => parseCoordinatorUrl(`zk://a:1/${'x'.repeat(5000)}`, '--zk'), /longer than/);
});

test('etcd URLs are etcd:// anywhere, and http:// for --etcd', () => {
  assert.deepEqual(parseCoordinatorUrl('etcd://a:2379,b:2379/agora', '--master'), {
    kind: 'etcd',
    endpoints: ['http://a:2379', 'http://b:2379'],
    path: '/agora',
  });
  assert.equal(parseCoordinatorUrl('http://a:2379/agora', '--etcd', 'etcd').kind, 'etcd');
  assert.throws(() => parseCoordinatorUrl('http://a:2379/agora', '--master'));
});

test('the lowest sequence leads; nodes without one are skipped', () => {
  const children = [
    'log_replicas',
    'json.info_0000000012',
    'info_0000000003',
    'json.info_0000000007',
  ];
  assert.equal(leaderNode(children)?.name, 'info_0000000003');
  assert.deepEqual(
    candidates(children)
      .filter((node) => node.format === 'json')
      .map((node) => node.sequence),
    [7, 12],
  );
  assert.equal(leaderNode(['log_replicas']), undefined);
});
