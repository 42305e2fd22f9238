// Faults the master must ride out without losing or forgetting anything (#7,
// items 4, 7, 8 and 9): a month-long failover timeout, frameworks that come and
// go, a master restart with a scheduler that is gone for good, and an agent
// killed outright. Real processes throughout.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { EventQueue, launchOne } from './events.js';
import {
  defer,
  getState,
  isAlive,
  killStrandedTask,
  startCluster,
  startDaemon,
  waitFor,
} from './harness.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';

async function metricsOf(masterUrl: string): Promise<Record<string, number>> {
  const response = await fetch(new URL('/metrics/snapshot', masterUrl));
  return (await response.json()) as Record<string, number>;
}

test('a framework with a 30-day failover_timeout survives a disconnect and resubscribes', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  defer(t, () => cluster.stop());
  const frameworkInfo = { user: 'test', name: 'month-long', failover_timeout: 2592000 };
  const first = await subscribe({ master: cluster.masterUrl, frameworkInfo });
  const running = await launchOne(first, new EventQueue(first), 'long', 'sleep 120');
  const pid = running.container_status?.executor_pid;
  await first.close();
  await waitFor('the master to see the framework disconnected', async () =>
    (await getState(cluster.masterUrl)).frameworks.find((f) => f.id === first.frameworkId.value)
      ?.active === false
      ? true
      : undefined,
  );

  // A framework torn down by an overflowed timer is gone: it could not resubscribe.
  const again = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { ...frameworkInfo, id: first.frameworkId },
  });
  defer(t, () => again.close());
  assert.equal(again.frameworkId.value, first.frameworkId.value);
  const state = await getState(cluster.masterUrl);
  const task = state.frameworks
    .find((f) => f.id === first.frameworkId.value)
    ?.tasks.find((task) => task.id === 'long');
  assert.equal(task?.state, 'TASK_RUNNING');
  assert.ok(pid !== undefined && isAlive(pid), 'the task kept running');
});

test('a removed framework takes its metrics with it', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  defer(t, () => cluster.stop());
  const ids: string[] = [];
  for (const [name, leave] of [
    ['torn-down', 'teardown'],
    ['no-failover', 'disconnect'],
  ] as const) {
    const framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'test', name, failover_timeout: 0 },
    });
    ids.push(framework.frameworkId.value);
    await new EventQueue(framework).offers();
    const keys = Object.keys(await metricsOf(cluster.masterUrl));
    assert.ok(
      keys.some((key) => key.includes(framework.frameworkId.value)),
      'a subscribed framework has metrics',
    );
    if (leave === 'teardown') await framework.teardown();
    await framework.close();
  }
  await waitFor('both frameworks to be removed', async () => {
    const state = await getState(cluster.masterUrl);
    return ids.every((id) => state.completed_frameworks.some((f) => f.id === id))
      ? true
      : undefined;
  });
  const left = Object.keys(await metricsOf(cluster.masterUrl)).filter((key) =>
    key.startsWith('master/frameworks/'),
  );
  assert.deepEqual(left, [], 'no per-framework metric outlives its framework');
});

test('after a master restart, a framework whose scheduler is gone is removed and its tasks killed', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-restart-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const masterArgs = (port: string) => [
    'master',
    '--port',
    port,
    '--work_dir',
    join(workDir, 'master'),
    '--framework_reregister_timeout',
    '1secs',
  ];
  let master = await startDaemon('master', masterArgs('0'));
  defer(t, () => master.stop());
  const port = new URL(master.url).port;
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

  const framework = await subscribe({
    master: master.url,
    frameworkInfo: { user: 'test', name: 'gone-for-good', failover_timeout: 0 },
  });
  const running = await launchOne(framework, new EventQueue(framework), 'orphan', 'sleep 300');
  const pid = running.container_status?.executor_pid;
  assert.ok(pid !== undefined && isAlive(pid));
  defer(t, () => killStrandedTask(pid));

  // The master dies first, so it never hears the scheduler leave; then the scheduler goes.
  await master.stop('SIGKILL');
  await framework.close();
  master = await startDaemon('master', masterArgs(port));

  await waitFor(
    'the recovered framework to be removed',
    async () => {
      const state = await getState(master.url);
      return state.completed_frameworks.some((f) => f.id === framework.frameworkId.value) &&
        !state.frameworks.some((f) => f.id === framework.frameworkId.value)
        ? true
        : undefined;
    },
    20_000,
  );
  await waitFor(`task process ${pid} to be killed`, () => (isAlive(pid) ? undefined : true));
});

test('an agent killed outright is marked unreachable and its tasks reported', async (t) => {
  const cluster = await startCluster({
    agents: 1,
    agentResources: AGENT_RESOURCES,
    // Connected agents now answer a PING per timeout: 500 ms each leaves room on a busy machine.
    masterArgs: ['--agent_ping_timeout', '500ms', '--max_agent_ping_timeouts', '4'],
  });
  defer(t, () => cluster.stop());
  const aware = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: {
      user: 'test',
      name: 'partition-aware',
      failover_timeout: 60,
      capabilities: [{ type: 'PARTITION_AWARE' }],
    },
  });
  defer(t, () => aware.close());
  const events = new EventQueue(aware);
  const running = await launchOne(aware, events, 'stranded', 'sleep 300');
  defer(t, () => killStrandedTask(running.container_status?.executor_pid));

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  await agent.stop('SIGKILL');

  const unreachable = await events.update('stranded', 'TASK_UNREACHABLE', 10_000);
  assert.equal(unreachable.source, 'SOURCE_MASTER');
  assert.equal(unreachable.reason, 'REASON_AGENT_REMOVED');
  const metrics = await metricsOf(cluster.masterUrl);
  assert.equal(metrics['master/slaves_unreachable'], 1);
  assert.equal(metrics['master/tasks_running'], 0);
});
