// What a framework's SUBSCRIBE writes to the registry (#10): a new framework, or one
// whose FrameworkInfo changed, is made durable before it hears SUBSCRIBED; one that
// re-subscribes with what the registry already holds (every framework after a
// failover) writes nothing, and still hears SUBSCRIBED.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recoverRegistry } from '../../src/master/core/recovery.js';
import type { RegistryOperation } from '../../src/registry/index.js';
import { frameworkId } from '../../src/wire/index.js';
import { fold, framework } from '../registry/fixtures.js';
import { CoreBed } from './core-bed.js';

function writesOf(bed: CoreBed): RegistryOperation[] {
  bed.drain();
  return bed.effects.flatMap((e) => (e.kind === 'persist' ? [e.operation] : []));
}

test('a framework re-subscribing after a failover with the info the registry holds writes nothing', () => {
  const bed = new CoreBed();
  const registered = framework('fw-1', 100);
  recoverRegistry(bed.core, fold([{ kind: 'addFramework', framework: registered }]));
  const { streamId } = bed.subscribe(registered.info);
  assert.deepEqual(writesOf(bed), []);
  assert.equal(bed.eventsOn(streamId)[0]?.type, 'SUBSCRIBED');
  assert.equal(bed.framework(frameworkId('fw-1')).link.state, 'connected');
});

test('a framework re-subscribing with a changed info writes it before SUBSCRIBED', () => {
  const bed = new CoreBed();
  const registered = framework('fw-1', 100);
  recoverRegistry(bed.core, fold([{ kind: 'addFramework', framework: registered }]));
  const { streamId } = bed.subscribe({ ...registered.info, name: 'renamed' });
  const writes = writesOf(bed);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]?.kind === 'addFramework' && writes[0].framework.info.name, 'renamed');
  assert.equal(writes[0]?.kind === 'addFramework' && writes[0].framework.registeredTimeSec, 100);
  const kinds = bed.effects.map((e) =>
    e.kind === 'toFramework' && e.streamId === streamId ? e.event.type : e.kind,
  );
  assert.ok(kinds.indexOf('persist') < kinds.indexOf('SUBSCRIBED'), kinds.join(' '));
});

test('a new framework is written; failing over to a new stream with the same info is not', () => {
  const bed = new CoreBed();
  const first = bed.subscribe({ failover_timeout: 60 });
  assert.deepEqual(
    writesOf(bed).map((op) => op.kind),
    ['addFramework'],
  );
  const info = bed.framework(first.id).info;
  const second = bed.subscribe(info);
  assert.equal(second.id.value, first.id.value);
  assert.deepEqual(
    writesOf(bed).map((op) => op.kind),
    ['addFramework'],
    'no second write',
  );
  assert.equal(bed.eventsOn(second.streamId)[0]?.type, 'SUBSCRIBED');
});
