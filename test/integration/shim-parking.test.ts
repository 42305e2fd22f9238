// The parked shim (src/containerizer/shim-parking.ts) with a real agent: a
// quiet agent keeps one shim parked in a cgroup of its own for the next task,
// and no parked process or cgroup outlives the agent, however it stops: a
// SIGKILLed agent's parked shim leaves by itself (end of file on its FIFO) and
// the restarted agent removes the cgroup (its ledger); a stopped agent takes
// both with it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ledgerIds } from '../../src/containerizer/index.js';
import { isAlive, startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';
const PIDS_ROOT = '/sys/fs/cgroup/pids/agora';

/** The agent's parked cgroups, as its ledger names them, that exist now, with their processes. */
function parked(agentDir: string): { readonly ledger: string[]; readonly pids: number[] } {
  const ledger = ledgerIds(join(agentDir, 'meta', 'cgroups')).filter((n) =>
    n.startsWith('parked-'),
  );
  const pids: number[] = [];
  for (const name of ledger) {
    const procs = join(PIDS_ROOT, name, 'cgroup.procs');
    if (!existsSync(procs)) continue;
    for (const line of readFileSync(procs, 'utf8').split('\n'))
      if (line !== '' && isAlive(Number(line))) pids.push(Number(line));
  }
  return { ledger, pids };
}

const cgroupsOf = (names: readonly string[]) =>
  names.filter((name) => existsSync(join(PIDS_ROOT, name)));

test('a parked shim and its cgroup outlive neither a SIGKILLed agent (once it is back) nor a stopped one', async (t) => {
  if (!existsSync('/sys/fs/cgroup/pids/cgroup.procs') || process.getuid?.() !== 0) {
    t.skip('needs cgroups v1 and root');
    return;
  }
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'parking');
  t.after(() => framework.stop());
  const agentDir = join(cluster.workDir, 'agent-1');
  await framework.launch({ first: 'exit 0' });
  await framework.update('first', 'TASK_FINISHED');
  const before = await waitFor('a parked shim', () => {
    const found = parked(agentDir);
    return found.pids.length > 0 ? found : undefined;
  });

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  await waitFor('the parked shim to leave by itself', () =>
    before.pids.some(isAlive) ? undefined : true,
  );
  assert.deepEqual(cgroupsOf(before.ledger), before.ledger, 'its cgroup waits for the restart');

  const again = await cluster.addAgent('agent-1-again', [], agentDir);
  await waitFor("the dead agent's parked cgroup to be removed", () =>
    cgroupsOf(before.ledger).length === 0 ? true : undefined,
  );
  await framework.launch({ second: 'exit 0' });
  await framework.update('second', 'TASK_FINISHED');
  const now = await waitFor('a parked shim of the new agent', () => {
    const found = parked(agentDir);
    return found.pids.length > 0 ? found : undefined;
  });

  await again.stop();
  assert.ok(!now.pids.some(isAlive), 'no parked shim outlives the stopped agent');
  assert.deepEqual(cgroupsOf(now.ledger), [], 'nor its cgroup');
  assert.deepEqual(parked(agentDir).ledger, [], 'and the ledger forgot it');
});
