// Agents as the master sees them (#8, section 4), with real processes: a
// frozen agent (SIGSTOP) caught by its missed PINGs and welcomed back,
// DRAIN_AGENT, MARK_AGENT_GONE, and fault domains.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { EventQueue, launchOne } from './events.js';
import { defer, getState, isAlive, runCli, startCluster, startDaemon, waitFor } from './harness.js';
import { killPid, launchOn, offerOn, operatorCall, v1Agents } from './operator.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';
const PARTITION_AWARE = [{ type: 'PARTITION_AWARE' as const }];

test('a frozen agent (SIGSTOP) is marked unreachable though its link is open, and comes back on SIGCONT', async (t) => {
  const cluster = await startCluster({
    agents: 1,
    agentResources: AGENT_RESOURCES,
    masterArgs: [
      '--agent_ping_timeout',
      '500ms',
      '--max_agent_ping_timeouts',
      '4',
      // The first removal goes at once whatever the rate; the flag is taken end to end.
      '--agent_removal_rate_limit',
      '1/10mins',
    ],
  });
  defer(t, () => cluster.stop());
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: {
      user: 'test',
      name: 'frozen-agent',
      failover_timeout: 60,
      capabilities: PARTITION_AWARE,
    },
  });
  defer(t, () => framework.close());
  const events = new EventQueue(framework);
  const running = await launchOne(framework, events, 'sleeper', 'sleep 300');
  const pid = running.container_status?.executor_pid;
  defer(t, () => killPid(pid));
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  // Never leave a stopped process behind, whatever fails below.
  defer(t, () => killPid(agent.pid, 'SIGCONT'));

  agent.process.kill('SIGSTOP');
  const unreachable = await events.update('sleeper', 'TASK_UNREACHABLE', 15_000);
  assert.equal(unreachable.reason, 'REASON_AGENT_REMOVED');
  assert.ok(unreachable.unreachable_time !== undefined);
  assert.ok(pid !== undefined && isAlive(pid), 'the task itself runs on');
  assert.ok(isAlive(agent.pid), 'the agent process is there, only stopped');
  // Caught by its unanswered PINGs, not by a broken link (the master holds a log line a few
  // milliseconds before writing it: the framework may hear of the task first).
  await waitFor('the master to log why the agent is unreachable', () =>
    cluster.master.lines.find((l) => l.msg === 'agent unreachable'),
  ).then((line) => assert.equal(line.reason, 'health check timed out'));

  agent.process.kill('SIGCONT');
  const back = await waitFor(
    'TASK_RUNNING again, REASON_AGENT_REREGISTERED',
    () =>
      events.seen.flatMap((e) =>
        e.type === 'UPDATE' &&
        e.update.status.task_id.value === 'sleeper' &&
        e.update.status.reason === 'REASON_AGENT_REREGISTERED'
          ? [e.update.status]
          : [],
      )[0],
  );
  assert.equal(back.state, 'TASK_RUNNING');
  const state = await getState(cluster.masterUrl);
  assert.equal(state.slaves[0]?.active, true);
  assert.equal(
    state.frameworks[0]?.tasks.find((task) => task.id === 'sleeper')?.state,
    'TASK_RUNNING',
  );
});

