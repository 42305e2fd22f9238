// An agent killed outright leaves its tasks running under their shims. Started
// again on the same work dir it re-attaches to them (#9), or, with
// --recover=cleanup, kills them and tells the framework (#7, item 10).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTerminalState, taskId } from '../../src/wire/index.js';
import { allTasks, descendants, getState, isAlive, startCluster, waitFor } from './harness.js';
import { killProcesses, TaskFramework, taskProcesses } from './task-framework.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';

test('an agent started again with --recover=cleanup kills the task processes it left and reports them failed', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'recovery');
  t.after(() => framework.stop());
  const agentIdValue = await framework.launch({
    lone: 'exec sleep 1000',
    // The shell forks a grandchild of the agent into the task's process group.
    forking: 'sleep 1001 & sleep 1002; wait',
  });
  const pids: number[] = [];
  for (const id of ['lone', 'forking']) {
    const pid = (await framework.update(id, 'TASK_RUNNING')).container_status?.executor_pid;
    assert.ok(pid !== undefined, `${id} reports its pid`);
    pids.push(pid);
  }
  const [, forkingPid] = pids;
  assert.ok(forkingPid !== undefined);
  await waitFor('the forking task to start both sleeps', () =>
    descendants(forkingPid).length >= 2 ? true : undefined,
  );
  const leftovers = new Map(pids.flatMap((pid) => [...taskProcesses(pid)]));
  t.after(() => killProcesses(leftovers));
  assert.ok(leftovers.size >= 4, `the tasks run ${leftovers.size} processes`);

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  for (const pid of leftovers.keys())
    assert.ok(isAlive(pid), `process ${pid} outlives its agent, orphaned`);

  const agentDir = join(cluster.workDir, 'agent-1');
  await cluster.addAgent('agent-1-again', ['--recover', 'cleanup'], agentDir);
  await waitFor('every process of the old tasks to be gone', () =>
    [...leftovers.keys()].some(isAlive) ? undefined : true,
  );
  for (const id of ['lone', 'forking']) {
    const failed = await framework.update(id, 'TASK_FAILED');
    assert.equal(failed.source, 'SOURCE_AGENT');
    assert.equal(failed.reason, 'REASON_EXECUTOR_TERMINATED');
    assert.match(failed.message ?? '', /restarted and killed/);
    assert.equal(failed.agent_id?.value, agentIdValue);
  }
  const state = await getState(cluster.masterUrl);
  for (const id of ['lone', 'forking'])
    assert.equal(allTasks(state).find((task) => task.id === id)?.state, 'TASK_FAILED', id);
  // Acknowledged: the runs' checkpoints are gone.
  const frameworks = join(agentDir, 'meta', 'slaves', agentIdValue, 'frameworks');
  await waitFor('the acknowledged runs to leave the checkpoint', () => {
    try {
      return readdirSync(frameworks).includes(framework.connection.frameworkId.value)
        ? undefined
        : true;
    } catch {
      return true;
    }
  });
});

test('an agent killed before its terminal update was acknowledged sends that update again', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'unacknowledged', {
    acknowledgeTerminal: false,
  });
  t.after(() => framework.stop());
  await framework.launch({ quick: 'exit 3' });
  const failed = await framework.update('quick', 'TASK_FAILED');
  assert.match(failed.message ?? '', /status 3/);
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;

  await cluster.addAgent('agent-1-again', [], join(cluster.workDir, 'agent-1'));
  // The restarted agent does not guess ("found the task gone"): it knows how the task ended.
  const copies = await waitFor('the terminal update to come again', () => {
    const all = framework.updates('quick').filter((s) => s.state === 'TASK_FAILED');
    return all.length >= 2 ? all : undefined;
  });
  for (const copy of copies) {
    assert.equal(copy.uuid, failed.uuid);
    assert.equal(copy.message, failed.message);
  }
  await framework.connection.acknowledge(failed);
  const state = await getState(cluster.masterUrl);
  assert.equal(allTasks(state).find((task) => task.id === 'quick')?.state, 'TASK_FAILED');
});

