// Marathon's `fetch` on a real cluster: the agent downloads each entry from a
// server on 127.0.0.1 into the task's sandbox (executable, under its destPath;
// an archive extracted), and fields the framework does not implement answer 422
// over HTTP instead of being dropped, as does a container of the wrong shape.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCluster, waitFor } from './harness.js';
import { api, startServices, tasksOf } from './services-helpers.js';

/** Every file under `dir` whose path ends with `suffix`. */
function filesEndingWith(dir: string, suffix: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesEndingWith(path, suffix));
    else if (path.endsWith(suffix)) found.push(path);
  }
  return found;
}

test('services: fetch puts its artifacts in the sandbox; unimplemented fields answer 422', async (t) => {
  const files = mkdtempSync(join(tmpdir(), 'agora-fetch-'));
  t.after(() => rmSync(files, { recursive: true, force: true }));
  writeFileSync(join(files, 'tool'), '#!/bin/sh\necho fetched-tool\n');
  writeFileSync(join(files, 'data.txt'), 'fetched-data\n');
  execFileSync('tar', ['czf', join(files, 'data.tgz'), '-C', files, 'data.txt']);
  const server = createServer((req, res) => {
    try {
      res.end(readFileSync(join(files, (req.url ?? '/').slice(1))));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const stateDir = mkdtempSync(join(tmpdir(), 'agora-services-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const services = await startServices(cluster.masterUrl, stateDir);
  t.after(() => services.daemon.stop());
  const base = services.url;

  for (const [body, path] of [
    [{ networks: [{ mode: 'container/bridge' }] }, '/networks'],
    [{ secrets: { s: { source: 'x' } } }, '/secrets'],
    [{ container: { type: 'DOCKER', docker: { image: 1 } } }, '/container/docker/image'],
    [{ uris: [`${origin}/tool`], fetch: [{ uri: `${origin}/tool` }] }, '/fetch'],
  ] as const) {
    const reply = await api(base, 'POST', '/v2/apps', { id: '/bad', cmd: 'true', ...body });
    assert.equal(reply.status, 422, JSON.stringify(reply.body));
    assert.equal(reply.body.message, 'Object is not valid');
    assert.deepEqual(
      reply.body.details.map((d: { path: string }) => d.path),
      [path],
    );
  }

  const created = await api(base, 'POST', '/v2/apps', {
    id: '/fetcher',
    // Runs only if both artifacts are where fetch put them; otherwise the task fails.
    cmd: 'test -x bin/tool && test -f data.txt && ./bin/tool > tool.out && sleep 300',
    cpus: 0.1,
    mem: 32,
    networks: [{ mode: 'host' }],
    fetch: [
      { uri: `${origin}/tool`, executable: true, destPath: 'bin/tool' },
      { uri: `${origin}/data.tgz` },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await waitFor('the fetching task to run', async () =>
    (await tasksOf(base, '/fetcher')).some((task) => task.state === 'TASK_RUNNING')
      ? true
      : undefined,
  );
  const [tool] = filesEndingWith(cluster.workDir, '/bin/tool');
  assert.ok(tool !== undefined, 'bin/tool is in the sandbox');
  assert.ok((statSync(tool).mode & 0o100) !== 0, 'bin/tool is executable');
  const sandbox = join(tool, '..', '..');
  assert.equal(readFileSync(join(sandbox, 'data.txt'), 'utf8'), 'fetched-data\n');
  await waitFor('the fetched tool to have run', async () => {
    try {
      return readFileSync(join(sandbox, 'tool.out'), 'utf8') === 'fetched-tool\n'
        ? true
        : undefined;
    } catch {
      return undefined;
    }
  });
  assert.equal((await api(base, 'DELETE', '/v2/apps/fetcher')).status, 200);
});
