// What the simulated agents themselves cost in a re-registration storm (#10 goal (b)): on
// the bench machine they share the two cores with the new leader, so every µs of theirs is
// one the leader may not get. A real master (bin/agora.js, from dist/: `npm run build`) in
// a process of its own; `--agents` src/sim agents in this one, each holding `--tasks`
// running tasks; each round closes every agent's stream, then sends every agent to subscribe
// again after a random wait under `--within` ms (as after an election) and prints this
// process's CPU per agent from then to the last SUBSCRIBED, and the master's from /proc.
//
//   node --import tsx bench/failover/sim-client.ts [--agents 5000] [--tasks 10] [--rounds 3]
//     [--within 1000] [--prepare] [--profile <dir>]
//
// --prepare renders every agent's SUBSCRIBE before each round (as bench:failover does
// before its kill), so a round measures the storm alone. --profile writes each round's
// .cpuprofile of this process there.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  mulberry32,
  SimAgentPool,
  SimNetwork,
  TimingWheel,
  WheelDriver,
} from '../../src/sim/index.js';
import { frameworkId } from '../../src/wire/index.js';
import { listenOverflows, processCpuMs } from './storm.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '5000' },
    tasks: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    within: { type: 'string', default: '1000' },
    prepare: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const AGENTS = Number(values.agents);
const TASKS = Number(values.tasks);
const WITHIN_MS = Number(values.within);
const ROOT = join(import.meta.dirname, '..', '..');

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const workDir = mkdtempSync(join(tmpdir(), 'agora-sim-client-'));
const port = await freePort();
const master: ChildProcess = spawn(
  process.execPath,
  [
    join(ROOT, 'bin', 'agora.js'),
    'master',
    '--port',
    String(port),
    '--work_dir',
    workDir,
    '--agent_ping_timeout',
    '60secs',
  ],
  { stdio: 'ignore' },
);
const url = new URL(`http://127.0.0.1:${port}`);
const wheel = new TimingWheel(10, performance.now());
const driver = new WheelDriver(wheel);
driver.start();
const network = new SimNetwork({ master: url });
const pool = new SimAgentPool({
  network,
  count: AGENTS,
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 8192 } },
  ],
  wheel,
  random: mulberry32(10),
});
try {
  for (const deadline = Date.now() + 30_000; ; ) {
    try {
      const response = await fetch(new URL('/health', url));
      if (response.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('the master did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await pool.start();
  pool.holdTasks(
    TASKS,
    { id: frameworkId('sim-client'), user: 'bench', name: 'sim-client', failover_timeout: 3600 },
    [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, allocation_info: { role: '*' } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, allocation_info: { role: '*' } },
    ],
  );
  process.stdout.write(
    `${AGENTS} agents × ${TASKS} tasks, within ${WITHIN_MS} ms${values.prepare ? ', bodies rendered before each round' : ''}; load ${loadavg()[0]?.toFixed(1)}\n`,
  );
  for (let round = 1; round <= Number(values.rounds); round++) {
    if (values.prepare) pool.prepareSubscriptions();
    // The old streams end first, as a killed leader's do seconds before the agents hear of
    // the new one: bench:failover counts from that news, so their close is not counted here.
    pool.partition();
    await until('every stream closed', () => pool.stats.subscribed === 0, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const session = values.profile !== undefined ? new Session() : undefined;
    if (session !== undefined) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const netBefore = listenOverflows();
    const masterBefore = processCpuMs(master.pid);
    const before = cpuMs();
    const started = performance.now();
    pool.heal(WITHIN_MS);
    await until('every agent back', () => pool.stats.subscribed === AGENTS, 300_000);
    const wallMs = performance.now() - started;
    const ownMs = cpuMs() - before;
    const masterMs = (processCpuMs(master.pid) ?? Number.NaN) - (masterBefore ?? Number.NaN);
    const net = listenOverflows();
    if (session !== undefined && values.profile !== undefined) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(values.profile, { recursive: true });
      writeFileSync(join(values.profile, `round-${round}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    }
    process.stdout.write(
      `round ${round}: all back in ${(wallMs / 1000).toFixed(2)} s; this process ${ownMs.toFixed(0)} ms CPU = ${((1000 * ownMs) / AGENTS).toFixed(1)} µs per agent; master ${((1000 * masterMs) / AGENTS).toFixed(0)} µs per agent; ${pool.stats.tasksRunning} tasks held; ${net.overflows - netBefore.overflows} listen-queue overflows, ${net.synRetrans - netBefore.synRetrans} SYNs sent again (machine-wide); load ${loadavg()[0]?.toFixed(1)}\n`,
    );
    // Let the master finish the round's stragglers before the next one is counted.
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
} finally {
  pool.stop();
  network.close();
  driver.stop();
  master.kill('SIGTERM');
  if (master.exitCode === null) await once(master, 'exit');
  rmSync(workDir, { recursive: true, force: true });
}
