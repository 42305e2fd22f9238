// The simulator's call queue against a real node:http server on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SimNetwork } from '../../src/sim/sim-network.js';

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

test('sim network fails the calls of a refused connection with its error code', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  const network = new SimNetwork({ master: new URL(`http://127.0.0.1:${port}`) });
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
