// The simulator's call queue and subscriptions against a real server on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { type TestContext, test } from 'node:test';
import { openStream } from '../../src/sdk/index.js';
import { readEvents, readText, SimNetwork } from '../../src/sim/sim-network.js';

/** RecordIO: the record's length in decimal, a newline, the record. */
function record(value: unknown): string {
  const text = JSON.stringify(value);
  return `${Buffer.byteLength(text)}\n${text}`;
}

test('sim network sends an urgent call before the calls already waiting', async (t) => {
  const arrived: string[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      arrived.push(body);
      // The first call holds the only socket until the others are queued.
      if (body === 'first') held.push(res);
      else res.writeHead(202).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const network = new SimNetwork({
    master: new URL(`http://127.0.0.1:${port}`),
    maxCallSockets: 1,
  });
  t.after(() => network.close());

  const calls = [network.post('/', 'first')];
  const deadline = Date.now() + 10_000;
  while (held.length === 0) {
    assert.ok(Date.now() < deadline, 'the first call never arrived');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  calls.push(network.post('/', 'update 1'), network.post('/', 'update 2'));
  calls.push(network.post('/', 'pong', {}, { isUrgent: true }));
  assert.equal(network.stats.callsQueued, 3);
  held[0]?.writeHead(202).end();
  const results = await Promise.all(calls);
  assert.deepEqual(
    results.map((r) => r.status),
    [202, 202, 202, 202],
  );
  assert.deepEqual(arrived, ['first', 'pong', 'update 1', 'update 2']);
});

test('sim network pipelines calls on one connection and matches each answer to its call', async (t) => {
  const arrived: string[] = [];
  const held: (() => void)[] = [];
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      arrived.push(body);
      const answer = () => {
        if (body.startsWith('bad')) res.writeHead(400).end(`refused ${body}`);
        else res.writeHead(202).end();
      };
      // The first answer waits until every call has arrived: they were sent without it.
      if (body === 'first') held.push(answer);
      else answer();
      if (arrived.length === 4) for (const release of held) release();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const network = new SimNetwork({
    master: new URL(`http://127.0.0.1:${port}`),
    maxCallSockets: 1,
    pipelineDepth: 8,
  });
  t.after(() => network.close());

  const results = await Promise.all(
    ['first', 'bad one', 'second', 'bad two'].map((body) =>
      network.post('/', body, { 'mesos-stream-id': 's' }),
    ),
  );
  assert.deepEqual(
    results.map((r) => [r.status, r.body]),
    [
      [202, ''],
      [400, 'refused bad one'],
      [202, ''],
      [400, 'refused bad two'],
    ],
  );
  assert.deepEqual(arrived, ['first', 'bad one', 'second', 'bad two']);
  assert.equal(sockets.size, 1);
});

/** A loopback URL nothing listens on (a port just freed), so a connection to it is refused. */
async function refusingUrl(): Promise<URL> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return new URL(`http://127.0.0.1:${port}`);
}

test('sim network fails the calls of a refused connection with its error code', async () => {
  const network = new SimNetwork({ master: await refusingUrl() });
  try {
    await assert.rejects(network.post('/', 'x'), { code: 'ECONNREFUSED' });
    assert.equal(network.stats.callNetworkErrors, 1);
  } finally {
    network.close();
  }
});

test('sim network sends calls to the new master after retarget and closes the old connection', async (t) => {
  const seen: string[] = [];
  const closedSockets: string[] = [];
  const servers = ['old', 'new'].map((name) => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(name);
        res.writeHead(202).end();
      });
    });
    server.on('connection', (socket) => socket.on('close', () => closedSockets.push(name)));
    server.listen(0, '127.0.0.1');
    t.after(() => server.close());
    return server;
  });
  await Promise.all(servers.map((server) => once(server, 'listening')));
  const urls = servers.map(
    (server) => new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  );
  const network = new SimNetwork({ master: urls[0] as URL });
  t.after(() => network.close());
  assert.equal((await network.post('/', 'a')).status, 202);
  network.retarget(urls[1] as URL);
  assert.equal((await network.post('/', 'b')).status, 202);
  assert.deepEqual(seen, ['old', 'new']);
  const deadline = Date.now() + 10_000;
  while (!closedSockets.includes('old')) {
    assert.ok(Date.now() < deadline, 'the connection to the old master stayed open');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
});

