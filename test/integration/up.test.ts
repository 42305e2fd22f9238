// `agora up` as a user runs it: one command, a whole cluster, Ctrl-C stops it all.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { descendants, getState, isAlive, runCli, waitFor } from './harness.js';

test('agora up starts a master and agents, runs tasks, and Ctrl-C stops every process', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const up = runCli(
    [
      'up',
      '--port',
      '0',
      '--agents',
      '2',
      '--work_dir',
      workDir,
      '--agent_resources',
      'cpus:1;mem:512',
    ],
    { timeoutMs: 60_000 },
  );
  t.after(() => up.process.kill('SIGKILL'));
  let stdout = '';
  up.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const url = await waitFor(
    'the banner',
    () => /Agora is up: master at (http:\/\/127\.0\.0\.1:\d+) with 2 agents/.exec(stdout)?.[1],
    30_000,
  );

  const state = await getState(url);
  assert.equal(state.slaves.filter((s) => s.active).length, 2);
  const run = await runCli(['run', '--master', url, '--', 'echo from-up']).result;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'from-up\n');

  const upPid = up.process.pid ?? -1;
  const children = descendants(upPid);
  assert.ok(
    children.length >= 3,
    `up runs a master and two agents (saw ${children.length} processes)`,
  );
  up.process.kill('SIGINT');
  const { code } = await up.result;
  assert.equal(code, 0);
  for (const pid of children) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
  assert.match(stdout, /master\s+\|/, 'logs are shown with a prefix per process');
});

test('agora up with --log_level warn still comes up, and shows no info lines', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const up = runCli(
    ['up', '--port', '0', '--agents', '1', '--work_dir', workDir, '--log_level', 'warn'],
    { timeoutMs: 60_000 },
  );
  t.after(() => up.process.kill('SIGKILL'));
  let stdout = '';
  up.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  await waitFor(
    'the banner',
    () => /Agora is up: master at http:\/\/127\.0\.0\.1:\d+ with 1 agents/.exec(stdout)?.[0],
    30_000,
  );
  assert.doesNotMatch(stdout, /INFO/);
  up.process.kill('SIGINT');
  assert.equal((await up.result).code, 0);
});

test('agora up reports a master that cannot start and exits non-zero', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const blocker = await import('node:net').then(({ createServer }) => createServer());
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const address = blocker.address();
  assert.ok(address !== null && typeof address === 'object');
  const { code, stderr } = await runCli([
    'up',
    '--port',
    String(address.port),
    '--work_dir',
    workDir,
  ]).result;
  assert.equal(code, 1);
  assert.match(stderr, /master exited while waiting for the master to listen/);
});

test('killing agora up outright still stops every process it started', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const up = runCli(
    [
      'up',
      '--port',
      '0',
      '--agents',
      '2',
      '--work_dir',
      workDir,
      '--agent_resources',
      'cpus:1;mem:512',
    ],
    {
      timeoutMs: 60_000,
      detached: true,
    },
  );
  t.after(() => up.killAll());
  let stdout = '';
  up.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  await waitFor('the banner', () => /Agora is up/.exec(stdout)?.[0], 30_000);
  const children = descendants(up.process.pid ?? -1);
  assert.ok(children.length >= 3);
  up.process.kill('SIGKILL');
  await up.result;
  await waitFor('the master and agents to stop by themselves', () =>
    children.some(isAlive) ? undefined : true,
  );
});
