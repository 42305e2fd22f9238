// bench:edge's reconnect burst (#15): a real master on loopback and 1,000 src/sim
// agents in this process, each holding a task that never ends. All are cut off at
// once (their streams end, as a partition's would be noticed) until the master
// marks every one unreachable; then the partition heals and every agent subscribes
// again with its id and tasks: all in the same instant (no jitter), or each after
// a random wait under the registration backoff factor (1 s, Mesos' default and
// Agora's), or under the spread the master told them (reregister_spread_ms: 1 ms
// per agent it knows, at most that factor), as a real agent once its probe gets
// through. Paired rounds, alternating, on one master: the master's CPU seconds
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
  /** Which master (BurstOptions.variants) took the round. */
  readonly variant: string;
  readonly jitterMs: number;
  readonly spread: HealSpread;
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
    // The CPU is read again after the poll: a master busy with the burst answers it only
    // when the burst is done, and a sample from before the poll missed all of that work
    // (the first pass recorded 0.1 s for a burst at once that cost as much as one spread).
    if (m !== undefined && done(m))
      return {
        ms: performance.now() - t0,
        cpuSeconds: procSample(pid).cpuSeconds - cpu0,
        peakCpuPercent: peak,
      };
  }
}

/** The CPU a process uses over the next `ms`, in percent of one core. */
async function cpuPercentOver(pid: number, ms: number): Promise<number> {
  const t0 = performance.now();
  const cpu0 = procSample(pid).cpuSeconds;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ((procSample(pid).cpuSeconds - cpu0) / ((performance.now() - t0) / 1000)) * 100;
}

export interface BurstOptions {
  /** Where each master's CPU profile goes (`--cpu-prof`, written as it exits). */
  readonly profileDir?: string | undefined;
  /** The heals' jitters, round after round, cycled (default: 0 and the backoff, alternating). */
  readonly heals?: readonly Heal[] | undefined;
  /**
   * Masters to compare, each with its own 1,000 agents, all up at once and taking the
   * rounds in turn (round 1 on each, then round 2 on each…), so load changes hit both
   * alike. Default: one master with its defaults.
   */
  readonly variants?: readonly BurstVariant[] | undefined;
}

/** 'factor': a random wait under withinMs; 'master': under the master's spread, at most withinMs. */
export type HealSpread = 'factor' | 'master';

export interface Heal {
  readonly withinMs: number;
  readonly spread: HealSpread;
}

/** `0,1000,master`: at once, under 1 s, under the master's spread (at most the 1 s factor). */
export function parseHeals(text: string): Heal[] {
  return text.split(',').map((token) => {
    if (token === 'master') return { withinMs: REGISTRATION_BACKOFF_MS, spread: 'master' };
    const withinMs = Number(token);
    if (!Number.isFinite(withinMs) || withinMs < 0)
      throw new Error(`--burst-jitters: ${token} is neither milliseconds nor 'master'`);
    return { withinMs, spread: 'factor' };
  });
}

export interface BurstVariant {
  readonly label: string;
  /** Master flags on top of the bench's own. */
  readonly masterArgs: readonly string[];
}

/** One master with its simulated agents, every task running, the framework gone. */
interface BurstBed {
  readonly variant: BurstVariant;
  readonly url: string;
  readonly pid: number;
  readonly pool: SimAgentPool;
}

async function fill(
  bed: Bed,
  variant: BurstVariant,
  agents: number,
  signal: AbortSignal,
): Promise<BurstBed> {
  const started = await bed.startMaster(signal, [...MASTER_ARGS, ...variant.masterArgs]);
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
    () => (pool.stats.tasksRunning >= agents && pool.stats.updatesPending === 0 ? true : undefined),
    STEP_TIMEOUT_MS,
    signal,
  ).catch((error: unknown) => {
    const stats = JSON.stringify({ agents: pool.stats, framework: framework.stats });
    throw new Error(`${(error as Error).message}; at the deadline: ${stats}`);
  });
  // No more offers to place: the burst is the agents', not the framework's.
  framework.stop();
  return { variant, url: started.url, pid: started.master.pid, pool };
}

