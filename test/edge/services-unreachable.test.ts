// The services framework's unreachableStrategy on a real partition (#15, as
// Marathon's docs/docs/configure-task-handling.md says): an instance whose
// agent is cut off still counts until inactiveAfterSeconds, then a replacement
// starts on another agent; when the link heals the old instance is back, one
// too many, and killSelection (YOUNGEST_FIRST) kills the replacement, leaving
// exactly the configured count. The master's timeouts are shortened.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, waitFor } from '../integration/harness.js';
import { api, startServices, type TaskView, tasksOf } from '../integration/services-helpers.js';
import { MASTER_PORT, startAgent, startMaster } from './edge-cluster.js';
import { NetBed } from './netbed.js';

const unavailable = await NetBed.probe();
if (unavailable !== undefined)
  console.error(`\n*** SKIPPING the edge unreachableStrategy test: ${unavailable} ***\n`);

/** Unreachable 3 s after the cut. */
const MASTER_ARGS = ['--agent_ping_timeout', '1secs', '--max_agent_ping_timeouts', '3'];
const INACTIVE_AFTER_SECONDS = 8;

test('services: an instance unreachable past inactiveAfterSeconds is replaced elsewhere; after the heal exactly the configured count runs', {
  skip: unavailable,
}, async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-edge-svc-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const bed = await NetBed.create({ agents: 2 });
  defer(t, async () => {
    await bed.stop();
    assert.deepEqual(await bed.leftovers(), []);
  });
  const master = await startMaster(bed, MASTER_ARGS);
  for (const index of [1, 2])
    await startAgent(bed, index, {
      masterAddress: `${bed.masterIp}:${MASTER_PORT}`,
      workDir: join(workDir, `agent-${index}`),
      args: ['--registration_backoff_factor', '1secs'],
    });
  await waitFor('2 agents to register', async () => {
    const state = (await (await fetch(`${master.url}/master/state`)).json()) as {
      activated_slaves: number;
    };
    return state.activated_slaves === 2 ? true : undefined;
  });
  // The framework runs beside the test, reaching the master over the operator link.
  const services = await startServices(master.url, join(workDir, 'services'));
  defer(t, () => services.daemon.stop());
  const created = await api(services.url, 'POST', '/v2/apps', {
    id: '/edge',
    cmd: 'sleep 600',
    cpus: 0.1,
    mem: 32,
    instances: 1,
    unreachableStrategy: { inactiveAfterSeconds: INACTIVE_AFTER_SECONDS, expungeAfterSeconds: 600 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  defer(t, async () => {
    await api(services.url, 'DELETE', '/v2/apps/edge');
    await waitFor(
      'the app to be gone',
      async () =>
        (await api(services.url, 'GET', '/v2/apps')).body.apps.length === 0 ? true : undefined,
      60_000,
    ).catch(() => undefined);
  });
  const running = (tasks: readonly TaskView[]) => tasks.filter((x) => x.state === 'TASK_RUNNING');
  const [original] = await waitFor('the instance to run', async () => {
    const tasks = await tasksOf(services.url, '/edge');
    return tasks.length === 1 && running(tasks).length === 1 ? tasks : undefined;
  });
  assert.ok(original !== undefined);
  const hosts = (await (await fetch(`${master.url}/master/state`)).json()) as {
    slaves: { id: string; hostname: string }[];
  };
  const originalHost = hosts.slaves.find((s) => s.id === original.slaveId)?.hostname;
  const index = originalHost === 'edge-1' ? 1 : 2;

  await bed.partition(index);
  await waitFor(
    'the framework to see the instance unreachable',
    async () =>
      (await tasksOf(services.url, '/edge')).find(
        (x) => x.id === original.id && x.state === 'TASK_UNREACHABLE',
      ),
    30_000,
  );
  const unreachableAt = performance.now();
  // Within inactiveAfterSeconds it still counts: nothing replaces it. (Checked until a
  // margin before the limit: the framework's view is polled, not exact.)
  while (performance.now() - unreachableAt < (INACTIVE_AFTER_SECONDS - 2) * 1000) {
    const tasks = await tasksOf(services.url, '/edge');
    assert.deepEqual(
      tasks.map((x) => x.id),
      [original.id],
      'no replacement before inactiveAfterSeconds',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const replacement = await waitFor(
    'a replacement to run on the other agent',
    async () =>
      running(await tasksOf(services.url, '/edge')).find(
        (x) => x.id !== original.id && x.slaveId !== original.slaveId,
      ),
    60_000,
  );
  const replacedMs = performance.now() - unreachableAt;
  assert.ok(replacedMs >= (INACTIVE_AFTER_SECONDS - 1) * 1000, `replaced after ${replacedMs} ms`);

  await bed.heal(index);
  const settled = await waitFor(
    'exactly the configured count, the old instance kept',
    async () => {
      const tasks = await tasksOf(services.url, '/edge');
      return tasks.length === 1 && tasks[0]?.id === original.id && tasks[0].state === 'TASK_RUNNING'
        ? tasks
        : undefined;
    },
    60_000,
  );
  assert.equal(settled[0]?.slaveId, original.slaveId);
  // The replacement's process is gone: the master knows it ended (killed).
  await waitFor(
    'the master to know the replacement killed',
    async () => {
      const state = (await (await fetch(`${master.url}/master/state`)).json()) as {
        frameworks: { tasks: { id: string }[]; completed_tasks: { id: string; state: string }[] }[];
      };
      const live = state.frameworks.flatMap((f) => f.tasks).map((x) => x.id);
      const done = state.frameworks.flatMap((f) => f.completed_tasks);
      return !live.includes(replacement.id) &&
        done.some((x) => x.id === replacement.id && x.state === 'TASK_KILLED')
        ? true
        : undefined;
    },
    30_000,
  );
  // And it stays that way: nothing launched again for a few ticks.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.deepEqual(
    (await tasksOf(services.url, '/edge')).map((x) => [x.id, x.state]),
    [[original.id, 'TASK_RUNNING']],
  );
  t.diagnostic(
    `replaced ${Math.round(replacedMs)} ms after the framework saw the instance unreachable (inactiveAfterSeconds ${INACTIVE_AFTER_SECONDS})`,
  );
});
