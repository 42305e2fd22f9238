// The floor under a failover's re-registration storm (#10): what a bare node:http server,
// with no Agora code, pays per agent that opens a new connection, POSTs a SUBSCRIBE of
// 10 tasks (the standby rehearsal's shape) and keeps the answer's stream open, as each
// agent does with a new leader. The server runs in a process of its own; the agents are
// raw sockets in this one (the cheapest client: its CPU is printed too, since on the
// bench machine the simulated agents share the two cores with the master).
//
//   node --import tsx bench/storm-floor.ts [--agents 10000] [--opening 500] [--rounds 3]
//     [--server parse|bytes]   parse: JSON.parse the body (default); bytes: read it only
//
// Each round: every agent connects and subscribes (at most `opening` connections not yet
// answered at once), all streams stay open until the last agent is answered, then all
// close. The server's CPU over the round divided by the agents is the floor per
// re-registration on one thread.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { rehearsalAgent, rehearsalSubscribe } from '../src/master/warm-up.js';

const SERVER = `
const http = require('node:http');
const readline = require('node:readline');
const mode = process.argv[1];
// A SUBSCRIBED event as the master frames it (RecordIO: length, newline, JSON), ~300 bytes.
const subscribed = JSON.stringify({ type: 'SUBSCRIBED', subscribed: { agent_id: { value: 'x'.repeat(44) },
  heartbeat_interval_seconds: 15, master_info: { id: 'y'.repeat(36), ip: 16777343, port: 5050,
  hostname: '127.0.0.1', version: '1.11.0' }, total_ping_timeout_seconds: 75, folds_pongs: true,
  reregister_spread_ms: 1000 } });
const record = Buffer.from(Buffer.byteLength(subscribed) + '\\n' + subscribed);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (mode === 'parse') JSON.parse(body.toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 'z'.repeat(36) });
    res.write(record);
  });
});
server.keepAliveTimeout = 600000;
server.requestTimeout = 0;
server.listen({ port: 0, host: '127.0.0.1', backlog: 65535 }, () =>
  process.stdout.write(server.address().port + '\\n'));
readline.createInterface({ input: process.stdin }).on('line', () => {
  const u = process.cpuUsage();
  process.stdout.write((u.user + u.system) + '\\n');
});
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string', default: '10000' },
      opening: { type: 'string', default: '500' },
      rounds: { type: 'string', default: '3' },
      server: { type: 'string', default: 'parse' },
    },
  });
  const agents = Number(values.agents);
  const opening = Number(values.opening);
  const mode = values.server === 'bytes' ? 'bytes' : 'parse';
  const child = spawn(process.execPath, ['-e', SERVER, mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => String((await lines.next()).value);
  const port = Number(await nextLine());
  const serverCpuUs = async (): Promise<number> => {
    child.stdin.write('\n');
    return Number(await nextLine());
  };
  const requests = Array.from({ length: agents }, (_, i) => {
    const body = JSON.stringify(rehearsalSubscribe(rehearsalAgent(i), i, 10));
    return Buffer.from(
      `POST /master/api/v1/agent HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
  console.log(
    `storm floor: ${agents} agents, SUBSCRIBE body ${requests[0]?.length ?? 0} bytes, server ${mode}, ${opening} opening at once; load ${loadavg()[0]?.toFixed(1)}`,
  );
  for (let round = 1; round <= Number(values.rounds); round++) {
    const sockets: Socket[] = [];
    const serverBefore = await serverCpuUs();
    const clientBefore = process.cpuUsage();
    const started = performance.now();
    let next = 0;
    await new Promise<void>((resolve, reject) => {
      let answered = 0;
      const open = (): void => {
        const i = next++;
        const request = requests[i];
        if (request === undefined) return;
        const socket = connect(port, '127.0.0.1', () => socket.write(request));
        sockets.push(socket);
        socket.once('data', () => {
          answered++;
          if (answered === agents) resolve();
          else open();
        });
        socket.on('error', reject);
      };
      for (let k = 0; k < Math.min(opening, agents); k++) open();
    });
    const wallMs = performance.now() - started;
    const serverUs = (await serverCpuUs()) - serverBefore;
    const client = process.cpuUsage(clientBefore);
    for (const socket of sockets) socket.destroy();
    console.log(
      `round ${round}: ${(wallMs / 1000).toFixed(2)} s wall; server ${(serverUs / 1000).toFixed(0)} ms CPU = ${(serverUs / agents).toFixed(1)} µs per agent; client ${((client.user + client.system) / agents).toFixed(1)} µs per agent; load ${loadavg()[0]?.toFixed(1)}`,
    );
    // Let the server see every close before the next round's CPU is read.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  child.kill();
  await once(child, 'exit');
}

await main();