test('DRAIN_AGENT kills a running task and the agent is DRAINED once the framework acknowledges', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  defer(t, () => cluster.stop());
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'test', name: 'drained', capabilities: PARTITION_AWARE },
    autoAcknowledge: false,
  });
  defer(t, () => framework.close());
  const events = new EventQueue(framework);
  const [offer] = await events.offers();
  assert.ok(offer !== undefined);
  // A task that ignores SIGTERM: only the drain's 1 s grace period, then SIGKILL, ends it.
  const launched = launchOn(framework, events, offer, 'stubborn', "trap '' TERM; sleep 300");
  // Updates come one at a time, each after the previous one's acknowledgement.
  await framework.acknowledge(await events.update('stubborn', 'TASK_STARTING'));
  const running = await launched;
  await framework.acknowledge(running);
  const pid = running.container_status?.executor_pid;
  defer(t, () => killPid(pid));
  const agentIdValue = running.agent_id?.value ?? '';

  await operatorCall(cluster.masterUrl, {
    type: 'DRAIN_AGENT',
    drain_agent: { agent_id: { value: agentIdValue }, max_grace_period: { seconds: 1 } },
  });
  const killed = await events.update('stubborn', 'TASK_KILLED', 15_000);
  assert.equal(killed.reason, 'REASON_AGENT_DRAINING');
  assert.ok(pid !== undefined);
  await waitFor('the task process to be gone', () => (isAlive(pid) ? undefined : true));
  const [draining] = await v1Agents(cluster.masterUrl);
  assert.equal(draining?.drain_info?.state, 'DRAINING', 'not DRAINED before the acknowledgement');
  assert.equal(draining?.deactivated, true);
  assert.equal(draining?.active, false);

  await framework.acknowledge(killed);
  await waitFor('the agent to be DRAINED', async () => {
    const [agent] = await v1Agents(cluster.masterUrl);
    return agent?.drain_info?.state === 'DRAINED' ? true : undefined;
  });
  const state = (await getState(cluster.masterUrl)) as unknown as {
    slaves: { deactivated: boolean; drain_info?: { state: string } }[];
  };
  assert.equal(state.slaves[0]?.deactivated, true);
  assert.equal(state.slaves[0]?.drain_info?.state, 'DRAINED');
});

test('MARK_AGENT_GONE: tasks TASK_GONE_BY_OPERATOR, the agent shuts down and its id is refused for good', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  defer(t, () => cluster.stop());
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'test', name: 'gone', capabilities: PARTITION_AWARE },
  });
  defer(t, () => framework.close());
  const events = new EventQueue(framework);
  const running = await launchOne(framework, events, 'doomed', 'sleep 300');
  const pid = running.container_status?.executor_pid;
  defer(t, () => killPid(pid));
  const agentIdValue = running.agent_id?.value ?? '';
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);

  await operatorCall(cluster.masterUrl, {
    type: 'MARK_AGENT_GONE',
    mark_agent_gone: { agent_id: { value: agentIdValue } },
  });
  const gone = await events.update('doomed', 'TASK_GONE_BY_OPERATOR');
  assert.equal(gone.reason, 'REASON_AGENT_REMOVED_BY_OPERATOR');
  assert.equal(await agent.exited, 0, 'the agent was told to shut down, and did');
  assert.ok(pid !== undefined);
  await waitFor('the task process to be gone', () => (isAlive(pid) ? undefined : true));
  // Idempotent; an agent the master never knew is 404.
  await operatorCall(cluster.masterUrl, {
    type: 'MARK_AGENT_GONE',
    mark_agent_gone: { agent_id: { value: agentIdValue } },
  });
  await operatorCall(
    cluster.masterUrl,
    { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: 'nobody' } } },
    404,
  );

  // The old id is refused: a registration under it is told to shut down.
  const refusal = await fetch(new URL('/master/api/v1/agent', cluster.masterUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      type: 'SUBSCRIBE',
      agent_id: { value: agentIdValue },
      subscribe: { agent_info: { hostname: 'again' }, version: '1.11.0' },
    }),
  });
  assert.match(await refusal.text(), /"type":"SHUTDOWN"/);
  // Started again on its work dir, the agent forgot its id: it joins as a new agent.
  const again = await cluster.addAgent('agent-1-again', [], `${cluster.workDir}/agent-1`);
  await waitFor('a new agent to register', async () => {
    const state = await getState(cluster.masterUrl);
    return state.slaves.some((s) => s.active && s.id !== agentIdValue) ? true : undefined;
  });
  assert.ok(isAlive(again.pid));
});

