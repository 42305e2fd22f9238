// A framework that fails over (SUBSCRIBEs again with its id on a new stream while its old one
// is still open): what its old connection held goes back, as Mesos' _failoverFramework
// discards the offers and removes the inverse offers, so the new connection is offered it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as frameworks from '../../src/master/core/frameworks.js';
import * as maintenance from '../../src/master/core/maintenance.js';
import { Resources } from '../../src/resources/index.js';
import { CoreBed } from './core-bed.js';

/** Within one allocation interval: freed resources must not wait for the next. */
const BATCH_WINDOW_MS = 50;

test('framework failover: the old connection’s offers are recovered and offered on the new stream', () => {
  const bed = new CoreBed();
  bed.addAgent('cpus:4;mem:4096');
  const fw = bed.subscribe({ failover_timeout: 60 });
  bed.advance(0);
  const [old] = bed.offersOn(fw.streamId);
  assert.ok(old !== undefined, 'the first connection has an offer');

  const second = bed.newStreamId();
  frameworks.subscribe(
    bed.core,
    { framework_info: { ...bed.framework(fw.id).info } },
    second,
    undefined,
  );
  bed.drain();
  assert.equal(bed.core.books.offers.has(old.id.value), false, 'the old offer is gone');
  assert.equal(bed.framework(fw.id).offers.size, 0, 'the framework holds no offer of before');

  bed.advance(BATCH_WINDOW_MS);
  const offered = bed.offersOn(second);
  assert.equal(offered.length, 1, 'the new connection is offered the agent');
  const resources = Resources.fromWire(offered[0]?.resources ?? []).unallocate();
  assert.ok(
    resources.contains(Resources.parse('cpus:4;mem:4096')),
    `all of the agent again, got ${resources.toString()}`,
  );
  assert.notEqual(offered[0]?.id.value, old.id.value);
});

test('framework failover: outstanding inverse offers go, and the new connection is asked again', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:2;mem:1024', { hostname: 'm1.example', ip: '10.0.0.1' });
  const fw = bed.subscribe({ failover_timeout: 60 });
  bed.launch(fw, 't', agent.id);
  bed.report(agent.id, fw.id, 't', 'TASK_RUNNING');
  maintenance.updateSchedule(bed.core, {
    windows: [
      {
        machine_ids: [{ hostname: 'm1.example', ip: '10.0.0.1' }],
        unavailability: { start: { nanoseconds: 1 }, duration: { nanoseconds: 3600e9 } },
      },
    ],
  });
  bed.advance(0);
  const inverseOn = (streamId: string) =>
    bed
      .eventsOn(streamId)
      .flatMap((e) => (e.type === 'INVERSE_OFFERS' ? e.inverse_offers.inverse_offers : []));
  const [old] = inverseOn(fw.streamId);
  assert.ok(old !== undefined, 'the first connection is asked');

  const second = bed.newStreamId();
  frameworks.subscribe(
    bed.core,
    { framework_info: { ...bed.framework(fw.id).info } },
    second,
    undefined,
  );
  bed.drain();
  assert.equal(bed.framework(fw.id).inverseOffers.size, 0, 'no inverse offer of before is held');
  bed.advance(BATCH_WINDOW_MS + 1000);
  const asked = inverseOn(second);
  assert.equal(asked.length, 1, 'the new connection is asked');
  assert.notEqual(asked[0]?.id.value, old.id.value);
});
