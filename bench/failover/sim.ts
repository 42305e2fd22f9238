// bench:failover's simulated rows: three real masters and a real coordinator,
// with thousands of src/sim agents in this process holding tasks that never end.
// The agents follow the leader as real ones do: a MasterDetector (one for the
// pool, standing for each agent's own) retargets their network when a new
// leader is elected, and each agent re-subscribes after a random wait under the
// registration backoff (1 s), its tasks listed in its SUBSCRIBE. The 10 simulated
// frameworks that launched the tasks stay subscribed (declining every offer) and
// follow the leader the same way. With
// AGORA_BENCH_KEEP_LOGS=<dir> the masters' logs are kept there; with
// AGORA_BENCH_PROFILE_DIR=<dir> the masters run under --cpu-prof (the profiles of
// those stopped at the end, not of those killed, land there); with
// AGORA_BENCH_MASTER_NODE_ARGS='--flag …' the masters' node takes those flags too (a
// runtime setting paired against the default).

import type { CoordinatorKind } from '../../src/cli/local-coordinator.js';
import { MasterDetector } from '../../src/coordination/index.js';
import {
  mulberry32,
  SimAgentPool,
  SimFramework,
  SimNetwork,
  TimingWheel,
  WheelDriver,
} from '../../src/sim/index.js';
import { fastAgentCall } from '../../src/wire/fast-calls.js';
import type { Resource } from '../../src/wire/index.js';
import { type BedDaemon, HaBed } from '../../test/ha/bed.js';
import {
  electedAmong,
  electedLogged,
  type Kill,
  msSince,
  SchedulerProbe,
  servingLogged,
  until,
} from './probes.js';
import {
  describeStorm,
  listenOverflows,
  ownCpuMs,
  processCpuMs,
  reregistrationsLogged,
  type StormBreakdown,
  stormTimes,
} from './storm.js';

/** What each simulated agent has: ten 0.1-cpu / 32 MB tasks fill it (as bench:master's state row). */
const AGENT_RESOURCES: readonly Resource[] = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 320 } },
];
const FRAMEWORKS = 10;
/** A real agent's registration backoff factor (Mesos' default, and Agora's). */
const REGISTRATION_BACKOFF_MS = 1000;
const FILL_TIMEOUT_MS = 15 * 60_000;
const STEP_TIMEOUT_MS = 5 * 60_000;

/** When this process's detector named the latest leader, and this process's CPU then. */
interface Detection {
  readonly atWallMs: number;
  readonly benchCpuMs: number;
}

export interface SimRow {
  readonly kind: CoordinatorKind;
  readonly agents: number;
  readonly tasks: number;
  readonly registerSeconds: number;
  readonly fillSeconds: number;
  readonly kills: readonly Kill[];
}

export interface SimRowOptions {
  readonly kind: CoordinatorKind;
  readonly session: string;
  readonly agents: number;
  readonly tasks: number;
  readonly kills: number;
  readonly say: (line: string) => void;
}

