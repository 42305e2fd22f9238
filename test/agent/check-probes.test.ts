// The probes with real processes, servers and sockets: what each finds, that
// an abort stops it and leaves nothing running, and that a command probe runs
// inside the task's cgroups where the task has them.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { healthProbeSpec, type ProbeContext, runProbe } from '../../src/agent/check-probes.js';
import { ContainerCgroup, detectCgroups, readStat } from '../../src/containerizer/index.js';

const detection = detectCgroups(readFileSync('/proc/self/mountinfo', 'utf8'));
const cgroupsSkip =
  detection.kind !== 'available'
    ? `cgroups unavailable: ${detection.reason}`
    : process.getuid?.() !== 0
      ? 'cgroups need root'
      : false;

function sandbox(t: TestContext): ProbeContext {
  const dir = mkdtempSync(join(tmpdir(), 'agora-probe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    sandbox: dir,
    environment: { PATH: process.env.PATH ?? '/usr/bin:/bin', TASK_VAR: 'from-task' },
    cgroupProcsFiles: [],
  };
}

const never = new AbortController().signal;

/** Polls until `probe` is true, or fails naming what it waited for. */
async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('command probe runs in the sandbox with the task environment and the check own', async (t) => {
  const context = sandbox(t);
  const outcome = await runProbe(
    {
      kind: 'command',
      command: {
        value: 'echo "$TASK_VAR $CHECK_VAR $(pwd)"; exit 3',
        environment: { variables: [{ name: 'CHECK_VAR', value: 'from-check' }] },
      },
    },
    context,
    never,
  );
  assert.deepEqual(outcome, {
    kind: 'result',
    status: { type: 'COMMAND', command: { exit_code: 3 } },
  });
  assert.equal(
    readFileSync(join(context.sandbox, 'stderr'), 'utf8'),
    `from-task from-check ${context.sandbox}\n`,
    'its output goes to the sandbox stderr',
  );
  const argv = await runProbe(
    {
      kind: 'command',
      command: { shell: false, value: '/bin/sh', arguments: ['sh', '-c', 'exit 0'] },
    },
    context,
    never,
  );
  assert.deepEqual(argv, {
    kind: 'result',
    status: { type: 'COMMAND', command: { exit_code: 0 } },
  });
});

test('command probe aborted kills its whole process group', async (t) => {
  const context = sandbox(t);
  const controller = new AbortController();
  const pidFile = join(context.sandbox, 'child.pid');
  const probe = runProbe(
    { kind: 'command', command: { value: `sleep 100 & echo $! > ${pidFile}; wait` } },
    context,
    controller.signal,
  );
  let child = 0;
  await until('the check to fork', () => {
    try {
      child = Number(readFileSync(pidFile, 'utf8'));
      return child > 0;
    } catch {
      return false;
    }
  });
  controller.abort(new Error('timed out after 1s'));
  assert.deepEqual(await probe, { kind: 'error', message: 'timed out after 1s' });
  await until('the check child to die', () => {
    const stat = readStat(child);
    return stat === undefined || stat.isZombie;
  });
});

test('command probe joins the task cgroups', { skip: cgroupsSkip }, async (t) => {
  if (detection.kind !== 'available') return;
  const context = sandbox(t);
  const root = `agora-probe-test-${process.pid}`;
  const cgroup = new ContainerCgroup(detection.hierarchy, root, 'c1');
  cgroup.create({ cpuShares: 102, memoryLimitBytes: 64 * 1024 * 1024, pidsMax: 64 });
  t.after(() => {
    cgroup.remove();
    const { hierarchy } = cgroup;
    const mounts = hierarchy.version === 'v1' ? Object.values(hierarchy.mounts) : [hierarchy.mount];
    for (const mount of new Set(mounts)) rmdirSync(join(mount, root));
  });
  const outcome = await runProbe(
    { kind: 'command', command: { value: 'cat /proc/self/cgroup >&2' } },
    { ...context, cgroupProcsFiles: cgroup.procsFiles },
    never,
  );
  assert.equal(outcome.kind, 'result');
  assert.match(readFileSync(join(context.sandbox, 'stderr'), 'utf8'), new RegExp(`/${root}/c1`));
});

test('http probe reports the status, follows redirects, and fails without a server', async (t) => {
  const server = createServer((request, response) => {
    if (request.url === '/moved') {
      response.writeHead(302, { location: '/health' });
      response.end();
    } else response.writeHead(request.url === '/health' ? 204 : 503).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const context = sandbox(t);
  const http = (path: string) =>
    runProbe({ kind: 'http', scheme: 'http', port, path, isIpv6: false }, context, never);
  assert.deepEqual(await http('/health'), {
    kind: 'result',
    status: { type: 'HTTP', http: { status_code: 204 } },
  });
  assert.deepEqual(await http('/moved'), {
    kind: 'result',
    status: { type: 'HTTP', http: { status_code: 204 } },
  });
  assert.deepEqual(await http('/other'), {
    kind: 'result',
    status: { type: 'HTTP', http: { status_code: 503 } },
  });
  server.close();
  await once(server, 'close');
  const refused = await http('/health');
  assert.equal(refused.kind, 'error', 'no server: no result');
});

test('http probe aborted while the server stalls stops at once', async (t) => {
  const server = createServer(() => {
    // Never answers.
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const controller = new AbortController();
  const probe = runProbe(
    { kind: 'http', scheme: 'http', port, path: '/', isIpv6: false },
    sandbox(t),
    controller.signal,
  );
  controller.abort(new Error('timed out after 2s'));
  assert.deepEqual(await probe, { kind: 'error', message: 'timed out after 2s' });
});

test('tcp probe succeeds on a listening port and fails on a closed one', async (t) => {
  const server = createTcpServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const context = sandbox(t);
  const spec = healthProbeSpec({ type: 'TCP', tcp: { port } });
  assert.ok(spec !== undefined);
  assert.deepEqual(await runProbe(spec, context, never), {
    kind: 'result',
    status: { type: 'TCP', tcp: { succeeded: true } },
  });
  server.close();
  await once(server, 'close');
  assert.deepEqual(await runProbe(spec, context, never), {
    kind: 'result',
    status: { type: 'TCP', tcp: { succeeded: false } },
  });
});
