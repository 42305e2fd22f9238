// The floor under a failover's re-registration storm (#10): what a server with no Agora
// code pays per agent that opens a new connection, POSTs a SUBSCRIBE of 10 tasks (the
// standby rehearsal's shape) and keeps the answer's stream open, as each agent does with a
// new leader. The server runs in a process of its own; the agents are raw sockets in this
// one (the cheapest client: its CPU is printed too, since on the bench machine the
// simulated agents share the two cores with the master). The request is the bytes a real
// agent sends (agent/master-link.ts: lower-case headers, `Connection: close`).
//
//   node --import tsx bench/storm-floor.ts [--agents 10000] [--opening 500] [--rounds 3]
//     [--server <mode>] [--pair <mode>,<mode>,...]
//
//   parse        node:http with its default options; JSON.parse the body; answer with
//                writeHead + write (the default, as in the ninth pass)
//   bytes        the same without the parse
//   agora        node:http with the master's options (headersTimeout 20 s, requestTimeout
//                0, connections checked every 1 s, keepAliveTimeout 65 s), the stream's
//                headers (content-type, cache-control, Mesos-Stream-Id), the socket corked
//                and the head plus the chunk framed by hand in one writev, as EventStream
//                does; no parse
//   agora-peer   agora, and the peer's address read (socket.remoteAddress: getpeername)
//   agora-parse  agora-peer with JSON.parse of the body
//   agora-defaults    agora-peer on node:http's default timeouts (headers 60 s, request
//                300 s, connections checked every 30 s): what the master's options cost
//   agora-checks-off  agora-peer with node:http's clocks off (headersTimeout and
//                requestTimeout 0): what its per-connection timing costs at all
//   net          a net.Server that reads the head and the Content-Length body itself and
//                writes the same head and first chunk in one write: the floor below
//                node:http; the peer's address read
//   net-parse    net with JSON.parse of the body
//   front        agora's node:http server, whose 'connection' a front takes: it reads the
//                head and body itself (as net), then answers through node:http's own
//                ServerResponse (IncomingMessage and ServerResponse made by hand, the
//                socket assigned): what is left of node:http's cost when only its parser
//                and request machinery are bypassed; the peer's address read. A sketch
//                for measuring only: in two runs of four rounds it left 20 of 5,000 agents
//                unanswered once, and had rounds of 3-6 s wall (not explained)
//   runtime      Agora's own HTTP layer without the master: src/runtime's HttpServer (its
//                dispatch, route table, body deadlines, request lifetime), the agent API's
//                body read (readJsonBytes), the turn budget, and an EventStream with its
//                headers held for SUBSCRIBED and PING, as the master opens an agent's; the
//                peer's address read; no parse. Over agora-peer: what Agora's layer adds
//
// --pair runs the given modes one round each, interleaved, --rounds times (a server
// process per mode, all started at once): ratios between modes in the same minutes.
// STORM_FLOOR_PROFILE_DIR=<dir>: the runtime mode's server writes a .cpuprofile there.
// A round not over within a minute (a connection lost) is reported with its count unanswered.
//
// Each round: every agent connects and subscribes (at most `opening` connections not yet
// answered at once), all streams stay open until the last agent is answered, then all
// close. The server's CPU over the round divided by the agents is the floor per
// re-registration on one thread.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { rehearsalAgent, rehearsalSubscribe } from '../src/master/warm-up.js';

const MODES = [
  'parse',
  'bytes',
  'agora',
  'agora-peer',
  'agora-parse',
  'agora-defaults',
  'agora-checks-off',
  'net',
  'net-parse',
  'front',
  'runtime',
] as const;
type Mode = (typeof MODES)[number];

