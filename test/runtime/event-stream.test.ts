import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { EventStream, type EventStreamOptions } from '../../src/runtime/event-stream.js';
import { RecordIODecoder } from '../../src/wire/recordio.js';

interface Opened {
  readonly stream: EventStream<unknown>;
  readonly response: ServerResponse;
}

/** A server whose every request becomes an EventStream, handed to the test. */
async function streamServer(
  t: TestContext,
  options: EventStreamOptions = {},
): Promise<{ port: number; opened: Promise<Opened> }> {
  let resolveOpened: (opened: Opened) => void = () => undefined;
  const opened = new Promise<Opened>((resolve) => {
    resolveOpened = resolve;
  });
  const server = createServer((_request, response) => {
    resolveOpened({ stream: new EventStream<unknown>(response, options), response });
  });
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { port: address.port, opened };
}

/** A raw TCP client, so the test sees the HTTP chunks exactly as sent. */
async function rawGet(t: TestContext, port: number): Promise<{ socket: Socket; bytes: Buffer[] }> {
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const bytes: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => bytes.push(chunk));
  // Connection: close, so the server ends the socket once the stream ends.
  socket.write('GET /stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  return { socket, bytes };
}

/** Splits a chunked HTTP/1.1 response into its headers and its chunks' payloads. */
function parseChunked(raw: Buffer): { head: string; chunks: Buffer[]; isComplete: boolean } {
  const headEnd = raw.indexOf('\r\n\r\n');
  assert.ok(headEnd >= 0, 'no complete response head');
  const head = raw.subarray(0, headEnd).toString('latin1');
  const chunks: Buffer[] = [];
  let at = headEnd + 4;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0) return { head, chunks, isComplete: false };
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
    if (size === 0) return { head, chunks, isComplete: true };
    chunks.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

test('event stream sends one record per HTTP chunk', async (t) => {
  const { port, opened } = await streamServer(t, { headers: { 'Mesos-Stream-Id': 'abc' } });
  const { socket, bytes } = await rawGet(t, port);
  const { stream } = await opened;
  const events = [{ type: 'SUBSCRIBED' }, { type: 'HEARTBEAT' }, { type: 'OFFERS', n: [1, 2] }];
  for (const event of events) assert.equal(stream.send(event), true);
  stream.close();
  await once(socket, 'end');
  const { head, chunks, isComplete } = parseChunked(Buffer.concat(bytes));
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, /content-type: application\/json/i);
  assert.match(head, /mesos-stream-id: abc/i);
  assert.ok(isComplete);
  assert.equal(chunks.length, events.length);
  chunks.forEach((chunk, i) => {
    const decoder = new RecordIODecoder();
    const records = decoder.decode(chunk);
    assert.equal(records.length, 1, `chunk ${i} holds exactly one record`);
    assert.ok(decoder.isIdle, `chunk ${i} holds a whole record`);
    assert.deepEqual(JSON.parse(records[0]?.toString('utf8') ?? ''), events[i]);
  });
});

test('event stream escapes non-ASCII text so the record length is its character count', async (t) => {
  const { port, opened } = await streamServer(t);
  const { socket, bytes } = await rawGet(t, port);
  const { stream } = await opened;
  const event = { type: 'OFFERS', hostname: 'café-😀.example', labels: ['ß'] };
  stream.send(event);
  stream.close();
  await once(socket, 'end');
  const [chunk] = parseChunked(Buffer.concat(bytes)).chunks;
  assert.ok(chunk !== undefined);
  const [record] = new RecordIODecoder().decode(chunk);
  assert.ok(record !== undefined);
  assert.ok(
    record.every((byte) => byte < 0x80),
    'only ASCII bytes',
  );
  const text = record.toString('utf8');
  assert.equal(Buffer.byteLength(text), text.length);
  assert.deepEqual(JSON.parse(text), event);
});

