import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { readBody, sendJson } from '../../src/runtime/http-io.js';
import { HttpServer, type HttpServerOptions } from '../../src/runtime/http-server.js';
import {
  BodyDeadlines,
  type HttpTimeouts,
  slowBodyReason,
} from '../../src/runtime/http-timeouts.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { AgoraError } from '../../src/wire/errors.js';

// Short deadlines so the tests run in seconds; every bound asserted has wide margins (a
// shared 2-core machine): deadlines are checked once a second.
const TIMEOUTS: HttpTimeouts = {
  headersMs: 1500,
  bodyGraceMs: 1500,
  minBodyBytesPerSecond: 1024,
  bodyMaxMs: 60_000,
};

async function start(
  t: TestContext,
  routes: (server: HttpServer) => void,
  options: Partial<HttpServerOptions> = {},
): Promise<number> {
  const server = new HttpServer({ logger: silentLogger(), timeouts: TIMEOUTS, ...options });
  t.after(() => server.close());
  routes(server);
  return (await server.listen('127.0.0.1', 0)).port;
}

interface Trickler {
  readonly socket: Socket;
  /** Everything the server sent. */
  readonly received: () => string;
  /** Resolves with the milliseconds from connect to close. */
  readonly closed: Promise<number>;
}

/** Sends `head` at once, then `byte` every `intervalMs` until the server closes the socket. */
function trickle(
  t: TestContext,
  port: number,
  head: string,
  byte: string,
  intervalMs = 100,
): Trickler {
  const started = performance.now();
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => undefined); // a reset is one of the ways to be cut
  let text = '';
  socket.on('data', (data: Buffer) => {
    text += data.toString('utf8');
  });
  socket.write(head);
  const timer = setInterval(() => {
    if (socket.writable) socket.write(byte);
  }, intervalMs);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(performance.now() - started);
    }),
  );
  t.after(() => clearInterval(timer));
  return { socket, received: () => text, closed };
}

async function get(port: number, path: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  await response.text();
  return { status: response.status, ms: performance.now() - started };
}

function routes(server: HttpServer): void {
  server.route(['GET'], '/ok', (_request, response) => sendJson(response, 200, { ok: true }));
  server.route(['POST'], '/echo', async (request, response) => {
    const body = await readBody(request);
    sendJson(response, 200, { bytes: body.length });
  });
}

test('slow body reason allows the grace, then owes the minimum rate, and caps the total', () => {
  assert.equal(slowBodyReason(1500, 0, TIMEOUTS), undefined);
  assert.equal(slowBodyReason(2500, 1024, TIMEOUTS), undefined);
  assert.match(slowBodyReason(2500, 1000, TIMEOUTS) ?? '', /slower than 1024 bytes\/s/);
  assert.match(slowBodyReason(60_001, 10 ** 9, TIMEOUTS) ?? '', /longer than 60000 ms/);
});

test('http timeouts cut clients trickling headers or a body while others are served', async (t) => {
  const port = await start(t, routes);
  const headers = Array.from({ length: 10 }, () =>
    trickle(t, port, 'GET /ok HTTP/1.1\r\nHost: x\r\n', 'a'),
  );
  const bodies = Array.from({ length: 10 }, () =>
    trickle(
      t,
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
      ' ',
    ),
  );
  // Meanwhile everyone else is answered at once.
  for (let i = 0; i < 10; i++) {
    const { status, ms } = await get(port, '/ok');
    assert.equal(status, 200);
    assert.ok(ms < 1000, `an ordinary call took ${Math.round(ms)} ms`);
  }
  for (const [kind, clients, deadlineMs] of [
    ['headers', headers, TIMEOUTS.headersMs],
    ['body', bodies, TIMEOUTS.bodyGraceMs],
  ] as const)
    for (const client of clients) {
      const ms = await client.closed;
      assert.ok(ms >= deadlineMs - 100, `${kind} cut early, after ${Math.round(ms)} ms`);
      // The deadline, plus a check interval, plus wide margin for a busy machine.
      assert.ok(ms < deadlineMs + 6000, `${kind} cut only after ${Math.round(ms)} ms`);
      assert.match(client.received(), /^(HTTP\/1\.1 408 |$)/, kind);
    }
  assert.equal((await get(port, '/ok')).status, 200);
});

test('http timeouts close a refused request without waiting for its body', async (t) => {
  const port = await start(t, routes, {
    // The body deadline is far off: what closes the connection here is the refusal.
    timeouts: { ...TIMEOUTS, bodyGraceMs: 60_000 },
    authenticate: async () => {
      throw new AgoraError('UNAUTHENTICATED', 'no credentials');
    },
  });
  const client = trickle(
    t,
    port,
    'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n',
    ' ',
  );
  const ms = await client.closed;
  assert.match(
    client.received(),
    /^HTTP\/1\.1 401 [\s\S]*connection: close[\s\S]*no credentials\n$/i,
  );
  assert.ok(ms < 8000, `the refused connection stayed open ${Math.round(ms)} ms`);
});

