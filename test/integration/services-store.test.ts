// The services framework when its store cannot take a write (a full disk): the call whose
// change could not be stored is 503, the daemon stops (exit 70, for its supervisor to start it
// again), and started again it holds every change it acknowledged, and no other.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, startCluster } from './harness.js';
import { api, startServices } from './services-helpers.js';

test('services: a write the store cannot make (a full disk) is 503, and the daemon stops; started again it has every change it acknowledged', {
  skip: process.getuid?.() === 0 ? false : 'needs root to mount a small tmpfs',
}, async (t) => {
  const cluster = await startCluster({ agents: 0 });
  defer(t, () => cluster.stop());
  const disk = mkdtempSync(join(cluster.workDir, 'services-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'agora-test-services-disk', disk]);
  defer(t, () => execFileSync('umount', ['-l', disk]));
  const workDir = join(disk, 'services');
  const services = await startServices(cluster.masterUrl, workDir);
  defer(t, () => services.daemon.stop());
  const app = (id: string, cmd: string) => ({ id, cmd, cpus: 0.01, mem: 8, instances: 0 });
  assert.equal((await api(services.url, 'POST', '/v2/apps', app('/kept', 'sleep 10'))).status, 201);
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(disk, 'fill')}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // dd ends with ENOSPC: that was the point.
  }
  // Bigger than the page the store's log has left.
  const refused = await api(
    services.url,
    'POST',
    '/v2/apps',
    app('/big', `echo ${'x'.repeat(60_000)}`),
  );
  assert.equal(refused.status, 503, JSON.stringify(refused.body));
  assert.match(refused.body.message, /could not be stored.*try again/);
  assert.equal(await services.daemon.exited, 70);
  rmSync(join(disk, 'fill'));
  const again = await startServices(cluster.masterUrl, workDir);
  defer(t, () => again.daemon.stop());
  const listed = await api(again.url, 'GET', '/v2/apps');
  assert.deepEqual(
    listed.body.apps.map((a: { id: string }) => a.id),
    ['/kept'],
  );
  assert.equal((await api(again.url, 'POST', '/v2/apps', app('/big', 'sleep 10'))).status, 201);
});
