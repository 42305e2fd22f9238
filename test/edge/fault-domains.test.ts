// Fault domains on the edge network bed (#15, docs/fault-domains.md): agents
// report --domain region and zone, offers carry them, and a framework that is
// not REGION_AWARE is offered only agents of the master's region.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Offer } from '../../src/wire/index.js';
import { defer, waitFor } from '../integration/harness.js';
import { TaskFramework } from '../integration/task-framework.js';
import { MASTER_PORT, startAgent, startMaster } from './edge-cluster.js';
import { NetBed } from './netbed.js';

const unavailable = await NetBed.probe();
if (unavailable !== undefined)
  console.error(`\n*** SKIPPING the edge fault-domain tests: ${unavailable} ***\n`);

const domain = (region: string, zone: string) =>
  JSON.stringify({ fault_domain: { region: { name: region }, zone: { name: zone } } });

function offersOf(framework: TaskFramework): Offer[] {
  return framework.events.flatMap((e) => (e.type === 'OFFERS' ? e.offers.offers : []));
}

test('fault domains edge agents in another region are offered only to REGION_AWARE frameworks, with their region and zone', {
  skip: unavailable,
}, async (t) => {
  // Made first, so it is removed last: after the bed stopped what writes to it.
  const workDir = mkdtempSync(join(tmpdir(), 'agora-edge-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const bed = await NetBed.create({ agents: 2 });
  defer(t, async () => {
    await bed.stop();
    assert.deepEqual(await bed.leftovers(), []);
  });
  const master = await startMaster(bed, ['--domain', domain('central', 'dc-1')]);
  const masterAddress = `${bed.masterIp}:${MASTER_PORT}`;
  await startAgent(bed, 1, {
    masterAddress,
    workDir: join(workDir, 'a1'),
    args: ['--domain', domain('central', 'dc-2')],
  });
  await startAgent(bed, 2, {
    masterAddress,
    workDir: join(workDir, 'a2'),
    args: ['--domain', domain('edge-north', 'store-17')],
  });
  const agents = await waitFor('both agents to register', async () => {
    const state = (await (await fetch(`${master.url}/master/state`)).json()) as {
      slaves: {
        id: string;
        hostname: string;
        domain?: { fault_domain: { region: { name: string } } };
      }[];
    };
    return state.slaves.length === 2 ? state.slaves : undefined;
  });
  const edge = agents.find((a) => a.hostname === 'edge-2');
  assert.equal(
    edge?.domain?.fault_domain.region.name,
    'edge-north',
    '/master/state shows the domain',
  );

  // Both agents are free when it subscribes: it is offered all it may have at once.
  const plain = await TaskFramework.start(master.url, 'plain');
  defer(t, () => plain.stop());
  const [first] = await waitFor('an offer to the plain framework', () => {
    const offers = offersOf(plain);
    return offers.length > 0 ? offers : undefined;
  });
  assert.equal(first?.hostname, 'edge-1');
  assert.equal(first?.domain?.fault_domain?.zone.name, 'dc-2', 'offers carry the zone');

  const aware = await TaskFramework.start(master.url, 'aware', { capabilities: ['REGION_AWARE'] });
  defer(t, () => aware.stop());
  const remote = await waitFor(
    'an offer of the edge-north agent to the REGION_AWARE framework',
    () => offersOf(aware).find((o) => o.hostname === 'edge-2'),
  );
  assert.equal(remote.domain?.fault_domain?.region.name, 'edge-north');
  assert.equal(remote.domain?.fault_domain?.zone.name, 'store-17');
  assert.deepEqual(
    offersOf(plain).filter((o) => o.hostname === 'edge-2'),
    [],
    'the plain framework was never offered the remote agent',
  );
  // A REGION_AWARE framework runs tasks there, through the NAT.
  await aware.launch({ far: 'sleep 600' }, remote.agent_id.value);
  await aware.update('far', 'TASK_RUNNING', 30_000);
});
