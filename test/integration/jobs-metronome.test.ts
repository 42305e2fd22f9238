// The jobs framework answering what Metronome's clients send (the dcos CLI's job JSON) in
// Metronome's shapes: restart, maxLaunchDelay, run.placement and schedules in a POST, the
// `history` and `historySummary` embeds, /ping, 422 with `details`, and a role the framework
// cannot run as refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defer, startCluster } from './harness.js';
import { api, runFinished, startJobs } from './jobs-harness.js';

interface ErrorReply {
  message: string;
  field: string;
  details: { path: string; errors: string[] }[];
}

test("jobs: Metronome's job JSON is accepted, its history embed and errors have Metronome's shape", async (t) => {
  const cluster = await startCluster({ agents: 1 });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());

  // As the dcos CLI's examples write a job, schedules embedded.
  const created = await api<{ run: Record<string, unknown>; maxRetries: number }>(
    jobs.url,
    'POST',
    '/v1/jobs',
    {
      id: 'once',
      description: 'fails once, never restarted',
      labels: { team: 'a' },
      run: {
        cmd: 'exit 3',
        cpus: 0.01,
        mem: 32,
        disk: 0,
        maxLaunchDelay: 3600,
        restart: { policy: 'NEVER' },
        placement: { constraints: [] },
      },
      schedules: [
        { id: 'nightly', cron: '0 2 * * *', timezone: 'UTC', concurrencyPolicy: 'ALLOW' },
      ],
    },
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.maxRetries, 0);
  assert.equal(created.body.run.maxLaunchDelay, 3600);
  const schedules = await api<{ id: string; cron: string }[]>(
    jobs.url,
    'GET',
    '/v1/jobs/once/schedules',
  );
  assert.deepEqual(
    schedules.body.map((s) => [s.id, s.cron]),
    [['nightly', '0 2 * * *']],
  );

  const run = await api<{ id: string }>(jobs.url, 'POST', '/v1/jobs/once/runs');
  assert.equal(run.status, 201);
  const done = await runFinished(jobs.url, 'once', run.body.id, 60_000);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.retries, 0, 'restart NEVER: no retry');
  const withHistory = await api<{ history: Record<string, unknown> }>(
    jobs.url,
    'GET',
    '/v1/jobs/once?embed=history',
  );
  const history = withHistory.body.history;
  assert.equal(history.successCount, 0);
  assert.equal(history.failureCount, 1);
  assert.equal(history.lastSuccessAt, null);
  assert.equal(typeof history.lastFailureAt, 'string');
  assert.deepEqual(history.successfulFinishedRuns, []);
  const failedRuns = history.failedFinishedRuns as { id: string; finishedAt: string }[];
  assert.deepEqual(
    failedRuns.map((r) => r.id),
    [run.body.id],
  );
  assert.equal(typeof failedRuns[0]?.finishedAt, 'string');
  // historySummary is history's counts without the runs; an unknown embed is refused.
  const listed = await api<{ id: string; historySummary: Record<string, unknown> }[]>(
    jobs.url,
    'GET',
    '/v1/jobs?embed=historySummary',
  );
  assert.deepEqual(listed.body.find((j) => j.id === 'once')?.historySummary, {
    successCount: 0,
    failureCount: 1,
    lastSuccessAt: null,
    lastFailureAt: history.lastFailureAt,
  });
  const typo = await api<ErrorReply>(jobs.url, 'GET', '/v1/jobs/once?embed=activeRun');
  assert.equal(typo.status, 400, JSON.stringify(typo.body));
  assert.match(
    typo.body.message,
    /embed: unknown option 'activeRun'; valid options are activeRuns/,
  );
  const ping = await fetch(new URL('/ping', jobs.url));
  assert.equal(ping.status, 200);
  assert.equal(await ping.text(), 'pong');

  // Not valid: 422, `field` for Agora's CLI and Metronome's `details`.
  const invalid = await api<ErrorReply>(jobs.url, 'POST', '/v1/jobs', {
    id: 'bad',
    run: { cmd: 'true', restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 60 } },
  });
  assert.equal(invalid.status, 422, JSON.stringify(invalid.body));
  assert.equal(invalid.body.field, 'run.restart.activeDeadlineSeconds');
  assert.equal(invalid.body.details[0]?.path, '/run/restart/activeDeadlineSeconds');
  assert.ok((invalid.body.details[0]?.errors.length ?? 0) > 0);

  // A valid role the framework does not subscribe with would wait for ever: refused.
  const role = await api<ErrorReply>(jobs.url, 'POST', '/v1/jobs', {
    id: 'elsewhere',
    run: { cmd: 'true', role: 'analytics' },
  });
  assert.equal(role.status, 422, JSON.stringify(role.body));
  assert.equal(role.body.field, 'run.role');
  assert.match(role.body.message, /'analytics' is not a role this framework runs tasks as/);
  assert.equal((await api(jobs.url, 'GET', '/v1/jobs/elsewhere')).status, 404);
});

test('jobs: a framework with --role runs a job that names no role, and refuses one naming another', async (t) => {
  const cluster = await startCluster({ agents: 1 });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster, { role: 'batch' });
  defer(t, () => jobs.daemon.stop());
  const created = await api<{ run: { role?: string } }>(jobs.url, 'POST', '/v1/jobs', {
    id: 'plain',
    run: { cmd: 'true', cpus: 0.01, mem: 16 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.run.role, 'batch');
  const run = await api<{ id: string }>(jobs.url, 'POST', '/v1/jobs/plain/runs');
  assert.equal(run.status, 201);
  assert.equal((await runFinished(jobs.url, 'plain', run.body.id, 60_000)).status, 'SUCCESS');
  const other = await api<ErrorReply>(jobs.url, 'POST', '/v1/jobs', {
    id: 'other',
    run: { cmd: 'true', role: 'web' },
  });
  assert.equal(other.status, 422, JSON.stringify(other.body));
  assert.equal(other.body.field, 'run.role');
});
