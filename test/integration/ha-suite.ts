// Three masters electing a leader through a real coordinator (ZooKeeper or
// etcd): standbys redirect to the leader as Mesos' do, a leader killed with
// SIGKILL costs no task, and a leader paused past its session cannot write.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { taskId } from '../../src/wire/index.js';
import { type Server, startEtcd, startZooKeeper } from '../coordination/servers.js';
import { elected as electedAt } from '../ha/bed.js';
import { type Daemon, getState, isAlive, startDaemon, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

/** Short sessions so a failover takes seconds; the ZooKeeper here allows 1 s and up, etcd 2 s. */
const SESSION = '3secs';
const SESSION_MS = 3000;
const FAILOVER_TIMEOUT_MS = 40_000;

export function haSuite(kind: 'zookeeper' | 'etcd'): void {
  describe(`masters in HA mode through ${kind}`, () => {
    let zk: Server | undefined;
    let workDir = '';
    /** What masters, agents and frameworks are given: zk://…/agora or etcd://…/agora. */
    let zkUrl = '';
    let masterFlag: readonly string[] = [];
    const masters: Daemon[] = [];
    let agent: Daemon | undefined;

    before(async () => {
      zk = kind === 'zookeeper' ? await startZooKeeper() : await startEtcd();
      zkUrl = `${kind === 'zookeeper' ? 'zk' : 'etcd'}://${zk.address}/agora`;
      masterFlag =
        kind === 'zookeeper' ? ['--zk', zkUrl] : ['--etcd', `http://${zk.address}/agora`];
      workDir = mkdtempSync(join(tmpdir(), `agora-ha-${kind}-`));
      for (let i = 0; i < 3; i++) masters.push(await startMaster(`master-${i}`));
      await leader();
      agent = await startDaemon('agent', [
        'agent',
        '--master',
        zkUrl,
        '--port',
        '0',
        '--work_dir',
        join(workDir, 'agent'),
        '--resources',
        'cpus:2;mem:1024;disk:64',
        // Not about isolation; a SIGKILLed agent would leave its tasks' cgroups behind.
        '--isolation',
        'posix/cpu,posix/mem',
      ]);
      await waitFor('the agent to register with the leader', async () =>
        (await getState((await leader()).url)).slaves.some((s) => s.active) ? true : undefined,
      );
    });
    after(async () => {
      await agent?.stop();
      await Promise.all(masters.map((m) => m.stop()));
      await zk?.stop();
      rmSync(workDir, { recursive: true, force: true });
    });

    function startMaster(name: string): Promise<Daemon> {
      return startDaemon(name, [
        'master',
        ...masterFlag,
        '--quorum',
        '2',
        '--zk_session_timeout',
        SESSION,
        '--port',
        '0',
        '--allocation_interval',
        '100ms',
      ]);
    }

    // A paused master accepts the connection and never answers: elected() gives up on it.
    const elected = (master: Daemon) => electedAt(master.url);

    /** The one live master that says it leads, once exactly one does. */
    /** Masters stopped with SIGSTOP: they cannot answer, so they are not asked. */
    const paused = new Set<Daemon>();

    async function leader(timeoutMs = 30_000): Promise<Daemon> {
      return waitFor(
        'exactly one leading master',
        async () => {
          const live = masters.filter(
            (m) => m.process.exitCode === null && m.process.signalCode === null && !paused.has(m),
          );
          const flags = await Promise.all(live.map(elected));
          const leading = live.filter((_, i) => flags[i] === 1);
          return leading.length === 1 && flags.every((f) => f !== undefined)
            ? leading[0]
            : undefined;
        },
        timeoutMs,
      );
    }

    test('a standby redirects API calls to the leader and says who leads', async () => {
      const lead = await leader();
      const leaderHostPort = new URL(lead.url).host;
      for (const standby of masters.filter((m) => m !== lead)) {
        const scheduler = await fetch(`${standby.url}/api/v1/scheduler`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/json' },
          body: '{"type":"SUBSCRIBE"}',
        });
        assert.equal(scheduler.status, 307);
        assert.equal(
          scheduler.headers.get('location'),
          `//${leaderHostPort}/master/api/v1/scheduler`,
        );
        const operator = await fetch(`${standby.url}/api/v1`, {
          method: 'POST',
          redirect: 'manual',
          body: '{"type":"GET_HEALTH"}',
        });
        assert.equal(operator.status, 307);
        assert.equal(operator.headers.get('location'), `//${leaderHostPort}/master/api/v1`);
        const redirect = await fetch(`${standby.url}/master/redirect`, { redirect: 'manual' });
        assert.equal(redirect.status, 307);
        assert.equal(redirect.headers.get('location'), `//${leaderHostPort}`);
        const state = await getState(standby.url);
        const raw = state as unknown as Record<string, unknown>;
        assert.equal(raw.leader, `master@${leaderHostPort}`);
        assert.equal(raw.elected_time, undefined);
        assert.equal((await fetch(`${standby.url}/health`)).status, 200);
        assert.equal(await elected(standby), 0);
      }
      const own = (await getState(lead.url)) as unknown as Record<string, unknown>;
      assert.equal(own.leader, `master@${leaderHostPort}`);
    });

    test('killing the leader costs no task: agent and framework follow the new leader', async (t) => {
      const framework = await TaskFramework.start(zkUrl, `ha-${kind}`, { failover: true });
      t.after(() => framework.stop());
      const pidFile = join(workDir, 'task-pids');
      const agentIdValue = await framework.launch({
        keeper: `echo $$ >> ${pidFile}; exec sleep 600`,
      });
      await framework.update('keeper', 'TASK_RUNNING');
      const frameworkIdValue = framework.connection.frameworkId.value;

      const old = await leader();
      const killedAt = performance.now();
      await old.stop('SIGKILL');
      const next = await leader(FAILOVER_TIMEOUT_MS);
      const electedMs = performance.now() - killedAt;
      assert.notEqual(next, old);

      await waitFor(
        'the agent to re-register with the new leader, with its id',
        async () =>
          (await getState(next.url)).slaves.some((s) => s.id === agentIdValue && s.active)
            ? true
            : undefined,
        FAILOVER_TIMEOUT_MS,
      );
      await waitFor(
        'the framework to re-subscribe with its id',
        () =>
          framework.events.some(
            (e) => e.type === 'SUBSCRIBED' && e.subscribed.framework_id.value === frameworkIdValue,
          )
            ? true
            : undefined,
        FAILOVER_TIMEOUT_MS,
      );
      const state = await getState(next.url);
      const running = state.frameworks
        .find((f) => f.id === frameworkIdValue)
        ?.tasks.find((task) => task.id === 'keeper');
      assert.equal(running?.state, 'TASK_RUNNING');

      // Reconciliation through the new leader says RUNNING, and the task never restarted.
      const before = framework.updates('keeper').length;
      await framework.connection.reconcile([{ task_id: taskId('keeper') }]);
      const reconciled = await waitFor('a reconciliation update', () =>
        framework
          .updates('keeper')
          .slice(before)
          .find((s) => s.reason === 'REASON_RECONCILIATION'),
      );
      assert.equal(reconciled.state, 'TASK_RUNNING');
      assert.equal(readFileSync(pidFile, 'utf8').trim().split('\n').length, 1);
      t.diagnostic(
        `new leader elected ${Math.round(electedMs)} ms after SIGKILL (session ${SESSION})`,
      );

      // The killed master comes back as a standby of the new leader.
      const index = masters.indexOf(old);
      masters[index] = await startMaster(`master-${index}-again`);
      assert.equal(await leader(), next);
    });

    test('a leader paused past its session is deposed, and cannot write when it wakes', async (t) => {
      const old = await leader();
      const weights = (master: Daemon) =>
        fetch(`${master.url}/master/weights`).then(
          async (r) => (await r.json()) as { role: string; weight: number }[],
        );
      const update = (master: Daemon, role: string) =>
        fetch(`${master.url}/api/v1`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            type: 'UPDATE_WEIGHTS',
            update_weights: { weight_infos: [{ role, weight: 3 }] },
          }),
        });

      old.process.kill('SIGSTOP');
      paused.add(old);
      t.after(() => old.process.kill('SIGCONT'));
      const next = await leader(FAILOVER_TIMEOUT_MS);
      assert.notEqual(next, old);
      // A write sent to the paused leader waits in its socket until it wakes up.
      const stale = update(old, 'stale').then(
        (response) => response.status,
        () => 'connection failed',
      );
      assert.equal((await update(next, 'fresh')).status, 200);

      old.process.kill('SIGCONT');
      paused.delete(old);
      // It learns its session is gone and stops; whatever it tried is not acknowledged.
      const code = await Promise.race([
        old.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000)),
      ]);
      assert.notEqual(code, 'still running');
      assert.notEqual(code, 0);
      assert.notEqual(await stale, 200);
      t.diagnostic(`the deposed leader exited with ${code}; its write got ${await stale}`);

      // The registry has the new leader's write and not the deposed one's: a third
      // master, recovering it after the second is killed, says so.
      assert.ok((await weights(next)).some((w) => w.role === 'fresh'));
      await next.stop('SIGKILL');
      const third = await leader(FAILOVER_TIMEOUT_MS);
      const recovered = await weights(third);
      assert.ok(recovered.some((w) => w.role === 'fresh' && w.weight === 3));
      assert.ok(!recovered.some((w) => w.role === 'stale'));
      for (const [i, master] of masters.entries())
        if (master.process.exitCode !== null || master.process.signalCode !== null)
          masters[i] = await startMaster(`master-${i}-restarted`);
    });
    test('with the coordinator gone, no master leads; the agent keeps its task', async () => {
      const lead = await leader();
      const framework = await TaskFramework.start(zkUrl, `ha-${kind}-down`);
      const pidFile = join(workDir, 'down-pids');
      await framework.launch({ survivor: `echo $$ > ${pidFile}; exec sleep 600` });
      await framework.update('survivor', 'TASK_RUNNING');
      // TASK_RUNNING says the task was forked, not that its shell has written the file yet.
      const taskPid = await waitFor('the task to write its PID', () => {
        try {
          const pid = Number(readFileSync(pidFile, 'utf8').trim());
          return pid > 1 ? pid : undefined;
        } catch {
          return undefined;
        }
      });
      await framework.connection.close();

      await zk?.stop();
      // Sampled every 100 ms until the leader is gone: never two leaders at once.
      const deadline = performance.now() + SESSION_MS + 15_000;
      let mostLeaders = 0;
      while (lead.process.exitCode === null && performance.now() < deadline) {
        const live = masters.filter(
          (m) => m.process.exitCode === null && m.process.signalCode === null,
        );
        const flags = await Promise.all(live.map(elected));
        mostLeaders = Math.max(mostLeaders, flags.filter((f) => f === 1).length);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.notEqual(lead.process.exitCode, null, 'the leader still runs without a coordinator');
      assert.ok(mostLeaders <= 1, `${mostLeaders} masters led at once`);
      assert.equal(agent?.process.exitCode, null, 'the agent stopped');
      assert.ok(isAlive(taskPid), 'the task was killed');
    });
  });
}
