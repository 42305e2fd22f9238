// The scheduler connection's heartbeat watchdog watches the socket, not the
// consumer: one that stops reading for a while keeps its subscription, and a
// master that goes silent is left within a few heartbeat intervals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { record, scriptedMaster } from './scripted-master.js';

const HEARTBEAT_S = 0.1;

test('scheduler: a consumer that stops reading for many heartbeat intervals keeps its stream', async (t) => {
  const master = await scriptedMaster(t, HEARTBEAT_S);
  const connection = await subscribe({
    master: master.address,
    frameworkInfo: { user: 'u', name: 'w' },
  });
  t.after(() => connection.close());
  const beat = setInterval(() => master.stream()?.write(record({ type: 'HEARTBEAT' })), 50);
  t.after(() => clearInterval(beat));
  const events = connection.events();
  // Five missed intervals (0.5 s) would end it if unread events counted as silence.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const { value, done } = await events.next();
  assert.equal(done, false);
  assert.equal(value?.type, 'HEARTBEAT');
});

test('scheduler: a master that goes silent ends the stream', async (t) => {
  const master = await scriptedMaster(t, HEARTBEAT_S);
  const connection = await subscribe({
    master: master.address,
    frameworkInfo: { user: 'u', name: 's' },
  });
  t.after(() => connection.close());
  const startedAt = performance.now();
  await assert.rejects(connection.events().next(), /heartbeats stopped/);
  assert.ok(performance.now() - startedAt < 10_000);
});
