// Issue #10's seeded random fault loop. Each round SIGKILLs, or SIGSTOPs then
// SIGCONTs after a while, one of: the leader, a standby, an agent, the framework,
// the coordinator; then heals (the bed's supervisors restart masters and agents;
// the loop restarts the framework and the coordinator) and waits until a leader
// leads, every agent is back and the framework launches again. At the end every
// task must be accounted for, none ran twice, acknowledged updates stayed so,
// and no two masters led at once. The same seed gives the same faults.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoordinatorKind } from '../../src/cli/local-coordinator.js';
import { mulberry32, type Random } from '../../src/sim/index.js';
import { isAlive, waitFor } from '../integration/harness.js';
import { type BedDaemon, HaBed } from './bed.js';
import { checkInvariants, explain, isSettled, outcomes } from './invariants.js';
import { readRuns } from './journal.js';
import { LeaderMonitor } from './leader-monitor.js';
import { WorkloadProcess } from './workload-process.js';

export const FAULT_TARGETS = ['leader', 'standby', 'agent', 'framework', 'coordinator'] as const;
export type FaultTarget = (typeof FAULT_TARGETS)[number];

export interface Fault {
  readonly target: FaultTarget;
  readonly action: 'kill' | 'stop';
  /** Which standby or agent (an index taken modulo how many there are). */
  readonly pick: number;
  /** How long a stopped process stays stopped, or a killed framework or coordinator down. */
  readonly downMs: number;
  /** Quiet time before the fault, so faults land at different points of the work. */
  readonly beforeMs: number;
}

/** The faults of a run, from its seed alone (pure). */
export function planFaults(seed: number, rounds: number, sessionMs: number): Fault[] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: rounds }, () => {
    const target = pick(FAULT_TARGETS);
    const action = random() < 0.5 ? 'kill' : 'stop';
    // Stops are either short (the session survives) or past the session (it is lost:
    // a leader is deposed while it sleeps and must not act when it wakes).
    const isLong = random() < 0.5;
    const downMs = Math.round(
      action === 'stop'
        ? isLong
          ? sessionMs + 500 + random() * 2500
          : 200 + random() * (sessionMs / 2)
        : random() * 3000,
    );
    return {
      target,
      action,
      pick: Math.floor(random() * 1000),
      downMs,
      beforeMs: Math.round(random() * 2000),
    };
  });
}

export function describeFault(fault: Fault): string {
  const what = fault.action === 'kill' ? 'SIGKILL' : `SIGSTOP for ${fault.downMs} ms`;
  const down =
    fault.action === 'kill' && (fault.target === 'framework' || fault.target === 'coordinator')
      ? `, restarted after ${fault.downMs} ms`
      : '';
  return `${what} the ${fault.target}${down}`;
}

export interface FaultLoopOptions {
  readonly seed: number;
  readonly rounds: number;
  /** The coordinator; by default the seed chooses. */
  readonly kind?: CoordinatorKind;
  readonly longTasks?: number;
  readonly log?: (line: string) => void;
  /** Keep the logs and journal even when every invariant held (to read a run). */
  readonly keepLogs?: boolean;
}

export interface FaultLoopResult {
  readonly kind: CoordinatorKind;
  readonly violations: readonly string[];
  readonly launched: number;
  readonly rounds: readonly string[];
  /** Where the logs and journal of a failed run were kept. */
  readonly keptIn?: string;
}

const SESSION = '2secs';
const SESSION_MS = 2000;
/** A heal that takes longer than this is a failure in itself. */
const HEAL_TIMEOUT_MS = 60_000;

