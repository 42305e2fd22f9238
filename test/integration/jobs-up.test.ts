// `agora up` starts the jobs framework beside the cluster; its REST API bounds what it takes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, runCli, waitFor } from './harness.js';
import { api, runFinished, submit } from './jobs-harness.js';

test('agora up starts the jobs framework, whose REST API runs jobs and refuses oversized input', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-jobs-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const up = runCli(
    ['up', '--port', '0', '--agents', '1', '--work_dir', workDir, '--log_level', 'warn'],
    {
      timeoutMs: 120_000,
      detached: true,
    },
  );
  defer(t, () => up.killAll());
  let stdout = '';
  up.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const jobsUrl = await waitFor(
    'the jobs line of the banner',
    () => /curl -s (http:\/\/127\.0\.0\.1:\d+)\/v1\/jobs/.exec(stdout)?.[1],
    60_000,
  );
  const run = await submit(jobsUrl, { id: 'hello', run: { cmd: 'echo hello' }, completions: 2 });
  assert.equal((await runFinished(jobsUrl, 'hello', run.id, 60_000)).status, 'SUCCESS');
  const big = await api<{ message: string }>(
    jobsUrl,
    'POST',
    '/v1/jobs',
    `{"id":"x","run":{"cmd":"${'y'.repeat(1_100_000)}"}}`,
  );
  assert.equal(big.status, 413);
  const longUrl = await fetch(new URL(`/v1/jobs/${'z'.repeat(5000)}`, jobsUrl));
  assert.equal(longUrl.status, 414);
  const tooMany = await api<{ field: string }>(
    jobsUrl,
    'GET',
    `/v1/jobs/hello/runs/${run.id}?tasks=all&limit=100000`,
  );
  assert.equal(tooMany.status, 400);
  assert.equal(tooMany.body.field, 'limit');
  const badYaml = await api<{ message: string }>(jobsUrl, 'POST', '/v1/jobs', 'id: a\nid: b\n');
  assert.equal(badYaml.status, 400);
  assert.match(badYaml.body.message, /line 2: duplicate key/);
  up.process.kill('SIGINT');
  assert.equal((await up.result).code, 0);
});