test('an agent killed with SIGKILL re-attaches to its running tasks and reports those that ended meanwhile', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'reconnect');
  t.after(() => framework.stop());
  const release = join(cluster.workDir, 'release');
  const commands: Record<string, string> = {};
  for (let i = 0; i < 15; i++) commands[`long-${i}`] = `exec sleep ${1000 + i}`;
  // Five tasks end while no agent runs, each with its own exit status.
  for (let i = 0; i < 5; i++)
    commands[`short-${i}`] = `while [ ! -e ${release} ]; do sleep 0.05; done; exit ${i}`;
  await framework.launch(commands);
  const pids = new Map<string, number>();
  for (const id of Object.keys(commands)) {
    const pid = (await framework.update(id, 'TASK_RUNNING', 30_000)).container_status?.executor_pid;
    assert.ok(pid !== undefined, `${id} reports its pid`);
    pids.set(id, pid);
  }
  t.after(() =>
    killProcesses(new Map([...pids.values()].flatMap((pid) => [...taskProcesses(pid)]))),
  );

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  writeFileSync(release, '');
  for (let i = 0; i < 5; i++) {
    const pid = pids.get(`short-${i}`) ?? -1;
    await waitFor(`short-${i} to end while the agent is down`, () =>
      isAlive(pid) ? undefined : true,
    );
  }
  await cluster.addAgent('agent-1-again', [], join(cluster.workDir, 'agent-1'));

  for (let i = 0; i < 5; i++) {
    const state = i === 0 ? 'TASK_FINISHED' : 'TASK_FAILED';
    const status = await framework.update(`short-${i}`, state, 30_000);
    if (i > 0)
      assert.match(status.message ?? '', new RegExp(`status ${i}\\b`), `short-${i}'s exit status`);
  }
  await waitFor('15 tasks running again under their containers', async () => {
    const state = await getState(cluster.masterUrl);
    const running = allTasks(state).filter(
      (task) => task.id.startsWith('long-') && task.state === 'TASK_RUNNING',
    );
    return running.length === 15 ? true : undefined;
  });
  for (let i = 0; i < 15; i++) {
    const pid = pids.get(`long-${i}`) ?? -1;
    assert.ok(isAlive(pid), `long-${i} (pid ${pid}) never stopped`);
    assert.equal(framework.updates(`long-${i}`).filter((s) => isTerminalState(s.state)).length, 0);
  }
  // The re-attached tasks are the agent's again: a kill reaches them.
  await framework.connection.kill(taskId('long-0'));
  await framework.update('long-0', 'TASK_KILLED', 30_000);
  assert.equal(isAlive(pids.get('long-0') ?? -1), false);
  for (let i = 0; i < 5; i++)
    assert.equal(
      framework.updates(`short-${i}`).filter((s) => isTerminalState(s.state)).length,
      1,
      `short-${i}'s end, once`,
    );
});

test('an agent stopped with SIGTERM leaves its tasks running for the next agent; SIGUSR1 stops them with it', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'restarted');
  t.after(() => framework.stop());
  const release = join(cluster.workDir, 'release');
  const commands: Record<string, string> = {
    'long-0': 'exec sleep 1000',
    'long-1': 'exec sleep 1001',
    short: `while [ ! -e ${release} ]; do sleep 0.05; done; exit 0`,
  };
  await framework.launch(commands);
  const pids = new Map<string, number>();
  for (const id of Object.keys(commands)) {
    const pid = (await framework.update(id, 'TASK_RUNNING', 30_000)).container_status?.executor_pid;
    assert.ok(pid !== undefined, `${id} reports its pid`);
    pids.set(id, pid);
  }
  const leftovers = new Map([...pids.values()].flatMap((pid) => [...taskProcesses(pid)]));
  t.after(() => killProcesses(leftovers));

  // An operator restarting the agent (systemctl restart, an upgrade) costs no task.
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  assert.equal(await agent.stop('SIGTERM'), 0, 'the agent exits by itself, at once');
  assert.ok(
    agent.lines.some((l) => l.msg === 'stopping' && l.tasks === 'left running'),
    'the agent says it leaves its tasks running',
  );
  for (const [id, pid] of pids) assert.ok(isAlive(pid), `${id} (pid ${pid}) outlives its agent`);
  writeFileSync(release, '');
  await waitFor('the short task to end while no agent runs', () =>
    isAlive(pids.get('short') ?? -1) ? undefined : true,
  );

  const again = await cluster.addAgent('agent-1-again', [], join(cluster.workDir, 'agent-1'));
  await framework.update('short', 'TASK_FINISHED', 30_000);
  await waitFor('both long tasks running again under the new agent', async () => {
    const state = await getState(cluster.masterUrl);
    const running = allTasks(state).filter(
      (task) => task.id.startsWith('long-') && task.state === 'TASK_RUNNING',
    );
    return running.length === 2 ? true : undefined;
  });
  for (const id of ['long-0', 'long-1']) {
    assert.ok(isAlive(pids.get(id) ?? -1), `${id} never stopped`);
    assert.deepEqual(
      framework.updates(id).filter((s) => isTerminalState(s.state)),
      [],
      `${id} has no end`,
    );
  }

  // SIGUSR1 (as Mesos' agent takes it) stops the agent and everything it runs.
  assert.equal(await again.stop('SIGUSR1'), 0);
  for (const id of ['long-0', 'long-1'])
    assert.equal(isAlive(pids.get(id) ?? -1), false, `${id} stopped with its agent`);
});

