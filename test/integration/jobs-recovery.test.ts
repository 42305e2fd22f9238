// The jobs framework killed with SIGKILL mid-array, and the priority rule in a full cluster.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, startCluster, waitFor } from './harness.js';
import { api, getRun, type RunView, runFinished, startJobs, submit } from './jobs-harness.js';

test('jobs: SIGKILLed halfway through an array and restarted, no succeeded index runs again and none is lost', async (t) => {
  const cluster = await startCluster({ agents: 2, agentResources: 'cpus:2;mem:4096;disk:4096' });
  defer(t, () => cluster.stop());
  const first = await startJobs(cluster);
  defer(t, () => first.daemon.stop('SIGKILL'));
  const trail = join(mkdtempSync(join(cluster.workDir, 'trail-')), 'trail');
  const completions = 160;
  const run = await submit(first.url, {
    id: 'survivor',
    run: {
      cmd: `echo start $AGORA_JOB_INDEX >> ${trail}; sleep 0.4; echo done $AGORA_JOB_INDEX >> ${trail}`,
      cpus: 0.2,
      mem: 16,
    },
    completions,
    maxRetries: 0,
  });
  await waitFor(
    'half the array to succeed',
    async () => {
      const now = await getRun(first.url, 'survivor', run.id);
      return now.succeeded >= completions / 2 ? true : undefined;
    },
    120_000,
  );
  await first.daemon.stop('SIGKILL');
  const frameworkId = first.daemon.lines.find((l) => l.msg === 'listening')?.framework_id;
  assert.equal(typeof frameworkId, 'string');
  // Tasks go on finishing while it is away.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const second = await startJobs(cluster, { workDir: first.workDir });
  defer(t, () => second.daemon.stop());
  assert.equal(
    second.daemon.lines.find((l) => l.msg === 'listening')?.framework_id,
    frameworkId,
    're-subscribed with its id',
  );
  const done = await runFinished(second.url, 'survivor', run.id, 180_000);
  assert.equal(done.status, 'SUCCESS', JSON.stringify(done));
  assert.equal(done.succeeded, completions);
  const lines = readFileSync(trail, 'utf8').trim().split('\n');
  const doneAt = new Map<string, number>();
  for (const [at, line] of lines.entries()) {
    const [what, index = ''] = line.split(' ');
    if (what === 'start')
      assert.ok(!doneAt.has(index), `index ${index} started again after it had succeeded`);
    else doneAt.set(index, at);
  }
  assert.equal(doneAt.size, completions, 'every index succeeded');
});

test('jobs: in a full cluster small jobs pass a big one submitted first, which still finishes within the aging bound', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:4096;disk:4096' });
  defer(t, () => cluster.stop());
  const agingSeconds = 3;
  const jobs = await startJobs(cluster, { agingSeconds });
  defer(t, () => jobs.daemon.stop());
  // Fill the cluster, then submit the big job (the whole agent), then a stream of small ones.
  const fill = await submit(jobs.url, {
    id: 'fill',
    run: { cmd: 'sleep 3', cpus: 0.5, mem: 16 },
    completions: 4,
  });
  await waitFor(
    'the cluster to be full',
    async () => ((await getRun(jobs.url, 'fill', fill.id)).running === 4 ? true : undefined),
    60_000,
  );
  const bigSubmittedMs = Date.now();
  const big = await submit(jobs.url, { id: 'big', run: { cmd: 'sleep 1', cpus: 2, mem: 16 } });
  const small: { id: string; run: RunView; submittedMs: number }[] = [];
  // A fresh small job (share 1/4, p = 4) is outranked by the big one (share 1) once it has waited
  // 3τ: the aging bound on its wait, plus the time for the agent to drain.
  const boundMs = (3 * agingSeconds + 3 + 1) * 1000;
  for (let i = 0; i < 24; i++) {
    const id = `small-${i}`;
    small.push({
      id,
      run: await submit(jobs.url, { id, run: { cmd: 'sleep 0.5', cpus: 0.5, mem: 16 } }),
      submittedMs: Date.now(),
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const bigDone = await runFinished(jobs.url, 'big', big.id, 120_000);
  assert.equal(bigDone.status, 'SUCCESS');
  // When the framework saw the big task running: completedAt less the 1 s sleep would be later
  // on a loaded machine (the process takes longer than its sleep), counting as "passed" small
  // jobs that finished after the big one had started.
  const bigTask = (await getRun(jobs.url, 'big', big.id, 'all')).tasks?.[0];
  const bigStartedMs = Date.parse(bigTask?.startedAt ?? '');
  assert.ok(Number.isFinite(bigStartedMs), 'the big task says when it started');
  const waitedMs = Date.parse(bigDone.completedAt ?? '') - bigSubmittedMs;
  // Generous: the machine is shared, offers come about once a second.
  assert.ok(
    waitedMs < boundMs + 15_000,
    `the big job took ${waitedMs} ms (bound ${boundMs} ms + margin)`,
  );
  const smallDone = await Promise.all(
    small.map((s) => runFinished(jobs.url, s.id, s.run.id, 120_000)),
  );
  const passed = smallDone.filter((r) => Date.parse(r.completedAt ?? '') < bigStartedMs);
  assert.ok(
    passed.length >= 3,
    `only ${passed.length} small jobs finished before the big one started`,
  );
  assert.ok(passed.length < small.length, 'the big one was not starved by the stream');
  const listing = await api<unknown[]>(jobs.url, 'GET', '/v1/jobs');
  assert.equal(listing.body.length, 26);
});
