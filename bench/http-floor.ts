// The floor under the master's per-call cost (#8): a bare node:http server that reads a
// JSON call of the size the simulated agents and frameworks send (JSON.parse, nothing
// else) and answers an empty 202, in a process of its own, driven by the same client the
// master benchmark uses (src/sim's SimNetwork: keep-alive sockets, our own queue). Its
// calls per CPU-second of the server process is what Node's HTTP/1.1 server does on this
// machine with no Agora code at all; the master's calls per CPU-second against it is the
// ratio RESULTS.md reports.
//
//   node --import tsx bench/http-floor.ts [--seconds 20] [--sockets 64] [--in-flight 4000]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { SimNetwork } from '../src/sim/index.js';
import { procSample } from './master/processes.js';

/** An ACKNOWLEDGE as the simulated frameworks send it (~300 bytes). */
const CALL = JSON.stringify({
  framework_id: { value: 'a8f7e4c2-3b1d-4e5f-9a6b-7c8d9e0f1a2b-0000' },
  type: 'ACKNOWLEDGE',
  acknowledge: {
    agent_id: { value: 'b9e8d7c6-5a4b-3c2d-1e0f-a1b2c3d4e5f6-S1234' },
    task_id: { value: 'bench-framework-7-task-123456' },
    uuid: 'q7L0vXo9T1mS3cYy0b1H2w==',
  },
});

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.statusCode = 202;
    res.end();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      sockets: { type: 'string', default: '64' },
      'in-flight': { type: 'string', default: '4000' },
    },
  });
  const seconds = Number(values.seconds);
  const inFlight = Number(values['in-flight']);
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('server did not start');
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    const network = new SimNetwork({
      master: new URL(`http://127.0.0.1:${port}`),
      maxCallSockets: Number(values.sockets),
    });
    let isRunning = true;
    let answered = 0;
    // A steady backlog, as the master benchmark's rows have: each answer sends the next call.
    const loop = async () => {
      while (isRunning) {
        await network.post('/call', CALL, { 'mesos-stream-id': 'x' });
        answered++;
      }
    };
    const loops = Array.from({ length: inFlight }, () => loop().catch(() => {}));
    await delay(3_000); // warm-up
    const load = loadavg()[0] ?? 0;
    const before = procSample(pid);
    const answeredBefore = answered;
    const clientBefore = process.cpuUsage();
    const startMs = performance.now();
    await delay(seconds * 1000);
    const elapsed = (performance.now() - startMs) / 1000;
    const after = procSample(pid);
    const client = process.cpuUsage(clientBefore);
    const calls = answered - answeredBefore;
    isRunning = false;
    network.close();
    await Promise.all(loops);
    const serverCpu = after.cpuSeconds - before.cpuSeconds;
    const clientCpu = (client.user + client.system) / 1e6;
    process.stdout.write(
      [
        `bare node:http, POST of ${CALL.length} B → JSON.parse → 202, ${values.sockets} keep-alive sockets, ${inFlight} calls kept waiting`,
        `calls/s                     ${(calls / elapsed).toFixed(0)}`,
        `server CPU % of one core    ${((100 * serverCpu) / elapsed).toFixed(0)}`,
        `calls per server CPU-s      ${(calls / serverCpu).toFixed(0)}`,
        `µs of server CPU per call   ${((1e6 * serverCpu) / calls).toFixed(1)}`,
        `client CPU % of one core    ${((100 * clientCpu) / elapsed).toFixed(0)}`,
        `load 1m                     ${load.toFixed(1)}→${(loadavg()[0] ?? 0).toFixed(1)}`,
        '',
      ].join('\n'),
    );
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