test('event stream cuts off a subscriber that stops reading', async (t) => {
  const maxBufferedBytes = 64 * 1024;
  const { port, opened } = await streamServer(t, { maxBufferedBytes });
  const { socket } = await rawGet(t, port);
  const { stream, response } = await opened;
  socket.pause();
  const payload = 'x'.repeat(16 * 1024);
  // Each send yields to the event loop, so a reading client would keep the queue empty; only
  // the paused one lets it grow. The kernel's socket buffers absorb a few MB first; 256 MB
  // bounds the loop.
  let sent = 0;
  while (stream.send({ type: 'MESSAGE', payload }) && sent < 16_384) {
    sent++;
    await new Promise(setImmediate);
  }
  assert.ok(sent < 16_384, 'the stream was never cut off');
  assert.ok(sent * payload.length > maxBufferedBytes, 'cut off before the limit was passed');
  assert.equal(stream.isOpen, false);
  assert.equal(stream.closed.aborted, true);
  assert.ok(response.destroyed);
  assert.equal(stream.send({ type: 'HEARTBEAT' }), false);
  socket.resume();
  const closed = once(socket, 'close');
  socket.on('error', () => undefined); // a reset is one way of being cut off
  await closed;
});

test('event stream keeps a subscriber that reads, however much it is sent', async (t) => {
  const maxBufferedBytes = 64 * 1024;
  const { port, opened } = await streamServer(t, { maxBufferedBytes });
  const { socket, bytes } = await rawGet(t, port);
  const { stream, response } = await opened;
  const payload = 'x'.repeat(16 * 1024);
  for (let i = 0; i < 64; i++) {
    assert.equal(stream.send({ type: 'MESSAGE', payload }), true, `event ${i}`);
    if (response.writableLength > 0) await once(response, 'drain');
  }
  assert.equal(stream.isOpen, true);
  stream.close();
  await once(socket, 'end');
  const { chunks, isComplete } = parseChunked(Buffer.concat(bytes));
  assert.ok(isComplete);
  assert.equal(chunks.length, 64);
});

test('event stream close is idempotent and aborts closed once', async (t) => {
  const { port, opened } = await streamServer(t);
  const { socket } = await rawGet(t, port);
  const { stream } = await opened;
  let aborts = 0;
  stream.closed.addEventListener('abort', () => aborts++);
  assert.equal(stream.isOpen, true);
  stream.close();
  stream.close();
  assert.equal(stream.isOpen, false);
  assert.equal(stream.send({ type: 'HEARTBEAT' }), false);
  await once(socket, 'end');
  assert.equal(aborts, 1);
});

test('event stream aborts closed when the subscriber goes away', async (t) => {
  const { port, opened } = await streamServer(t);
  const { socket } = await rawGet(t, port);
  const { stream } = await opened;
  const aborted = once(stream.closed, 'abort');
  socket.destroy();
  await aborted;
  assert.equal(stream.isOpen, false);
  assert.equal(stream.send({ type: 'HEARTBEAT' }), false);
});

test('event stream tells onClose listeners once when the subscriber goes away, and later ones at once', async (t) => {
  const { port, opened } = await streamServer(t);
  const { socket } = await rawGet(t, port);
  const { stream } = await opened;
  let told = 0;
  const closed = new Promise<void>((resolve) =>
    stream.onClose(() => {
      told++;
      resolve();
    }),
  );
  socket.destroy();
  await closed;
  stream.close();
  assert.equal(told, 1);
  let toldLate = false;
  stream.onClose(() => {
    toldLate = true;
  });
  assert.equal(toldLate, true);
  // A closed signal first asked for after the end is born aborted.
  assert.equal(stream.closed.aborted, true);
});

test('event stream flush puts what was sent on the socket before the tick ends', async (t) => {
  const { port, opened } = await streamServer(t);
  await rawGet(t, port);
  const { stream, response } = await opened;
  await new Promise((resolve) => setImmediate(resolve));
  const written = response.socket?.bytesWritten ?? 0;
  assert.equal(stream.send({ type: 'HEARTBEAT' }), true);
  // Held to the end of the loop round, and node:http corks the socket on write until the
  // next tick: nothing has left yet.
  assert.equal(response.socket?.bytesWritten ?? 0, written);
  stream.flush();
  assert.equal(response.socket?.writableCorked, 0);
  assert.equal(response.socket?.writableLength, 0, 'handed to the kernel at once');
  assert.ok((response.socket?.bytesWritten ?? 0) > written, 'the record left');
});

