// A leader whose process stands still for longer than its stall limit (half the
// session timeout) but not as long as the session timeout keeps its coordinator
// session: it must ask the coordinator, find it still leads, and go on leading
// with nothing lost. Before, it abdicated (exit 70) on every such stall, and on a
// loaded machine the next leader stalled and abdicated in turn (#10).
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

const LONG_TASKS = 5;
/**
 * 10 s sessions: the stall limit is 5 s. A client pings every third of the session
 * (3.3 s), so a stall of 5.6 s that starts just before a ping leaves the session
 * 8.9 s without one: 1.1 s of margin for a loaded machine's lateness.
 */
const SESSION = '10secs';
const STALL_MS = 5600;
const STEP_TIMEOUT_MS = 60_000;

for (const kind of ['zookeeper', 'etcd'] as const) {
  test(`through ${kind}: a leader that stood still past its stall limit but within its session goes on leading and loses no task`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-stall-'));
    defer(t, () => rmSync(dir, { recursive: true, force: true }));
    const bed = await HaBed.start({
      kind,
      masters: 2,
      agents: 1,
      sessionTimeout: SESSION,
      agentResources: 'cpus:2;mem:1024;disk:512',
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

    const leader = await bed.leader();
    const pid = leader.pid;
    const linesBefore = leader.output.length;
    leader.signal('SIGSTOP');
    const stoppedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, STALL_MS));
    leader.signal('SIGCONT');
    const stoodStillMs = performance.now() - stoppedAt;
    const resumedAtMs = Date.now();

    const said = (phrase: string) =>
      leader.output.slice(linesBefore).some((line) => line.includes(phrase));
    await waitFor(
      'the leader to confirm its leadership with the coordinator',
      () =>
        said('the coordinator confirmed the leadership after a stall')
          ? true
          : said('lost leadership or session')
            ? false
            : undefined,
      STEP_TIMEOUT_MS,
    ).then((isConfirmed) =>
      assert.equal(isConfirmed, true, `the leader abdicated:\n${leader.tail(20)}`),
    );
    assert.ok(said('stood still: confirming the leadership'), 'the stall was seen');
    assert.equal(leader.pid, pid, 'the leader is the same process, never restarted');
    assert.equal(await bed.leader(), leader, 'and still leads');
    // It acts again: the framework's calls go through it.
    await workload.waitFor(
      'launching again after the stall',
      resumedAtMs,
      (e) => e.kind === 'accept' && e.ok,
      STEP_TIMEOUT_MS,
    );

    const _journal = await settleAndCheck(t, {
      bed,
      workload,
      monitor,
      name: 'stall',
      timeoutMs: STEP_TIMEOUT_MS,
    });
    assert.equal(leader.pid, pid, 'the leader never abdicated');
    const state = await getState(leader.url);
    const running = state.frameworks
      .flatMap((f) => f.tasks)
      .filter((task) => task.id.startsWith('l-') && task.state === 'TASK_RUNNING');
    assert.equal(running.length, LONG_TASKS, 'every long task still running');
    t.diagnostic(`stood still ${Math.round(stoodStillMs)} ms with a ${SESSION} session`);
  });
}
