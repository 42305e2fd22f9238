// The edge network bed itself: agents behind NAT reach the master and never the
// reverse, partitions cut and heal, the relay delays and resets, and nothing
// is left behind.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defer, waitFor } from '../integration/harness.js';
import { getFrom, MASTER_PORT, Relay, startAgent, startMaster } from './edge-cluster.js';
import { NetBed } from './netbed.js';

const unavailable = await NetBed.probe();
if (unavailable !== undefined)
  console.error(`\n*** SKIPPING the edge network tests: ${unavailable} ***\n`);

test('netbed agents reach the master through NAT, never the reverse, and partitions cut and heal', {
  skip: unavailable,
}, async (t) => {
  // Made first, so it is removed last: after the bed stopped what writes to it.
  const workDir = mkdtempSync(join(tmpdir(), 'agora-edge-'));
  defer(t, () => rmSync(workDir, { recursive: true, force: true }));
  const bed = await NetBed.create({ agents: 2 });
  defer(t, async () => {
    await bed.stop();
    assert.deepEqual(await bed.leftovers(), [], 'the bed leaves nothing behind');
  });
  const master = await startMaster(bed);
  const health = `http://${bed.masterIp}:${MASTER_PORT}/health`;

  const ok = await getFrom(bed, bed.host(1).ns, health, 5000);
  assert.equal(ok.status, 200, `agent-1 reaches the master: ${JSON.stringify(ok)}`);

  // The master sees the router, not the agent: NAT.
  await startAgent(bed, 1, {
    masterAddress: `${bed.masterIp}:${MASTER_PORT}`,
    workDir: join(workDir, 'a1'),
  });
  const seen = await waitFor('agent-1 to register', async () => {
    const state = (await (await fetch(`${master.url}/master/state`)).json()) as {
      slaves: { pid: string }[];
    };
    return state.slaves[0]?.pid;
  });
  assert.match(seen, new RegExp(`@10\\.${bed.octet}\\.`));

  // The master's side opens nothing towards an agent.
  const reverse = await getFrom(bed, bed.masterNs, `http://${bed.host(1).ip}:5051/health`, 1500);
  assert.equal(
    reverse.status,
    undefined,
    `the master reached an agent: ${JSON.stringify(reverse)}`,
  );

  await bed.partition(2);
  assert.deepEqual(await bed.cut(), [bed.host(2).routerIf]);
  const cut = await getFrom(bed, bed.host(2).ns, health, 1500);
  assert.equal(cut.status, undefined, 'a partitioned agent does not reach the master');
  const other = await getFrom(bed, bed.host(1).ns, health, 5000);
  assert.equal(other.status, 200, 'the other agent still does');
  await bed.heal(2);
  assert.deepEqual(await bed.cut(), []);
  const healed = await getFrom(bed, bed.host(2).ns, health, 5000);
  assert.equal(healed.status, 200, 'a healed agent reaches the master again');
});

test('netbed relay delays each way, stalls, resets, and is cut by a partition too', {
  skip: unavailable,
}, async (t) => {
  const bed = await NetBed.create({ agents: 1 });
  defer(t, async () => {
    await bed.stop();
    assert.deepEqual(await bed.leftovers(), []);
  });
  await startMaster(bed);
  const relay = await Relay.start(bed, 1);
  const viaRelay = `http://${relay.address}/health`;
  const ns = bed.host(1).ns;

  const clean = await getFrom(bed, ns, viaRelay, 5000);
  assert.equal(clean.status, 200);
  await relay.command({ cmd: 'set', delayMs: 200, jitterMs: 0 });
  // A fresh connection: SYN is not delayed (the relay accepts it), but the request and the
  // response each wait 200 ms: at least 400 ms in all.
  const slow = await getFrom(bed, ns, viaRelay, 10_000);
  assert.equal(slow.status, 200);
  assert.ok(slow.ms >= 400, `a 200 ms link took ${slow.ms} ms for a round trip`);

  await relay.command({ cmd: 'set', delayMs: 0 });
  await relay.command({ cmd: 'stall', ms: 1500 });
  const stalled = await getFrom(bed, ns, viaRelay, 10_000);
  assert.equal(stalled.status, 200);
  assert.ok(stalled.ms >= 1000, `a 1.5 s stall let a request through in ${stalled.ms} ms`);

  // A connection held open by a slow response is aborted by a reset.
  const pending = getFrom(bed, ns, `http://${relay.address}/master/state?jsonp=x`, 10_000);
  await relay.command({ cmd: 'set', delayMs: 2000 });
  await waitFor('the request to be in flight', async () =>
    (await relay.stats()).open > 0 ? true : undefined,
  );
  await relay.command({ cmd: 'reset' });
  const reset = await pending;
  assert.equal(reset.status, undefined, `a reset connection answered: ${JSON.stringify(reset)}`);
  assert.ok((await relay.stats()).resets >= 1);

  await relay.command({ cmd: 'set', delayMs: 0 });
  await bed.partition(1);
  const cut = await getFrom(bed, ns, viaRelay, 1500);
  assert.equal(cut.status, undefined, 'the partition cuts the relay path too');
  await bed.heal(1);
  assert.equal((await getFrom(bed, ns, viaRelay, 5000)).status, 200);
});