/** Runs the loop; never throws for a broken invariant (the result lists them), only for a harness error. */
export async function runFaultLoop(options: FaultLoopOptions): Promise<FaultLoopResult> {
  const { seed, rounds } = options;
  const log = options.log ?? (() => {});
  const random: Random = mulberry32(seed ^ 0x5eed);
  const kind = options.kind ?? (random() < 0.5 ? 'zookeeper' : 'etcd');
  const faults = planFaults(seed, rounds, SESSION_MS);
  const dir = mkdtempSync(join(tmpdir(), 'agora-faults-'));
  const bed = await HaBed.start({
    kind,
    sessionTimeout: SESSION,
    agentResources: 'cpus:4;mem:2048;disk:1024',
    say: (line) => log(`  ${line}`),
  });
  const monitor = new LeaderMonitor(bed.masters);
  const workload = new WorkloadProcess({
    master: bed.clientUrl,
    dir,
    long: options.longTasks ?? 20,
    short: 4,
  });
  const done: string[] = [];
  let violations: string[] = [];
  try {
    monitor.start();
    workload.start();
    await waitFor(
      'the long tasks running',
      () =>
        outcomes(workload.journal()).filter((o) => o.isLong && o.last?.state === 'TASK_RUNNING')
          .length === (options.longTasks ?? 20)
          ? true
          : undefined,
      HEAL_TIMEOUT_MS,
    );
    for (const [i, fault] of faults.entries()) {
      await sleep(fault.beforeMs);
      const line = `round ${i + 1}/${rounds}: ${describeFault(fault)}`;
      log(line);
      done.push(line);
      await inject(bed, workload, fault);
      const healedAt = Date.now();
      await heal(bed, workload, healedAt);
      if (monitor.violations.length > 0) break;
    }
    workload.stopLaunching();
    await waitFor(
      'every task settled',
      () => (isSettled(workload.journal()) ? true : undefined),
      HEAL_TIMEOUT_MS,
    ).catch((error: Error) => violations.push(error.message));
    await monitor.stop();
    const journal = workload.journal();
    if (monitor.roundsWithLeader === 0) violations.push('the leader monitor never saw a leader');
    violations = [
      ...violations,
      ...checkInvariants({ journal, runs: readRuns(workload.ranPath), isAlive, longMustRun: true }),
      ...monitor.violations.map(
        (v) => `two masters led at once (${v.claims.join(', ')}) ${Math.round(v.atMs)} ms in`,
      ),
    ];
    if (violations.length > 0)
      violations.push(`what the framework saw:\n${explain(violations, journal)}`);
  } catch (error) {
    violations.push(`the loop stopped: ${(error as Error).message}`);
  } finally {
    await monitor.stop();
  }
  let keptIn: string | undefined;
  if (violations.length > 0 || options.keepLogs === true) {
    keptIn = mkdtempSync(
      join(tmpdir(), `agora-faults-${violations.length > 0 ? 'failed-' : ''}${seed}-`),
    );
    bed.dumpLogs(keptIn);
    cpSync(workload.journalPath, join(keptIn, 'journal.jsonl'));
    cpSync(workload.ranPath, join(keptIn, 'ran'), { force: true });
  }
  const launched = outcomes(workload.journal()).length;
  await workload.stop();
  await bed.stop();
  rmSync(dir, { recursive: true, force: true });
  return { kind, violations, launched, rounds: done, ...(keptIn !== undefined ? { keptIn } : {}) };
}

async function inject(bed: HaBed, workload: WorkloadProcess, fault: Fault): Promise<void> {
  const { target, action, downMs } = fault;
  if (target === 'framework') {
    if (action === 'kill') {
      await workload.kill();
      await sleep(downMs);
      workload.start();
    } else await pause((s) => workload.signal(s), downMs);
    return;
  }
  if (target === 'coordinator') {
    if (action === 'kill') {
      bed.coordinator.kill('SIGKILL');
      await bed.coordinator.waitExited();
      await sleep(downMs);
      await bed.coordinator.restart();
    } else await pause((s) => bed.coordinator.kill(s), downMs);
    return;
  }
  const daemon = await chooseDaemon(bed, target, fault.pick);
  // A master or agent SIGKILLed comes back by itself: the bed supervises it.
  if (action === 'kill') daemon.signal('SIGKILL');
  else await pause((s) => daemon.signal(s), downMs);
}

async function chooseDaemon(bed: HaBed, target: FaultTarget, pick: number): Promise<BedDaemon> {
  if (target === 'agent') return bed.agents[pick % bed.agents.length] as BedDaemon;
  const leader = await bed.leader(HEAL_TIMEOUT_MS);
  if (target === 'leader') return leader;
  const standbys = bed.masters.filter((m) => m !== leader && m.isServing);
  return standbys[pick % standbys.length] ?? leader;
}

async function pause(signal: (s: NodeJS.Signals) => void, ms: number): Promise<void> {
  signal('SIGSTOP');
  try {
    await sleep(ms);
  } finally {
    signal('SIGCONT');
  }
}

/** A leader, every agent back with it, and the framework launching on it again. */
async function heal(bed: HaBed, workload: WorkloadProcess, sinceMs: number): Promise<void> {
  await bed.agentsRegistered(HEAL_TIMEOUT_MS);
  await workload.waitFor(
    'launching again',
    sinceMs,
    (e) => e.kind === 'accept' && e.ok,
    HEAL_TIMEOUT_MS,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
