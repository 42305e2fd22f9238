// The services framework's crash-loop backoff holds across a step of the wall clock: an app
// whose task keeps failing is relaunched after its backoff even when the host's clock is set
// back an hour meanwhile (NTP, an operator, a VM resumed). On the wall clock, the backoff's
// deadline was an hour away after the step. A real master, agent and services daemon; the
// step is made in the daemon alone (test/fixtures/wall-clock-step.cjs).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { getState, startCluster, startDaemon, waitFor } from './harness.js';
import { api } from './services-helpers.js';

const STEP_PRELOAD = resolve(import.meta.dirname, '../fixtures/wall-clock-step.cjs');

test('a failing app is relaunched after its backoff though the wall clock was set back an hour', async (t) => {
  const cluster = await startCluster({ agents: 1 });
  t.after(() => cluster.stop());
  const stateDir = mkdtempSync(join(tmpdir(), 'agora-services-step-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const services = await startDaemon(
    'services',
    [
      'services',
      'serve',
      '--master',
      cluster.masterUrl,
      '--port',
      '0',
      '--dns_port',
      '0',
      '--work_dir',
      stateDir,
    ],
    { ...process.env, NODE_OPTIONS: `--require ${STEP_PRELOAD}` },
  );
  t.after(() => services.stop());
  const created = await api(services.url, 'POST', '/v2/apps', {
    id: '/crashy',
    cmd: 'exit 1',
    cpus: 0.1,
    mem: 16,
    instances: 1,
    backoffSeconds: 3,
    backoffFactor: 1,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const failedRuns = async () => {
    const state = await getState(cluster.masterUrl);
    return state.frameworks
      .flatMap((f) => f.completed_tasks ?? [])
      .filter((task) => task.state === 'TASK_FAILED').length;
  };
  await waitFor('the first run to fail', async () =>
    (await failedRuns()) >= 1 ? true : undefined,
  );
  // Within its 3 s backoff: the next launch is due on the clock the framework reads.
  services.process.kill('SIGUSR2');
  const seen = await waitFor(
    'two more runs, each after its backoff',
    async () => {
      const count = await failedRuns();
      return count >= 3 ? count : undefined;
    },
    40_000,
  );
  assert.ok(seen >= 3);
});