test('event stream frames text records by their UTF-8 bytes, several sent together', async (t) => {
  // An encoder that keeps non-ASCII as is: each chunk's size counts bytes, not characters.
  const { port, opened } = await streamServer(t, {
    encoder: { contentType: 'application/json', encode: (event) => JSON.stringify(event) },
  });
  const { socket, bytes } = await rawGet(t, port);
  const { stream } = await opened;
  const events = [{ name: 'café-😀' }, { name: 'plain' }, { name: 'ß'.repeat(100) }];
  for (const event of events) stream.send(event);
  stream.close();
  await once(socket, 'end');
  const { chunks, isComplete } = parseChunked(Buffer.concat(bytes));
  assert.ok(isComplete);
  assert.equal(chunks.length, events.length);
  chunks.forEach((chunk, i) => {
    const [record] = new RecordIODecoder().decode(chunk);
    assert.deepEqual(JSON.parse(record?.toString('utf8') ?? ''), events[i]);
  });
});

test('event stream with deferred headers sends them first, with the first records, then frames the rest', async (t) => {
  const { port, opened } = await streamServer(t, {
    headers: { 'Mesos-Stream-Id': 'deferred' },
    deferHeaders: true,
  });
  const { socket, bytes } = await rawGet(t, port);
  const { stream } = await opened;
  const events = [{ type: 'SUBSCRIBED' }, { type: 'PING' }];
  stream.send(events[0]);
  // A later round: framed by the stream itself, straight to the socket.
  await new Promise((resolve) => setImmediate(resolve));
  stream.send(events[1]);
  stream.close();
  await once(socket, 'end');
  const raw = Buffer.concat(bytes);
  assert.match(raw.toString('latin1'), /^HTTP\/1\.1 200/, 'the status line comes first');
  const { head, chunks, isComplete } = parseChunked(raw);
  assert.match(head, /mesos-stream-id: deferred/i);
  assert.ok(isComplete);
  assert.deepEqual(
    chunks.map((chunk) => JSON.parse(new RecordIODecoder().decode(chunk)[0]?.toString() ?? '')),
    events,
  );
});

test('event stream with deferred headers writes them and the first records in one write of two buffers', async (t) => {
  const { port, opened } = await streamServer(t, {
    headers: { 'Mesos-Stream-Id': 'deferred' },
    deferHeaders: true,
  });
  const { bytes } = await rawGet(t, port);
  const { stream, response } = await opened;
  const socket = response.socket;
  assert.ok(socket !== null);
  // What the socket hands the kernel: one call per write(2)/writev(2), with its buffers.
  const handed: number[] = [];
  const spied = socket as unknown as {
    _write(chunk: unknown, encoding: unknown, done: unknown): void;
    _writev(chunks: readonly unknown[], done: unknown): void;
  };
  const write = spied._write.bind(socket);
  const writev = spied._writev.bind(socket);
  spied._write = (chunk, encoding, done) => {
    handed.push(1);
    write(chunk, encoding, done);
  };
  spied._writev = (chunks, done) => {
    handed.push(chunks.length);
    writev(chunks, done);
  };
  // An agent's SUBSCRIBED and first PING, sent in the round its SUBSCRIBE was handled.
  stream.send({ type: 'SUBSCRIBED' });
  stream.send({ type: 'PING' });
  stream.flush();
  // Through node:http's write(), the head and each record's size, CRLF, record and CRLF were
  // a writev of eight buffers.
  assert.deepEqual(handed, [2]);
  await waitForBytes(
    bytes,
    (raw) => raw.includes('\r\n\r\n') && parseChunked(raw).chunks.length === 2,
  );
  const { head, chunks } = parseChunked(Buffer.concat(bytes));
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /mesos-stream-id: deferred/i);
  assert.deepEqual(
    chunks.map((chunk) => JSON.parse(new RecordIODecoder().decode(chunk)[0]?.toString() ?? '')),
    [{ type: 'SUBSCRIBED' }, { type: 'PING' }],
  );
});

/** Waits (at most 5 s) until what the client has read passes `isDone`. */
async function waitForBytes(bytes: readonly Buffer[], isDone: (raw: Buffer) => boolean) {
  const deadline = performance.now() + 5000;
  while (!isDone(Buffer.concat(bytes))) {
    assert.ok(performance.now() < deadline, 'the records did not arrive within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
