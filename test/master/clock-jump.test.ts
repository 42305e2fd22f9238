// The wall clock can jump (an NTP step, an operator, a resumed VM): filters and
// deadlines run on the monotonic clock, so a jump neither cuts them short nor
// stretches them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decline } from '../../src/master/core/accept.js';
import { CoreBed } from './core-bed.js';

const HOUR_MS = 3_600_000;

function declinedFor(refuseSeconds: number) {
  const bed = new CoreBed();
  bed.addAgent();
  const fw = bed.subscribe();
  bed.advance(0);
  const [offer] = bed.offersOn(fw.streamId);
  assert.ok(offer !== undefined);
  decline(bed.core, bed.framework(fw.id), [offer.id.value], refuseSeconds);
  bed.advance(1000);
  assert.equal(bed.offersOn(fw.streamId).length, 1, 'filtered');
  return { bed, offers: () => bed.offersOn(fw.streamId).length };
}

test('offer filters: a wall clock set forward does not end refuse_seconds early', () => {
  const { bed, offers } = declinedFor(60);
  bed.clock.jumpWall(HOUR_MS);
  bed.advance(1000);
  assert.equal(offers(), 1, 'still filtered two seconds into a minute');
  bed.advance(58_000);
  assert.equal(offers(), 2, 'offered again once the minute has passed');
});

test('offer filters: a wall clock set back does not stretch refuse_seconds', () => {
  const { bed, offers } = declinedFor(5);
  bed.clock.jumpWall(-HOUR_MS);
  bed.advance(5000);
  assert.equal(offers(), 2, 'offered again after five seconds, not an hour and five');
});

test('manual clock: a wall jump moves now() alone; timers and monotonic time stay', () => {
  const bed = new CoreBed();
  const { clock } = bed;
  const [wall, mono] = [clock.now(), clock.monotonicMs()];
  let fired = 0;
  clock.setTimeout(() => fired++, 1000);
  clock.jumpWall(-HOUR_MS);
  clock.advance(999);
  assert.equal(fired, 0);
  clock.advance(1);
  assert.equal(fired, 1);
  assert.equal(clock.now(), wall - HOUR_MS + 1000);
  assert.equal(clock.monotonicMs(), mono + 1000);
});
