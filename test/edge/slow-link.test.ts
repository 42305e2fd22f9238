// An agent on a slow, faulty link (#15): 200 ms of delay each way with jitter,
// and a relay that stalls and resets its connections while tasks run. The agent
// registers, stays registered, runs every task, and every status update reaches
// the framework in order, none lost and none twice.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TaskStatus } from '../../src/wire/index.js';
import { defer, waitFor } from '../integration/harness.js';
import { TaskFramework } from '../integration/task-framework.js';
import { agentMetrics, Relay, startAgent, startMaster } from './edge-cluster.js';
import { NetBed } from './netbed.js';

const unavailable = await NetBed.probe();
if (unavailable !== undefined)
  console.error(`\n*** SKIPPING the edge slow-link tests: ${unavailable} ***\n`);

const BATCHES = 3;
const TASKS_PER_BATCH = 4;

async function activeAgents(masterUrl: string): Promise<number> {
  const state = (await (await fetch(`${masterUrl}/master/state`)).json()) as {
    activated_slaves: number;
  };
  return state.activated_slaves;
}

test('slow link an agent 200 ms away, stalled and reset now and then, runs every task and reports each update once, in order', {
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
  const master = await startMaster(bed);
  const relay = await Relay.start(bed, 1);
  await relay.command({ cmd: 'set', delayMs: 200, jitterMs: 50 });

  const startedAt = performance.now();
  await startAgent(bed, 1, {
    masterAddress: relay.address,
    workDir: join(workDir, 'agent'),
    // A reset link is retried soon: a short first backoff (the cap stays Mesos' minute).
    args: ['--registration_backoff_factor', '500ms'],
  });
  await waitFor('the agent to register over the slow link', async () =>
    (await activeAgents(master.url)) === 1 ? true : undefined,
  );
  const registeredMs = performance.now() - startedAt;

  const framework = await TaskFramework.start(master.url, 'edge');
  defer(t, () => framework.stop());
  const ids: string[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const commands: Record<string, string> = {};
    for (let k = 0; k < TASKS_PER_BATCH; k++) {
      const id = `b${batch}-t${k}`;
      ids.push(id);
      // Short tasks that end while the link misbehaves; one in each batch fails.
      commands[id] = k === 0 ? 'sleep 1; exit 7' : `sleep ${1 + k * 0.5}`;
    }
    await framework.launch(commands);
    // While they run: the link stalls for 2 s, then every connection on it is reset.
    await relay.command({ cmd: 'stall', ms: 2000 });
    await waitFor(
      `batch ${batch} to be under way`,
      () => (framework.updates(`b${batch}-t0`).length > 0 ? true : undefined),
      60_000,
    );
    await relay.command({ cmd: 'reset' });
    for (const id of Object.keys(commands))
      await waitFor(
        `${id} to end`,
        () =>
          framework
            .updates(id)
            .find((s) => s.state === 'TASK_FINISHED' || s.state === 'TASK_FAILED'),
        90_000,
      );
    await relay.command({ cmd: 'reset' });
  }
  await waitFor(
    'the agent to be registered after the last reset',
    async () => ((await activeAgents(master.url)) === 1 ? true : undefined),
    60_000,
  );
  await waitFor(
    'every update acknowledged',
    async () =>
      (await agentMetrics(bed, 1))['slave/status_updates_pending'] === 0 ? true : undefined,
    60_000,
  );

  let duplicates = 0;
  for (const id of ids) {
    const statuses: TaskStatus[] = framework.updates(id);
    const uuids = statuses.flatMap((s) => (s.uuid === undefined ? [] : [s.uuid]));
    duplicates += uuids.length - new Set(uuids).size;
    // In order: each state once, as the executor sent them.
    const states = [...new Set(statuses.map((s) => s.state))];
    const ending = id.endsWith('-t0') ? 'TASK_FAILED' : 'TASK_FINISHED';
    assert.deepEqual(
      states,
      ['TASK_STARTING', 'TASK_RUNNING', ending],
      `${id}: ${states.join(', ')}`,
    );
    const last = statuses.at(-1);
    assert.equal(last?.state, ending, `${id} ended ${last?.state}`);
  }
  const stats = await relay.stats();
  t.diagnostic(
    `registered in ${Math.round(registeredMs)} ms over a 200±50 ms link; ${stats.resets} connections reset, ${stats.accepted} opened; ${duplicates} duplicate deliveries of ${ids.length * 3} updates`,
  );
  assert.ok(stats.resets >= BATCHES, 'the link was reset while tasks ran');
  assert.equal(duplicates, 0, 'an update reached the framework twice');
});
