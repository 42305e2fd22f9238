// What an agent's stream costs the master to put its first records on the wire (#10): a
// newly elected master opens one per re-registering agent, its headers held back
// (deferHeaders) until SUBSCRIBED and the first PING go out with them. `--streams`
// connections, raw sockets in a process of their own that read and drop what comes, each
// GET a stream here; once all are open, each is sent a SUBSCRIBED of the master's size and
// a PING, and flushed: the CPU of that loop (its writes into loopback sockets included,
// which run the receiver's TCP path in the sender's syscall) per stream.
//
//   node --import tsx bench/stream-first-write.ts [--streams 2000] [--rounds 5]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { EventStream } from '../src/runtime/index.js';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
  },
});
const STREAMS = Number(values.streams);
const ROUNDS = Number(values.rounds);

const CLIENT = `
const net = require('node:net');
const [port, count] = process.argv.slice(1).map(Number);
const sockets = [];
let opened = 0;
for (let i = 0; i < count; i++) {
  const socket = net.connect(port, '127.0.0.1', () => {
    socket.write('POST /master/api/v1/agent HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\n\\r\\n');
    if (++opened === count) process.stdout.write('open\\n');
  });
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  sockets.push(socket);
}
process.stdin.on('end', () => { for (const s of sockets) s.destroy(); process.exit(0); });
process.stdin.resume();
`;

/** A SUBSCRIBED as a master sends an agent, ~500 bytes, and a PING. */
function subscribed(i: number) {
  return {
    type: 'SUBSCRIBED',
    subscribed: {
      agent_id: { value: `5d8004f5-dd9c-4a30-adc7-eea719c75f48-S${i}` },
      heartbeat_interval_seconds: 15,
      master_info: {
        id: '5d8004f5-dd9c-4a30-adc7-eea719c75f48',
        ip: 16777343,
        port: 5050,
        hostname: '127.0.0.1',
        version: '1.11.0',
        address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: 5050 },
      },
      total_ping_timeout_seconds: 75,
      folds_pongs: true,
      reregister_spread_ms: 1000,
      agent_info: { hostname: `agent-${i}.sim`, port: 5051, id: { value: `S${i}` } },
    },
  };
}
const PING = { type: 'PING', ping: { reregister_spread_ms: 1000 } };

process.stderr.write(`${STREAMS} streams; load ${loadavg()[0]?.toFixed(1)}\n`);
for (let round = 1; round <= ROUNDS; round++) {
  const responses: ServerResponse[] = [];
  let allIn: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => {
    allIn = resolve;
  });
  const server = createServer((_request, response) => {
    responses.push(response);
    if (responses.length === STREAMS) allIn();
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 65_535 });
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = spawn(process.execPath, ['-e', CLIENT, String(port), String(STREAMS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await arrived;
  const from = process.cpuUsage();
  for (const [i, response] of responses.entries()) {
    const stream = new EventStream<unknown>(response, {
      headers: { 'Mesos-Stream-Id': `stream-${i}` },
      deferHeaders: true,
    });
    stream.send(subscribed(i));
    stream.send(PING);
    stream.flush();
  }
  const used = process.cpuUsage(from);
  process.stderr.write(
    `round ${round}: ${((used.user + used.system) / STREAMS).toFixed(2)} µs CPU per stream ` +
      `(${(used.system / STREAMS).toFixed(2)} of it in the kernel); load ${loadavg()[0]?.toFixed(1)}\n`,
  );
  client.stdin?.end();
  await once(client, 'exit');
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}
