// The jobs framework on a real cluster: arrays with retries, dependencies, parallelism, cron,
// restart safety and the priority rule, each through its REST API.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, startCluster, waitFor } from './harness.js';
import { api, getRun, runFinished, startJobs, submit } from './jobs-harness.js';

test('jobs: an array of 200 where 5 indices fail once ends with 200 successes and 5 retries', async (t) => {
  const cluster = await startCluster({ agents: 2, agentResources: 'cpus:4;mem:4096;disk:4096' });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());
  const marks = mkdtempSync(join(cluster.workDir, 'marks-'));
  const failing = [3, 50, 77, 120, 199];
  const cmd = `case " ${failing.join(' ')} " in *" $AGORA_JOB_INDEX "*) if [ ! -e ${marks}/$AGORA_JOB_INDEX ]; then touch ${marks}/$AGORA_JOB_INDEX; exit 3; fi;; esac; [ "$AGORA_JOB_COMPLETIONS" = 200 ]`;
  const run = await submit(jobs.url, {
    id: 'array200',
    run: { cmd, cpus: 0.1, mem: 16 },
    completions: 200,
    maxRetries: 2,
    backoffSeconds: 0.2,
  });
  const done = await runFinished(jobs.url, 'array200', run.id, 180_000);
  assert.equal(done.status, 'SUCCESS', JSON.stringify(done));
  assert.equal(done.succeeded, 200);
  assert.equal(done.retries, 5);
  const detail = await getRun(jobs.url, 'array200', run.id, 'all');
  const retried = (detail.tasks ?? [])
    .filter((task) => task.failures > 0)
    .map((task) => task.index);
  assert.deepEqual(retried, failing);
  assert.ok((detail.tasks ?? []).every((task) => task.status === 'succeeded'));
  assert.deepEqual(
    readdirSync(marks)
      .map(Number)
      .sort((a, b) => a - b),
    failing,
  );
});

test('jobs: A -> B -> C with B failing for good: C never starts and says why', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:2048;disk:2048' });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());
  const a = await submit(jobs.url, { id: 'a', run: { cmd: 'true' } });
  const b = await submit(jobs.url, {
    id: 'b',
    run: { cmd: 'exit 7' },
    maxRetries: 1,
    backoffSeconds: 0.1,
    dependencies: ['a'],
  });
  const c = await submit(jobs.url, { id: 'c', run: { cmd: 'true' }, dependencies: ['b'] });
  const waitingC = await getRun(jobs.url, 'c', c.id);
  assert.equal(waitingC.status, 'INITIAL');
  assert.match(waitingC.waiting ?? '', /dependency 'b'/);
  assert.equal((await runFinished(jobs.url, 'a', a.id, 60_000)).status, 'SUCCESS');
  const failedB = await runFinished(jobs.url, 'b', b.id, 60_000);
  assert.equal(failedB.status, 'FAILED');
  assert.match(failedB.reason ?? '', /index 0 failed after 2 attempts/);
  const failedC = await runFinished(jobs.url, 'c', c.id, 30_000);
  assert.equal(failedC.status, 'FAILED');
  assert.match(failedC.reason ?? '', /dependency 'b' failed/);
  const cTasks = await getRun(jobs.url, 'c', c.id, 'all');
  assert.ok(
    (cTasks.tasks ?? []).every((task) => task.attempts === 0),
    'C launched nothing',
  );
  // A bad spec is refused naming the field.
  const bad = await api<{
    field: string;
    message: string;
    details: { path: string; errors: string[] }[];
  }>(jobs.url, 'POST', '/v1/jobs', {
    id: 'd',
    run: { cmd: 'x', cpus: -1 },
  });
  // Metronome's answer to a spec that is not valid: 422 with `details`.
  assert.equal(bad.status, 422);
  assert.equal(bad.body.field, 'run.cpus');
  assert.equal(bad.body.details[0]?.path, '/run/cpus');
  const cyclic = await api<{ field: string }>(jobs.url, 'PUT', '/v1/jobs/a', {
    run: { cmd: 'true' },
    dependencies: ['c'],
  });
  assert.equal(cyclic.status, 422);
  assert.equal(cyclic.body.field, 'dependencies');
  // A PUT whose body names another job is refused, and job 'a' is not renamed or replaced.
  const renamed = await api<{ field: string }>(jobs.url, 'PUT', '/v1/jobs/a', {
    id: 'z',
    run: { cmd: 'false' },
  });
  assert.equal(renamed.status, 400);
  assert.equal(renamed.body.field, 'id');
  const notObject = await api<{ field: string }>(jobs.url, 'PUT', '/v1/jobs/a', ['run']);
  assert.equal(notObject.status, 400);
  assert.equal(notObject.body.field, 'body');
  const kept = await api<{ run: { cmd?: string } }>(jobs.url, 'GET', '/v1/jobs/a');
  assert.equal(kept.status, 200);
  assert.notEqual(kept.body.run.cmd, 'false');
  assert.equal((await api(jobs.url, 'GET', '/v1/jobs/z')).status, 404);
});