const SERVER = `
const http = require('node:http');
const net = require('node:net');
const readline = require('node:readline');
const mode = process.argv[1];
const isParse = mode === 'parse' || mode === 'agora-parse' || mode === 'net-parse';
const readsPeer = mode.startsWith('agora-') || mode.startsWith('net');
// A SUBSCRIBED event as the master frames it (RecordIO: length, newline, JSON), ~300 bytes.
const subscribed = JSON.stringify({ type: 'SUBSCRIBED', subscribed: { agent_id: { value: 'x'.repeat(44) },
  heartbeat_interval_seconds: 15, master_info: { id: 'y'.repeat(36), ip: 16777343, port: 5050,
  hostname: '127.0.0.1', version: '1.11.0' }, total_ping_timeout_seconds: 75, folds_pongs: true,
  reregister_spread_ms: 1000 } });
const ping = JSON.stringify({ type: 'PING' });
const record = Buffer.byteLength(subscribed) + '\\n' + subscribed;
const pingRecord = Buffer.byteLength(ping) + '\\n' + ping;
const framed = record.length.toString(16) + '\\r\\n' + record + '\\r\\n' +
  pingRecord.length.toString(16) + '\\r\\n' + pingRecord + '\\r\\n';
let peers = 0;
function streamId() { return 'z'.repeat(36); }

let server;
const CRLF2 = Buffer.from('\\r\\n\\r\\n');
/** Reads one request (head, Content-Length body) off the socket, then calls answer(body). */
function readRequest(socket, answer) {
  let buffered = null;
  let need = -1;
  let headEnd = -1;
  const onData = (chunk) => {
    buffered = buffered === null ? chunk : Buffer.concat([buffered, chunk]);
    if (headEnd < 0) {
      headEnd = buffered.indexOf(CRLF2);
      if (headEnd < 0) return;
      const head = buffered.latin1Slice(0, headEnd);
      const at = head.indexOf('content-length: ');
      need = headEnd + 4 + Number(head.slice(at + 16, head.indexOf('\\r\\n', at)));
    }
    if (buffered.length < need) return;
    const body = buffered.subarray(headEnd + 4, need);
    buffered = null;
    socket.removeListener('data', onData);
    answer(body);
  };
  socket.on('data', onData);
}
if (mode === 'front') {
  server = http.createServer({ keepAliveTimeout: 65000, headersTimeout: 20000, requestTimeout: 0, connectionsCheckingInterval: 1000 }, () => {});
  server.removeAllListeners('connection');
  server.on('connection', (socket) => {
    readRequest(socket, (body) => {
      if (socket.remoteAddress) peers++;
      const req = new http.IncomingMessage(socket);
      req.method = 'POST';
      req.url = '/master/api/v1/agent';
      req.httpVersionMajor = 1;
      req.httpVersionMinor = 1;
      req.httpVersion = '1.1';
      req.complete = true;
      const res = new http.ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(socket);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'Mesos-Stream-Id': streamId() });
      socket.cork();
      res.flushHeaders();
      socket.write(framed, 'latin1');
      socket.uncork();
    });
    socket.on('error', () => {});
  });
} else if (mode.startsWith('net')) {
  // The head as node:http writes it for this answer to a request with Connection: close.
  const headOf = () => 'HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncache-control: no-cache\\r\\nMesos-Stream-Id: ' +
    streamId() + '\\r\\nDate: ' + new Date().toUTCString() + '\\r\\nConnection: close\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n';
  server = net.createServer({ noDelay: true }, (socket) => {
    readRequest(socket, (body) => {
      if (isParse) JSON.parse(body.latin1Slice(0, body.length));
      if (readsPeer && socket.remoteAddress) peers++;
      socket.write(headOf() + framed, 'latin1');
    });
    socket.on('error', () => {});
  });
} else {
  const isAgora = mode.startsWith('agora');
  const options = mode === 'agora-defaults' ? {}
    : mode === 'agora-checks-off' ? { keepAliveTimeout: 65000, headersTimeout: 0, requestTimeout: 0 }
    : isAgora
    ? { keepAliveTimeout: 65000, headersTimeout: 20000, requestTimeout: 0, connectionsCheckingInterval: 1000 }
    : {};
  server = http.createServer(options, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      if (isParse) JSON.parse(body.toString('latin1'));
      if (readsPeer && req.socket.remoteAddress) peers++;
      if (!isAgora) {
        res.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': streamId() });
        res.write(record);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'Mesos-Stream-Id': streamId() });
      const socket = res.socket;
      socket.cork();
      res.flushHeaders();
      socket.write(framed, 'latin1');
      socket.uncork();
    });
  });
  if (!isAgora) {
    server.keepAliveTimeout = 600000;
    server.requestTimeout = 0;
  }
}
server.listen({ port: 0, host: '127.0.0.1', backlog: 65535 }, () =>
  process.stdout.write(server.address().port + '\\n'));
readline.createInterface({ input: process.stdin }).on('line', () => {
  const u = process.cpuUsage();
  process.stdout.write((u.user + u.system) + '\\n');
});
`;

interface FloorServer {
  readonly mode: Mode;
  readonly child: ChildProcess;
  readonly port: number;
  readonly cpuUs: () => Promise<number>;
}

