// --switch_user with the Docker containerizer, as Mesos' does it: the task's user owns its
// sandbox, the container runs as its image's USER (no `docker run --user`), and the docker
// CLI itself runs as the agent (the task's user could not reach dockerd's socket). The test
// makes its own user and its own dockerd (docker-harness.ts), and removes both.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { taskId } from '../../src/wire/index.js';
import { dockerAgentFlags, startDocker } from './docker-harness.js';
import { EventQueue } from './events.js';
import { defer, startCluster, waitFor } from './harness.js';

test('an agent with --switch_user runs a Docker task as its image user, in a sandbox its user owns', async (t) => {
  const name = `agora-swd-${process.pid}`;
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  defer(t, () => execFileSync('userdel', [name]));
  const uid = execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim();
  const docker = await startDocker();
  defer(t, () => docker.stop());
  const cluster = await startCluster({ agents: 0, agentResources: 'cpus:2;mem:1024' });
  defer(t, () => cluster.stop());
  const agent = await cluster.addAgent(
    'agent-docker-switching',
    dockerAgentFlags(docker, ['--switch_user']),
  );
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: name, name: 'docker-switching' },
  });
  defer(t, () => framework.close({ drainMs: 0, teardown: true }));
  const events = new EventQueue(framework);
  const [offer] = await events.offers();
  assert.ok(offer !== undefined);
  await framework.accept(
    [offer.id],
    [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            {
              name: 'in-docker',
              task_id: taskId('in-docker'),
              agent_id: offer.agent_id,
              resources: [
                { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
                { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
              ],
              command: { value: 'id -u; stat -c %u /mnt/mesos/sandbox' },
              container: { type: 'DOCKER', docker: { image: docker.image, network: 'NONE' } },
            },
          ],
        },
      },
    ],
  );
  const ended = await waitFor(
    'the Docker task to end',
    () => {
      for (const event of events.seen)
        if (
          event.type === 'UPDATE' &&
          event.update.status.task_id.value === 'in-docker' &&
          ['TASK_FINISHED', 'TASK_FAILED', 'TASK_ERROR', 'TASK_LOST'].includes(
            event.update.status.state,
          )
        )
          return event.update.status;
      return undefined;
    },
    90_000,
  );
  assert.equal(ended.state, 'TASK_FINISHED', ended.message);
  const url = new URL('/files/read', agent.url);
  url.search = new URLSearchParams({
    path: `/frameworks/${framework.frameworkId.value}/executors/in-docker/runs/latest/stdout`,
    offset: '0',
  }).toString();
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const stdout = ((await response.json()) as { data: string }).data;
  // The image's user (busybox: root) inside; the sandbox is the task user's.
  assert.deepEqual(stdout.trim().split('\n'), ['0', uid]);
});
