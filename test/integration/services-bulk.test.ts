// Marathon's bulk update, PUT and PATCH /v2/apps with a list of apps, on a real
// cluster: apps created and changed in one request, partial by default, every
// entry checked before anything changes, errors naming the entry.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCluster, waitFor } from './harness.js';
import { api, startServices, tasksOf } from './services-helpers.js';

test('services: PUT and PATCH /v2/apps change several apps at once, all checked first', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const dir = mkdtempSync(join(tmpdir(), 'agora-services-bulk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const services = await startServices(cluster.masterUrl, join(dir, 'state'));
  t.after(() => services.daemon.stop());
  const base = services.url;
  const running = (appId: string, count: number) =>
    waitFor(`${count} running instances of ${appId}`, async () => {
      const tasks = await tasksOf(base, appId);
      return tasks.length === count && tasks.every((task) => task.state === 'TASK_RUNNING')
        ? tasks
        : undefined;
    });

  // Two apps created by one PUT.
  const created = await api(base, 'PUT', '/v2/apps', [
    { id: '/bulk/a', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 1 },
    { id: '/bulk/b', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 2 },
  ]);
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.deploymentIds.length, 2);
  await running('/bulk/a', 1);
  await running('/bulk/b', 2);

  // A bad entry: nothing changes, and the error names the entry and the field.
  const refused = await api(base, 'PATCH', '/v2/apps', [
    { id: '/bulk/a', instances: 3 },
    { id: '/bulk/b', cpus: -1 },
  ]);
  assert.equal(refused.status, 422, JSON.stringify(refused.body));
  assert.equal(refused.body.details[0].path, '/(1)/cpus');
  const twice = await api(base, 'PATCH', '/v2/apps', [
    { id: '/bulk/a', instances: 3 },
    { id: 'bulk/a', instances: 0 },
  ]);
  assert.equal(twice.status, 422);
  assert.match(twice.body.details[0].errors[0], /appears twice/);
  for (const [body, status] of [
    [{ id: '/bulk/a' }, 422],
    [[1], 422],
    ['not json', 400],
  ] as const) {
    const answer = await api(base, 'PUT', '/v2/apps', body);
    assert.equal(answer.status, status, JSON.stringify(body));
  }
  assert.equal((await api(base, 'GET', '/v2/apps/bulk/a')).body.app.instances, 1);

  // PATCH changes only the fields sent: a scaled to 2, b's command kept while it scales to 0.
  const patched = await api(base, 'PATCH', '/v2/apps', [
    { id: '/bulk/a', instances: 2 },
    { id: '/bulk/b', instances: 0 },
  ]);
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await running('/bulk/a', 2);
  await running('/bulk/b', 0);
  const b = (await api(base, 'GET', '/v2/apps/bulk/b')).body.app;
  assert.equal(b.cmd, 'sleep 600');
  assert.equal(b.instances, 0);
});
