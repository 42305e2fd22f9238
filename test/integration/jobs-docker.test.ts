// An array job whose tasks run in a Docker image, on an agent with the Docker containerizer
// and a real dockerd: each index sees its own AGORA_JOB_INDEX inside the container, and its
// output is read back by index, as `agora jobs logs --index` reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dockerAgentFlags, startDocker } from './docker-harness.js';
import { defer, getState, runCli, startCluster, waitFor } from './harness.js';
import { api, runFinished, startJobs, submit } from './jobs-harness.js';

test('jobs: an array in a Docker image runs each index in a container, logs read by index', async (t) => {
  const docker = await startDocker();
  defer(t, () => docker.stop());
  const cluster = await startCluster({ agents: 0, agentResources: 'cpus:2;mem:2048;disk:1024' });
  defer(t, () => cluster.stop());
  await cluster.addAgent('agent-1', dockerAgentFlags(docker));
  await waitFor('the agent to register', async () =>
    (await getState(cluster.masterUrl)).slaves.some((s) => s.active) ? true : undefined,
  );
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());
  const run = await submit(jobs.url, {
    id: 'boxed',
    run: {
      cmd: 'echo "index $AGORA_JOB_INDEX of $AGORA_JOB_COMPLETIONS in $(cat /proc/1/comm)"',
      cpus: 0.1,
      mem: 32,
      docker: { image: docker.image, network: 'NONE' },
    },
    completions: 3,
    maxRetries: 0,
  });
  const done = await runFinished(jobs.url, 'boxed', run.id, 180_000);
  assert.equal(done.status, 'SUCCESS', JSON.stringify(done));
  const job = await api<{ run: { docker?: unknown } }>(jobs.url, 'GET', '/v1/jobs/boxed');
  assert.deepEqual(job.body.run.docker, {
    image: docker.image,
    forcePullImage: false,
    network: 'NONE',
  });
  for (const index of [0, 2]) {
    const out = await runCli([
      'jobs',
      'logs',
      'boxed',
      '--index',
      String(index),
      '--jobs',
      new URL(jobs.url).host,
    ]).result;
    assert.equal(out.code, 0, out.stderr);
    // PID 1 in the container is the shell running the command, not the agent's executor.
    assert.match(out.stdout, new RegExp(`^index ${index} of 3 in sh$`, 'm'));
  }
  const bad = await api<{ field?: string }>(jobs.url, 'POST', '/v1/jobs', {
    id: 'bad-docker',
    run: { cmd: 'true', docker: { image: '' } },
  });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.field, 'run.docker.image');
});
