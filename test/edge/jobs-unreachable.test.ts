// The jobs framework's `disconnect` policy on a real partition (#15; spec.ts): a task whose
// agent is cut off is not failed; after lostAfterSeconds it is launched again on the other
// agent without spending a retry (maxRetries 0 here); when the link heals the old task comes
// back running and is killed, and the run succeeds through its replacement. The master's
// timeouts are shortened.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, startDaemon, waitFor } from '../integration/harness.js';
import { api, getRun, type RunView, submit } from '../integration/jobs-harness.js';
import { MASTER_PORT, startAgent, startMaster } from './edge-cluster.js';
import { NetBed } from './netbed.js';

const unavailable = await NetBed.probe();
if (unavailable !== undefined)
  console.error(`\n*** SKIPPING the edge jobs disconnect test: ${unavailable} ***\n`);

/** Unreachable 3 s after the cut. */
const MASTER_ARGS = ['--agent_ping_timeout', '1secs', '--max_agent_ping_timeouts', '3'];
const LOST_AFTER_SECONDS = 8;

type TaskRow = NonNullable<RunView['tasks']>[number] & {
  agentId?: string;
  message?: string;
  replacements?: number;
  replaced?: string[];
  unreachableSince?: string;
};

interface MasterTasks {
  frameworks: {
    tasks: { id: string; state: string }[];
    completed_tasks: { id: string; state: string }[];
  }[];
  slaves: { id: string; hostname: string }[];
}

test('jobs: a task unreachable past lostAfterSeconds is replaced without spending a retry; the old one is killed when its agent returns', {
  skip: unavailable,
}, async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-edge-jobs-'));
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
  const masterState = async () =>
    (await (await fetch(`${master.url}/master/state`)).json()) as MasterTasks & {
      activated_slaves: number;
    };
  await waitFor('2 agents to register', async () =>
    (await masterState()).activated_slaves === 2 ? true : undefined,
  );
  // The framework runs beside the test, reaching the master over the operator link.
  const jobs = await startDaemon('jobs', [
    'jobs',
    'serve',
    '--master',
    master.url,
    '--port',
    '0',
    '--work_dir',
    join(workDir, 'jobs'),
  ]);
  defer(t, () => jobs.stop());
  // Runs until the test lets it finish: whichever task holds the index then succeeds.
  const release = join(workDir, 'release');
  const run = await submit(jobs.url, {
    id: 'edge',
    run: { cmd: `while [ ! -e ${release} ]; do sleep 0.2; done`, cpus: 0.1, mem: 32 },
    maxRetries: 0,
    disconnect: { lostAfterSeconds: LOST_AFTER_SECONDS },
  });
  const shown = await api<{ disconnect?: unknown }>(jobs.url, 'GET', '/v1/jobs/edge');
  assert.deepEqual(shown.body.disconnect, { lostAfterSeconds: LOST_AFTER_SECONDS, replace: true });
  const task = async () => (await getRun(jobs.url, 'edge', run.id, 'all')).tasks?.[0] as TaskRow;
  const original = await waitFor('the task to run', async () => {
    const row = await task();
    return row?.status === 'running' && row.id !== undefined ? row : undefined;
  });
  const originalHost = (await masterState()).slaves.find(
    (s) => s.id === original.agentId,
  )?.hostname;
  const index = originalHost === 'edge-1' ? 1 : 2;

  await bed.partition(index);
  await waitFor(
    'the framework to see the task unreachable',
    async () => ((await task()).unreachableSince !== undefined ? true : undefined),
    30_000,
  );
  const unreachableAt = performance.now();
  // Within lostAfterSeconds it holds its index: not failed, not replaced. (Checked until a
  // margin before the limit: the framework's view is polled, not exact.)
  while (performance.now() - unreachableAt < (LOST_AFTER_SECONDS - 2) * 1000) {
    const [row, view] = [await task(), await getRun(jobs.url, 'edge', run.id)];
    assert.equal(row.id, original.id, 'no replacement before lostAfterSeconds');
    assert.equal(row.status, 'running');
    assert.equal(view.status, 'ACTIVE');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const replacement = await waitFor(
    'a replacement to run on the other agent',
    async () => {
      const row = await task();
      return row.status === 'running' && row.id !== original.id && row.agentId !== original.agentId
        ? row
        : undefined;
    },
    60_000,
  );
  const replacedMs = performance.now() - unreachableAt;
  assert.ok(replacedMs >= (LOST_AFTER_SECONDS - 1) * 1000, `replaced after ${replacedMs} ms`);
  assert.equal(replacement.replacements, 1);
  assert.deepEqual(replacement.replaced, [original.id]);
  const during = await getRun(jobs.url, 'edge', run.id);
  assert.equal(during.retries, 0, 'a replacement is not a retry');
  assert.equal(during.failed, 0);

  await bed.heal(index);
  // The old task comes back running and is killed; the replacement keeps the index.
  await waitFor(
    'the master to know the old task killed',
    async () => {
      const state = await masterState();
      const live = state.frameworks.flatMap((f) => f.tasks).map((x) => x.id);
      const done = state.frameworks.flatMap((f) => f.completed_tasks);
      return !live.includes(original.id as string) &&
        done.some((x) => x.id === original.id && x.state === 'TASK_KILLED')
        ? true
        : undefined;
    },
    60_000,
  );
  const afterHeal = await task();
  assert.equal(afterHeal.id, replacement.id);
  assert.equal(afterHeal.status, 'running');

  writeFileSync(release, '');
  const finished = await waitFor(
    'the run to finish',
    async () => {
      const view = await getRun(jobs.url, 'edge', run.id);
      return view.status === 'SUCCESS' || view.status === 'FAILED' ? view : undefined;
    },
    30_000,
  );
  assert.equal(finished.status, 'SUCCESS', JSON.stringify(finished));
  assert.equal(finished.retries, 0);
  assert.equal((await task()).id, replacement.id);
  t.diagnostic(
    `replaced ${Math.round(replacedMs)} ms after the framework saw the task unreachable (lostAfterSeconds ${LOST_AFTER_SECONDS})`,
  );
});
