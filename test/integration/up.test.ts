// `agora up` as a user runs it: one command, a whole cluster, Ctrl-C stops it all.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { type CliRun, defer, descendants, getState, isAlive, runCli, waitFor } from './harness.js';
import { killProcesses, TaskFramework, taskProcesses } from './task-framework.js';

test('agora up starts a master and agents, runs tasks, and Ctrl-C stops every process', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
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
  defer(t, () => up.process.kill('SIGKILL'));
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
  // A busy master needs a larger young generation than node's default, and a newly elected
  // one no early marking of its old generation (README).
  const masterCommands = children
    .map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))
    .filter((argv) => argv.includes('master'));
  assert.equal(masterCommands.length, 1);
  assert.ok(masterCommands[0]?.includes('--max-semi-space-size=64'), String(masterCommands[0]));
  assert.ok(masterCommands[0]?.includes('--initial-old-space-size=256'), String(masterCommands[0]));
  up.process.kill('SIGINT');
  const { code } = await up.result;
  assert.equal(code, 0);
  for (const pid of children) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
  assert.match(stdout, /master\s+\|/, 'logs are shown with a prefix per process');
});

test('agora up with --log_level warn still comes up, and shows no info lines', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const up = runCli(
    ['up', '--port', '0', '--agents', '1', '--work_dir', workDir, '--log_level', 'warn'],
    { timeoutMs: 60_000 },
  );
  defer(t, () => up.process.kill('SIGKILL'));
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

test('agora up leaves either bundled framework out with --no_<name> or its port off', async (t) => {
  for (const flags of [
    ['--no_jobs', '--services_port', 'off'],
    ['--jobs_port', 'off', '--no_services'],
  ]) {
    const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
    defer(t, () => rmSync(workDir, { recursive: true, force: true }));
    const up = runCli(['up', '--port', '0', '--agents', '1', '--work_dir', workDir, ...flags], {
      timeoutMs: 60_000,
    });
    defer(t, () => up.process.kill('SIGKILL'));
    let stdout = '';
    up.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const url = await waitFor(
      'the banner',
      () => /Agora is up: master at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
      30_000,
    );
    assert.doesNotMatch(stdout, /agora jobs submit|Services \(Marathon/, flags.join(' '));
    assert.doesNotMatch(stdout, /^(jobs|services)\s+\|/m, 'no framework process was started');
    assert.deepEqual((await getState(url)).frameworks, [], flags.join(' '));
    up.process.kill('SIGINT');
    assert.equal((await up.result).code, 0);
  }
});

test('agora up reports a master that cannot start and exits non-zero', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const blocker = await import('node:net').then(({ createServer }) => createServer());
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  defer(t, () => blocker.close());
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
  assert.match(stderr, /master exited \(code 1\) while waiting for the master to listen/);
});

test('killing agora up outright still stops every process it started', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
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
  defer(t, () => up.killAll());
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
  t: TestContext,
  args: readonly string[],
): Promise<{ up: CliRun; url: string; output: () => { stdout: string; stderr: string } }> {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const up = runCli(['up', '--port', '0', '--work_dir', workDir, ...args], {
    timeoutMs: 120_000,
  });
  // Registered before anything can fail; up stops its daemons once it is gone.
  defer(t, async () => {
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

/** The parent of a process, from /proc/<pid>/stat (field 4). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

test('agora up restarts an agent killed with SIGKILL, and the restarted agent re-attaches to its task', async (t) => {
  const { up, url, output } = await startUp(t, [
    '--agents',
    '2',
    '--agent_resources',
    'cpus:1;mem:512',
  ]);
  const framework = await TaskFramework.start(url, 'up-recovery');
  defer(t, () => framework.stop());
  await framework.launch({ sleeper: 'exec sleep 1000' });
  const taskPid = (await framework.update('sleeper', 'TASK_RUNNING')).container_status
    ?.executor_pid;
  assert.ok(taskPid !== undefined);
  const leftovers = taskProcesses(taskPid);
  defer(t, () => killProcesses(leftovers));
  // The task runs under its shim, which the agent's launcher started.
  const shimPid = parentOf(taskPid);
  const launcherPid = shimPid === undefined ? undefined : parentOf(shimPid);
  const agentPid = launcherPid === undefined ? undefined : parentOf(launcherPid);
  assert.ok(agentPid !== undefined);
  const name = /\/(agent-\d+)\0/.exec(readFileSync(`/proc/${agentPid}/cmdline`, 'utf8'))?.[1];
  assert.ok(name !== undefined, 'the task runs under one of up’s agents');

  process.kill(agentPid, 'SIGKILL');
  await waitFor('the agent to die', () => (isAlive(agentPid) ? undefined : true));
  await waitFor(
    'up to say it restarts the agent',
    () =>
      new RegExp(
        `agora up: ${name} exited \\(signal SIGKILL\\); restarting it in 1 s \\(restart 1\\)`,
      ).exec(output().stderr)?.[0],
  );
  await waitFor('both agents to be registered and active', async () =>
    (await getState(url)).slaves.filter((s) => s.active).length === 2 ? true : undefined,
  );
  assert.ok(isAlive(taskPid), 'the task outlived its agent and was not killed by the new one');
  assert.equal(
    framework
      .updates('sleeper')
      .some((s) => s.state !== 'TASK_STARTING' && s.state !== 'TASK_RUNNING'),
    false,
    'no terminal update for a task still running',
  );
  assert.equal((await runCli(['run', '--master', url, '--', 'echo again']).result).code, 0);

  const children = descendants(up.process.pid ?? -1);
  up.process.kill('SIGINT');
  assert.equal((await up.result).code, 0);
  for (const pid of children) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
  assert.equal(isAlive(taskPid), false, 'stopping the cluster stops the re-attached task too');
  assert.doesNotMatch(output().stderr, /cannot run without its master|giving up/);
});

test('agora up restarts nothing once Ctrl-C stops it, not even a restart already waiting', async (t) => {
  const { up, output } = await startUp(t, ['--agents', '2', '--agent_resources', 'cpus:1;mem:512']);
  const upPid = up.process.pid ?? -1;
  const [agentPid] = descendants(upPid).filter((pid) =>
    /\0agent\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
  );
  assert.ok(agentPid !== undefined);
  process.kill(agentPid, 'SIGKILL');
  await waitFor(
    'up to schedule the restart',
    () => /restarting it in 1 s/.exec(output().stderr)?.[0],
  );
  const children = descendants(upPid);
  up.process.kill('SIGINT');
  const { code } = await up.result;
  assert.equal(code, 0);
  for (const pid of children) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
  assert.equal(
    output().stderr.match(/restarting it/g)?.length,
    1,
    `only the restart scheduled before Ctrl-C, which never ran; up said: ${output().stderr}`,
  );
  const listening = output().stdout.match(/^agent-\d\s+\|.*listening/gm) ?? [];
  assert.equal(listening.length, 2, 'no agent started again during the stop');
});

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

test('agora up restarts a master killed with SIGKILL on the same address, and the agents come back', async (t) => {
  const { up, url, output } = await startUp(t, [
    '--agents',
    '2',
    '--agent_resources',
    'cpus:1;mem:512',
  ]);
  const [masterPid] = descendants(up.process.pid ?? -1).filter((pid) =>
    /\0master\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
  );
  assert.ok(masterPid !== undefined);
  process.kill(masterPid, 'SIGKILL');
  await waitFor(
    'up to say it restarts the master',
    () =>
      /agora up: master exited \(signal SIGKILL\); restarting it in 1 s \(restart 1\)/.exec(
        output().stderr,
      )?.[0],
  );
  try {
    await waitFor(
      'both agents to be back with the restarted master, at the same address',
      async () =>
        (await getState(url)).slaves.filter((s) => s.active).length === 2 ? true : undefined,
      60_000,
    );
  } catch (error) {
    // What up and its master said, for a failure on a loaded machine to be read later.
    throw new Error(`${(error as Error).message}\n${output().stdout.slice(-6000)}`);
  }
  assert.equal((await runCli(['run', '--master', url, '--', 'echo again']).result).code, 0);
  up.process.kill('SIGINT');
  assert.equal((await up.result).code, 0);
});

test('agora up takes a Ctrl-C relayed twice at once (as npm start does) as one, and stops the tasks', async (t) => {
  const { up, url, output } = await startUp(t, [
    '--agents',
    '1',
    '--agent_resources',
    'cpus:1;mem:512',
  ]);
  const framework = await TaskFramework.start(url, 'double-signal');
  defer(t, () => framework.connection.close());
  // A task that ignores SIGTERM keeps its agent busy for the kill grace period.
  await framework.launch({ sleeper: 'trap "" TERM; exec sleep 1000' });
  const taskPid = (await framework.update('sleeper', 'TASK_RUNNING')).container_status
    ?.executor_pid;
  assert.ok(taskPid !== undefined);
  const leftovers = taskProcesses(taskPid);
  defer(t, () => killProcesses(leftovers));
  up.process.kill('SIGINT');
  // The relayed copy comes once up has acted on the first (sent together, the two would merge).
  await waitFor(
    'the agent to start stopping',
    () => /^agent-1\s+\|.*stopping/m.exec(output().stdout)?.[0],
  );
  up.process.kill('SIGINT');
  assert.equal((await up.result).code, 0);
  for (const pid of leftovers.keys())
    assert.equal(
      isAlive(pid),
      false,
      `the agent stopped task process ${pid} before exiting; up said: ${output().stderr}`,
    );
  assert.doesNotMatch(output().stderr, /killing every process/);
});