async function startServer(mode: Mode): Promise<FloorServer> {
  const args: string[] =
    mode === 'runtime'
      ? ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve']
      : ['-e', SERVER, mode];
  // STORM_FLOOR_PROFILE_DIR=<dir>: each server writes a .cpuprofile there when it exits.
  const profileDir = process.env.STORM_FLOOR_PROFILE_DIR;
  if (profileDir !== undefined) args.unshift('--cpu-prof', '--cpu-prof-dir', profileDir);
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const stdout = child.stdout;
  const stdin = child.stdin;
  if (stdout === null || stdin === null) throw new Error('server has no pipes');
  const lines = createInterface({ input: stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => String((await lines.next()).value);
  const port = Number(await nextLine());
  return {
    mode,
    child,
    port,
    cpuUs: async () => {
      stdin.write('\n');
      return Number(await nextLine());
    },
  };
}

/** The agent's SUBSCRIBE as agent/master-link.ts writes it, for `port`. */
function requestsFor(bodies: readonly string[], port: number): Buffer[] {
  return bodies.map((body) =>
    Buffer.from(
      `POST /master/api/v1/agent HTTP/1.1\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n${body}`,
    ),
  );
}

const ROUND_DEADLINE_MS = 60_000;

async function round(
  server: FloorServer,
  requests: readonly Buffer[],
  opening: number,
): Promise<string> {
  const agents = requests.length;
  const sockets: Socket[] = [];
  const serverBefore = await server.cpuUs();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  let answered = 0;
  let deadline: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    // A round that cannot finish (a connection lost under load) is reported, not waited on.
    deadline = setTimeout(resolve, ROUND_DEADLINE_MS);
    const open = (): void => {
      const request = requests[next++];
      if (request === undefined) return;
      const socket = connect(server.port, '127.0.0.1', () => socket.write(request));
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
  clearTimeout(deadline);
  const wallMs = performance.now() - started;
  const serverUs = (await server.cpuUs()) - serverBefore;
  const client = process.cpuUsage(clientBefore);
  for (const socket of sockets) socket.destroy();
  // Let the server see every close before the next round's CPU is read.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const missing = answered < agents ? ` (${agents - answered} NOT ANSWERED)` : '';
  return `${server.mode.padEnd(11)} ${(wallMs / 1000).toFixed(2)} s wall${missing}; server ${(serverUs / 1000).toFixed(0)} ms CPU = ${(serverUs / agents).toFixed(1)} µs per agent; client ${((client.user + client.system) / agents).toFixed(1)} µs per agent; load ${loadavg()[0]?.toFixed(1)}`;
}

function asMode(name: string): Mode {
  const mode = MODES.find((m) => m === name);
  if (mode === undefined) throw new Error(`--server: one of ${MODES.join(', ')}; got ${name}`);
  return mode;
}

/** The runtime mode's server, in the child process: Agora's HTTP layer, no master. */
async function serveRuntime(): Promise<void> {
  const { EventStream, HttpServer, readJsonBytes, silentLogger, TurnBudget } = await import(
    '../src/runtime/index.js'
  );
  const subscribed = JSON.stringify({
    type: 'SUBSCRIBED',
    subscribed: {
      agent_id: { value: 'x'.repeat(44) },
      heartbeat_interval_seconds: 15,
      master_info: {
        id: 'y'.repeat(36),
        ip: 16777343,
        port: 5050,
        hostname: '127.0.0.1',
        version: '1.11.0',
      },
      total_ping_timeout_seconds: 75,
      folds_pongs: true,
      reregister_spread_ms: 1000,
    },
  });
  const ping = JSON.stringify({ type: 'PING' });
  const turns = new TurnBudget();
  // The agent's address, which the master records: one getpeername per connection.
  let peers = 0;
  const http = new HttpServer({ logger: silentLogger(), delegate: '/master' });
  http.route(['POST'], '/master/api/v1/agent', async (request, response) => {
    await readJsonBytes(request, 128 * 1024 * 1024);
    await turns.run(() => {
      if (request.raw.socket.remoteAddress !== undefined) peers++;
      const stream = new EventStream(response, {
        headers: { 'Mesos-Stream-Id': 'z'.repeat(36) },
        deferHeaders: true,
      });
      stream.sendEncoded(subscribed);
      stream.sendEncoded(ping);
      return new Promise<void>((resolve) => stream.onClose(resolve));
    });
  });
  const address = await http.listen('127.0.0.1', 0);
  process.stdout.write(`${address.port}\n`);
  createInterface({ input: process.stdin }).on('line', () => {
    const usage = process.cpuUsage();
    process.stdout.write(`${usage.user + usage.system}\n`);
  });
  process.on('SIGTERM', () => {
    void http.close().then(() => process.exit(0));
  });
  void peers;
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) {
    await serveRuntime();
    return;
  }
  const { values } = parseArgs({
    options: {
      agents: { type: 'string', default: '10000' },
      opening: { type: 'string', default: '500' },
      rounds: { type: 'string', default: '3' },
      server: { type: 'string', default: 'parse' },
      pair: { type: 'string' },
    },
  });
  const agents = Number(values.agents);
  const opening = Number(values.opening);
  const modes = (values.pair ?? values.server).split(',').map(asMode);
  const servers = await Promise.all(modes.map(startServer));
  const bodies = Array.from({ length: agents }, (_, i) =>
    JSON.stringify(rehearsalSubscribe(rehearsalAgent(i), i, 10)),
  );
  console.log(
    `storm floor: ${agents} agents, SUBSCRIBE body ${Buffer.byteLength(bodies[0] ?? '')} bytes, servers ${modes.join(', ')}, ${opening} opening at once; load ${loadavg()[0]?.toFixed(1)}`,
  );
  try {
    for (let r = 1; r <= Number(values.rounds); r++)
      for (const server of servers)
        console.log(
          `round ${r}: ${await round(server, requestsFor(bodies, server.port), opening)}`,
        );
  } finally {
    for (const { child } of servers) {
      child.kill();
      await once(child, 'exit');
    }
  }
}

await main();
