// The master's CPU per HTTP call, call path alone (#8): one real master process, N simulated
// agents subscribed (their SUBSCRIBEs timed: master CPU per registration), then a steady
// backlog of one kind of call at a time, each answered by an empty 202 and setting off no
// other work: an agent's PONG (the agent API, its budgeted queue) and a framework's RECONCILE
// of no tasks (the scheduler API: content negotiation, stream id, the wait for the outbox).
// Master CPU per call over the window, against bench/http-floor.ts's bare node:http figure
// for the floor. The load rows of bench/master.ts divide all of a task's work (offers,
// stream writes, allocation) by its calls; this one is the HTTP layer's share.
//
//   node --import tsx bench/master-calls.ts [--seconds 8] [--agents 64] [--rounds 2]
//     [--baseline <other build>/bin/agora.js]   (rounds alternate: baseline, this build)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { mulberry32, SimAgentPool, type SimNetwork } from '../src/sim/index.js';
import { readEvents } from '../src/sim/sim-network.js';
import { Bed, procSample } from './master/processes.js';

/** Calls kept waiting at once: more than the 64 call sockets, so the master never idles. */
const IN_FLIGHT = 1000;
const WARM_UP_MS = 2000;

interface Measured {
  readonly callsPerSecond: number;
  readonly cpuPercent: number;
  readonly usPerCall: number;
  readonly writesPerCall: number;
}

async function measure(
  pid: number,
  seconds: number,
  call: (i: number) => Promise<void>,
): Promise<Measured> {
  let isRunning = true;
  let answered = 0;
  const loop = async (first: number) => {
    for (let i = first; isRunning; i += IN_FLIGHT) {
      await call(i);
      answered++;
    }
  };
  const loops = Array.from({ length: IN_FLIGHT }, (_, k) => loop(k));
  await delay(WARM_UP_MS);
  const before = procSample(pid);
  const answeredBefore = answered;
  const startMs = performance.now();
  await delay(seconds * 1000);
  const after = procSample(pid);
  const elapsed = (performance.now() - startMs) / 1000;
  const calls = answered - answeredBefore;
  isRunning = false;
  await Promise.all(loops);
  const cpu = after.cpuSeconds - before.cpuSeconds;
  return {
    callsPerSecond: calls / elapsed,
    cpuPercent: (100 * cpu) / elapsed,
    usPerCall: (1e6 * cpu) / calls,
    writesPerCall: (after.writeSyscalls - before.writeSyscalls) / calls,
  };
}

function expect202(what: string): (result: { status: number; body: string }) => void {
  return (result) => {
    if (result.status !== 202) throw new Error(`${what}: ${result.status} ${result.body}`);
  };
}

async function subscribeFramework(network: SimNetwork) {
  const opened = await network.openStream(
    '/master/api/v1/scheduler',
    JSON.stringify({
      type: 'SUBSCRIBE',
      subscribe: {
        framework_info: {
          user: 'bench',
          name: 'master-calls',
          roles: ['bench'],
          capabilities: [{ type: 'MULTI_ROLE' }],
        },
      },
    }),
  );
  if (opened.status !== 200 || opened.streamId === undefined)
    throw new Error(`framework SUBSCRIBE: ${opened.status}`);
  const frameworkId = await new Promise<string>((resolve, reject) => {
    readEvents<{ type: string; subscribed?: { framework_id: { value: string } } }>(
      opened.response,
      (event) => {
        if (event.type === 'SUBSCRIBED' && event.subscribed !== undefined)
          resolve(event.subscribed.framework_id.value);
      },
      (error) => reject(error ?? new Error('scheduler stream ended before SUBSCRIBED')),
    );
  });
  return { streamId: opened.streamId, frameworkId, close: () => opened.response.destroy() };
}

async function round(label: string, agentCount: number, seconds: number): Promise<string> {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-bench-calls-'));
  const bed = new Bed(workDir, 'calls', undefined, 64);
  try {
    const signal = new AbortController().signal;
    // Pings far apart: the PONGs measured are the ones sent here.
    const { master, agents, frameworks } = await bed.startMaster(signal, [
      '--agent_ping_timeout',
      '600secs',
    ]);
    const pool = new SimAgentPool({
      network: agents,
      count: agentCount,
      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.2 } }],
      wheel: bed.wheel,
      random: mulberry32(1),
    });
    bed.defer(() => pool.stop());
    const beforeRegister = procSample(master.pid);
    const registerStart = performance.now();
    await pool.start();
    const registerSeconds = (performance.now() - registerStart) / 1000;
    const registerCpu = procSample(master.pid).cpuSeconds - beforeRegister.cpuSeconds;
    const ids = pool.agentIds;
    const streams = pool.agentStreamIds;
    const pong = await measure(master.pid, seconds, (i) => {
      const k = i % ids.length;
      return agents
        .post(
          '/master/api/v1/agent',
          JSON.stringify({ type: 'PONG', agent_id: { value: ids[k] } }),
          { 'mesos-stream-id': streams[k] ?? '' },
        )
        .then(expect202('PONG'));
    });
    const framework = await subscribeFramework(frameworks);
    bed.defer(() => {
      framework.close();
    });
    const reconcileBody = JSON.stringify({
      type: 'RECONCILE',
      framework_id: { value: framework.frameworkId },
      reconcile: { tasks: [] },
    });
    const reconcile = await measure(master.pid, seconds, () =>
      frameworks
        .post('/master/api/v1/scheduler', reconcileBody, { 'mesos-stream-id': framework.streamId })
        .then(expect202('RECONCILE')),
    );
    const row = (what: string, m: Measured) =>
      `${what} ${m.usPerCall.toFixed(1).padStart(6)} µs/call  ${m.callsPerSecond.toFixed(0).padStart(6)} calls/s  master ${m.cpuPercent.toFixed(0).padStart(3)}%  ${m.writesPerCall.toFixed(2)} writes/call`;
    return [
      `${label} (load ${(loadavg()[0] ?? 0).toFixed(1)})`,
      `  SUBSCRIBE ×${agentCount}: ${registerSeconds.toFixed(1)} s, ${((1e6 * registerCpu) / agentCount).toFixed(0)} µs of master CPU each`,
      `  ${row('PONG     ', pong)}`,
      `  ${row('RECONCILE', reconcile)}`,
    ].join('\n');
  } finally {
    await bed.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '8' },
      agents: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '2' },
      baseline: { type: 'string' },
      // Internal: one round in this process, with the build AGORA_BENCH_BIN names.
      'one-round': { type: 'boolean', default: false },
    },
  });
  const agentCount = Number(values.agents);
  const seconds = Number(values.seconds);
  if (values['one-round']) {
    process.stdout.write(
      `${await round(process.env.AGORA_BENCH_BIN ?? 'this build', agentCount, seconds)}\n`,
    );
    return;
  }
  // A process per round: the bench's daemon helpers read AGORA_BENCH_BIN once, at import.
  const oneRound = (bin: string | undefined) => {
    const env = { ...process.env };
    if (bin === undefined) delete env.AGORA_BENCH_BIN;
    else env.AGORA_BENCH_BIN = bin;
    const args = ['--seconds', String(seconds), '--agents', String(agentCount), '--one-round'];
    const run = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, ...args], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (run.status !== 0) throw new Error(`a round failed (${run.status ?? run.signal})`);
  };
  for (let i = 0; i < Number(values.rounds); i++) {
    if (values.baseline !== undefined) oneRound(values.baseline);
    oneRound(process.env.AGORA_BENCH_BIN);
  }
}

await main();
