// The master's narrow proxy to its agents for the web UI (issue #14), and the
// UI's static route when no UI was built: what gets through, and what is
// refused with the field and the reason.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, getState, startCluster } from './harness.js';
import { TaskFramework } from './task-framework.js';

test('the master forwards validated sandbox, usage and kill requests to a known agent', async (t) => {
  const emptyUi = mkdtempSync(join(tmpdir(), 'agora-no-ui-'));
  defer(t, () => rmSync(emptyUi, { recursive: true, force: true }));
  const cluster = await startCluster({ agents: 1, masterArgs: ['--webui_dir', emptyUi] });
  defer(t, () => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'proxy');
  defer(t, () => framework.stop());
  const agentId = await framework.launch({ sleeper: 'echo started; sleep 60' });
  const running = await framework.update('sleeper', 'TASK_RUNNING');
  const containerId = running.container_status?.container_id?.value;
  assert.ok(containerId !== undefined, 'the running status names the container');

  const at = (path: string, init?: RequestInit) => fetch(new URL(path, cluster.masterUrl), init);
  const base = `/master/agents/${agentId}`;

  // Without a built UI, / says how to build one.
  const root = await at('/');
  assert.equal(root.status, 503);
  assert.match(await root.text(), /npm run build/);

  // Through: the agent's state, statistics and the task's sandbox.
  const state = (await (await at(`${base}/state`)).json()) as {
    frameworks: { executors: { id: string; directory: string }[] }[];
  };
  const directory = state.frameworks[0]?.executors.find((e) => e.id === 'sleeper')?.directory;
  assert.ok(directory !== undefined, 'the agent state names the sandbox');
  const statistics = (await (await at(`${base}/monitor/statistics`)).json()) as unknown[];
  assert.equal(statistics.length, 1);
  const listing = (await (
    await at(`${base}/files/browse?path=${encodeURIComponent(directory)}`)
  ).json()) as { path: string }[];
  assert.ok(listing.some((entry) => entry.path.endsWith('/stdout')));
  const read = await at(
    `${base}/files/read?path=${encodeURIComponent(`${directory}/stdout`)}&offset=0&length=7`,
  );
  assert.deepEqual(await read.json(), { offset: 0, data: 'started' });
  const download = await at(
    `${base}/files/download?path=${encodeURIComponent(`${directory}/stdout`)}`,
  );
  assert.match(download.headers.get('content-disposition') ?? '', /attachment/);
  assert.equal(await download.text(), 'started\n');

  // Refused, with the field and the reason.
  const refusals: [string, RequestInit | undefined, number, RegExp][] = [
    ['/master/agents/no-such-agent/state', undefined, 404, /no agent/],
    ['/master/agents/%E0%A4%A/state', undefined, 400, /agent_id/],
    [`${base}/files/read`, undefined, 400, /path/],
    [`${base}/files/read?path=x&offset=abc`, undefined, 400, /offset/],
    [`${base}/files/read?path=${'a'.repeat(5000)}`, undefined, 400, /path.*4096/],
    [`${base}/flags`, undefined, 404, /expected/],
    [`${base}/state`, { method: 'POST' }, 405, /GET/],
    [
      `${base}/api/v1`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'LAUNCH_NESTED_CONTAINER_SESSION' }),
      },
      400,
      /forwards only GET_CONTAINERS and KILL_CONTAINER/,
    ],
  ];
  for (const [path, init, status, message] of refusals) {
    const answer = await at(path, init);
    assert.equal(answer.status, status, path.slice(0, 120));
    assert.match(await answer.text(), message, path.slice(0, 120));
  }

  // KILL_CONTAINER through the master ends the task.
  const kill = await at(`${base}/api/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'KILL_CONTAINER',
      kill_container: { container_id: { value: containerId } },
    }),
  });
  assert.equal(kill.status, 200, await kill.text());
  await framework.update('sleeper', 'TASK_FAILED');
  assert.equal((await getState(cluster.masterUrl)).slaves.length, 1);
});