test('http timeouts leave an idle streamed answer open past every deadline', async (t) => {
  const streams = new Set<ServerResponse>();
  const port = await start(t, (server) =>
    server.route(['POST'], '/subscribe', async (request, response) => {
      await readBody(request);
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('subscribed\n');
      streams.add(response);
      await new Promise((resolve) => request.signal.addEventListener('abort', resolve));
      response.end();
    }),
  );
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let text = '';
  socket.on('data', (data: Buffer) => {
    text += data.toString('utf8');
  });
  let isClosed = false;
  socket.once('close', () => {
    isClosed = true;
  });
  socket.write('POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
  while (!text.includes('subscribed')) await once(socket, 'data');
  const idleMs = TIMEOUTS.headersMs + TIMEOUTS.bodyGraceMs + 2500;
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  assert.equal(isClosed, false, 'the idle stream was cut');
  for (const stream of streams) stream.write('event\n');
  while (!text.includes('event')) await once(socket, 'data');
});

test('http timeouts spare a body the handler declares a stream, idle past the deadline', async (t) => {
  const port = await start(t, (server) =>
    server.route(['POST'], '/input', async (request, response) => {
      request.streamBody();
      let bytes = 0;
      for await (const chunk of request.raw) bytes += (chunk as Buffer).length;
      sendJson(response, 200, { bytes });
    }),
  );
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let text = '';
  socket.on('data', (data: Buffer) => {
    text += data.toString('utf8');
  });
  socket.write('POST /input HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
  await new Promise((resolve) => setTimeout(resolve, TIMEOUTS.bodyGraceMs + 3000));
  socket.write('2\r\nde\r\n0\r\n\r\n');
  while (!text.includes('"bytes"')) await once(socket, 'data');
  assert.match(text, /^HTTP\/1\.1 200 [\s\S]*\{"bytes":5\}/);
});

/** Just what BodyDeadlines reads off a request: its socket's byte count, its buffer, its end. */
function fakeRequest(): IncomingMessage & {
  socket: { bytesRead: number };
  readableLength: number;
} {
  const request = new EventEmitter() as unknown as IncomingMessage & {
    socket: { bytesRead: number; destroyed: boolean };
    readableLength: number;
    complete: boolean;
    headers: Record<string, string>;
  };
  Object.assign(request, {
    socket: { bytesRead: 0, destroyed: false },
    readableLength: 0,
    complete: false,
    headers: { 'content-length': '100000' },
  });
  return request;
}

test('body deadlines restart the clock while the body waits on the handler, not the client', () => {
  let nowMs = 0;
  const deadlines = new BodyDeadlines(TIMEOUTS, () => nowMs);
  const cut: string[] = [];
  const waiting = fakeRequest();
  const slow = fakeRequest();
  deadlines.watch(waiting, (reason) => cut.push(`waiting: ${reason}`));
  deadlines.watch(slow, (reason) => cut.push(`slow: ${reason}`));
  // 10 s on: `waiting` has 16 KiB buffered that no handler has read; `slow` sent 10 bytes.
  waiting.readableLength = 16 * 1024;
  waiting.socket.bytesRead = 16 * 1024;
  slow.socket.bytesRead = 10;
  nowMs = 10_000;
  deadlines.check();
  assert.equal(cut.length, 1);
  assert.match(cut[0] ?? '', /^slow: .*slower than 1024 bytes\/s/);
  // The handler reads it; from now the client owes the rate again, after a new grace.
  waiting.readableLength = 0;
  nowMs = 10_000 + TIMEOUTS.bodyGraceMs;
  deadlines.check();
  assert.equal(cut.length, 1);
  nowMs += 2000;
  deadlines.check();
  assert.equal(cut.length, 2);
  assert.equal(deadlines.size, 0);
  deadlines.stop();
});

test('body deadlines forget a body once it is in, and never watch one with no body', () => {
  let nowMs = 0;
  const deadlines = new BodyDeadlines(TIMEOUTS, () => nowMs);
  const cut: string[] = [];
  const done = fakeRequest();
  deadlines.watch(done, (reason) => cut.push(reason));
  const empty = fakeRequest();
  empty.headers = {};
  deadlines.watch(empty, (reason) => cut.push(reason));
  assert.equal(deadlines.size, 1);
  done.emit('end');
  assert.equal(deadlines.size, 0);
  nowMs = 60_000;
  deadlines.check();
  assert.deepEqual(cut, []);
  deadlines.stop();
});
