// The bundled frameworks' REST APIs as clients others wrote call them: the Marathon
// clients' per-task and per-version paths, and hostile requests that must get a 4xx
// naming what is wrong, never a 500.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getState, startCluster, waitFor } from './harness.js';
import { getRun, api as jobsApi, startJobs, submit } from './jobs-harness.js';
import { api, startServices, type TaskView } from './services-helpers.js';

test("services: Marathon clients' per-task, per-version, ?host=, ?status= and queue-delay calls; a null kill list refused", async (t) => {
  const cluster = await startCluster({ agents: 1 });
  t.after(() => cluster.stop());
  const services = await startServices(cluster.masterUrl, cluster.workDir);
  t.after(() => services.daemon.stop());
  const base = services.url;

  const created = await api(base, 'POST', '/v2/apps', {
    id: '/sleepy',
    cmd: 'sleep 1000',
    cpus: 0.01,
    mem: 16,
    instances: 1,
    backoffSeconds: 1,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const running = async () => {
    const reply = await api(base, 'GET', '/v2/apps/sleepy/tasks');
    return (reply.body.tasks as TaskView[]).find((task) => task.state === 'TASK_RUNNING');
  };
  const first = await waitFor('a running instance', running, 30_000);

  // marathon-python's get_app_version, the dcos CLI's `app show --app-version`.
  const { versions } = (await api(base, 'GET', '/v2/apps/sleepy/versions')).body;
  const version = await api(base, 'GET', `/v2/apps/sleepy/versions/${versions[0]}`);
  assert.equal(version.status, 200, JSON.stringify(version.body));
  assert.equal(version.body.id, '/sleepy');
  assert.equal(version.body.version, versions[0]);
  assert.equal(version.body.cmd, 'sleep 1000');
  assert.equal((await api(base, 'GET', '/v2/apps/sleepy/versions/1999-01-01')).status, 404);

  // marathon-python's kill_task and go-marathon's KillTask: one task by path.
  const one = await api(base, 'GET', `/v2/apps/sleepy/tasks/${first.id}`);
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.equal(one.body.task.id, first.id);
  const killed = await api(base, 'DELETE', `/v2/apps/sleepy/tasks/${first.id}`);
  assert.equal(killed.status, 200, JSON.stringify(killed.body));
  assert.equal(killed.body.task.id, first.id);
  const missing = await api(base, 'DELETE', '/v2/apps/sleepy/tasks/sleepy.nope');
  assert.equal(missing.status, 404);
  assert.match(missing.body.message, /sleepy\.nope/);
  // Without ?scale=true the app keeps its one instance: a new one replaces the killed one.
  await waitFor(
    'a replacement instance',
    async () => {
      const task = await running();
      return task !== undefined && task.id !== first.id ? task : undefined;
    },
    30_000,
  );

  // Marathon's DELETE /v2/queue/{appId}/delay (marathon-python's reset_delay): a crash-looping
  // app waiting out an hour's backoff is launched again at once.
  const crashy = { id: '/crashy', cmd: 'exit 1', cpus: 0.01, mem: 16, backoffSeconds: 3600 };
  assert.equal((await api(base, 'POST', '/v2/apps', crashy)).status, 201);
  const lastFailure = async (): Promise<string | undefined> =>
    (await api(base, 'GET', '/v2/apps/crashy')).body.app.lastTaskFailure?.taskId;
  const failed = await waitFor('the first failure', lastFailure, 30_000);
  await waitFor('the backoff delay in the queue', async () => {
    const { queue } = (await api(base, 'GET', '/v2/queue')).body;
    const entry = queue.find((q: { app: { id: string } }) => q.app.id === '/crashy');
    return entry?.delay.timeLeftSeconds > 60 ? true : undefined;
  });
  assert.equal((await api(base, 'DELETE', '/v2/queue/crashy/delay')).status, 204);
  await waitFor(
    'a relaunch and a second failure',
    async () => {
      const taskId = await lastFailure();
      return taskId !== undefined && taskId !== failed ? true : undefined;
    },
    30_000,
  );
  assert.equal((await api(base, 'DELETE', '/v2/queue/nope/delay')).status, 404);
  assert.equal((await api(base, 'DELETE', '/v2/apps/crashy')).status, 200);

  for (const body of ['null', '5', '"ids"']) {
    const reply = await api(base, 'POST', '/v2/tasks/delete', body);
    assert.equal(reply.status, 422, `${body}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body.details[0].path, '/ids');
  }

  // Marathon's ?status= filter on /v2/tasks.
  const staging = await api(base, 'GET', '/v2/tasks?status=staging');
  assert.ok(
    (staging.body.tasks as TaskView[]).every((task) => task.state === 'TASK_STAGING'),
    JSON.stringify(staging.body),
  );
  const current = await waitFor('a running instance', running, 30_000);
  const runningOnes = (await api(base, 'GET', '/v2/tasks?status=running')).body.tasks as TaskView[];
  assert.ok(
    runningOnes.some((task) => task.id === current.id),
    JSON.stringify(runningOnes),
  );
  assert.ok(
    runningOnes.every((task) => task.state === 'TASK_RUNNING'),
    JSON.stringify(runningOnes),
  );

  // Marathon's ?host= kills only the tasks on that agent: none here, so none is killed.
  const elsewhere = await api(base, 'DELETE', '/v2/apps/sleepy/tasks?host=no-such-host');
  assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
  assert.deepEqual(elsewhere.body.tasks, []);
  const after = await api(base, 'GET', `/v2/apps/sleepy/tasks/${current.id}`);
  assert.equal(after.body.task.state, 'TASK_RUNNING');
  const here = await api(base, 'DELETE', `/v2/apps/sleepy/tasks?host=${current.host}`);
  assert.deepEqual(
    (here.body.tasks as TaskView[]).map((task) => task.id),
    [current.id],
  );
});

test('jobs: malformed %-encoding is 400 not 500; DELETE ?stopCurrentJobRuns=true stops and deletes', async (t) => {
  const cluster = await startCluster({ agents: 1 });
  t.after(() => cluster.stop());
  const jobs = await startJobs(cluster);
  t.after(() => jobs.daemon.stop());
  for (const path of ['/v1/jobs/%ff', '/v1/jobs/a/runs/%e0%a4%a', '/v1/jobs/a/schedules/%']) {
    const reply = await jobsApi<{ message: string; field: string }>(jobs.url, 'GET', path);
    assert.equal(reply.status, 400, `${path}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body.field, 'path');
  }

  // The dcos CLI's `job remove --stop-current-job-runs`: Metronome's flag on DELETE.
  const spec = { id: 'long', run: { cmd: 'sleep 600', cpus: 0.01, mem: 16 } };
  const run = await submit(jobs.url, spec);
  await waitFor(
    'the run to be running',
    async () => ((await getRun(jobs.url, 'long', run.id)).running === 1 ? true : undefined),
    30_000,
  );
  assert.equal((await jobsApi(jobs.url, 'DELETE', '/v1/jobs/long')).status, 409);
  const deleted = await jobsApi(jobs.url, 'DELETE', '/v1/jobs/long?stopCurrentJobRuns=true');
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  assert.equal((await jobsApi(jobs.url, 'GET', '/v1/jobs/long')).status, 404);
  await waitFor(
    'the task to be gone from the master',
    async () => {
      const state = await getState(cluster.masterUrl);
      const running = state.frameworks
        .flatMap((f) => f.tasks)
        .filter((task) => task.state === 'TASK_RUNNING');
      return running.length === 0 ? true : undefined;
    },
    30_000,
  );
});