/** One partition and heal of every agent of `bed`; the master's cost from the heal to the settle. */
async function round(
  bed: BurstBed,
  agents: number,
  heal: Heal,
  signal: AbortSignal,
): Promise<BurstRound> {
  bed.pool.partition();
  await settle(bed.url, bed.pid, (m) => m['master/slaves_unreachable'] === agents, signal);
  // Let the master go quiet before the heal, so the CPU counted is the burst's.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const quietCpuPercent = await cpuPercentOver(bed.pid, 2000);
  const load = load1m();
  const runsBefore = (await metrics(bed.url, signal))['allocator/mesos/allocation_runs'] ?? 0;
  bed.pool.heal(heal.withinMs, heal.spread);
  const settled = await settle(
    bed.url,
    bed.pid,
    (m) =>
      m['master/slaves_active'] === agents &&
      m['master/slaves_unreachable'] === 0 &&
      m['master/tasks_unreachable'] === 0 &&
      m['master/tasks_running'] === agents,
    signal,
  );
  const runsAfter = (await metrics(bed.url, signal))['allocator/mesos/allocation_runs'] ?? 0;
  const connectedCpuPercent = await cpuPercentOver(bed.pid, 3000);
  return {
    variant: bed.variant.label,
    jitterMs: heal.withinMs,
    spread: heal.spread,
    settleMs: settled.ms,
    cpuSeconds: settled.cpuSeconds,
    peakCpuPercent: settled.peakCpuPercent,
    quietCpuPercent,
    connectedCpuPercent,
    allocationRuns: runsAfter - runsBefore,
    load,
  };
}

export async function reconnectBurst(
  agents: number,
  rounds: number,
  say: (line: string) => void,
  options: BurstOptions = {},
): Promise<BurstRound[]> {
  const variants = options.variants ?? [{ label: 'master', masterArgs: [] }];
  const heals = options.heals ?? parseHeals(`0,${REGISTRATION_BACKOFF_MS}`);
  const workDir = mkdtempSync(join(tmpdir(), 'agora-bench-burst-'));
  const beds = variants.map(
    (_, index) => new Bed(workDir, `burst-${index}`, options.profileDir, 64),
  );
  const controller = new AbortController();
  const { signal } = controller;
  const results: BurstRound[] = [];
  try {
    const filled: BurstBed[] = [];
    for (const [index, variant] of variants.entries()) {
      const bed = beds[index];
      if (bed === undefined) continue;
      filled.push(await fill(bed, variant, agents, signal));
      say(
        `  ${variant.label}: ${agents} simulated agents, ${agents} tasks running   load ${load1m().toFixed(1)}`,
      );
    }
    for (let index = 0; index < rounds; index++) {
      const heal = heals[index % heals.length] ?? { withinMs: 0, spread: 'factor' };
      for (const bed of filled) {
        const row = await round(bed, agents, heal, signal);
        results.push(row);
        say(
          `  reconnect ${index + 1}/${rounds} ${row.variant} ${jitterLabel(heal.withinMs, heal.spread)}: settled in ${row.settleMs.toFixed(0)} ms, master CPU ${row.cpuSeconds.toFixed(2)} s, busiest 250 ms ${row.peakCpuPercent.toFixed(0)} % (before: ${row.quietCpuPercent.toFixed(0)} %, after: ${row.connectedCpuPercent.toFixed(0)} %), ${row.allocationRuns} allocation runs   load ${row.load.toFixed(1)}`,
        );
      }
    }
  } finally {
    controller.abort();
    for (const bed of beds.reverse()) await bed.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  return results;
}

export function jitterLabel(jitterMs: number, spread: HealSpread = 'factor'): string {
  if (spread === 'master') return `jitter < master's spread (<= ${jitterMs} ms)`;
  return jitterMs === 0 ? 'all at once     ' : `jitter < ${jitterMs} ms`;
}
