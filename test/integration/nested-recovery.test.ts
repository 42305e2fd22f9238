// Containers nested in a task's across an agent killed with SIGKILL and started again
// on its work_dir, as Mesos recovers them (docs/agent-recovery.md): a detached one still
// running is the new agent's to wait for and kill; one that ended before, or while no
// agent ran, is reported with its exit status; what is left of a session (whose stream
// died with the agent) is killed, as Mesos destroys its DEBUG containers; and nested
// containers of a task that ended while no agent ran are killed, not left orphaned.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readStat } from '../../src/containerizer/index.js';
import { startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

const isRunning = (pid: number) => {
  const stat = readStat(pid);
  return stat !== undefined && !stat.isZombie;
};

test('nested containers survive an agent killed with SIGKILL: running ones are re-adopted, ended ones report their status', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:1;mem:512' });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'nested-recovery');
  t.after(() => framework.stop());
  const release = join(cluster.workDir, 'release');
  await framework.launch({ host: 'exec sleep 600', short: 'exec sleep 600' });
  const parents = new Map<string, { container: string; sandbox: string; pid: number }>();
  let agentUrl = cluster.agents[0]?.url ?? '';
  const state = (await (await fetch(new URL('/state', agentUrl))).json()) as {
    frameworks: { executors: { id: string; directory: string }[] }[];
  };
  for (const id of ['host', 'short']) {
    const running = await framework.update(id, 'TASK_RUNNING');
    const container = running.container_status?.container_id?.value;
    const sandbox = state.frameworks[0]?.executors.find((e) => e.id === id)?.directory;
    const pid = running.container_status?.executor_pid;
    assert.ok(container !== undefined && sandbox !== undefined && pid !== undefined);
    parents.set(id, { container, sandbox, pid });
  }
  const host = parents.get('host');
  const short = parents.get('short');
  assert.ok(host !== undefined && short !== undefined);
  const call = async (body: unknown) => {
    const response = await fetch(new URL('/api/v1', agentUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };
  const nested = (value: string, parent = host.container) => ({
    value,
    parent: { value: parent },
  });
  const launch = async (value: string, command: string, parent = host.container) => {
    const launched = await call({
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: nested(value, parent), command: { value: command } },
    });
    assert.equal(launched.status, 200, launched.text);
  };
  const wait = async (value: string, parent = host.container) => {
    const waited = await call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: nested(value, parent) },
    });
    assert.equal(waited.status, 200, `WAIT_CONTAINER ${value}: ${waited.text}`);
    return (JSON.parse(waited.text) as { wait_container: { exit_status?: number } }).wait_container;
  };
  const pidOf = (sandbox: string, value: string) =>
    waitFor(`${value} to write its pid`, () => {
      const file = join(sandbox, 'containers', value, 'pid');
      const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
      return /^\d+$/.test(text) ? Number(text) : undefined;
    });
  const pids: number[] = [];
  t.after(() => {
    for (const pid of [...pids, host.pid]) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  });

  await launch('done', 'exit 3');
  assert.equal((await wait('done')).exit_status, 3 << 8);
  await launch('keep', 'echo $$ > pid; exec sleep 600');
  await launch('ends', `echo $$ > pid; while [ ! -e ${release} ]; do sleep 0.05; done; exit 7`);
  await launch('orphan', 'echo $$ > pid; exec sleep 600', short.container);
  await launch('unrecorded', 'echo $$ > pid; exec sleep 600');
  for (const [sandbox, value] of [
    [host.sandbox, 'keep'],
    [host.sandbox, 'ends'],
    [short.sandbox, 'orphan'],
    [host.sandbox, 'unrecorded'],
  ] as const)
    pids.push(await pidOf(sandbox, value));
  const [keepPid = 0, endsPid = 0, orphanPid = 0, unrecordedPid = 0] = pids;
  // A session, its stream held open by this client until the agent dies.
  const session = new AbortController();
  const sessionStream = fetch(new URL('/api/v1', agentUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/recordio' },
    body: JSON.stringify({
      type: 'LAUNCH_NESTED_CONTAINER_SESSION',
      launch_nested_container_session: {
        container_id: nested('debug'),
        command: { value: 'echo $$ > session.pid; exec sleep 600' },
      },
    }),
    signal: session.signal,
  }).catch(() => undefined);
  t.after(() => session.abort());
  const sessionPid = await waitFor('the session to write its pid', () => {
    const file = join(host.sandbox, 'session.pid');
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    return /^\d+$/.test(text) ? Number(text) : undefined;
  });
  pids.push(sessionPid);

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  session.abort();
  await sessionStream;
  // While no agent runs: one nested container ends, and the parent of another is killed.
  writeFileSync(release, '');
  await waitFor('ends to exit while the agent is down', () =>
    isRunning(endsPid) ? undefined : true,
  );
  process.kill(-short.pid, 'SIGKILL');
  // As if the agent had died between starting a keeper and recording its PID.
  const records = join(cluster.workDir, 'agent-1', 'meta');
  const unrecorded = readdirSync(records, { recursive: true, encoding: 'utf8' }).find((path) =>
    path.endsWith(join('containers', 'unrecorded', 'pids')),
  );
  assert.ok(unrecorded !== undefined, 'the nested container is recorded under its parent run');
  rmSync(join(records, unrecorded));
  assert.ok(isRunning(keepPid), 'a nested container runs on without its agent');
  assert.ok(isRunning(sessionPid), 'so does a session, its stream gone');

  const again = await cluster.addAgent('agent-1-again', [], join(cluster.workDir, 'agent-1'));
  agentUrl = again.url;

  assert.equal((await wait('done')).exit_status, 3 << 8, 'an end before the kill is remembered');
  assert.equal((await wait('ends')).exit_status, 7 << 8, 'an end while no agent ran is known');
  // The nested container of the task that ended while no agent ran dies with it.
  assert.equal((await wait('orphan', short.container)).exit_status, 9);
  assert.equal(isRunning(orphanPid), false);
  // One whose keeper was not recorded is found by its sandbox and killed.
  assert.equal((await wait('unrecorded')).exit_status, 9);
  assert.equal(isRunning(unrecordedPid), false);
  // What is left of the session is killed.
  await waitFor('the session to be killed', () => (isRunning(sessionPid) ? undefined : true));
  assert.equal((await wait('debug')).exit_status, 9);

  // The running one is the new agent's: listed, killed and waited for through it.
  assert.ok(isRunning(keepPid), 'the running nested container is not killed by the recovery');
  const listed = async (showNested: boolean) => {
    const answer = await call({
      type: 'GET_CONTAINERS',
      get_containers: { show_nested: showNested },
    });
    assert.equal(answer.status, 200, answer.text);
    return (
      JSON.parse(answer.text) as {
        get_containers: {
          containers: {
            container_id: { value: string; parent?: { value: string } };
            container_status?: { executor_pid?: number };
          }[];
        };
      }
    ).get_containers.containers;
  };
  const keep = (await listed(true)).find((c) => c.container_id.value === 'keep');
  assert.deepEqual(keep?.container_id, nested('keep'), 'GET_CONTAINERS show_nested lists it');
  assert.ok(keep?.container_status?.executor_pid !== undefined, 'with its pid');
  assert.equal(
    (await listed(false)).some((c) => c.container_id.value === 'keep'),
    false,
    'only when asked',
  );
  const killed = await call({
    type: 'KILL_CONTAINER',
    kill_container: { container_id: nested('keep'), signal: 15 },
  });
  assert.equal(killed.status, 200, killed.text);
  assert.equal((await wait('keep')).exit_status, 15);
  assert.equal(isRunning(keepPid), false);
  const removed = await call({
    type: 'REMOVE_CONTAINER',
    remove_container: { container_id: nested('keep') },
  });
  assert.equal(removed.status, 200, removed.text);
  assert.equal(existsSync(join(host.sandbox, 'containers', 'keep')), false);
});

