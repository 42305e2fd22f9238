// REVIVE and SUPPRESS naming a role the framework did not subscribe with (or no
// valid role at all): Mesos answers 202 and drops the whole call (Master::revive,
// Master::suppress), so Mesos clients that send one keep working; we answered 400.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as frameworks from '../../src/master/core/frameworks.js';
import { CoreBed } from './core-bed.js';
import { testMaster } from './daemon-routes.js';

test('core: SUPPRESS or REVIVE naming a role not subscribed is dropped whole', () => {
  const bed = new CoreBed();
  bed.addAgent();
  const fw = bed.subscribe({ roles: ['a', 'b'], capabilities: [{ type: 'MULTI_ROLE' }] });
  const record = bed.framework(fw.id);
  frameworks.suppress(bed.core, record, ['a', 'zzz']);
  assert.deepEqual([...record.suppressedRoles], [], "'a' is not suppressed either");
  frameworks.suppress(bed.core, record, ['a', 'b']);
  frameworks.revive(bed.core, record, ['b', 'eng/..']);
  assert.deepEqual([...record.suppressedRoles].sort(), ['a', 'b']);
  bed.advance(1000);
  assert.equal(bed.offersOn(fw.streamId).length, 0, 'still suppressed');
  frameworks.revive(bed.core, record, ['b']);
  bed.advance(0);
  assert.equal(bed.offersOn(fw.streamId).length, 1);
});

test('scheduler API: SUPPRESS and REVIVE of a role not subscribed are answered 202 and change nothing', async (t) => {
  const master = testMaster();
  t.after(() => master.stop());
  const url = await master.start();
  const abort = new AbortController();
  t.after(() => abort.abort());
  const subscribed = await fetch(`${url}/api/v1/scheduler`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      type: 'SUBSCRIBE',
      subscribe: {
        framework_info: {
          user: 'u',
          name: 'f',
          roles: ['a'],
          capabilities: [{ type: 'MULTI_ROLE' }],
        },
      },
    }),
    signal: abort.signal,
  });
  assert.equal(subscribed.status, 200);
  const streamId = subscribed.headers.get('mesos-stream-id') ?? '';
  const reader = subscribed.body?.getReader();
  assert.ok(reader !== undefined);
  let text = '';
  const deadline = Date.now() + 10_000;
  while (!/"framework_id":\{"value":"[^"]+"/.test(text)) {
    assert.ok(Date.now() < deadline, 'SUBSCRIBED arrived');
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream stays open');
    text += new TextDecoder().decode(value);
  }
  const frameworkId = /"framework_id":\{"value":"([^"]+)"/.exec(text)?.[1] ?? '';
  const call = (body: Record<string, unknown>) =>
    fetch(`${url}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mesos-stream-id': streamId },
      body: JSON.stringify({ framework_id: { value: frameworkId }, ...body }),
    });
  const suppressed = async () => {
    const reply = await fetch(`${url}/metrics/snapshot`);
    const metrics = (await reply.json()) as Record<string, number>;
    const key = Object.keys(metrics).find((k) => k.endsWith('/roles/a/suppressed'));
    assert.ok(key !== undefined, 'the role has its metric');
    return metrics[key];
  };
  for (const [type, roles] of [
    ['SUPPRESS', ['a', 'not-mine']],
    ['SUPPRESS', ['/bad']],
  ] as const) {
    const reply = await call({ type, [type.toLowerCase()]: { roles } });
    assert.equal(reply.status, 202, `${type} ${roles.join(',')}: ${await reply.text()}`);
  }
  assert.equal(await suppressed(), 0, 'the dropped SUPPRESS left role a offered');
  assert.equal((await call({ type: 'SUPPRESS', suppress: { roles: ['a'] } })).status, 202);
  assert.equal(await suppressed(), 1);
  const revive = await call({ type: 'REVIVE', revive: { roles: ['a', 'not-mine'] } });
  assert.equal(revive.status, 202);
  assert.equal(await suppressed(), 1, 'the dropped REVIVE left role a suppressed');
});
