// The master's relay of sandbox reads over an agent's own stream: answers are
// matched by request id and agent, bounded, and every waiter is settled.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FilesTunnel } from '../../src/master/files-tunnel.js';
import type { FilesRequest } from '../../src/wire/index.js';

test('files tunnel hands each agent answer to its own waiter, and drops strays', async () => {
  const tunnel = new FilesTunnel();
  const sent: FilesRequest[] = [];
  const send = (request: FilesRequest) => sent.push(request) > 0;
  const signal = new AbortController().signal;
  const one = tunnel.request('a1', { path: '/files/read?path=x' }, send, signal);
  const two = tunnel.request(
    'a2',
    { path: '/files/browse?path=y', authorization: 'Basic x' },
    send,
    signal,
  );
  const [first, second] = sent;
  assert.ok(first !== undefined && second !== undefined);
  assert.equal(second.authorization, 'Basic x');
  // Another agent cannot answer for a1; an unknown id is dropped.
  assert.equal(
    tunnel.answer('a2', { request_id: first.request_id, status: 200, body: 'no' }),
    false,
  );
  assert.equal(tunnel.answer('a1', { request_id: 'nope', status: 200, body: 'no' }), false);
  assert.equal(
    tunnel.answer('a1', { request_id: first.request_id, status: 200, body: '{}' }),
    true,
  );
  assert.deepEqual(await one, {
    kind: 'answered',
    response: { request_id: first.request_id, status: 200, body: '{}' },
  });
  tunnel.agentGone('a2');
  assert.deepEqual(await two, { kind: 'failed', message: 'the agent disconnected' });
  // A late answer to a settled request is dropped.
  assert.equal(
    tunnel.answer('a1', { request_id: first.request_id, status: 200, body: '{}' }),
    false,
  );
});

test('files tunnel fails at once without a stream, on the client leaving, and when full', async () => {
  const tunnel = new FilesTunnel();
  const signal = new AbortController().signal;
  assert.deepEqual(
    await tunnel.request('a1', { path: '/files/read?path=x' }, () => false, signal),
    {
      kind: 'failed',
      message: 'the agent has no open stream',
    },
  );
  const client = new AbortController();
  const leaving = tunnel.request('a1', { path: '/files/read?path=x' }, () => true, client.signal);
  client.abort();
  assert.deepEqual(await leaving, { kind: 'failed', message: 'the client went away' });
  const waiting = Array.from({ length: 16 }, () =>
    tunnel.request('a1', { path: '/files/read?path=x' }, () => true, signal),
  );
  const refused = await tunnel.request('a1', { path: '/files/read?path=x' }, () => true, signal);
  assert.equal(refused.kind, 'busy');
  tunnel.close();
  for (const result of await Promise.all(waiting)) assert.equal(result.kind, 'failed');
});
