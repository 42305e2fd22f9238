// Pipelined calls (ACKNOWLEDGE) against node:http servers on port 0: answers in order, a
// few connections for many calls, unanswered calls sent again once, then failed.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { CallPipeline, IDLE_REUSE_MS } from '../../src/sdk/call-pipeline.js';
import { ConnectionError } from '../../src/sdk/index.js';

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

/** A server on 127.0.0.1:0 that counts connections and requests; closed after the test. */
async function serve(t: TestContext, handler: Handler) {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handler(request, response, body));
  });
  let connections = 0;
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    connections: () => connections,
    requests: () => requests,
    sockets,
  };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

test('a pipeline answers many calls in order over at most its connections', async (t) => {
  const server = await serve(t, (request, response, body) => {
    // Answers in reverse arrival order of their handlers would still go out in request order.
    const delayMs = Number((JSON.parse(body) as { n: number }).n % 3);
    setTimeout(() => {
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ echo: body, header: request.headers['mesos-stream-id'] }));
    }, delayMs);
  });
  const pipeline = new CallPipeline(server.url, { connections: 2, depth: 16 });
  t.after(() => pipeline.close());
  const answers = await Promise.all(
    Array.from({ length: 500 }, (_, n) =>
      pipeline.post(
        '/api/v1/scheduler',
        { ...JSON_HEADERS, 'mesos-stream-id': 's1' },
        JSON.stringify({ n }),
      ),
    ),
  );
  for (const [n, answer] of answers.entries()) {
    assert.equal(answer.status, 202);
    assert.deepEqual(JSON.parse(answer.body), { echo: JSON.stringify({ n }), header: 's1' });
  }
  assert.ok(server.connections() <= 2, `${server.connections()} connections`);
  assert.equal(pipeline.size, 0);
  await pipeline.idle();
});

test('a pipeline reads chunked and error answers, and bodies given as bytes', async (t) => {
  const server = await serve(t, (_request, response, body) => {
    if (body === 'chunked') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('part one, ');
      response.end('part two');
      return;
    }
    response.writeHead(400, { 'content-type': 'text/plain' });
    response.end(`bad: ${body}`);
  });
  const pipeline = new CallPipeline(server.url);
  t.after(() => pipeline.close());
  const [chunked, refused] = await Promise.all([
    pipeline.post('/x', JSON_HEADERS, 'chunked'),
    pipeline.post('/x', JSON_HEADERS, new TextEncoder().encode('é')),
  ]);
  assert.deepEqual(chunked, { status: 200, body: 'part one, part two' });
  assert.deepEqual(refused, { status: 400, body: 'bad: é' });
});

test('calls written behind an answer that closes its connection are sent again', async (t) => {
  let answered = 0;
  const server = await serve(t, (_request, response, body) => {
    answered += 1;
    // The fifth answer closes its connection: node drops what was pipelined behind it.
    response.writeHead(202, answered === 5 ? { connection: 'close' } : {});
    response.end(body);
  });
  const pipeline = new CallPipeline(server.url, { connections: 1, depth: 8 });
  t.after(() => pipeline.close());
  const answers = await Promise.all(
    Array.from({ length: 40 }, (_, n) => pipeline.post('/x', JSON_HEADERS, `call ${n}`)),
  );
  assert.deepEqual(
    answers.map((a) => a.body),
    Array.from({ length: 40 }, (_, n) => `call ${n}`),
  );
  assert.ok(server.connections() >= 2, 'the closed connection was replaced');
});

test('a call unanswered on two connections fails; one with no server fails at once', async (t) => {
  const server = await serve(t, () => {
    // Never answers: the test cuts the connection instead.
  });
  const pipeline = new CallPipeline(server.url, { connections: 1 });
  t.after(() => pipeline.close());
  const call = pipeline.post('/x', JSON_HEADERS, 'lost');
  for (let cut = 1; cut <= 2; cut++) {
    while (server.requests() < cut) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const socket of server.sockets) socket.destroy();
  }
  await assert.rejects(call, ConnectionError);
  assert.equal(server.requests(), 2, 'sent twice, no more');

  const nowhere = new CallPipeline(new URL('http://127.0.0.1:1'));
  t.after(() => nowhere.close());
  await assert.rejects(nowhere.post('/x', JSON_HEADERS, '{}'), ConnectionError);
});

test('close() fails what is queued or unanswered, and later calls', async (t) => {
  const server = await serve(t, () => {
    // Never answers.
  });
  const pipeline = new CallPipeline(server.url, { connections: 1, depth: 2 });
  const calls = Array.from({ length: 5 }, () => pipeline.post('/x', JSON_HEADERS, '{}'));
  while (server.requests() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(pipeline.size, 5);
  pipeline.close();
  for (const call of calls) await assert.rejects(call, ConnectionError);
  await assert.rejects(pipeline.post('/x', JSON_HEADERS, '{}'), ConnectionError);
  await pipeline.idle();
  t.after(() => pipeline.close());
});

test("resend 'never': a call unanswered when its connection closes fails, sent once", async (t) => {
  const server = await serve(t, () => {
    // Never answers: the test cuts the connection instead.
  });
  const pipeline = new CallPipeline(server.url, { connections: 1, resend: 'never' });
  t.after(() => pipeline.close());
  const call = pipeline.post('/x', JSON_HEADERS, 'accept');
  const rejected = assert.rejects(call, ConnectionError);
  while (server.requests() < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  for (const socket of server.sockets) socket.destroy();
  await rejected;
  // Give a resend every chance to show up before counting.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(server.requests(), 1, 'never sent again');
});

test("resend 'never': calls behind an answer that closes its connection fail, none twice", async (t) => {
  let answered = 0;
  const bodies: string[] = [];
  const server = await serve(t, (_request, response, body) => {
    answered += 1;
    bodies.push(body);
    response.writeHead(202, answered === 3 ? { connection: 'close' } : {});
    response.end(body);
  });
  const pipeline = new CallPipeline(server.url, { connections: 1, depth: 8, resend: 'never' });
  t.after(() => pipeline.close());
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, n) => pipeline.post('/x', JSON_HEADERS, `call ${n}`)),
  );
  const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
  assert.ok(fulfilled >= 3, `${fulfilled} answered`);
  for (const r of results)
    if (r.status === 'rejected') assert.ok(r.reason instanceof ConnectionError, String(r.reason));
  assert.equal(new Set(bodies).size, bodies.length, 'no call reached the server twice');
});

test("resend 'never': a connection idle past IDLE_REUSE_MS is replaced before a write", async (t) => {
  const server = await serve(t, (_request, response, body) => {
    response.writeHead(202);
    response.end(body);
  });
  let nowMs = 0;
  const pipeline = new CallPipeline(server.url, {
    connections: 1,
    resend: 'never',
    now: () => nowMs,
  });
  t.after(() => pipeline.close());
  assert.equal((await pipeline.post('/x', JSON_HEADERS, 'one')).body, 'one');
  nowMs += IDLE_REUSE_MS / 2;
  assert.equal((await pipeline.post('/x', JSON_HEADERS, 'two')).body, 'two');
  assert.equal(server.connections(), 1, 'reused while recently busy');
  nowMs += IDLE_REUSE_MS + 1;
  assert.equal((await pipeline.post('/x', JSON_HEADERS, 'three')).body, 'three');
  assert.equal(server.connections(), 2, 'a fresh connection after the idle time');
});
