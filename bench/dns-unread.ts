// What one TCP client that pipelines DNS queries and never reads the answers costs the
// services framework's DNS server: the server in this process, answering from a zone of 40
// instances, and a client flooding it for --seconds. Reports the client's bytes sent, the
// answers the server holds for it (unreadAnswerBytes) and this process's RSS growth. A server
// that queued every answer grew by the answers' size; one that stops reading the client holds
// at most MAX_TCP_UNREAD_ANSWER_BYTES for it, and the idle timeout then closes it.
//
//   node --import tsx bench/dns-unread.ts [--seconds 20]
import { once } from 'node:events';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Zone } from '../src/frameworks/services/dns.js';
import { DnsServer } from '../src/frameworks/services/dns-server.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' } } });
const seconds = Number(values.seconds);
const SUFFIX = 'services.agora.directory';

function tcpQuery(name: string): Buffer {
  const labels = name
    .split('.')
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const message = Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  return Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]);
}

const instances = Array.from({ length: 40 }, (_, i) => ({
  appLabel: 'web',
  id: `web.instance-${i}`,
  ip: `10.0.0.${i + 1}`,
  ports: [31000 + i],
}));
const zone = new Zone(SUFFIX, instances);
const server = new DnsServer(() => zone);
const port = await server.start('127.0.0.1', 0);
const rssBefore = process.memoryUsage().rss;
const socket = connect(port, '127.0.0.1');
socket.on('error', () => undefined);
await once(socket, 'connect');
socket.pause();
const batch = Buffer.concat(Array.from({ length: 1000 }, () => tcpQuery(`web.${SUFFIX}`)));
let sentBytes = 0;
let mostUnread = 0;
let mostRss = rssBefore;
const deadline = Date.now() + seconds * 1000;
while (Date.now() < deadline && !socket.destroyed) {
  // Writes only while the kernel takes them: what piles up is the server's, not ours.
  if (socket.writableLength < batch.length) {
    socket.write(batch);
    sentBytes += batch.length;
  }
  mostUnread = Math.max(mostUnread, server.unreadAnswerBytes());
  mostRss = Math.max(mostRss, process.memoryUsage().rss);
  await delay(1);
}
const MiB = 2 ** 20;
console.log(
  [
    `seconds ${seconds}, load ${loadavg()[0]?.toFixed(1)}`,
    `client queries sent       ${(sentBytes / MiB).toFixed(1)} MiB (closed by the server: ${socket.destroyed})`,
    `answers held, at most     ${(mostUnread / MiB).toFixed(2)} MiB`,
    `RSS growth, at most       ${((mostRss - rssBefore) / MiB).toFixed(0)} MiB`,
  ].join('\n'),
);
socket.destroy();
await server.stop();
