// Docker images in the Mesos containerizer, through a real master and agent and
// no dockerd: the agent pulls from a local registry directory (a `docker save`
// archive written by image-archive.ts), runs a MESOS task in the image's rootfs
// (--isolation=...,filesystem/linux,docker/runtime), runs its health check in
// it, bind mounts a persistent volume into image tasks and command tasks alike,
// fails a task whose image is missing with a message naming it, finds a running
// image container again after a kill -9 of the agent, and leaves no mount and
// no container rootfs behind.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Resource, TaskInfo } from '../../src/wire/index.js';
import { taskId } from '../../src/wire/index.js';
import { type Cluster, type Daemon, getState, runCli, startCluster, waitFor } from './harness.js';
import { writeBusyboxImage } from './image-archive.js';
import { TaskFramework } from './task-framework.js';

const IMAGE = 'agora-test/busybox:2';
const isRoot = process.getuid?.() === 0;

const scalar = (name: string, value: number): Resource => ({
  name,
  type: 'SCALAR',
  scalar: { value },
});
const SMALL = [scalar('cpus', 0.1), scalar('mem', 32)];
const image = (name = IMAGE) => ({
  type: 'MESOS',
  mesos: { image: { type: 'DOCKER', docker: { name } } },
});

function sandboxFile(agentWorkDir: string, taskIdValue: string, name: string): string {
  const slaves = join(agentWorkDir, 'slaves');
  for (const slave of readdirSync(slaves))
    for (const framework of readdirSync(join(slaves, slave, 'frameworks'))) {
      const path = join(slaves, slave, 'frameworks', framework, 'executors', taskIdValue);
      const file = join(path, 'runs', 'latest', name);
      if (existsSync(file)) return readFileSync(file, 'utf8');
    }
  return '';
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(dir));
}

