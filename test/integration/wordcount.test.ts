// examples/wordcount run small through the `agora jobs` CLI: map (one task per shard), reduce
// depending on it, and the result checked against a single-process count.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, ROOT, runCli, startCluster } from './harness.js';
import { api, type RunView, runFinished, startJobs } from './jobs-harness.js';

const EXAMPLE = join(ROOT, 'examples', 'wordcount');

test('wordcount: the map and reduce jobs count the corpus as one process does', async (t) => {
  const cluster = await startCluster({ agents: 2, agentResources: 'cpus:2;mem:2048;disk:2048' });
  defer(t, () => cluster.stop());
  const jobs = await startJobs(cluster);
  defer(t, () => jobs.daemon.stop());
  const dir = mkdtempSync(join(cluster.workDir, 'wordcount-'));
  const shards = 4;
  const generated = spawnSync(
    process.execPath,
    [join(EXAMPLE, 'generate.mjs'), dir, String(shards), '3000'],
    { encoding: 'utf8' },
  );
  assert.equal(generated.status, 0, generated.stderr);
  const spec = readFileSync(join(EXAMPLE, 'wordcount.yaml'), 'utf8')
    .replaceAll('/tmp/agora-wordcount', dir)
    .replace(/completions: 8 /, `completions: ${shards} `);
  const specFile = join(dir, 'wordcount.yaml');
  writeFileSync(specFile, spec);
  const address = new URL(jobs.url).host;
  const submitted = await runCli(['jobs', 'submit', '--jobs', address, '-f', specFile]).result;
  assert.equal(submitted.code, 0, submitted.stderr);
  const [mapLine, reduceLine] = submitted.stdout.trim().split('\n');
  assert.match(mapLine ?? '', /^wordcount-map \S+$/);
  const reduceRun = reduceLine?.split(' ')[1] ?? '';
  const reduced = await runFinished(jobs.url, 'wordcount-reduce', reduceRun, 120_000);
  assert.equal(reduced.status, 'SUCCESS', JSON.stringify(reduced));
  const map = await api<RunView[]>(jobs.url, 'GET', '/v1/jobs/wordcount-map/runs');
  assert.equal(map.body[0]?.succeeded, shards);
  assert.ok(
    Date.parse(map.body[0]?.completedAt ?? '') <= Date.parse(reduced.startedAt ?? ''),
    'reduce started after map',
  );
  const checked = spawnSync(process.execPath, [join(EXAMPLE, 'check.mjs'), dir], {
    encoding: 'utf8',
  });
  assert.equal(checked.status, 0, checked.stderr);
  assert.match(checked.stdout, /match the single-process count/);
  // The CLI's views of it.
  const shown = await runCli(['jobs', 'show', '--jobs', address, 'wordcount-map']).result;
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(
    shown.stdout,
    new RegExp(`done ${shards} / running 0 / queued 0 / failed 0 of ${shards}`),
  );
  const listed = await runCli(['jobs', 'list', '--jobs', address]).result;
  assert.match(listed.stdout, /wordcount-reduce\s+SUCCESS\s+1\/1/);
  writeFileSync(
    join(dir, 'echo.yaml'),
    'id: echo\ncompletions: 3\nrun: { cmd: "echo line-$AGORA_JOB_INDEX-of-$AGORA_JOB_COMPLETIONS" }\n',
  );
  const echo = await runCli(['jobs', 'submit', '--jobs', address, '-f', join(dir, 'echo.yaml')])
    .result;
  await runFinished(jobs.url, 'echo', echo.stdout.trim().split(' ')[1] ?? '', 60_000);
  const logs = await runCli(['jobs', 'logs', '--jobs', address, 'echo', '--index', '2']).result;
  assert.equal(logs.code, 0, logs.stderr);
  assert.equal(logs.stdout.trim(), 'line-2-of-3');
  // --lost_after: what happens to a task on an unreachable agent, shown back (#15).
  for (const [flag, said] of [
    ['90secs', /a task on an unreachable agent: replaced after 90 s/],
    ['never', /a task on an unreachable agent: kept, never replaced/],
  ] as const) {
    const id = `edge-${flag}`;
    const sent = await runCli([
      'jobs',
      'submit',
      '--jobs',
      address,
      '--id',
      id,
      '--lost_after',
      flag,
      '--',
      'true',
    ]).result;
    assert.equal(sent.code, 0, sent.stderr);
    const policy = await runCli(['jobs', 'show', '--jobs', address, id]).result;
    assert.match(policy.stdout, said);
  }
  const missing = await runCli(['jobs', 'show', '--jobs', address, 'nope']).result;
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /404: no job 'nope'/);
});
