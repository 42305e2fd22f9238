// bench:edge's reconnect burst (#15): a real master on loopback and 1,000 src/sim
// agents in this process, each holding a task that never ends. All are cut off at
// once (their streams end, as a partition's would be noticed) until the master
// marks every one unreachable; then the partition heals and every agent subscribes
// again with its id and tasks: all in the same instant (no jitter), or each after
// a random wait under the registration backoff factor (1 s, Mesos' default and
// Agora's). Paired rounds, alternating, on one master: the master's CPU seconds
// from the heal until every agent is active and no task is unreachable, the
// busiest 250 ms of it, and that time to settle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32, SimAgentPool, SimFramework } from '../../src/sim/index.js';
import type { Resource } from '../../src/wire/index.js';
import { Bed, getBody, load1m, procSample, waitFor } from '../master/processes.js';

const AGENT_RESOURCES: readonly Resource[] = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 320 } },
];
/**
 * Shortened so a round takes seconds: unreachable 15 s after the cut (Mesos: 15 s × 5).
 * Not shorter: 1,000 simulated agents in one busy process answer PINGs late, and a
 * tighter limit marks live ones unreachable while the tasks are placed.
 */
const MASTER_ARGS = ['--agent_ping_timeout', '5secs', '--max_agent_ping_timeouts', '3'];
const REGISTRATION_BACKOFF_MS = 1000;
const SAMPLE_MS = 250;
const STEP_TIMEOUT_MS = 5 * 60_000;

export interface BurstRound {
  readonly jitterMs: number;
  readonly settleMs: number;
  readonly cpuSeconds: number;
  readonly peakCpuPercent: number;
  /** The master's CPU while quiet just before the heal (every agent unreachable). */
  readonly quietCpuPercent: number;
  /** Its CPU once settled (PINGs and PONGs of every agent): what the burst adds is above it. */
  readonly connectedCpuPercent: number;
  /** Allocation cycles the master ran from the heal to the settle. */
  readonly allocationRuns: number;
  readonly load: number;
}

async function metrics(url: string, signal: AbortSignal): Promise<Record<string, number>> {
  const body = await getBody(new URL('/metrics/snapshot', url), signal);
  return JSON.parse(body.toString('utf8')) as Record<string, number>;
}

/** Polls the master's metrics until `done` holds; samples its CPU meanwhile. */
async function settle(
  url: string,
  pid: number,
  done: (m: Record<string, number>) => boolean,
  signal: AbortSignal,
): Promise<{ ms: number; cpuSeconds: number; peakCpuPercent: number }> {
  const t0 = performance.now();
  const cpu0 = procSample(pid).cpuSeconds;
  let last = { at: t0, cpu: cpu0 };
  let peak = 0;
  for (;;) {
    if (performance.now() - t0 > STEP_TIMEOUT_MS) throw new Error('the master did not settle');
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    const now = performance.now();
    const cpu = procSample(pid).cpuSeconds;
    peak = Math.max(peak, ((cpu - last.cpu) / ((now - last.at) / 1000)) * 100);
    last = { at: now, cpu };
    const m = await metrics(url, signal).catch(() => undefined);
    if (m !== undefined && done(m))
      return { ms: performance.now() - t0, cpuSeconds: cpu - cpu0, peakCpuPercent: peak };
  }
}

/** The CPU a process uses over the next `ms`, in percent of one core. */
async function cpuPercentOver(pid: number, ms: number): Promise<number> {
  const t0 = performance.now();
  const cpu0 = procSample(pid).cpuSeconds;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ((procSample(pid).cpuSeconds - cpu0) / ((performance.now() - t0) / 1000)) * 100;
}

export async function reconnectBurst(
  agents: number,
  rounds: number,
  say: (line: string) => void,
): Promise<BurstRound[]> {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-bench-burst-'));
  const bed = new Bed(workDir, 'burst', undefined, 64);
  const controller = new AbortController();
  const { signal } = controller;
  const results: BurstRound[] = [];
  try {
    const started = await bed.startMaster(signal, MASTER_ARGS);
    const random = mulberry32(15);
    const pool = new SimAgentPool({
      network: started.agents,
      count: agents,
      resources: AGENT_RESOURCES,
      wheel: bed.wheel,
      random,
    });
    bed.defer(() => pool.stop());
    await pool.start();
    const framework = new SimFramework({
      network: started.frameworks,
      wheel: bed.wheel,
      random,
      name: 'bench-edge-burst',
      task: { cpus: 0.1, memMb: 32, command: 'true' },
      durationMs: () => undefined,
      taskBudget: agents,
    });
    bed.defer(() => framework.stop());
    await framework.start();
    await waitFor(
      `${agents} tasks running`,
      () =>
        pool.stats.tasksRunning >= agents && pool.stats.updatesPending === 0 ? true : undefined,
      STEP_TIMEOUT_MS,
      signal,
    ).catch((error: unknown) => {
      const stats = JSON.stringify({ agents: pool.stats, framework: framework.stats });
      throw new Error(`${(error as Error).message}; at the deadline: ${stats}`);
    });
    // No more offers to place: the burst is the agents', not the framework's.
    framework.stop();
    say(`  ${agents} simulated agents, ${agents} tasks running   load ${load1m().toFixed(1)}`);
    for (let round = 0; round < rounds; round++) {
      const jitterMs = round % 2 === 0 ? 0 : REGISTRATION_BACKOFF_MS;
      pool.partition();
      await settle(
        started.url,
        started.master.pid,
        (m) => m['master/slaves_unreachable'] === agents,
        signal,
      );
      // Let the master go quiet before the heal, so the CPU counted is the burst's.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const quietCpuPercent = await cpuPercentOver(started.master.pid, 2000);
      const load = load1m();
      const runsBefore =
        (await metrics(started.url, signal))['allocator/mesos/allocation_runs'] ?? 0;
      pool.heal(jitterMs);
      const settled = await settle(
        started.url,
        started.master.pid,
        (m) =>
          m['master/slaves_active'] === agents &&
          m['master/slaves_unreachable'] === 0 &&
          m['master/tasks_unreachable'] === 0 &&
          m['master/tasks_running'] === agents,
        signal,
      );
      const runsAfter =
        (await metrics(started.url, signal))['allocator/mesos/allocation_runs'] ?? 0;
      const connectedCpuPercent = await cpuPercentOver(started.master.pid, 3000);
      const row: BurstRound = {
        jitterMs,
        settleMs: settled.ms,
        cpuSeconds: settled.cpuSeconds,
        peakCpuPercent: settled.peakCpuPercent,
        quietCpuPercent,
        connectedCpuPercent,
        allocationRuns: runsAfter - runsBefore,
        load,
      };
      results.push(row);
      say(
        `  reconnect ${round + 1}/${rounds} ${jitterMs === 0 ? 'all at once     ' : `jitter < ${jitterMs} ms`}: settled in ${row.settleMs.toFixed(0)} ms, master CPU ${row.cpuSeconds.toFixed(2)} s, busiest 250 ms ${row.peakCpuPercent.toFixed(0)} % (before: ${row.quietCpuPercent.toFixed(0)} %, after: ${row.connectedCpuPercent.toFixed(0)} %), ${row.allocationRuns} allocation runs   load ${load.toFixed(1)}`,
      );
    }
  } finally {
    controller.abort();
    await bed.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  return results;
}
