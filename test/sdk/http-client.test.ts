import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { request } from '../../src/sdk/http-client.js';

test('http client requests sharing one signal leave no abort listener on it, however many', async (t) => {
  const server = createServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));

  const lifetime = new AbortController();
  // An agent's status updates: many in flight at once on the agent's one signal.
  const replies = await Promise.all(
    Array.from({ length: 1000 }, () =>
      request(`http://127.0.0.1:${port}/`, { signal: lifetime.signal }),
    ),
  );
  assert.equal(replies.filter((r) => r.status === 200).length, 1000);
  assert.equal(getEventListeners(lifetime.signal, 'abort').length, 0);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
    [],
  );
});

test('http client aborts a request in flight when its signal aborts', async (t) => {
  const server = createServer(() => {
    // Never answers.
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const lifetime = new AbortController();
  const pending = request(`http://127.0.0.1:${port}/`, { signal: lifetime.signal });
  setTimeout(() => lifetime.abort(new Error('agent stopping')), 20);
  await assert.rejects(pending);
  assert.equal(getEventListeners(lifetime.signal, 'abort').length, 0);
});