export async function simRow(options: SimRowOptions): Promise<SimRow> {
  const { kind, say } = options;
  say(`${kind}: 3 masters, ${options.agents} simulated agents, ${options.tasks} tasks`);
  const bed = await HaBed.start({
    kind,
    sessionTimeout: options.session,
    agents: 0,
    logLevel: 'info',
    masterArgs: ['--allocation_interval', '1secs'],
    masterNodeArgs: masterNodeArgs(),
  });
  const wheel = new TimingWheel(10, performance.now());
  const driver = new WheelDriver(wheel);
  driver.start();
  const random = mulberry32(1);
  const leader = await bed.leader();
  const agentsNetwork = new SimNetwork({ master: new URL(leader.url) });
  const frameworksNetwork = new SimNetwork({ master: new URL(leader.url) });
  const pool = new SimAgentPool({
    network: agentsNetwork,
    count: options.agents,
    resources: AGENT_RESOURCES,
    wheel,
    random,
  });
  const detector = new MasterDetector(bed.clientUrl);
  let isFollowing = false;
  /** When this process's detector named the latest leader, and this process's CPU then. */
  let detection: Detection | undefined;
  detector.onChange((url) => {
    if (url === undefined || !isFollowing || url.host === agentsNetwork.master.host) return;
    detection = { atWallMs: Date.now(), benchCpuMs: ownCpuMs() };
    agentsNetwork.retarget(url);
    pool.leaderChanged(REGISTRATION_BACKOFF_MS);
    frameworksNetwork.retarget(url);
    for (const framework of frameworks) framework.leaderChanged(REGISTRATION_BACKOFF_MS);
  });
  const frameworks: SimFramework[] = [];
  const kills: Kill[] = [];
  try {
    const registerStart = performance.now();
    await pool.start();
    const registerSeconds = (performance.now() - registerStart) / 1000;
    say(`  ${options.agents} agents registered in ${registerSeconds.toFixed(1)} s`);
    const fillStart = performance.now();
    for (let i = 0; i < FRAMEWORKS; i++)
      frameworks.push(
        new SimFramework({
          network: frameworksNetwork,
          wheel,
          random,
          name: `bench-failover-${i}`,
          task: { cpus: 0.1, memMb: 32, command: 'true' },
          durationMs: () => undefined,
          taskBudget: Math.ceil(options.tasks / FRAMEWORKS),
        }),
      );
    await Promise.all(frameworks.map((f) => f.start()));
    await until(
      `${options.tasks} tasks running`,
      () =>
        pool.stats.tasksRunning >= options.tasks && pool.stats.updatesPending === 0
          ? true
          : undefined,
      FILL_TIMEOUT_MS,
    );
    const fillSeconds = (performance.now() - fillStart) / 1000;
    say(`  ${pool.stats.tasksRunning} tasks running after ${fillSeconds.toFixed(1)} s`);
    // The frameworks stay subscribed, declining what is offered (every agent is full).
    for (const framework of frameworks) framework.stopLaunching();
    // The fill leaves the frameworks tens of thousands of ACKNOWLEDGEs behind (for the updates
    // agents resent while the first ACKNOWLEDGE was queued); killed before they are answered,
    // they reach the new leader with the old stream's id and are refused there, in the storm.
    const drainStart = performance.now();
    await until(
      "the frameworks' calls answered",
      () => (frameworks.every((f) => f.callsUnanswered === 0) ? true : undefined),
      FILL_TIMEOUT_MS,
    );
    say(
      `  the frameworks' calls answered ${((performance.now() - drainStart) / 1000).toFixed(1)} s later`,
    );
    // Every agent's SUBSCRIBE rendered now, as each real agent's is on its own machine: the
    // storm then costs this process the sockets, not 10,000 bodies of 10 tasks on the
    // leader's two cores. A change before the kill renders its agent's body again.
    const prepared = pool.prepareSubscriptions();
    say(
      `  SUBSCRIBE bodies: ${(prepared.bytes / options.agents).toFixed(0)} bytes an agent, shapes ${JSON.stringify(prepared.shapes)} (a sample of ${prepared.sampled.agents}, bytes an agent: ${(['perTask', 'frameworksOnce', 'compact'] as const).map((shape) => `${shape} ${(prepared.sampled.bytes[shape] / prepared.sampled.agents).toFixed(0)}`).join(', ')})`,
    );
    // Whether the bodies take the master's hand-written check (else zod, ~10 times the CPU):
    // a task field the simulator's tasks gained would move the whole storm to zod unseen.
    let sampledBodies = 0;
    let fastTaken = 0;
    for (let i = 0; i < options.agents; i += 100) {
      const body = pool.renderSubscribeBody(i);
      if (body === undefined) continue;
      sampledBodies++;
      if (fastAgentCall(JSON.parse(body)) !== undefined) fastTaken++;
    }
    say(
      `  the master's fast check takes ${fastTaken} of ${sampledBodies} sampled SUBSCRIBE bodies`,
    );
    const probe = new SchedulerProbe();
    await probe.register((await bed.leader(STEP_TIMEOUT_MS)).url);
    isFollowing = true;
    for (let i = 1; i <= options.kills; i++) {
      const old = await bed.leader(STEP_TIMEOUT_MS);
      const others = bed.masters.filter((m) => m !== old);
      const logged = electedLogged(others);
      const serving = servingLogged(others);
      const reregistrations = reregistrationsLogged(others);
      detection = undefined;
      let backAt:
        | {
            wallMs: number;
            leaderCpuMs: number | undefined;
            leaderCpuAtKillMs: number | undefined;
            benchCpuMs: number;
            net: ReturnType<typeof listenOverflows>;
          }
        | undefined;
      const netBefore = listenOverflows();
      // The new leader's CPU counts from here: its election, recovery and whole storm, not
      // only what follows this process's detector naming it (which a busy bench does late).
      const cpuAtKill = new Map(others.map((m) => [m.pid, processCpuMs(m.pid)]));
      const killedAtWallMs = Date.now();
      const killedAt = performance.now();
      old.signal('SIGKILL');
      const next = electedAmong(others, STEP_TIMEOUT_MS);
      const [electedPolledMs, electedMs, servingMs, agentsMs, frameworksMs] = await Promise.all([
        msSince(killedAt, next),
        logged.atMs.then((atMs) => atMs - killedAtWallMs),
        msSince(killedAt, probe.servingAmong(others, STEP_TIMEOUT_MS)),
        msSince(
          killedAt,
          next.then((leader) =>
            until(
              'every agent subscribed again',
              () =>
                pool.stats.subscribed === options.agents &&
                agentsNetwork.master.host === new URL(leader.url).host
                  ? true
                  : undefined,
              STEP_TIMEOUT_MS,
            ).then(() => {
              backAt = {
                wallMs: Date.now(),
                leaderCpuMs: processCpuMs(leader.pid),
                leaderCpuAtKillMs: cpuAtKill.get(leader.pid),
                benchCpuMs: ownCpuMs(),
                net: listenOverflows(),
              };
            }),
          ),
        ),
        msSince(
          killedAt,
          until(
            'every framework subscribed again',
            () => (frameworks.every((f) => (f.subscribedAtMs ?? 0) > killedAt) ? true : undefined),
            STEP_TIMEOUT_MS,
          ),
        ),
      ]);
      logged.stop();
      serving.stop();
      reregistrations.stop();
      const electedAtWallMs = killedAtWallMs + electedMs;
      // Set by the detector's callback meanwhile (the compiler sees only the reset above).
      const detected = detection as Detection | undefined;
      if (detected !== undefined && backAt !== undefined) {
        const storm: StormBreakdown = {
          detectedMs: detected.atWallMs - electedAtWallMs,
          ...stormTimes(reregistrations.times, electedAtWallMs),
          leaderCpuMs:
            backAt.leaderCpuMs !== undefined && backAt.leaderCpuAtKillMs !== undefined
              ? backAt.leaderCpuMs - backAt.leaderCpuAtKillMs
              : undefined,
          benchCpuMs: backAt.benchCpuMs - detected.benchCpuMs,
          wallMs: backAt.wallMs - detected.atWallMs,
          overflows: backAt.net.overflows - netBefore.overflows,
          synRetrans: backAt.net.synRetrans - netBefore.synRetrans,
        };
        say(`  kill ${i}: ${describeStorm(storm)}`);
      }
      const served = await Promise.race([
        serving.line,
        new Promise<undefined>((resolve) => setTimeout(resolve, 1000, undefined)),
      ]);
      if (served !== undefined) {
        const { registry_read_ms, books_ms, books_prepared, agents_waiting } = served.fields;
        const prepared = books_prepared === true ? ' prepared by the standby' : '';
        say(
          `  kill ${i}: 'serving' logged ${((served.atMs - killedAtWallMs) / 1000).toFixed(2)} s after the kill (registry read ${String(registry_read_ms)} ms, books ${String(books_ms)} ms${prepared}, ${String(agents_waiting)} agent calls held meanwhile)`,
        );
      }
      const kill: Kill = { electedMs, electedPolledMs, servingMs, agentsMs, frameworksMs };
      kills.push(kill);
      const s = (value: number) => `${(value / 1000).toFixed(2)} s`;
      say(
        `  kill ${i}: (a) ${s(electedMs)} (polled ${s(electedPolledMs)})  (b) ${s(servingMs)}  (c) ${s(agentsMs)} (${s(agentsMs - electedMs)} past (a))  (d) ${s(frameworksMs)}`,
      );
      await old.listening(STEP_TIMEOUT_MS);
      await whole(bed, old);
    }
    return {
      kind,
      agents: options.agents,
      tasks: pool.stats.tasksRunning,
      registerSeconds,
      fillSeconds,
      kills,
    };
  } finally {
    for (const framework of frameworks) framework.stop();
    pool.stop();
    agentsNetwork.close();
    frameworksNetwork.close();
    driver.stop();
    wheel.clear();
    await detector.close();
    if (process.env.AGORA_BENCH_KEEP_LOGS !== undefined)
      bed.dumpLogs(process.env.AGORA_BENCH_KEEP_LOGS);
    await bed.stop();
  }
}

/** The masters' node flags: a profile's, and AGORA_BENCH_MASTER_NODE_ARGS's. */
function masterNodeArgs(): string[] {
  const profileDir = process.env.AGORA_BENCH_PROFILE_DIR;
  return [
    ...(profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    ...(process.env.AGORA_BENCH_MASTER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== ''),
  ];
}

/** The killed master back as a standby, one leader. */
async function whole(bed: HaBed, old: BedDaemon): Promise<void> {
  await old.listening(STEP_TIMEOUT_MS);
  await bed.leader(STEP_TIMEOUT_MS);
}
