// A DOCKER task's sandbox-path volume is mounted from the directory the agent walked, not
// by name: dockerd resolves a `-v` source when it starts the container, as root, and a
// link swapped onto the path in between would take the mount anywhere on the host. The
// agent stages the walked directory on a mount of its own and gives dockerd that; the
// staging mount goes with the container's cleanup. Against a real dockerd of the test's own.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DockerContainerizer } from '../../src/containerizer/index.js';
import { Resources } from '../../src/resources/index.js';
import { startDocker } from './docker-harness.js';

test('a sandbox volume swapped for a link after the check is still the walked directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-dkswap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const docker = await startDocker();
  t.after(() => docker.stop());
  const containerizer = new DockerContainerizer({
    docker: join(dir, 'no-docker-cli'),
    socket: docker.socket,
    removeDelayMs: 0,
    killOrphans: false,
    workDir: join(dir, 'work'),
    warn: () => undefined,
  });
  t.after(() => containerizer.close());
  const sandbox = join(dir, 'sandbox');
  const outside = join(dir, 'outside');
  mkdirSync(sandbox);
  mkdirSync(outside);
  mkdirSync(join(dir, 'run'));
  const containerId = randomUUID();
  const container = await containerizer.launch({
    containerId,
    sandbox,
    runtimeDir: join(dir, 'run'),
    command: { value: 'echo written > /data/file' },
    environment: {},
    resources: Resources.parse('cpus:0.1;mem:32'),
    container: {
      type: 'DOCKER',
      docker: { image: docker.image, network: 'NONE' },
      volumes: [{ container_path: '/data', host_path: 'data', mode: 'RW' }],
    },
    volumes: [],
    // Checked and made by now; dockerd has not started the container yet: the task's swap.
    onLaunching: () => {
      renameSync(join(sandbox, 'data'), join(sandbox, 'data-moved'));
      symlinkSync(outside, join(sandbox, 'data'));
    },
  });
  const ended = await container.terminated;
  assert.equal(ended.exitCode, 0, readFileSync(join(sandbox, 'stderr'), 'utf8'));
  assert.deepEqual(readdirSync(outside), [], 'nothing went through the link');
  assert.equal(readFileSync(join(sandbox, 'data-moved', 'file'), 'utf8'), 'written\n');

  await containerizer.cleanup(containerId);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  assert.ok(!mounts.includes(dir), `no mount left under ${dir}:\n${mounts}`);
  assert.equal(existsSync(join(dir, 'work', 'docker-volumes', containerId)), false);
  assert.deepEqual(await docker.leftovers(), { containers: [], networks: [], volumes: [] });
});