test('fault domains: a framework without REGION_AWARE is not offered an agent of another region; one with it is', async (t) => {
  const domain = (region: string) =>
    JSON.stringify({ fault_domain: { region: { name: region }, zone: { name: `${region}-1` } } });
  const cluster = await startCluster({
    agents: 0,
    agentResources: AGENT_RESOURCES,
    masterArgs: ['--domain', domain('eu')],
  });
  defer(t, () => cluster.stop());
  await cluster.addAgent('remote', ['--domain', domain('us'), '--hostname', 'remote.test']);
  await cluster.addAgent('local', ['--domain', domain('eu'), '--hostname', 'local.test']);
  const state = await waitFor('both agents to register', async () => {
    const s = await getState(cluster.masterUrl);
    return s.slaves.filter((a) => a.active).length === 2 ? s : undefined;
  });
  const idOf = (hostname: string) => state.slaves.find((s) => s.hostname === hostname)?.id ?? '';

  const unaware = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'test', name: 'unaware' },
  });
  defer(t, () => unaware.close());
  // The first cycle after a subscription weighs every agent: what is not in it was held back.
  const [first] = await new EventQueue(unaware).offers().then((offers) => [offers]);
  assert.deepEqual(
    first?.map((o) => o.agent_id.value),
    [idOf('local.test')],
  );
  assert.deepEqual(first?.[0]?.domain, JSON.parse(domain('eu')));

  const aware = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'test', name: 'aware', capabilities: [{ type: 'REGION_AWARE' }] },
  });
  defer(t, () => aware.close());
  const offer = await offerOn(new EventQueue(aware), idOf('remote.test'));
  assert.deepEqual(offer.domain, JSON.parse(domain('us')));
  const master = (await getState(cluster.masterUrl)) as unknown as { domain?: unknown };
  assert.deepEqual(master.domain, JSON.parse(domain('eu')), '/master/state shows the domain');
});

test('DEACTIVATE_AGENT outlives a master restart; REACTIVATE_AGENT brings offers back', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-deactivated-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const masterArgs = (port: string) => [
    'master',
    '--port',
    port,
    '--work_dir',
    join(workDir, 'master'),
  ];
  let master = await startDaemon('master', masterArgs('0'));
  defer(t, () => master.stop());
  const agent = await startDaemon('agent', [
    'agent',
    '--master',
    master.url,
    '--port',
    '0',
    '--work_dir',
    join(workDir, 'agent'),
    '--resources',
    AGENT_RESOURCES,
  ]);
  defer(t, () => agent.stop());
  const [registered] = await waitFor('the agent to register', async () => {
    const agents = await v1Agents(master.url);
    return agents.length === 1 ? agents : undefined;
  });
  const agentId = { value: registered?.agent_info.id.value ?? '' };
  await operatorCall(master.url, {
    type: 'DEACTIVATE_AGENT',
    deactivate_agent: { agent_id: agentId },
  });

  await master.stop('SIGKILL');
  master = await startDaemon('master', masterArgs(new URL(master.url).port));
  const [back] = await waitFor('the agent to re-register with the new master', async () => {
    const agents = await v1Agents(master.url);
    return agents.length === 1 ? agents : undefined;
  });
  assert.equal(back?.deactivated, true, 'still deactivated');
  assert.equal(back?.active, false);
  const framework = await subscribe({
    master: master.url,
    frameworkInfo: { user: 'test', name: 'waits-for-offers' },
  });
  defer(t, () => framework.close());
  const events = new EventQueue(framework);
  await operatorCall(master.url, {
    type: 'REACTIVATE_AGENT',
    reactivate_agent: { agent_id: agentId },
  });
  const [offer] = await events.offers();
  assert.equal(offer?.agent_id.value, agentId.value, 'offered once reactivated');
});

test('the daemons refuse a malformed --agent_removal_rate_limit or --domain, naming the flag', async () => {
  const cases: [args: string[], message: RegExp][] = [
    [['--agent_removal_rate_limit', '10mins'], /--agent_removal_rate_limit: expected/],
    [['--agent_removal_rate_limit', '0/10mins'], /--agent_removal_rate_limit: expected/],
    [['--domain', '{"fault_domain":{"region":{"name":"eu"}}}'], /--domain: .*zone/],
    [['--domain', '{}'], /--domain: expected/],
  ];
  for (const [args, message] of cases) {
    const run = runCli(['master', '--registry', 'in_memory', '--port', '0', ...args]);
    const result = await run.result;
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
  }
});
