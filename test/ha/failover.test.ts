// Issue #10's failover test: the leader killed three times in a row while 50
// tasks run and a framework keeps launching short ones. After each kill a new
// leader is elected, both agents re-register and the framework re-subscribes
// and launches again; at the end every task is accounted for, none ran twice,
// none of the 50 was lost, every acknowledged update stayed acknowledged, and
// no two masters ever led at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, getState, waitFor } from '../integration/harness.js';
import { HaBed } from './bed.js';
import { outcomes } from './invariants.js';
import { LeaderMonitor } from './leader-monitor.js';
import { settleAndCheck } from './settle.js';
import { WorkloadProcess } from './workload-process.js';

const LONG_TASKS = 50;
const KILLS = 3;
/** Short sessions: a failover takes seconds (the timeouts are configurable for this). */
const SESSION = '2secs';
const STEP_TIMEOUT_MS = 45_000;

for (const kind of ['zookeeper', 'etcd'] as const) {
  test(`through ${kind}: killing the leader ${KILLS} times while ${LONG_TASKS} tasks run loses nothing`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-failover-'));
    defer(t, () => rmSync(dir, { recursive: true, force: true }));
    const bed = await HaBed.start({
      kind,
      sessionTimeout: SESSION,
      agentResources: 'cpus:4;mem:2048;disk:1024',
    });
    defer(t, () => bed.stop());
    const monitor = new LeaderMonitor(bed.masters);
    monitor.start();
    defer(t, () => monitor.stop());
    const workload = new WorkloadProcess({ master: bed.clientUrl, dir, long: LONG_TASKS });
    workload.start();
    defer(t, () => workload.stop());

    await waitFor(
      `${LONG_TASKS} long tasks running`,
      () =>
        outcomes(workload.journal()).filter((o) => o.isLong && o.last?.state === 'TASK_RUNNING')
          .length === LONG_TASKS
          ? true
          : undefined,
      STEP_TIMEOUT_MS,
    );

    const timings: string[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      const old = await bed.leader();
      const killedAtMs = Date.now();
      const killedAt = performance.now();
      old.signal('SIGKILL');
      await waitFor(
        `a new leader after kill ${kill}`,
        async () => {
          const leader = await bed.leader(STEP_TIMEOUT_MS);
          return leader !== old ? leader : undefined;
        },
        STEP_TIMEOUT_MS,
      );
      const electedMs = performance.now() - killedAt;
      await bed.agentsRegistered(STEP_TIMEOUT_MS);
      const agentsMs = performance.now() - killedAt;
      await workload.waitFor(
        `re-subscribed after kill ${kill}`,
        killedAtMs,
        (e) => e.kind === 'subscribed',
        STEP_TIMEOUT_MS,
      );
      await workload.waitFor(
        `launching again after kill ${kill}`,
        killedAtMs,
        (e) => e.kind === 'accept' && e.ok,
        STEP_TIMEOUT_MS,
      );
      const relaunchMs = performance.now() - killedAt;
      timings.push(
        `kill ${kill}: leader ${Math.round(electedMs)} ms, agents ${Math.round(agentsMs)} ms, launching ${Math.round(relaunchMs)} ms`,
      );
    }

    const journal = await settleAndCheck(t, {
      bed,
      workload,
      monitor,
      name: 'failover',
      timeoutMs: STEP_TIMEOUT_MS,
    });
    assert.ok(monitor.roundsWithLeader > 0, 'the monitor saw a leader');

    // The leader's books agree: the same framework, its 50 tasks RUNNING.
    const leader = await bed.leader();
    const state = await getState(leader.url);
    const frameworkIds = new Set(
      journal.flatMap((e) => (e.kind === 'subscribed' ? [e.framework_id] : [])),
    );
    assert.equal(frameworkIds.size, 1, 'one framework id throughout');
    const framework = state.frameworks.find((f) => frameworkIds.has(f.id));
    const running = (framework?.tasks ?? []).filter(
      (task) => task.id.startsWith('l-') && task.state === 'TASK_RUNNING',
    );
    assert.equal(running.length, LONG_TASKS);
    const launched = outcomes(journal).length;
    t.diagnostic(`${launched} tasks launched; ${timings.join('; ')}`);
  });
}
