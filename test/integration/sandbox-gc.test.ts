// Sandbox garbage collection with a real master and agent: a finished task's
// sandbox goes --gc_delay after its end was acknowledged, links inside it
// spared what they point to, and an agent restarted with the same work dir
// still removes the sandboxes its previous life retired.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';

function runsDir(agentDir: string, agentIdValue: string, frameworkIdValue: string, id: string) {
  return join(
    agentDir,
    'slaves',
    agentIdValue,
    'frameworks',
    frameworkIdValue,
    'executors',
    id,
    'runs',
  );
}

test('a finished task sandbox is removed after --gc_delay, and nothing it links to', async (t) => {
  const outside = mkdtempSync(join(tmpdir(), 'agora-it-gc-outside-'));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  writeFileSync(join(outside, 'precious'), 'keep me');
  mkdirSync(join(outside, 'dir'));
  writeFileSync(join(outside, 'dir', 'inner'), 'keep me too');

  const cluster = await startCluster({ agents: 0 });
  t.after(() => cluster.stop());
  await cluster.addAgent('agent-1', ['--resources', AGENT_RESOURCES, '--gc_delay', '2secs']);
  const framework = await TaskFramework.start(cluster.masterUrl, 'gc');
  t.after(() => framework.stop());
  const agentIdValue = await framework.launch({
    linker: `ln -s ${join(outside, 'precious')} file-link && ln -s ${join(outside, 'dir')} dir-link && echo done`,
  });
  const finished = await framework.update('linker', 'TASK_FINISHED');
  const runs = runsDir(
    join(cluster.workDir, 'agent-1'),
    agentIdValue,
    framework.connection.frameworkId.value,
    'linker',
  );
  const sandbox = join(runs, finished.container_status?.container_id?.value ?? '');
  assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), 'done\n');
  const finishedAtMs = Date.now();
  await waitFor(
    'the sandbox to be removed',
    () => (existsSync(sandbox) ? undefined : true),
    20_000,
  );
  assert.ok(Date.now() - finishedAtMs >= 1500, 'not before --gc_delay');
  const metrics = await waitFor('the removal to be counted', async () => {
    const snapshot = (await (
      await fetch(new URL('/metrics/snapshot', cluster.agents[0]?.url))
    ).json()) as Record<string, number>;
    return snapshot['gc/path_removals_succeeded'] === 1 ? snapshot : undefined;
  });
  assert.equal(metrics['gc/path_removals_pending'], 0);
  assert.equal(existsSync(join(runs, '..')), false, 'the emptied executor dir went too');
  assert.equal(readFileSync(join(outside, 'precious'), 'utf8'), 'keep me');
  assert.equal(readFileSync(join(outside, 'dir', 'inner'), 'utf8'), 'keep me too');
});

test('an agent restarted on the same work dir removes the sandboxes its previous life retired', async (t) => {
  const cluster = await startCluster({ agents: 0 });
  t.after(() => cluster.stop());
  const agentDir = join(cluster.workDir, 'agent-1');
  const first = await cluster.addAgent('agent-1', ['--resources', AGENT_RESOURCES], agentDir);
  const framework = await TaskFramework.start(cluster.masterUrl, 'gc-restart');
  t.after(() => framework.stop());
  const agentIdValue = await framework.launch({ short: 'true' });
  const finished = await framework.update('short', 'TASK_FINISHED');
  const runs = runsDir(agentDir, agentIdValue, framework.connection.frameworkId.value, 'short');
  const sandbox = realpathSync(join(runs, finished.container_status?.container_id?.value ?? ''));
  // Retired once acknowledged: the run's checkpoint goes.
  await waitFor('the run to be retired', () =>
    existsSync(join(agentDir, 'meta', 'slaves', agentIdValue, 'frameworks')) &&
    existsSync(
      join(
        agentDir,
        'meta',
        'slaves',
        agentIdValue,
        'frameworks',
        framework.connection.frameworkId.value,
      ),
    )
      ? undefined
      : true,
  );
  await first.stop();
  assert.ok(existsSync(sandbox), 'kept by a week-long gc_delay');
  await cluster.addAgent(
    'agent-1-again',
    ['--resources', AGENT_RESOURCES, '--gc_delay', '3secs'],
    agentDir,
  );
  await waitFor(
    'the old sandbox to be removed',
    () => (existsSync(sandbox) ? undefined : true),
    20_000,
  );
});