describe('Docker images in the Mesos containerizer', {
  skip: isRoot ? false : 'needs root',
}, () => {
  let dir: string;
  let cluster: Cluster;
  let agent: Daemon;
  let framework: TaskFramework;
  let agentDir: string;
  let agentArgs: string[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agora-img-'));
    const registry = join(dir, 'registry');
    writeBusyboxImage({
      registryDir: registry,
      repository: 'agora-test/busybox',
      tag: '2',
      scratch: join(dir, 'scratch'),
      config: { Env: ['PATH=/bin', 'FROM_IMAGE=yes'], Cmd: ['/bin/sh'], WorkingDir: '/work' },
    });
    agentArgs = [
      '--image_providers',
      'docker',
      '--docker_registry',
      registry,
      '--docker_store_dir',
      join(dir, 'store'),
      '--isolation',
      'cgroups/cpu,cgroups/mem,filesystem/linux,docker/runtime',
    ];
    cluster = await startCluster({ agents: 0, agentResources: 'cpus:4;mem:2048;disk(vol):64' });
    agentDir = join(cluster.workDir, 'agent-1');
    agent = await cluster.addAgent('agent-1', agentArgs, agentDir);
    await waitFor('the agent to register', async () =>
      (await getState(cluster.masterUrl)).slaves.some((s) => s.active) ? true : undefined,
    );
    framework = await TaskFramework.start(cluster.masterUrl, 'images', { role: 'vol' });
  });
  after(async () => {
    await framework?.stop();
    await cluster?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('a task runs in its image, its output in the sandbox, its exit code back', async () => {
    await framework.launch({
      inside: {
        command: {
          value:
            'pwd; cat /etc/agora-image; echo "$FROM_IMAGE $MESOS_SANDBOX"; test -e /usr/bin/node || echo no-host; exit 3',
        },
        container: image(),
      },
      missing: { command: { value: 'true' }, container: image('agora-test/missing:1') },
    });
    const failed = await framework.update('inside', 'TASK_FAILED', 60_000);
    assert.match(failed.message ?? '', /exited with status 3/);
    assert.equal(
      sandboxFile(agentDir, 'inside', 'stdout'),
      '/work\nfrom layer 1\nyes /mnt/mesos/sandbox\nno-host\n',
    );
    const missing = await framework.update('missing', 'TASK_FAILED', 60_000);
    assert.equal(missing.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
    assert.match(missing.message ?? '', /Failed to find image 'agora-test\/missing:1'/);
  });

  test("a task's health check runs inside its image", async () => {
    await framework.launch({
      checked: {
        command: { value: 'exec sleep 1000' },
        container: image(),
        health_check: {
          type: 'COMMAND',
          // True only inside the image: the host has no /etc/agora-image.
          command: {
            value:
              'test -e /etc/agora-image && test "$(pwd)" = /work && test "$PATH" = /bin && test "$MESOS_SANDBOX" = /mnt/mesos/sandbox',
          },
          delay_seconds: 0,
          interval_seconds: 0.5,
          grace_period_seconds: 10,
          consecutive_failures: 2,
        },
      },
    });
    const healthy = await waitFor('the health check to pass', () =>
      framework.updates('checked').find((u) => u.healthy === true),
    );
    assert.equal(healthy.state, 'TASK_RUNNING');
    await framework.connection.kill(taskId('checked'));
    await framework.update('checked', 'TASK_KILLED', 30_000);
  });

  test('a persistent volume is bind mounted into image and command tasks and keeps its file', async () => {
    const [slave] = (await getState(cluster.masterUrl)).slaves;
    assert.ok(slave !== undefined);
    const volume: Resource = {
      name: 'disk',
      type: 'SCALAR',
      scalar: { value: 16 },
      reservations: [{ type: 'STATIC', role: 'vol' }],
      disk: {
        persistence: { id: 'image-vol', principal: 'test' },
        volume: { container_path: 'data', mode: 'RW' },
      },
    };
    const created = await fetch(new URL('/master/create-volumes', cluster.masterUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ slaveId: slave.id, volumes: JSON.stringify([volume]) }),
    });
    assert.equal(created.status, 202, await created.text());
    const volumeDir = join(agentDir, 'volumes', 'roles', 'vol', 'image-vol');
    await waitFor('the agent to make the volume', () => (existsSync(volumeDir) ? true : undefined));
    const withVolume = (
      command: string,
      container?: Record<string, unknown>,
    ): Partial<TaskInfo> & { command: { value: string } } => ({
      command: { value: command },
      ...(container === undefined ? {} : { container }),
      resources: [...SMALL, { ...volume, allocation_info: { role: 'vol' } }],
    });
    await framework.launch({
      writer: withVolume('echo kept > /mnt/mesos/sandbox/data/file', image()),
    });
    await framework.update('writer', 'TASK_FINISHED', 60_000);
    // A command task (no image): a bind mount in its own namespace, not a link.
    await framework.launch({
      reader: withVolume('test ! -L data && cat data/file && echo more >> data/file'),
    });
    await framework.update('reader', 'TASK_FINISHED', 60_000);
    assert.match(sandboxFile(agentDir, 'reader', 'stdout'), /^kept$/m);
    assert.equal(readFileSync(join(volumeDir, 'file'), 'utf8'), 'kept\nmore\n');
  });

  test("a MESOS container's host path and sandbox path volumes are mounted; one it cannot honour fails the launch", async () => {
    const hostDir = join(dir, 'host-volume');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'in'), 'from the host\n');
    const withVolumes = (volumes: unknown[]) => ({ type: 'MESOS', volumes });
    await framework.launch({
      mounted: {
        command: {
          value:
            'test ! -L host && cat host/in && echo out > host/out && ! echo x > ro/x && echo shared > scratch/file',
        },
        container: withVolumes([
          { container_path: 'host', host_path: hostDir, mode: 'RW' },
          {
            container_path: 'ro',
            source: { type: 'HOST_PATH', host_path: { path: hostDir } },
            mode: 'RO',
          },
          {
            container_path: 'scratch',
            source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: 'kept' } },
            mode: 'RW',
          },
        ]),
        resources: SMALL,
      },
    });
    await framework.update('mounted', 'TASK_FINISHED', 60_000);
    assert.match(sandboxFile(agentDir, 'mounted', 'stdout'), /^from the host$/m);
    assert.equal(readFileSync(join(hostDir, 'out'), 'utf8'), 'out\n');
    assert.ok(!existsSync(join(hostDir, 'x')), 'a read-only volume was not written');
    assert.equal(sandboxFile(agentDir, 'mounted', 'kept/file'), 'shared\n');
    // What cannot be honoured fails the launch naming why, rather than running without it.
    const refused: [string, unknown][] = [
      ['vol-missing', { container_path: 'm', host_path: join(dir, 'no-such-dir'), mode: 'RW' }],
      [
        'vol-escaping',
        {
          container_path: 'e',
          source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: '../../../..' } },
          mode: 'RW',
        },
      ],
      ['vol-secret', { container_path: 's', source: { type: 'SECRET', secret: {} }, mode: 'RO' }],
    ];
    for (const [name, volume] of refused)
      await framework.launch({
        [name]: { command: { value: 'true' }, container: withVolumes([volume]), resources: SMALL },
      });
    const why = async (name: string) =>
      (await framework.update(name, 'TASK_FAILED', 60_000)).message ?? '';
    assert.match(await why('vol-missing'), /no-such-dir' in HOST_PATH volume does not exist/);
    assert.match(await why('vol-escaping'), /escapes the sandbox/);
    assert.match(await why('vol-secret'), /SECRET volumes are not supported/);
  });

  test('agora run --docker-image --containerizer mesos runs a command in the image', async () => {
    const result = await runCli(
      [
        'run',
        '--master',
        cluster.masterUrl,
        '--docker-image',
        IMAGE,
        '--containerizer',
        'mesos',
        '--',
        'cat /etc/agora-image; exit 7',
      ],
      { timeoutMs: 60_000 },
    ).result;
    assert.equal(result.code, 7, result.stderr);
    assert.match(result.stdout, /^from layer 1$/m);
  });

  test('an agent killed outright finds its running image task again; nothing is left mounted', async () => {
    await framework.launch({
      survivor: {
        command: { value: 'exec sleep 1000' },
        container: image(),
      },
    });
    await framework.update('survivor', 'TASK_RUNNING', 60_000);
    agent.process.kill('SIGKILL');
    await agent.exited;
    agent = await cluster.addAgent('agent-1-again', agentArgs, agentDir);
    const killed = await framework.killUntilKilled('survivor');
    assert.equal(killed.state, 'TASK_KILLED');
    const containers = join(agentDir, 'provisioner', 'containers');
    await waitFor('every container rootfs to be removed', () =>
      readdirSync(containers).length === 0 ? true : undefined,
    );
    await framework.stop();
    await cluster.stop();
    assert.deepEqual(mountsUnder(cluster.workDir), []);
    assert.deepEqual(mountsUnder(dir), []);
  });
});
