// The fetcher as a framework sees it, with a real master and agent: a task's
// URIs (an archive over http, a local file) are in its sandbox when it starts,
// cached URIs are downloaded once for many tasks, and a failed fetch fails the
// task without starting it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCluster } from './harness.js';
import { TaskFramework } from './task-framework.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';

test('a task finds its fetched URIs in its sandbox; cached ones are downloaded once', async (t) => {
  const files = mkdtempSync(join(tmpdir(), 'agora-it-fetch-'));
  t.after(() => rmSync(files, { recursive: true, force: true }));
  mkdirSync(join(files, 'app', 'bin'), { recursive: true });
  writeFileSync(join(files, 'app', 'bin', 'hello.sh'), '#!/bin/sh\necho "hello from $1"\n', {
    mode: 0o755,
  });
  execFileSync('tar', ['-czf', join(files, 'app.tar.gz'), '-C', join(files, 'app'), 'bin']);
  writeFileSync(join(files, 'settings.conf'), 'answer=42\n');
  const archive = readFileSync(join(files, 'app.tar.gz'));
  const hits = new Map<string, number>();
  const http = createServer((request, response) => {
    hits.set(request.url ?? '', (hits.get(request.url ?? '') ?? 0) + 1);
    if (request.url === '/app.tar.gz')
      // Slow enough that both tasks' fetches are under way at once.
      setTimeout(
        () => response.writeHead(200, { 'content-length': archive.length }).end(archive),
        300,
      );
    else response.writeHead(404).end();
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => http.close());
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'fetch');
  t.after(() => framework.stop());
  const task = (name: string) => ({
    command: {
      value: `./bin/hello.sh ${name} && cat conf/settings.conf && test -x tool && test ! -e app.tar.gz`,
      uris: [
        { value: `${base}/app.tar.gz`, cache: true },
        { value: `file://${join(files, 'settings.conf')}`, output_file: 'conf/settings.conf' },
        { value: join(files, 'app', 'bin', 'hello.sh'), executable: true, output_file: 'tool' },
      ],
    },
  });
  await framework.launch({ first: task('first'), second: task('second') });
  for (const name of ['first', 'second']) {
    const finished = await framework.update(name, 'TASK_FINISHED', 30_000);
    assert.equal(finished.message, 'Command exited with status 0', name);
  }
  assert.equal(hits.get('/app.tar.gz'), 1, 'one download for both tasks');
  assert.deepEqual(
    framework.updates('first').map((s) => s.state),
    ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'],
  );
});

test('a task whose URI cannot be fetched fails without starting, with the reason', async (t) => {
  const http = createServer((_request, response) => response.writeHead(404).end());
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => http.close());
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'fetch-fails');
  t.after(() => framework.stop());
  await framework.launch({
    missing: { command: { value: 'touch started', uris: [{ value: `${base}/missing.tgz` }] } },
    escaping: {
      command: { value: 'touch started', uris: [{ value: '/etc/hostname', output_file: '../x' }] },
    },
  });
  const missing = await framework.update('missing', 'TASK_FAILED', 30_000);
  assert.equal(missing.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
  assert.equal(missing.source, 'SOURCE_AGENT');
  assert.match(
    missing.message ?? '',
    /Failed to fetch all URIs for container .*: Failed to fetch 'http:\/\/127\.0\.0\.1:\d+\/missing\.tgz': HTTP 404 Not Found/,
  );
  const escaping = await framework.update('escaping', 'TASK_FAILED', 30_000);
  assert.match(escaping.message ?? '', /output_file '\.\.\/x' must not contain '\.\.'/);
  for (const name of ['missing', 'escaping'])
    assert.deepEqual(
      framework.updates(name).map((s) => s.state),
      ['TASK_FAILED'],
      `${name} never started`,
    );
});
