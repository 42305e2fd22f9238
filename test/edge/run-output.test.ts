// `agora run` through NAT (#15): the client reaches the master but not the agent
// (the agent sits behind the router's NAT and has no route back), so the task's
// output comes through the master, which relays sandbox reads over the agent's
// own connection (FILES_REQUEST / FILES_RESPONSE), never by dialling the agent.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AGORA, defer, waitFor } from '../integration/harness.js';
import { AGENT_PORT, getFrom, MASTER_PORT, startAgent, startMaster } from './edge-cluster.js';
import { NetBed } from './netbed.js';

const unavailable = await NetBed.probe();
if (unavailable !== undefined)
  console.error(`\n*** SKIPPING the edge run-output test: ${unavailable} ***\n`);

test('agora run streams a task’s output from an agent behind NAT through the master', {
  skip: unavailable,
}, async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-edge-run-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const bed = await NetBed.create({ agents: 1 });
  defer(t, async () => {
    await bed.stop();
    assert.deepEqual(await bed.leftovers(), []);
  });
  const master = await startMaster(bed);
  await startAgent(bed, 1, {
    masterAddress: `${bed.masterIp}:${MASTER_PORT}`,
    workDir: join(workDir, 'agent'),
  });
  const agentId = await waitFor('the agent to register', async () => {
    const state = (await (await fetch(`${master.url}/master/state`)).json()) as {
      slaves: { id: string; active: boolean }[];
    };
    return state.slaves.find((s) => s.active)?.id;
  });
  // The client runs beside the master (its namespace reaches the master, not the
  // agents: no route, and the router forwards nothing new from that side). The setup
  // holds: from there the agent's own port is out of reach.
  const direct = await getFrom(
    bed,
    bed.masterNs,
    `http://${bed.host(1).ip}:${AGENT_PORT}/health`,
    3000,
  );
  assert.equal(
    direct.status,
    undefined,
    `the agent answered the client: ${JSON.stringify(direct)}`,
  );

  const run = bed.spawnIn(bed.masterNs, 'agora-run', [
    process.execPath,
    AGORA,
    'run',
    '--master',
    `http://${bed.masterIp}:${MASTER_PORT}`,
    '--',
    'sh',
    '-c',
    'for i in 1 2 3; do echo line-$i; sleep 0.3; done; echo oops >&2; exit 3',
  ]);
  let stdout = '';
  let stderr = '';
  run.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  run.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => void run.stop('SIGKILL'), 90_000);
  const code = await run.exited;
  clearTimeout(timer);
  assert.equal(code, 3, stderr);
  assert.equal(stdout, 'line-1\nline-2\nline-3\n');
  assert.match(stderr, /oops/);

  // The relay keeps the agent's answers and checks: a missing file is its 404, a
  // sandbox browse its listing; a path outside every sandbox is refused by the agent.
  const base = `${master.url}/master/agents/${encodeURIComponent(agentId)}`;
  const missing = await fetch(`${base}/files/read?path=/no/such/file&offset=0`);
  assert.equal(missing.status, 404, await missing.text());
  const state = (await (await fetch(`${master.url}/master/state`)).json()) as {
    frameworks: { id: string; completed_tasks: { id: string }[] }[];
    completed_frameworks: { id: string; completed_tasks: { id: string }[] }[];
  };
  const framework = [...state.frameworks, ...state.completed_frameworks].find(
    (f) => f.completed_tasks.length > 0,
  );
  const taskId = framework?.completed_tasks[0]?.id;
  assert.ok(framework !== undefined && taskId !== undefined);
  const browse = await fetch(
    `${base}/files/browse?path=${encodeURIComponent(`/frameworks/${framework.id}/executors/${taskId}/runs/latest`)}`,
  );
  assert.equal(browse.status, 200, await browse.clone().text());
  const listing = (await browse.json()) as { path: string }[];
  assert.ok(
    listing.some((entry) => entry.path.endsWith('/stdout')),
    JSON.stringify(listing),
  );
  const outside = await fetch(`${base}/files/read?path=/etc/passwd&offset=0`);
  assert.ok(outside.status >= 400 && outside.status < 500, `HTTP ${outside.status}`);
});
