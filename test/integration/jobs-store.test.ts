// The jobs framework's state in the shared framework store: an older `jobs.log` is imported
// once, and with --state etcd://… or zk://… a framework SIGKILLed on one machine (work dir) carries on
// from another with nothing of its own on disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseJobSpec } from '../../src/frameworks/index.js';
import { startEtcd, startZooKeeper } from '../coordination/servers.js';
import { defer, startCluster } from './harness.js';
import { api, runFinished, startJobs, submit } from './jobs-harness.js';

test('jobs: a work dir with the older jobs.log is imported into the shared store, once', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:2048;disk:1024' });
  defer(t, () => cluster.stop());
  const workDir = mkdtempSync(join(cluster.workDir, 'jobs-'));
  const parsed = parseJobSpec({ id: 'legacy', run: { cmd: 'true', cpus: 0.1, mem: 16 } });
  assert.equal(parsed.kind, 'ok');
  if (parsed.kind !== 'ok') return;
  // The older store's format: one JSON line per write, `d: 1` for a delete.
  const record = { spec: parsed.value, schedules: [], createdAtMs: Date.now(), runSeq: 0 };
  writeFileSync(
    join(workDir, 'jobs.log'),
    `${JSON.stringify({ k: 'job/gone', v: { ...record, spec: { ...parsed.value, id: 'gone' } } })}\n${JSON.stringify({ k: 'job/gone', d: 1 })}\n${JSON.stringify({ k: 'job/legacy', v: record })}\n`,
  );
  const first = await startJobs(cluster, { workDir });
  defer(t, () => first.daemon.stop());
  const jobs = await api<{ id: string }[]>(first.url, 'GET', '/v1/jobs');
  assert.deepEqual(
    jobs.body.map((j) => j.id),
    ['legacy'],
  );
  assert.ok(existsSync(join(workDir, 'jobs.log.imported')), 'the old log is set aside');
  assert.ok(!existsSync(join(workDir, 'jobs.log')));
  assert.ok(
    readdirSync(workDir).includes('snapshot.json') || readdirSync(workDir).includes('log.0'),
  );
  const run = await api<{ id: string }>(first.url, 'POST', '/v1/jobs/legacy/runs');
  assert.equal(run.status, 201);
  assert.equal((await runFinished(first.url, 'legacy', run.body.id, 60_000)).status, 'SUCCESS');
  await first.daemon.stop();
  // Started again: the shared store's copy, not a second import.
  const second = await startJobs(cluster, { workDir });
  defer(t, () => second.daemon.stop());
  const runs = await api<{ id: string; status: string }[]>(
    second.url,
    'GET',
    '/v1/jobs/legacy/runs',
  );
  assert.deepEqual(
    runs.body.map((r) => [r.id, r.status]),
    [[run.body.id, 'SUCCESS']],
  );
  assert.ok(!second.daemon.lines.some((l) => l.msg === 'imported the legacy job log'));
});

for (const kind of ['etcd', 'zookeeper'] as const)
  test(`jobs: with --state in ${kind}, a framework SIGKILLed carries on from another work dir`, async (t) => {
    const coordinator = kind === 'etcd' ? await startEtcd() : await startZooKeeper();
    defer(t, () => coordinator.stop());
    const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:2048;disk:1024' });
    defer(t, () => cluster.stop());
    // As `agora up --ha` passes it: the coordinator's URL, the framework's keys under /agora/jobs.
    const state = `${kind === 'etcd' ? 'etcd' : 'zk'}://${coordinator.address}/agora`;
    const first = await startJobs(cluster, { state });
    defer(t, () => first.daemon.stop('SIGKILL'));
    const done = await submit(first.url, {
      id: 'before',
      run: { cmd: 'true', cpus: 0.1, mem: 16 },
      completions: 20,
    });
    assert.equal((await runFinished(first.url, 'before', done.id, 120_000)).succeeded, 20);
    const slow = await submit(first.url, {
      id: 'across',
      run: { cmd: 'sleep 2', cpus: 0.1, mem: 16 },
      completions: 6,
      parallelism: 3,
    });
    await first.daemon.stop('SIGKILL');
    assert.deepEqual(readdirSync(first.workDir), [], 'nothing kept on local disk');
    const second = await startJobs(cluster, { state });
    defer(t, () => second.daemon.stop());
    assert.equal(
      second.daemon.lines.find((l) => l.msg === 'listening')?.framework_id,
      first.daemon.lines.find((l) => l.msg === 'listening')?.framework_id,
      `re-subscribed with the id kept in ${kind}`,
    );
    const earlier = await api<{ status: string; succeeded: number }>(
      second.url,
      'GET',
      `/v1/jobs/before/runs/${done.id}`,
    );
    assert.deepEqual([earlier.body.status, earlier.body.succeeded], ['SUCCESS', 20]);
    const finished = await runFinished(second.url, 'across', slow.id, 120_000);
    assert.deepEqual([finished.status, finished.succeeded], ['SUCCESS', 6]);
  });

test('jobs: a write the store cannot make (a full disk) is 503, and the daemon stops; started again it has every change it acknowledged', {
  skip: process.getuid?.() === 0 ? false : 'needs root to mount a small tmpfs',
}, async (t) => {
  const cluster = await startCluster({ agents: 0 });
  defer(t, () => cluster.stop());
  const disk = mkdtempSync(join(cluster.workDir, 'jobs-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'agora-test-jobs-disk', disk]);
  defer(t, () => execFileSync('umount', ['-l', disk]));
  const workDir = join(disk, 'jobs');
  const jobs = await startJobs(cluster, { workDir });
  defer(t, () => jobs.daemon.stop());
  const kept = await api(jobs.url, 'POST', '/v1/jobs', { id: 'kept', run: { cmd: 'true' } });
  assert.equal(kept.status, 201);
  // The disk fills; a job bigger than the page the store's log has left cannot be written.
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(disk, 'fill')}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // dd ends with ENOSPC: that was the point.
  }
  const refused = await api<{ message: string }>(jobs.url, 'POST', '/v1/jobs', {
    id: 'big',
    run: { cmd: `echo ${'x'.repeat(60_000)}` },
  });
  assert.equal(refused.status, 503, JSON.stringify(refused.body));
  assert.match(refused.body.message, /could not be stored.*try again/);
  // It stops rather than go on with changes it could not keep (a supervisor restarts it).
  assert.equal(await jobs.daemon.exited, 70);
  rmSync(join(disk, 'fill'));
  const again = await startJobs(cluster, { workDir });
  defer(t, () => again.daemon.stop());
  const listed = await api<{ id: string }[]>(again.url, 'GET', '/v1/jobs');
  assert.deepEqual(
    listed.body.map((job) => job.id),
    ['kept'],
  );
  assert.equal(
    (await api(again.url, 'POST', '/v1/jobs', { id: 'big', run: { cmd: 'true' } })).status,
    201,
  );
});
