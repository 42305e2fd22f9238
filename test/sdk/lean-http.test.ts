// The scheduler API's own HTTP/1.1 client, against node:http servers on port 0.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { ConnectionError } from '../../src/sdk/index.js';
import { leanRequest, preconnect } from '../../src/sdk/lean-http.js';

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

/** A server on 127.0.0.1:0 that counts the connections it accepted; closed after the test. */
async function serve(t: TestContext, handler: Handler) {
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handler(request, response, body));
  });
  let connections = 0;
  server.on('connection', () => (connections += 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/api/v1/scheduler`),
    connections: () => connections,
  };
}

const post = (url: URL, body = '{}', signal?: AbortSignal) =>
  leanRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    ...(signal !== undefined ? { signal } : {}),
  });

test('leanRequest posts a body, reads a sized answer and reuses the connection', async (t) => {
  const server = await serve(t, (request, response, body) => {
    response.writeHead(request.url === '/api/v1/scheduler' ? 202 : 404, {
      'content-type': 'application/json',
    });
    response.end(JSON.stringify({ echo: body, method: request.method }));
  });
  for (const body of ['{"a":1}', '{"b":"é"}']) {
    const response = await post(server.url, body);
    assert.equal(response.status, 202);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(await response.text()), { echo: body, method: 'POST' });
  }
  assert.equal(server.connections(), 1, 'the second call went over the first connection');
});

test('leanRequest hands over a chunked stream as it arrives', async (t) => {
  let respond: ServerResponse | undefined;
  const server = await serve(t, (_request, response) => {
    response.writeHead(200, { 'mesos-stream-id': 'abc' });
    response.write('first');
    respond = response;
  });
  const response = await leanRequest(server.url, {
    method: 'POST',
    headers: {},
    body: '{}',
    isStream: true,
  });
  assert.equal(response.headers['mesos-stream-id'], 'abc');
  const reader = response[Symbol.asyncIterator]();
  assert.equal((await reader.next()).value?.toString(), 'first');
  respond?.write('second');
  assert.equal((await reader.next()).value?.toString(), 'second');
  respond?.end();
  assert.equal((await reader.next()).done, true);
});

test('leanRequest retries once on a new connection when a kept-alive one was closed', async (t) => {
  let requests = 0;
  const server = await serve(t, (request, response) => {
    requests += 1;
    // The second request arrives on the kept-alive socket: drop it unanswered, as a
    // server does that closes an idle connection at the moment a request is sent.
    if (requests === 2) {
      request.socket.destroy();
      return;
    }
    response.writeHead(202, { 'content-length': '0' });
    response.end();
  });
  assert.equal((await post(server.url)).status, 202);
  await new Promise((resolve) => setImmediate(resolve));
  const again = await post(server.url);
  assert.equal(again.status, 202);
  assert.equal(server.connections(), 2);
});

test('leanRequest names an address where nothing listens', async () => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const { port } = closed.address() as AddressInfo;
  closed.close();
  await once(closed, 'close');
  await assert.rejects(post(new URL(`http://127.0.0.1:${port}/`)), (error: unknown) => {
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.address, `127.0.0.1:${port}`);
    assert.equal(error.reason, 'connection refused');
    return true;
  });
});

test('leanRequest stops at once when its signal aborts', async (t) => {
  const server = await serve(t, () => undefined); // never answers
  const abort = new AbortController();
  const pending = post(server.url, '{}', abort.signal);
  abort.abort(new Error('enough'));
  await assert.rejects(pending, /enough/);
});

test("a stream's destroy(error) makes its reader throw that error", async (t) => {
  const server = await serve(t, (_request, response) => {
    response.writeHead(200);
    response.write('x');
  });
  const response = await leanRequest(server.url, {
    method: 'POST',
    headers: {},
    isStream: true,
  });
  const reader = response[Symbol.asyncIterator]();
  assert.equal((await reader.next()).value?.toString(), 'x');
  response.destroy(new Error('heartbeats stopped'));
  await assert.rejects(reader.next(), /heartbeats stopped/);
});

test('leanRequest shows a redirect and its location', async (t) => {
  const server = await serve(t, (_request, response) => {
    response.writeHead(307, { location: '//127.0.0.1:1/api/v1/scheduler' });
    response.end();
  });
  const response = await post(server.url);
  assert.equal(response.status, 307);
  assert.equal(response.headers.location, '//127.0.0.1:1/api/v1/scheduler');
});

test('preconnect pools a connection that the next request is written on', async (t) => {
  const server = await serve(t, (_request, response) => {
    response.writeHead(202);
    response.end();
  });
  await preconnect(server.url);
  // The server's side of the connection may be accepted a turn after the client's.
  const deadline = performance.now() + 10_000;
  while (server.connections() === 0 && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(server.connections(), 1, 'the server saw the early connection');
  // A second one is not opened while one waits in the pool.
  await preconnect(server.url);
  const response = await post(server.url);
  assert.equal(response.status, 202);
  await response.text();
  assert.equal(server.connections(), 1, 'the request went over the early connection');
  // Where nothing listens, it fails quietly: the request then reports the failure itself.
  await preconnect(new URL('http://127.0.0.1:1/'));
});

test('a pooled connection the server answered unasked (a 408 for sending nothing) is not reused', async (t) => {
  const server = await serve(t, (_request, response) => {
    response.writeHead(202);
    response.end();
  });
  await preconnect(server.url);
  // Node's server times out a connection that sends no request (headersTimeout): 408, closed.
  const raw = createServer({ headersTimeout: 500, requestTimeout: 0 }, (_q, r) => r.end());
  raw.headersTimeout = 500;
  (raw as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = 100;
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  t.after(() => {
    raw.closeAllConnections();
    raw.close();
  });
  const { port } = raw.address() as AddressInfo;
  const slow = new URL(`http://127.0.0.1:${port}/`);
  await preconnect(slow);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const response = await leanRequest(slow, { method: 'GET', headers: {} });
  assert.equal(response.status, 200, 'answered on a new connection, not by the stale 408');
  await response.text();
});
