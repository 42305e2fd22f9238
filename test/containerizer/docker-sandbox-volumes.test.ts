// A DOCKER task's volume with a relative host path is in its sandbox, whose contents are
// the task's (a fetched archive may hold any link). dockerd runs as root: given a path
// through a link it mounts (or makes) whatever the link points to on the host. The
// containerizer makes the path itself, refusing links, before dockerd hears of it.
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DockerContainerizer } from '../../src/containerizer/docker-containerizer.js';
import { planDockerRun, withStagedVolumes } from '../../src/containerizer/docker-plan.js';
import { Resources } from '../../src/resources/index.js';

const container = (hostPath: string) => ({
  type: 'DOCKER',
  docker: { image: 'busybox' },
  volumes: [{ container_path: '/data', host_path: hostPath, mode: 'RW' }],
});

test('docker plan lists the volumes it would take from the sandbox', () => {
  const plan = planDockerRun({
    container: {
      ...container('cache/x'),
      volumes: [
        { container_path: '/a', host_path: 'cache/x', mode: 'RW' },
        { container_path: '/b', host_path: '/srv/shared', mode: 'RO' },
      ],
    },
    command: { shell: true, value: 'true' },
    containerId: 'c1',
    sandbox: '/work/sandbox',
    resources: Resources.parse('cpus:1;mem:64'),
    environment: {},
    labels: {},
    persistentVolumes: [],
  });
  assert.equal(plan.kind, 'run');
  assert.deepEqual(plan.kind === 'run' ? plan.sandboxPaths : [], ['/work/sandbox/cache/x']);
  // dockerd is given the staged mount of the walked directory instead (by name it could
  // follow a link swapped in since the walk); the host path stays as it was.
  assert.ok(plan.kind === 'run');
  const staged = withStagedVolumes(plan, ['/agent/docker-volumes/c1/0']);
  const volumes = staged.args.filter((_, i) => staged.args[i - 1] === '-v');
  assert.deepEqual(volumes.slice(1), ['/agent/docker-volumes/c1/0:/a:rw', '/srv/shared:/b:ro']);
});

test('a DOCKER volume through a link in the sandbox is refused before dockerd hears of it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-docker-volumes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sandbox = join(dir, 'sandbox');
  const outside = join(dir, 'outside');
  mkdirSync(sandbox);
  mkdirSync(outside);
  symlinkSync(outside, join(sandbox, 'link'));
  const warnings: string[] = [];
  const containerizer = new DockerContainerizer({
    docker: 'docker',
    // No dockerd here: the launch must fail before it would be asked anything.
    socket: join(dir, 'no-dockerd.sock'),
    removeDelayMs: 0,
    killOrphans: false,
    workDir: dir,
    warn: (_fields, message) => warnings.push(message),
  });
  t.after(() => containerizer.close());
  for (const hostPath of ['link', 'link/made']) {
    await assert.rejects(
      containerizer.launch({
        containerId: `c-${hostPath.length}`,
        sandbox,
        runtimeDir: join(dir, 'runtime'),
        command: { shell: true, value: 'true' },
        environment: {},
        resources: Resources.parse('cpus:1;mem:64'),
        container: container(hostPath),
      }),
      /passes through a link/,
    );
  }
  assert.deepEqual(readdirSync(outside), []);
  // A sandbox path that is not there yet is made, a directory of the sandbox.
  await assert.rejects(
    containerizer.launch({
      containerId: 'c-fresh',
      sandbox,
      runtimeDir: join(dir, 'runtime'),
      command: { shell: true, value: 'true' },
      environment: {},
      resources: Resources.parse('cpus:1;mem:64'),
      container: container('fresh/dir'),
    }),
    (error: Error) => !/passes through a link/.test(error.message),
  );
  assert.ok(statSync(join(sandbox, 'fresh', 'dir')).isDirectory());
  // It was staged for dockerd (a mount of the agent's) and unstaged with the failed launch.
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'no mount is left');
  assert.deepEqual(readdirSync(join(dir, 'docker-volumes')), []);
});
