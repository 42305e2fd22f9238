import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { Zone } from '../../src/frameworks/services/dns.js';
import {
  DnsServer,
  MAX_TCP_UNREAD_ANSWER_BYTES,
} from '../../src/frameworks/services/dns-server.js';

const SUFFIX = 'services.agora.directory';

/** A TCP DNS query (length-prefixed) for the A records of `name`. */
function tcpQuery(id: number, name: string): Buffer {
  const labels = name.split('.').map((label) => {
    const bytes = Buffer.from(label, 'latin1');
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  });
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const message = Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(message.length, 0);
  return Buffer.concat([prefix, message]);
}

/** Resolves when `predicate` holds, polled every 20 ms; rejects after `timeoutMs`. */
async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('DNS over TCP: a client that pipelines queries and reads nothing is not read from, and gets every answer once it reads', async (t) => {
  const instances = Array.from({ length: 4 }, (_, i) => ({
    appLabel: 'web',
    id: `web.instance-${i}`,
    ip: `10.0.0.${i + 1}`,
    ports: [31000 + i, 32000 + i],
  }));
  const zone = new Zone(SUFFIX, instances);
  const server = new DnsServer(() => zone);
  const port = await server.start('127.0.0.1', 0);
  t.after(() => server.stop());
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.pause();
  // 100,000 queries (4.4 MB) asking for ~13 MB of answers: more than the kernel's socket
  // buffers hold, so a server that read them all would have to hold most answers itself.
  const query = tcpQuery(7, `web.${SUFFIX}`);
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => query));
  const queriesSent = 100_000;
  for (let i = 0; i < queriesSent / 1000; i++) socket.write(batch);
  // Until the server has read every query, or 5 s: the answers it holds stay bounded.
  let mostUnread = 0;
  const deadline = Date.now() + 5000;
  while (socket.writableLength > 0 && Date.now() < deadline) {
    mostUnread = Math.max(mostUnread, server.unreadAnswerBytes());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(
    mostUnread <= MAX_TCP_UNREAD_ANSWER_BYTES + 64 * 1024,
    `answers waiting for the client: up to ${mostUnread} bytes`,
  );
  assert.ok(socket.writableLength > 0, 'the server stopped reading a client that reads nothing');
  // Once the client reads, every query it sent is answered, in order, none dropped.
  let answers = 0;
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const length = pending.readUInt16BE(0);
      assert.equal(pending.readUInt16BE(2), 7, 'the answer carries the query id');
      assert.equal(pending.readUInt16BE(2 + 6), 4, 'each answer has its 4 A records');
      pending = pending.subarray(2 + length);
      answers += 1;
    }
  });
  socket.resume();
  await until(`${queriesSent} answers (have ${answers})`, () => answers === queriesSent, 60_000);
});
