// An agent cut off from the master by a real partition (nftables in the
// router, #15): its tasks keep running; PARTITION_AWARE frameworks see
// TASK_UNREACHABLE and others TASK_LOST (docs/high-availability-framework-guide.md);
// once healed, both learn the true state, and the updates the agent queued
// meanwhile (checkpointed: it is restarted during the partition) arrive in
// order, each once. The master's timeouts are shortened so a round takes seconds.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TaskStatus } from '../../src/wire/index.js';
import { defer, waitFor } from '../integration/harness.js';
import { TaskFramework } from '../integration/task-framework.js';
import { agentMetrics, MASTER_PORT, startAgent, startMaster } from './edge-cluster.js';
import { NetBed } from './netbed.js';

const unavailable = await NetBed.probe();
if (unavailable !== undefined)
  console.error(`\n*** SKIPPING the edge partition tests: ${unavailable} ***\n`);

/** --agent_ping_timeout × --max_agent_ping_timeouts: unreachable 3 s after the cut. */
const MASTER_ARGS = ['--agent_ping_timeout', '1secs', '--max_agent_ping_timeouts', '3'];

/** No update the agent sent (each has a uuid) reached the framework twice. */
function assertOnce(statuses: readonly TaskStatus[]): void {
  const uuids = statuses.flatMap((s) => (s.uuid === undefined ? [] : [s.uuid]));
  assert.equal(new Set(uuids).size, uuids.length, 'an agent update arrived twice');
}

test('partition of an agent: its tasks run on, frameworks see unreachable or lost, then the truth', {
  skip: unavailable,
}, async (t) => {
  // Made first, so it is removed last: after the bed stopped what writes to it.
  const workDir = mkdtempSync(join(tmpdir(), 'agora-edge-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const bed = await NetBed.create({ agents: 1 });
  defer(t, async () => {
    await bed.stop();
    assert.deepEqual(await bed.leftovers(), []);
  });
  const master = await startMaster(bed, MASTER_ARGS);
  const agentArgs = {
    masterAddress: `${bed.masterIp}:${MASTER_PORT}`,
    workDir: join(workDir, 'agent'),
    // The agent notices a dead link and retries often: a short backoff cap.
    args: ['--registration_backoff_factor', '1secs'],
  };
  let agent = await startAgent(bed, 1, agentArgs);
  await waitFor('the agent to register', async () => {
    const state = (await (await fetch(`${master.url}/master/state`)).json()) as {
      activated_slaves: number;
    };
    return state.activated_slaves === 1 ? true : undefined;
  });

  const aware = await TaskFramework.start(master.url, 'aware', {
    capabilities: ['PARTITION_AWARE'],
  });
  defer(t, () => aware.stop());
  const plain = await TaskFramework.start(master.url, 'plain');
  defer(t, () => plain.stop());
  const go = join(workDir, 'go');
  const done = join(workDir, 'done');
  await aware.launch({
    long: 'sleep 600',
    ends: `while [ ! -e ${go} ]; do sleep 0.1; done; touch ${done}; exit 3`,
  });
  await plain.launch({ 'plain-long': 'sleep 600' });
  for (const [framework, id] of [
    [aware, 'long'],
    [aware, 'ends'],
    [plain, 'plain-long'],
  ] as const)
    await framework.update(id, 'TASK_RUNNING', 30_000);

  const cutAt = performance.now();
  await bed.partition(1);
  const unreachable = await aware.update('long', 'TASK_UNREACHABLE', 30_000);
  const unreachableMs = performance.now() - cutAt;
  assert.equal(unreachable.reason, 'REASON_AGENT_REMOVED');
  await aware.update('ends', 'TASK_UNREACHABLE', 5000);
  const lost = await plain.update('plain-long', 'TASK_LOST', 5000);
  assert.equal(lost.source, 'SOURCE_MASTER');

  // During the partition: one task ends (exit 3) and the agent is restarted; the
  // update it could not send survives in its checkpoint.
  writeFileSync(go, '');
  await waitFor(
    'the task to end on the agent',
    () => (existsSync(done) ? true : undefined),
    10_000,
  );
  await waitFor(
    'the agent to see the task end',
    // long and plain-long run on.
    async () => ((await agentMetrics(bed, 1))['slave/tasks_running'] === 2 ? true : undefined),
    15_000,
  );
  // A crash, not a stop: the restarted agent re-attaches to its tasks (--recover=reconnect).
  await agent.stop('SIGKILL');
  agent = await startAgent(bed, 1, agentArgs);
  // Still cut off: nothing new reached the frameworks.
  assert.equal(aware.updates('ends').at(-1)?.state, 'TASK_UNREACHABLE');

  const seenLong = aware.updates('long').length;
  const healAt = performance.now();
  await bed.heal(1);
  await waitFor(
    'long to be TASK_RUNNING again',
    () =>
      aware
        .updates('long')
        .slice(seenLong)
        .find((s) => s.state === 'TASK_RUNNING'),
    60_000,
  );
  const failed = await aware.update('ends', 'TASK_FAILED', 60_000);
  const settledMs = performance.now() - healAt;
  // A framework that is not PARTITION_AWARE is told nothing more (as in Mesos); it
  // learns that its "lost" task runs on by reconciling.
  await waitFor('the agent to be back', async () => {
    const state = (await (await fetch(`${master.url}/master/state`)).json()) as {
      activated_slaves: number;
    };
    return state.activated_slaves === 1 ? true : undefined;
  });
  const seenPlain = plain.updates('plain-long').length;
  const [plainRunning] = plain.updates('plain-long');
  assert.ok(plainRunning !== undefined);
  await plain.connection.reconcile([
    { task_id: plainRunning.task_id, agent_id: plainRunning.agent_id },
  ]);
  const reconciled = await waitFor(
    'plain-long to be reconciled',
    () => plain.updates('plain-long')[seenPlain],
  );
  assert.equal(reconciled.state, 'TASK_RUNNING');
  assert.equal(reconciled.reason, 'REASON_RECONCILIATION');
  assert.match(failed.message ?? '', /status 3/, 'the exit code reaches the framework');
  assert.equal(
    failed.source,
    'SOURCE_EXECUTOR',
    "the agent's own update, not one made up by the master",
  );
  // Nothing left to resend: every update the agent queued was acknowledged.
  await waitFor('the agent to have no update pending', async () =>
    (await agentMetrics(bed, 1))['slave/status_updates_pending'] === 0 ? true : undefined,
  );
  const states = (statuses: readonly TaskStatus[]) => statuses.map((s) => s.state);
  assert.deepEqual(states(aware.updates('ends')), [
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_UNREACHABLE',
    'TASK_FAILED',
  ]);
  assert.deepEqual(states(aware.updates('long')), [
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_UNREACHABLE',
    'TASK_RUNNING',
  ]);
  assert.deepEqual(states(plain.updates('plain-long')), [
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_LOST',
    'TASK_RUNNING',
  ]);
  assert.equal(plain.updates('plain-long')[3]?.reason, 'REASON_RECONCILIATION');
  for (const id of ['ends', 'long']) assertOnce(aware.updates(id));
  assertOnce(plain.updates('plain-long'));
  t.diagnostic(
    `unreachable after ${Math.round(unreachableMs)} ms (3 s configured); every task's true state ${Math.round(settledMs)} ms after the heal`,
  );
});
