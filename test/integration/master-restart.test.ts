// A master killed outright and started again on the same work_dir forgets
// nothing (#8, section 7): running tasks never stop, the framework resubscribes
// with its id and sees every task by RECONCILE, agents that never come back
// are marked unreachable, and a torn-down framework stays torn down.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import { type TaskInfo, taskId } from '../../src/wire/index.js';
import { EventQueue } from './events.js';
import { type Daemon, defer, getState, isAlive, startDaemon, waitFor } from './harness.js';

const TASKS = 20;

function masterArgs(workDir: string, port: string, extra: readonly string[] = []): string[] {
  return ['master', '--port', port, '--work_dir', join(workDir, 'master'), ...extra];
}

async function startAgent(workDir: string, masterUrl: string, name = 'agent'): Promise<Daemon> {
  return startDaemon(name, [
    'agent',
    '--master',
    masterUrl,
    '--port',
    '0',
    '--work_dir',
    join(workDir, name),
    '--resources',
    'cpus:4;mem:4096;disk:1024;ports:[31000-31100]',
  ]);
}

/** Launches `count` sleeping tasks, as many per offer as fit; resolves with their pids. */
async function launchMany(
  framework: SchedulerConnection,
  events: EventQueue,
  count: number,
): Promise<Map<string, number>> {
  let launched = 0;
  while (launched < count) {
    const offers = await events.offers();
    for (const offer of offers) {
      const infos: TaskInfo[] = [];
      while (launched < count && infos.length < 30) {
        const id = `t${launched++}`;
        infos.push({
          name: id,
          task_id: taskId(id),
          agent_id: offer.agent_id,
          resources: [
            { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
            { name: 'mem', type: 'SCALAR', scalar: { value: 16 } },
          ],
          command: { value: 'sleep 300' },
        });
      }
      await framework.accept([offer.id], [{ type: 'LAUNCH', launch: { task_infos: infos } }]);
    }
  }
  const pids = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const status = await events.update(`t${i}`, 'TASK_RUNNING');
    const pid = status.container_status?.executor_pid;
    assert.ok(pid !== undefined);
    pids.set(`t${i}`, pid);
  }
  return pids;
}

test('a master killed and restarted on its work_dir loses no task, and its framework sees them all', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-restart-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  let master = await startDaemon('master', masterArgs(workDir, '0'));
  defer(t, () => master.stop());
  const port = new URL(master.url).port;
  const agent = await startAgent(workDir, master.url);
  defer(t, () => agent.stop());

  const frameworkInfo = { user: 'test', name: 'survivor', failover_timeout: 300 };
  const first = await subscribe({ master: master.url, frameworkInfo });
  const pids = await launchMany(first, new EventQueue(first), TASKS);

  const firstMaster = master;
  await master.stop('SIGKILL');
  await first.close();
  master = await startDaemon('master', masterArgs(workDir, port));
  const before = await getState(master.url);
  assert.ok(
    before.frameworks.some((f) => f.id === first.frameworkId.value),
    'the restarted master knows the framework from its registry',
  );

  const again = await subscribe({
    master: master.url,
    frameworkInfo: { ...frameworkInfo, id: first.frameworkId },
  });
  defer(t, () => again.close());
  const events = new EventQueue(again);
  await waitFor(
    'the agent to re-register with its tasks',
    async () => {
      const state = await getState(master.url);
      const tasks = state.frameworks.find((f) => f.id === first.frameworkId.value)?.tasks ?? [];
      return tasks.filter((task) => task.state === 'TASK_RUNNING').length === TASKS
        ? true
        : undefined;
    },
    20_000,
  );
  // Its first SUBSCRIBE ever listed a framework per task; the master it had heard from said
  // it takes the compact report, and the restarted one, which it had not heard from, got that:
  // its tasks running as before (above) from their resources given once and named by index.
  const shapes = (daemon: Daemon, msg: string) =>
    daemon.lines.filter((line) => line.msg === msg).map((line) => line.report);
  assert.deepEqual(shapes(firstMaster, 'agent registered'), ['perTask']);
  // The line may follow the books it explains by a few ms (held to be written together).
  const restarted = master;
  const reported = await waitFor('the agent reregistered line', () => {
    const seen = shapes(restarted, 'agent reregistered');
    return seen.length > 0 ? seen : undefined;
  });
  assert.deepEqual(new Set(reported), new Set(['compact']));
  await again.reconcile();
  for (let i = 0; i < TASKS; i++) {
    // The re-registered agent may resend an update the old master never saw acknowledged:
    // the answer to RECONCILE is the one that gives reconciliation as its reason.
    const status = await waitFor(`t${i} answered by RECONCILE`, () =>
      events.seen
        .flatMap((e) => (e.type === 'UPDATE' ? [e.update.status] : []))
        .find((s) => s.task_id.value === `t${i}` && s.reason === 'REASON_RECONCILIATION'),
    );
    assert.equal(status.state, 'TASK_RUNNING', `t${i} by RECONCILE`);
  }
  for (const [id, pid] of pids) assert.ok(isAlive(pid), `${id} (pid ${pid}) never stopped`);

  // A torn-down framework stays torn down across a restart.
  await again.teardown();
  await waitFor(`every task process to be killed`, () =>
    [...pids.values()].some(isAlive) ? undefined : true,
  );
  await master.stop('SIGKILL');
  master = await startDaemon('master', masterArgs(workDir, port));
  await assert.rejects(
    subscribe({ master: master.url, frameworkInfo: { ...frameworkInfo, id: first.frameworkId } }),
    /Framework has been removed/,
  );
});

test('after a master restart, an agent that does not come back within --agent_reregister_timeout is unreachable', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-restart-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  let master = await startDaemon('master', masterArgs(workDir, '0'));
  defer(t, () => master.stop());
  const port = new URL(master.url).port;
  const agent = await startAgent(workDir, master.url);
  await waitFor('the agent to register', async () =>
    (await getState(master.url)).slaves.length === 1 ? true : undefined,
  );
  await master.stop('SIGKILL');
  await agent.stop('SIGKILL');
  master = await startDaemon(
    'master',
    // Wide enough that /master/state is read before it passes, even on a loaded host.
    masterArgs(workDir, port, ['--agent_reregister_timeout', '5secs']),
  );
  const recovered = (await (await fetch(new URL('/master/state', master.url))).json()) as {
    recovered_slaves: unknown[];
  };
  assert.equal(recovered.recovered_slaves.length, 1, 'known from the registry, not back yet');
  await waitFor('the agent to be marked unreachable', async () => {
    const metrics = (await (
      await fetch(new URL('/metrics/snapshot', master.url))
    ).json()) as Record<string, number>;
    return metrics['master/slaves_unreachable'] === 1 ? true : undefined;
  });
});
