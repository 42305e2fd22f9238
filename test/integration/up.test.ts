// `agora up` as a user runs it: one command, a whole cluster, Ctrl-C stops it all.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CliRun, descendants, getState, isAlive, runCli, waitFor } from './harness.js';

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

/** `agora up` in the background on any free port, stopped by PID after the test. */
async function startUp(
  t: { after(fn: () => unknown): void },
  args: readonly string[],
): Promise<{ up: CliRun; url: string; output: () => { stdout: string; stderr: string } }> {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const up = runCli(['up', '--port', '0', '--work_dir', workDir, ...args], {
    timeoutMs: 120_000,
  });
  // Registered before anything can fail; up stops its daemons once it is gone.
  t.after(async () => {
    up.process.kill('SIGKILL');
    await up.result;
  });
  let stdout = '';
  let stderr = '';
  up.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  up.process.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const url = await waitFor(
    'the banner',
    () => /Agora is up: master at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
    30_000,
  );
  return { up, url, output: () => ({ stdout, stderr }) };
}

test('agora up splits the host between its agents: no CPU or port offered twice', async (t) => {
  const { up, url, output } = await startUp(t, ['--agents', '2']);
  const { slaves } = await getState(url);
  assert.equal(slaves.length, 2);
  const cpus = slaves.reduce((sum, s) => sum + Number(s.resources.cpus), 0);
  assert.ok(
    cpus <= availableParallelism(),
    `${cpus} CPUs offered on a ${availableParallelism()}-CPU host`,
  );
  const ranges = slaves.map((s) => {
    const match = /^\[(\d+)-(\d+)\]$/.exec(String(s.resources.ports));
    assert.ok(match !== null, `one port range per agent, got ${s.resources.ports}`);
    return [Number(match[1]), Number(match[2])] as const;
  });
  const [a, b] = ranges;
  assert.ok(a !== undefined && b !== undefined);
  assert.ok(a[1] < b[0] || b[1] < a[0], `disjoint port ranges: ${JSON.stringify(ranges)}`);
  const mem = slaves.reduce((sum, s) => sum + Number(s.resources.mem), 0);
  assert.ok(mem <= totalmem() / 2 ** 20, `${mem} MB offered`);
  assert.match(
    output().stdout,
    /2 agents share this host: each cpus:[\d.]+;mem:\d+;disk:\d+; ports \[\d+-\d+\] \/ \[\d+-\d+\]/,
  );
  up.process.kill('SIGINT');
  assert.equal((await up.result).code, 0);
});