test('jobs: parallelism 3 never has more than 3 running (sampled every 50 ms)', async (t) => {
  const cluster = await startCluster({ agents: 2, agentResources: 'cpus:4;mem:4096;disk:4096' });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());
  const run = await submit(jobs.url, {
    id: 'par3',
    run: { cmd: 'sleep 0.5', cpus: 0.1, mem: 16 },
    completions: 15,
    parallelism: 3,
  });
  let most = 0;
  let samples = 0;
  let status = 'ACTIVE';
  const deadline = performance.now() + 120_000;
  while (status !== 'SUCCESS' && status !== 'FAILED' && performance.now() < deadline) {
    const now = await getRun(jobs.url, 'par3', run.id);
    most = Math.max(most, now.running);
    status = now.status;
    samples++;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(status, 'SUCCESS');
  assert.ok(samples > 20, `only ${samples} samples`);
  assert.ok(most <= 3, `${most} running at once`);
  assert.ok(most >= 2, `parallelism unused: at most ${most} running`);
});

test('jobs: a FORBID schedule skips a run while the previous one still runs; REPLACE stops it and starts anew', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:2048;disk:2048' });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());
  const created = await api(jobs.url, 'POST', '/v1/jobs', {
    id: 'slow',
    run: { cmd: 'sleep 100' },
  });
  assert.equal(created.status, 201);
  const schedule = await api<{ nextRunAt: string }>(jobs.url, 'POST', '/v1/jobs/slow/schedules', {
    id: 'every-minute',
    cron: '* * * * *',
    timezone: 'Europe/Berlin',
    concurrencyPolicy: 'FORBID',
  });
  assert.equal(schedule.status, 201, JSON.stringify(schedule.body));
  const first = Date.parse(schedule.body.nextRunAt);
  assert.equal(first % 60_000, 0);
  // The same schedule with REPLACE on a second job, firing at the same times.
  assert.equal(
    (await api(jobs.url, 'POST', '/v1/jobs', { id: 'replaced', run: { cmd: 'sleep 100' } })).status,
    201,
  );
  const replacing = await api<{ nextRunAt: string }>(
    jobs.url,
    'POST',
    '/v1/jobs/replaced/schedules',
    { id: 'every-minute', cron: '* * * * *', concurrencyPolicy: 'REPLACE' },
  );
  assert.equal(replacing.status, 201, JSON.stringify(replacing.body));
  // The first fire starts a run; the second, a minute later, finds it running and skips.
  const skipped = await waitFor(
    'the second fire to be skipped',
    async () => {
      const s = await api<{ skipped: number }>(
        jobs.url,
        'GET',
        '/v1/jobs/slow/schedules/every-minute',
      );
      return s.body.skipped >= 1 ? s.body : undefined;
    },
    first - Date.now() + 60_000 + 30_000,
  );
  assert.equal(skipped.skipped, 1);
  const runs = await api<{ status: string; scheduleId: string }[]>(
    jobs.url,
    'GET',
    '/v1/jobs/slow/runs',
  );
  assert.equal(runs.body.length, 1, JSON.stringify(runs.body));
  assert.equal(runs.body[0]?.status, 'ACTIVE');
  const replaced = await waitFor(
    'the REPLACE schedule to have stopped its first run for a second',
    async () => {
      const list = await api<{ id: string; status: string; reason?: string }[]>(
        jobs.url,
        'GET',
        '/v1/jobs/replaced/runs',
      );
      const [older, newer] = list.body;
      return list.body.length === 2 && older?.status === 'FAILED' && newer?.status === 'ACTIVE'
        ? list.body
        : undefined;
    },
    60_000,
  );
  assert.match(replaced[0]?.reason ?? '', /replaced by a run of schedule 'every-minute'/);
  assert.equal(
    (await api(jobs.url, 'POST', `/v1/jobs/replaced/runs/${replaced[1]?.id ?? ''}/actions/stop`))
      .status,
    200,
  );
  const bad = await api<{ field: string }>(jobs.url, 'POST', '/v1/jobs/slow/schedules', {
    id: 'x',
    cron: '* * *',
  });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.field, 'cron');
  const stop = await api(
    jobs.url,
    'POST',
    `/v1/jobs/slow/runs/${runs.body[0] ? (runs.body[0] as unknown as { id: string }).id : ''}/actions/stop`,
  );
  assert.equal(stop.status, 200);
});

test('jobs: a run past activeDeadlineSeconds is stopped, its tasks killed, and says why', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:2048;disk:2048' });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());
  const run = await submit(jobs.url, {
    id: 'late',
    run: { cmd: 'sleep 120', cpus: 0.1, mem: 16 },
    completions: 4,
    parallelism: 2,
    activeDeadlineSeconds: 3,
  });
  await waitFor(
    'two indices to run',
    async () => ((await getRun(jobs.url, 'late', run.id)).running === 2 ? true : undefined),
    60_000,
  );
  const done = await runFinished(jobs.url, 'late', run.id, 60_000);
  assert.equal(done.status, 'FAILED');
  assert.match(done.reason ?? '', /DeadlineExceeded: active longer than 3 s/);
  assert.equal(done.succeeded, 0);
  // Nothing of it runs on the agent any more: the master saw every launched task end.
  await waitFor(
    'the master to show no running task of the job',
    async () => {
      const state = (await (await fetch(`${cluster.masterUrl}/master/state`)).json()) as {
        frameworks: { tasks: { id: string; state: string }[] }[];
      };
      const live = state.frameworks.flatMap((f) =>
        f.tasks.filter((task) => task.id.startsWith('late.')),
      );
      return live.length === 0 ? true : undefined;
    },
    60_000,
  );
});