test('an agent stopped leaving its tasks running (SIGTERM) leaves their nested containers running for the next one', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:1;mem:512' });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'nested-detach');
  t.after(() => framework.stop());
  await framework.launch({ host: 'exec sleep 600' });
  const running = await framework.update('host', 'TASK_RUNNING');
  const parent = running.container_status?.container_id?.value;
  const taskPid = running.container_status?.executor_pid;
  assert.ok(parent !== undefined && taskPid !== undefined);
  let agentUrl = cluster.agents[0]?.url ?? '';
  const call = async (body: unknown) => {
    const response = await fetch(new URL('/api/v1', agentUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };
  const id = { value: 'stays', parent: { value: parent } };
  const launched = await call({
    type: 'LAUNCH_CONTAINER',
    launch_container: { container_id: id, command: { value: 'exec sleep 600' } },
  });
  assert.equal(launched.status, 200, launched.text);
  const listed = await call({ type: 'GET_CONTAINERS', get_containers: { show_nested: true } });
  const pid = (
    JSON.parse(listed.text) as {
      get_containers: {
        containers: {
          container_id: { value: string };
          container_status?: { executor_pid?: number };
        }[];
      };
    }
  ).get_containers.containers.find((c) => c.container_id.value === 'stays')?.container_status
    ?.executor_pid;
  assert.ok(pid !== undefined, listed.text);
  t.after(() => {
    for (const each of [pid, taskPid]) if (isRunning(each)) process.kill(each, 'SIGKILL');
  });

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGTERM');
  await agent.exited;
  assert.ok(isRunning(pid), 'the nested container runs on, as its task does');
  const again = await cluster.addAgent('agent-1-again', [], join(cluster.workDir, 'agent-1'));
  agentUrl = again.url;
  const killed = await call({
    type: 'KILL_CONTAINER',
    kill_container: { container_id: id, signal: 15 },
  });
  assert.equal(killed.status, 200, killed.text);
  const waited = await call({ type: 'WAIT_CONTAINER', wait_container: { container_id: id } });
  assert.equal(waited.status, 200, waited.text);
  assert.equal(
    (JSON.parse(waited.text) as { wait_container: { exit_status: number } }).wait_container
      .exit_status,
    15,
  );
});