test('an agent killed in the middle of killing a task reports TASK_KILLED when it finds the task ended', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'kill-then-crash');
  t.after(() => framework.stop());
  const gotTerm = join(cluster.workDir, 'got-term');
  const release = join(cluster.workDir, 'release');
  const armed = join(cluster.workDir, 'armed');
  // On SIGTERM the task says so, waits to be released, then dies of the SIGTERM. `armed`
  // once the trap is set: TASK_RUNNING comes at the fork, before the shell reads its trap.
  await framework.launch({
    victim: {
      command: {
        value: `trap 'touch ${gotTerm}; while [ ! -e ${release} ]; do sleep 0.05; done; trap - TERM; kill -TERM $$' TERM; touch ${armed}; while :; do sleep 0.05; done`,
      },
      kill_policy: { grace_period: { nanoseconds: 60e9 } },
    },
  });
  const pid = (await framework.update('victim', 'TASK_RUNNING')).container_status?.executor_pid;
  assert.ok(pid !== undefined);
  t.after(() => killProcesses(taskProcesses(pid)));
  await waitFor('the trap to be set', () => (existsSync(armed) ? true : undefined));
  await framework.connection.kill(taskId('victim'));
  await waitFor('the task to get its SIGTERM', () => (existsSync(gotTerm) ? true : undefined));

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  writeFileSync(release, '');
  await waitFor('the task to die of its SIGTERM', () => (isAlive(pid) ? undefined : true));
  await cluster.addAgent('agent-1-again', [], join(cluster.workDir, 'agent-1'));

  const end = await waitFor('the task to end', () =>
    framework.updates('victim').find((s) => isTerminalState(s.state)),
  );
  assert.equal(end.state, 'TASK_KILLED', `${end.state}: ${end.message}`);
});

test('an agent killed while removing an ended task’s cgroups removes the rest when it comes back', async (t) => {
  // Where the agent's containers have cgroups (root, v1 mounted): what a killed agent left.
  const pids = '/sys/fs/cgroup/pids';
  if (!existsSync(join(pids, 'cgroup.procs')) || process.getuid?.() !== 0) {
    t.skip('needs cgroups v1 and root');
    return;
  }
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'half-cleaned', {
    acknowledgeTerminal: false,
  });
  t.after(() => framework.stop());
  await framework.launch({ quick: 'exit 3' });
  const failed = await framework.update('quick', 'TASK_FAILED');
  const containerIdValue = failed.container_status?.container_id?.value;
  assert.ok(containerIdValue !== undefined);
  const cgroup = join(pids, 'agora', containerIdValue);
  await waitFor('the ended task’s cgroup to go', () => (existsSync(cgroup) ? undefined : true));
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  // As an agent killed between removing one controller's cgroup and the next leaves it.
  mkdirSync(cgroup);
  t.after(() => (existsSync(cgroup) ? rmdirSync(cgroup) : undefined));

  await cluster.addAgent('agent-1-again', [], join(cluster.workDir, 'agent-1'));
  await waitFor('the leftover cgroup to be removed', () => (existsSync(cgroup) ? undefined : true));
  await framework.connection.acknowledge(failed);
});