test("sim network fails the waiting calls that carry the old master's stream id at retarget", async (t) => {
  const seen: { readonly at: string; readonly streamId: string | undefined; body: string }[] = [];
  const held: ServerResponse[] = [];
  const servers = ['old', 'new'].map((at) => {
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        const streamId = req.headers['mesos-stream-id'];
        seen.push({ at, streamId: typeof streamId === 'string' ? streamId : undefined, body });
        // The old master holds the only socket, so the later calls wait in the queue.
        if (at === 'old') held.push(res);
        else res.writeHead(202).end();
      });
    });
    server.listen(0, '127.0.0.1');
    t.after(() => server.close());
    return server;
  });
  await Promise.all(servers.map((server) => once(server, 'listening')));
  const urls = servers.map(
    (server) => new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  );
  const network = new SimNetwork({ master: urls[0] as URL, maxCallSockets: 1 });
  t.after(() => network.close());
  const first = network.post('/', 'in flight', { 'mesos-stream-id': 'old-stream' });
  const deadline = Date.now() + 10_000;
  while (held.length === 0) {
    assert.ok(Date.now() < deadline, 'the first call never arrived');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const update = network.post('/', 'update', { 'mesos-stream-id': 'old-stream' });
  const pong = network.post('/', 'pong', { 'mesos-stream-id': 'old-stream' }, { isUrgent: true });
  const plain = network.post('/', 'no stream');
  network.retarget(urls[1] as URL);
  await assert.rejects(update, /another master was elected/);
  await assert.rejects(pong, /another master was elected/);
  assert.equal((await plain).status, 202);
  held[0]?.writeHead(202).end();
  assert.equal((await first).status, 202, 'what was in flight is answered where it went');
  assert.deepEqual(
    seen.map(({ at, streamId, body }) => `${at} ${streamId ?? '-'} ${body}`),
    ['old old-stream in flight', 'new - no stream'],
  );
  assert.equal(network.stats.callsQueued, 0);
});

/** The bytes of the first request each connection to a raw server brings, until `count` arrived. */
async function rawRequests(
  t: TestContext,
  count: number,
  send: (url: URL) => Promise<unknown>[],
): Promise<string[]> {
  const seen: string[] = [];
  const server = createNetServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      if (headEnd < 0 || text.length < headEnd + 4 + length) return;
      seen.push(text);
      socket.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const attempts = send(url).map((sent) => sent.catch(() => undefined));
  const deadline = Date.now() + 10_000;
  while (seen.length < count) {
    assert.ok(Date.now() < deadline, 'the requests never arrived');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(attempts);
  return seen;
}

test("sim network's SUBSCRIBE is byte for byte the request a real agent's client sends", async (t) => {
  const body = JSON.stringify({ type: 'SUBSCRIBE', subscribe: { agent_info: { hostname: 'é' } } });
  // The real agent (agent/master-link.ts): the SDK's openStream with these headers.
  const [real] = await rawRequests(t, 1, (url) => [
    openStream(new URL('/master/api/v1/agent', url), {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
    }),
  ]);
  const simulated = await rawRequests(t, 2, (url) => {
    const network = new SimNetwork({ master: url });
    t.after(() => network.close());
    // As text, and as bytes kept from an earlier rendering.
    return [
      network.openStream('/master/api/v1/agent', body),
      network.openStream('/master/api/v1/agent', Buffer.from(body)),
    ];
  });
  // The port differs (two servers): compare with it masked.
  const masked = (text: string | undefined) => text?.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT');
  assert.ok(real?.startsWith('POST /master/api/v1/agent HTTP/1.1\r\n'), real);
  assert.equal(masked(simulated[0]), masked(real));
  assert.equal(masked(simulated[1]), masked(real));
});

test('sim network reads every event of a stream as it comes, and its end when the master closes it', async (t) => {
  let stream: ServerResponse | undefined;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.headers['x-refuse'] !== undefined || stream !== undefined) {
        res.writeHead(503).end('no leading master');
        return;
      }
      stream = res;
      res.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 'Id-1' });
      res.write(record({ type: 'SUBSCRIBED', subscribed: { n: 1 } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const network = new SimNetwork({ master: new URL(`http://127.0.0.1:${port}`) });
  t.after(() => network.close());

  const opened = await network.openStream('/', '{}');
  assert.equal(opened.status, 200);
  assert.equal(opened.streamId, 'Id-1');
  const events: unknown[] = [];
  let ended: Error | undefined | 'no' = 'no';
  readEvents(
    opened.response,
    (event) => events.push(event),
    (error) => {
      ended = error;
    },
  );
  const waitFor = async (what: string, condition: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  await waitFor('SUBSCRIBED', () => events.length === 1);
  // Later events, one record split over two writes, and two records in one write.
  const ping = record({ type: 'PING', ping: { at: 1 } });
  stream?.write(ping.slice(0, 5));
  stream?.write(ping.slice(5));
  stream?.write(record({ type: 'RUN_TASK' }) + record({ type: 'PING', ping: { at: 2 } }));
  await waitFor('the later events', () => events.length === 4);
  assert.deepEqual(events, [
    { type: 'SUBSCRIBED', subscribed: { n: 1 } },
    { type: 'PING', ping: { at: 1 } },
    { type: 'RUN_TASK' },
    { type: 'PING', ping: { at: 2 } },
  ]);
  assert.equal(ended, 'no');
  stream?.destroy();
  await waitFor('the end', () => ended !== 'no');
  assert.equal(network.stats.streamsOpened, 1);

  // A refusal: its status, and its text read whole.
  const refused = await network.openStream('/', '{}');
  assert.equal(refused.status, 503);
  assert.equal(await readText(refused.response), 'no leading master');
});

test('sim network rejects a subscription whose connection is refused, with the error code', async () => {
  const network = new SimNetwork({ master: await refusingUrl() });
  try {
    await assert.rejects(network.openStream('/', '{}'), { code: 'ECONNREFUSED' });
  } finally {
    network.close();
  }
});
