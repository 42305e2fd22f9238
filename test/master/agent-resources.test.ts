// An operator's reservation and volume calls on an agent whose resources are offered: the
// offers go only when taking them makes the call possible.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeReservations } from '../../src/master/core/agent-resources.js';
import { Resources } from '../../src/resources/index.js';
import { AgoraError } from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

function reserved(text: string) {
  return Resources.parse(text)
    .toWire('post-refinement')
    .map((r) => ({ ...r, reservations: [{ type: 'DYNAMIC' as const, role: 'r1' }] }));
}

test('agent resources: a reservation of more than the agent has is 409 and leaves its offers alone', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096');
  const fw = bed.subscribe({ roles: ['r1'], capabilities: [{ type: 'MULTI_ROLE' }] });
  bed.advance(0);
  const [offer] = bed.offersOn(fw.streamId);
  assert.ok(offer !== undefined, 'an offer');
  assert.throws(
    () => changeReservations(bed.core, agent.id, 'reserve', reserved('cpus:100'), undefined),
    (error) => error instanceof AgoraError && error.code === 'CONFLICT',
  );
  bed.drain();
  assert.ok(bed.core.books.offers.has(offer.id.value), 'the offer is still outstanding');
  assert.deepEqual(
    bed.eventsOn(fw.streamId).filter((e) => e.type === 'RESCIND'),
    [],
    'nothing was rescinded',
  );
});

test('agent resources: a reservation that the offered resources make possible rescinds them', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096');
  const fw = bed.subscribe({ roles: ['r1'], capabilities: [{ type: 'MULTI_ROLE' }] });
  bed.advance(0);
  const [offer] = bed.offersOn(fw.streamId);
  assert.ok(offer !== undefined, 'an offer');
  changeReservations(bed.core, agent.id, 'reserve', reserved('cpus:1'), undefined);
  bed.drain();
  assert.equal(bed.core.books.offers.has(offer.id.value), false);
  assert.ok(bed.eventsOn(fw.streamId).some((e) => e.type === 'RESCIND'));
});
