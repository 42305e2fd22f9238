// Commands run inside a Docker container over the Engine API (exec create, start,
// inspect), as the agent runs a DOCKER task's command checks: against a real dockerd of
// the test's own, with a containerizer whose docker CLI does not exist, so nothing here
// can have gone through `docker exec`.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DockerContainerizer } from '../../src/containerizer/index.js';
import { Resources } from '../../src/resources/index.js';
import { type DockerDaemon, startDocker } from './docker-harness.js';

describe('commands inside a Docker container over the Engine API', () => {
  let docker: DockerDaemon;
  let dir: string;
  let containerizer: DockerContainerizer;
  const containerId = randomUUID();
  let sandbox: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agora-dkexec-'));
    docker = await startDocker();
    containerizer = new DockerContainerizer({
      docker: join(dir, 'no-docker-cli'),
      socket: docker.socket,
      removeDelayMs: 0,
      killOrphans: false,
      workDir: dir,
      warn: () => undefined,
    });
    sandbox = join(dir, 'sandbox');
    mkdirSync(sandbox);
    mkdirSync(join(dir, 'run'));
    await containerizer.launch({
      containerId,
      sandbox,
      runtimeDir: join(dir, 'run'),
      command: { value: 'exec sleep 1000' },
      environment: {},
      resources: Resources.parse('cpus:0.1;mem:32'),
      container: { type: 'DOCKER', docker: { image: docker.image, network: 'NONE' } },
      volumes: [],
    });
  });
  after(async () => {
    // The container is removed with its cleanup (remove delay 0), then the daemon goes.
    await containerizer?.cleanup(containerId);
    containerizer?.close();
    const left = await docker?.leftovers();
    await docker?.stop();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, { containers: [], networks: [], volumes: [] }, 'nothing is left');
  });

  test('exec runs a command inside the container and resolves with its exit code', async () => {
    const output = join(dir, 'check-output');
    const code = await containerizer.exec(
      containerId,
      ['/bin/sh', '-c', 'test -d /mnt/mesos/sandbox && echo inside && echo to-stderr >&2; exit 3'],
      { signal: AbortSignal.timeout(30_000), outputPath: output },
    );
    assert.equal(code, 3);
    assert.equal(readFileSync(output, 'utf8').split('\n').sort().join(' '), ' inside to-stderr');
  });

  test('exec of a command that is not there fails with the command not run', async () => {
    const code = await containerizer.exec(containerId, ['/no/such/command'], {
      signal: AbortSignal.timeout(30_000),
    });
    // dockerd's own code for an exec whose command cannot start (as `docker exec` exits).
    assert.ok(code === 126 || code === 127, `exit code ${code}`);
  });

  test('exec stops waiting at once when its signal aborts', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const running = containerizer.exec(containerId, ['sleep', '30'], {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('check timed out')), 300);
    await assert.rejects(running ?? Promise.resolve(), /check timed out/);
    assert.ok(performance.now() - started < 10_000, 'rejected long before the command ended');
  });

  test('exec of a container this containerizer does not know is left to the caller', () => {
    assert.equal(
      containerizer.exec('no-such-container', ['true'], { signal: AbortSignal.timeout(1000) }),
      undefined,
    );
  });
});
