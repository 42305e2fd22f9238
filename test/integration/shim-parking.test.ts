// The parked shim (src/containerizer/shim-parking.ts) with a real agent: a
// quiet agent keeps one shim parked in a cgroup of its own for the next task,
// and no parked process or cgroup outlives the agent, however it stops: a
// SIGKILLed agent's parked shim leaves by itself (end of file on its FIFO),
// taking its cgroups with it, and the restarted agent forgets them (its
// ledger); a stopped agent takes both with it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ledgerIds } from '../../src/containerizer/index.js';
import { isAlive, startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';
const CGROUP_MOUNT = '/sys/fs/cgroup';
const PIDS_ROOT = join(CGROUP_MOUNT, 'pids', 'agora');

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

/** Which of `names` still has a cgroup directory in any v1 hierarchy. */
const cgroupsOf = (names: readonly string[]) =>
  names.filter((name) =>
    readdirSync(CGROUP_MOUNT).some((hierarchy) =>
      existsSync(join(CGROUP_MOUNT, hierarchy, 'agora', name)),
    ),
  );

test('a parked shim and its cgroups outlive neither a SIGKILLed agent nor a stopped one', async (t) => {
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
  assert.deepEqual(cgroupsOf(before.ledger), before.ledger, 'the agent made its cgroups');
  agent.process.kill('SIGKILL');
  await agent.exited;
  await waitFor('the parked shim to leave by itself', () =>
    before.pids.some(isAlive) ? undefined : true,
  );
  // No agent runs on this work dir now, and none may ever again: the cgroups go with the shim.
  await waitFor("the dead agent's parked cgroups to be removed by its shim", () =>
    cgroupsOf(before.ledger).length === 0 ? true : undefined,
  );

  const again = await cluster.addAgent('agent-1-again', [], agentDir);
  await waitFor("the restarted agent to forget the dead agent's parked cgroup", () =>
    parked(agentDir).ledger.some((name) => before.ledger.includes(name)) ? undefined : true,
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
