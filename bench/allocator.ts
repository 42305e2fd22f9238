// Allocator benchmark (#4): how long one allocation cycle of the hierarchical
// allocator takes, and how much heap its books hold, as the cluster grows.
//
//   npm run bench:allocator [-- --quick] [-- --json] [-- --runs N] [-- --shape agora:10000x1000]
//
// --quick runs the shapes up to 10,000 agents, 3 runs each; --shape runs one row only
// ('agora:<agents>x<frameworks>' or 'mesos:<agents>x<frameworks>'), e.g. under --cpu-prof.
//
// Two shapes, each measured on fresh allocators, `--runs` times (median reported):
//
// - Agora's (#4): agents of 16 cpus / 64 GB / 256 GB disk / 1,001 ports; frameworks in
//   1–3 of a set of roles (some nested, weights 1–3, some with quota guarantees or
//   limits). For each size it times the set-up (every event that builds the books), a
//   full cycle (every agent free), cycles after 1% of the offers came back (every
//   100th one recovered, no refuse filter; five rounds, each returning another 1%), and
//   a full cycle on fresh books where 90% of the frameworks are suppressed, to show the
//   cost follows the frameworks that want offers, not all of them. Heap: heapUsed after
//   a forced GC, before the set-up and after the full cycle (offers still held), in MB.
// - Mesos' (HierarchicalAllocator_BENCHMARK_Test): agents
//   'cpus:2;mem:1024;disk:4096;ports:[31000-32000]', every framework in one role, no
//   filters, one full allocate() timed, beside Mesos 1.8's published cycle times.
//
// Randomness (agent order, framework roles) comes from a seeded PRNG, so a run can be
// repeated. Before each timed step: a forced GC and a pause for V8's background sweeping
// (settleHeap). Forced GCs need --expose-gc: without it, the script re-runs itself with it.
// Each run keeps the previous run's allocators alive (keepUntilNextRun), so that the JIT's
// code survives those GCs, as it does in a master.
import assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { type Allocation, HierarchicalAllocator } from '../src/allocator/index.js';
import { Resources } from '../src/resources/index.js';
import { mulberry32 } from '../src/sim/index.js';
import { type AgentID, agentId, frameworkId } from '../src/wire/index.js';

/** #4's agents: 16 cpus, 64 GB of memory, 256 GB of disk and a port range. */
const AGORA_AGENT = 'cpus:16;mem:65536;disk:262144;ports:[31000-32000]';
/** The agent of Mesos' HierarchicalAllocator_BENCHMARK_Test. */
const MESOS_AGENT = 'cpus:2;mem:1024;disk:4096;ports:[31000-32000]';
const MESOS_ROLE = 'role1';

const AGORA_AGENT_COUNTS = [1_000, 10_000, 50_000] as const;
const AGORA_FRAMEWORK_COUNTS = [10, 100, 1_000] as const;
/** The largest agent count --quick runs. */
const QUICK_MAX_AGENTS = 10_000;
/** Every RECOVER_EVERY-th offer of the full cycle comes back: 1%. */
const RECOVER_EVERY = 100;
/** Incremental cycles timed after each full cycle, each with another 1% recovered. */
const INCREMENTAL_ROUNDS = 5;
/** Offers whose tasks end in the "10 back" cycle. */
const TASKS_ENDED = 10;
/**
 * What each task leaves free on its agent in the "10 back" cycle: below the default
 * --min_allocatable_resources (cpus:0.01|mem:32), so nobody can take it.
 */
const CRUMBS = 'cpus:0.005;mem:16';
/** Of every SUPPRESS_GROUP frameworks, all but one suppress offers: 90%. */
const SUPPRESS_GROUP = 10;

/** Share of the cluster's cpus and memory guaranteed, spread over the guaranteed roles. */
const GUARANTEED_FRACTION = 0.2;
/** Share of the cluster's cpus and memory each limited role may hold at most. */
const LIMIT_FRACTION = 0.05;
/** Memory per cpu in the guarantees and limits (MB), as on the agents. */
const MEM_PER_CPU_MB = 4096;

/** Mesos 1.8's published cycle times for its own shape, approximate (#4). */
const MESOS_PUBLISHED: readonly {
  readonly agents: number;
  readonly frameworks: number;
  readonly seconds: number;
}[] = [
  { agents: 1_000, frameworks: 100, seconds: 0.1 },
  { agents: 10_000, frameworks: 1_000, seconds: 1.1 },
  { agents: 20_000, frameworks: 2_000, seconds: 3.8 },
];

const GOAL_FULL_10K_MS = 100;
const GOAL_INCREMENTAL_10K_MS = 10;
const GOAL_FULL_50K_MS = 1_000;

// Event times: any increasing values do; no filter is ever set, so none expires.
const SET_UP_AT_MS = 0;
const FULL_CYCLE_AT_MS = 1_000;
const INCREMENTAL_CYCLE_AT_MS = 2_000;
const INCREMENTAL_ROUND_MS = 1_000;
const CRUMBS_CYCLE_AT_MS = 10_000;
const TASKS_ENDED_CYCLE_AT_MS = 11_000;
/** Pause after a forced GC before timing, for V8's background sweeping (settleHeap). */
const SETTLE_MS = 200;

// ---------------------------------------------------------------- utilities

function collectGarbage(): void {
  const gc = globalThis.gc;
  assert(gc !== undefined, 'run with --expose-gc');
  // Twice, for a steadier heapUsed: the second pass takes what the first one's weak callbacks freed.
  gc();
  gc();
}

/**
 * A forced GC, then a busy pause before anything is timed. After a GC, V8 sweeps the freed
 * pages on another thread; code that allocates before that ends sweeps them itself. An idle
 * pause (a timer) is worse: V8 uses idle time to start incremental marking, whose write
 * barriers then slow the timed code. Timed right after gc() either way, a 1,000-agent cycle
 * took three times as long as after this busy pause, which leaves only the allocator's work.
 */
function settleHeap(): void {
  collectGarbage();
  const until = performance.now() + SETTLE_MS;
  while (performance.now() < until) {
    // Busy on purpose: see above.
  }
}

function heapUsedBytes(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function median(values: readonly number[]): number {
  assert(values.length > 0, 'median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const at = (i: number): number => sorted[i] ?? Number.NaN;
  return sorted.length % 2 === 1 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
}

function timed<T>(run: () => T): { readonly value: T; readonly ms: number } {
  const start = performance.now();
  const value = run();
  return { value, ms: performance.now() - start };
}

// ------------------------------------------------------------- Agora shape

interface RolePlan {
  readonly roles: readonly string[];
  readonly weights: readonly { readonly role: string; readonly weight: number }[];
  readonly guaranteed: readonly string[];
  readonly limited: readonly string[];
}

/**
 * One top-level role per 20 frameworks (at least 4), every other one with a
 * '/batch' sub-role; weights 1–3 (sub-roles 2); every 5th top-level role has a
 * guarantee, and every 5th from the fourth a limit.
 */
function planRoles(frameworkCount: number): RolePlan {
  const topCount = Math.max(4, Math.round(frameworkCount / 20));
  const roles: string[] = [];
  const weights: { role: string; weight: number }[] = [];
  const guaranteed: string[] = [];
  const limited: string[] = [];
  for (let k = 0; k < topCount; k++) {
    const top = `team-${k}`;
    roles.push(top);
    weights.push({ role: top, weight: 1 + (k % 3) });
    if (k % 2 === 0) {
      roles.push(`${top}/batch`);
      weights.push({ role: `${top}/batch`, weight: 2 });
    }
    if (k % 5 === 0) guaranteed.push(top);
    if (k % 5 === 3) limited.push(top);
  }
  return { roles, weights, guaranteed, limited };
}

/**
 * 1–3 distinct roles of `roles` for framework `index`: the first in turn, so every
 * role has a framework (a guaranteed role without one would hold its headroom back),
 * the others drawn with `random`.
 */
function pickRoles(index: number, roles: readonly string[], random: () => number): string[] {
  const count = Math.min(roles.length, 1 + Math.floor(random() * 3));
  const picked = new Set<string>();
  const first = roles[index % roles.length];
  if (first !== undefined) picked.add(first);
  while (picked.size < count) {
    const role = roles[Math.floor(random() * roles.length)];
    if (role !== undefined) picked.add(role);
  }
  return [...picked];
}

interface AgentSpec {
  readonly id: AgentID;
  readonly total: Resources;
}

/**
 * `count` agents, each with its own Resources value built from the wire form, as
 * the master builds one per registration (one shared object would flatter any
 * per-value cache). Not timed: parsing is the master's work, not the allocator's.
 */
function agentSpecs(count: number, resourceText: string): AgentSpec[] {
  const wire = Resources.parse(resourceText).toWire();
  return Array.from({ length: count }, (_, i) => ({
    id: agentId(`agent-${i}`),
    total: Resources.fromWire(wire),
  }));
}

interface AgoraOptions {
  readonly agents: readonly AgentSpec[];
  readonly frameworks: number;
  readonly seed: number;
  /** Frameworks whose index is not a multiple of SUPPRESS_GROUP suppress offers for all roles. */
  readonly isMostlySuppressed: boolean;
}

/** Builds the books of the Agora shape: agents, weights, quota, frameworks (and suppression). */
function buildAgora(options: AgoraOptions): HierarchicalAllocator {
  const random = mulberry32(options.seed);
  const allocator = new HierarchicalAllocator({ random: mulberry32(options.seed ^ 0x5eed) });
  let clusterCpus = 0;
  for (const agent of options.agents) {
    allocator.handle(
      { kind: 'agentAdded', agentId: agent.id, total: agent.total, used: new Map() },
      SET_UP_AT_MS,
    );
    clusterCpus += agent.total.scalar('cpus');
  }

  const plan = planRoles(options.frameworks);
  allocator.handle({ kind: 'weightsUpdated', weights: plan.weights }, SET_UP_AT_MS);
  const guaranteedCpus = Math.floor((clusterCpus * GUARANTEED_FRACTION) / plan.guaranteed.length);
  const limitCpus = Math.floor(clusterCpus * LIMIT_FRACTION);
  allocator.handle(
    {
      kind: 'quotaUpdated',
      configs: [
        ...plan.guaranteed.map((role) => ({
          role,
          guarantees: { cpus: guaranteedCpus, mem: guaranteedCpus * MEM_PER_CPU_MB },
          limits: {},
        })),
        ...plan.limited.map((role) => ({
          role,
          guarantees: {},
          limits: { cpus: limitCpus, mem: limitCpus * MEM_PER_CPU_MB },
        })),
      ],
    },
    SET_UP_AT_MS,
  );

  for (let i = 0; i < options.frameworks; i++) {
    const id = frameworkId(`framework-${i}`);
    allocator.handle(
      {
        kind: 'frameworkAdded',
        frameworkId: id,
        roles: pickRoles(i, plan.roles, random),
        suppressedRoles: [],
        used: new Map(),
      },
      SET_UP_AT_MS,
    );
    if (options.isMostlySuppressed && i % SUPPRESS_GROUP !== 0)
      allocator.handle({ kind: 'offersSuppressed', frameworkId: id, roles: [] }, SET_UP_AT_MS);
  }
  return allocator;
}

/** One incremental round: recover 1% of the full cycle's offers, then one allocate(). */
interface IncrementalRound {
  readonly recovered: number;
  /** Handling the resourcesRecovered events. */
  readonly recoverMs: number;
  readonly cycleMs: number;
  readonly offers: number;
}

/** The "10 back" cycle: TASKS_ENDED offers come back while every other agent holds crumbs. */
interface TasksEndedCycle {
  /** Agents whose crumbs nobody could take: idle when the tasks end. */
  readonly crumbAgents: number;
  readonly cycleMs: number;
  readonly offers: number;
}

interface AgoraSample {
  readonly setUpMs: number;
  readonly fullMs: number;
  readonly offers: number;
  readonly heapMb: number;
  readonly incremental: readonly IncrementalRound[];
  readonly tasksEnded: TasksEndedCycle;
  readonly suppressedSetUpMs: number;
  readonly suppressedMs: number;
  readonly suppressedOffers: number;
}

/**
 * The last run's allocators, kept alive until the next run is done. V8 holds the hidden
 * classes of class instances weakly: when every allocator of a run died before the next
 * one's timed cycles, the forced GCs of settleHeap() collected those classes and, with
 * them, the optimised code of the allocator, so each timed cycle was compiled again as it
 * ran, and the warm-up warmed nothing. A master keeps one allocator for its lifetime.
 */
const previousRun: HierarchicalAllocator[] = [];

function keepUntilNextRun(...allocators: readonly HierarchicalAllocator[]): void {
  previousRun.splice(0, previousRun.length, ...allocators);
}

function runAgoraOnce(agents: number, frameworks: number, seed: number): AgoraSample {
  const heapBefore = heapUsedBytes();
  const specs = agentSpecs(agents, AGORA_AGENT);
  settleHeap();
  const setUp = timed(() =>
    buildAgora({ agents: specs, frameworks, seed, isMostlySuppressed: false }),
  );
  const allocator = setUp.value;
  settleHeap();
  const full = timed(() => allocator.allocate(FULL_CYCLE_AT_MS));
  assert(full.value.length > 0, 'the full cycle offered nothing');
  // The offers stay referenced until here, as the master holds them until they are answered.
  const heapMb = (heapUsedBytes() - heapBefore) / 2 ** 20;

  // Each round returns another 1% of the full cycle's offers (those still held), so
  // later rounds show a running master's cycles as well as the first one after a full one.
  const incremental: IncrementalRound[] = [];
  const held = full.value.filter((_, i) => i % RECOVER_EVERY >= INCREMENTAL_ROUNDS);
  for (let round = 0; round < INCREMENTAL_ROUNDS; round++) {
    const returned = full.value.filter((_, i) => i % RECOVER_EVERY === round);
    const nowMs = INCREMENTAL_CYCLE_AT_MS + round * INCREMENTAL_ROUND_MS;
    const recover = timed(() => {
      for (const offer of returned) recoverOffer(allocator, offer, nowMs);
    });
    settleHeap();
    const cycle = timed(() => allocator.allocate(nowMs + 1));
    assert(cycle.value.length > 0, 'the incremental cycle offered nothing');
    held.push(...cycle.value);
    incremental.push({
      recovered: returned.length,
      recoverMs: recover.ms,
      cycleMs: cycle.ms,
      offers: cycle.value.length,
    });
  }

  const tasksEnded = runTasksEnded(allocator, held);

  const suppressedSpecs = agentSpecs(agents, AGORA_AGENT);
  settleHeap();
  const suppressedSetUp = timed(() =>
    buildAgora({ agents: suppressedSpecs, frameworks, seed, isMostlySuppressed: true }),
  );
  settleHeap();
  const suppressed = timed(() => suppressedSetUp.value.allocate(FULL_CYCLE_AT_MS));
  keepUntilNextRun(allocator, suppressedSetUp.value);
  assert(suppressed.value.length > 0, 'the 90%-suppressed cycle offered nothing');

  return {
    setUpMs: setUp.ms,
    fullMs: full.ms,
    offers: full.value.length,
    heapMb,
    incremental,
    tasksEnded,
    suppressedSetUpMs: suppressedSetUp.ms,
    suppressedMs: suppressed.ms,
    suppressedOffers: suppressed.value.length,
  };
}

/**
 * The cycle the master runs when a few tasks end on a busy cluster: every offer held
 * became a task that leaves crumbs free on its agent (a cycle then finds nobody can take
 * them), and then TASKS_ENDED of those tasks end. Only their agents have anything to
 * offer; the cycle should cost what they cost, not what the agents with crumbs do.
 */
function runTasksEnded(
  allocator: HierarchicalAllocator,
  held: readonly Allocation[],
): TasksEndedCycle {
  const crumbs = Resources.parse(CRUMBS);
  const tasks: Allocation[] = [];
  for (const offer of held) {
    const left = crumbs.allocate(offer.role);
    if (!offer.resources.contains(left)) continue;
    recoverOffer(allocator, offer, CRUMBS_CYCLE_AT_MS, left);
    tasks.push({ ...offer, resources: offer.resources.minus(left) });
  }
  const crumbCycle = allocator.allocate(CRUMBS_CYCLE_AT_MS + 1);
  assert(crumbCycle.length === 0, `${crumbCycle.length} offers of crumbs`);
  // Spread over the cluster, as tasks end anywhere.
  const ended = tasks.filter((_, i) => i % Math.floor(tasks.length / TASKS_ENDED) === 0);
  for (const task of ended.slice(0, TASKS_ENDED))
    recoverOffer(allocator, task, TASKS_ENDED_CYCLE_AT_MS);
  settleHeap();
  const cycle = timed(() => allocator.allocate(TASKS_ENDED_CYCLE_AT_MS + 1));
  assert(cycle.value.length > 0, 'the cycle after tasks ended offered nothing');
  return { crumbAgents: tasks.length, cycleMs: cycle.ms, offers: cycle.value.length };
}

function recoverOffer(
  allocator: HierarchicalAllocator,
  offer: Allocation,
  nowMs: number,
  resources: Resources = offer.resources,
): void {
  allocator.handle(
    {
      kind: 'resourcesRecovered',
      frameworkId: offer.frameworkId,
      agentId: offer.agentId,
      resources,
    },
    nowMs,
  );
}

// ------------------------------------------------------------- Mesos shape

interface MesosSample {
  readonly setUpMs: number;
  readonly fullMs: number;
  readonly offers: number;
}

function runMesosOnce(agents: number, frameworks: number, seed: number): MesosSample {
  const specs = agentSpecs(agents, MESOS_AGENT);
  settleHeap();
  const setUp = timed(() => {
    const allocator = new HierarchicalAllocator({ random: mulberry32(seed) });
    for (const agent of specs)
      allocator.handle(
        { kind: 'agentAdded', agentId: agent.id, total: agent.total, used: new Map() },
        SET_UP_AT_MS,
      );
    for (let i = 0; i < frameworks; i++)
      allocator.handle(
        {
          kind: 'frameworkAdded',
          frameworkId: frameworkId(`framework-${i}`),
          roles: [MESOS_ROLE],
          suppressedRoles: [],
          used: new Map(),
        },
        SET_UP_AT_MS,
      );
    return allocator;
  });
  settleHeap();
  const full = timed(() => setUp.value.allocate(FULL_CYCLE_AT_MS));
  assert(full.value.length === agents, `made ${full.value.length} offers for ${agents} agents`);
  keepUntilNextRun(setUp.value);
  return { setUpMs: setUp.ms, fullMs: full.ms, offers: full.value.length };
}

// ----------------------------------------------------------------- results

interface AgoraRow {
  readonly agents: number;
  readonly frameworks: number;
  readonly setUpMs: number;
  readonly fullMs: number;
  /** Median over every round of every run. */
  readonly incrementalMs: number;
  /** Median over runs of the first round only (right after the full cycle). */
  readonly firstIncrementalMs: number;
  readonly suppressedMs: number;
  readonly heapMb: number;
  readonly offers: number;
  readonly recovered: number;
  readonly recoverMs: number;
  readonly incrementalOffers: number;
  /** Median over runs of the "10 back" cycle. */
  readonly tasksEndedMs: number;
  readonly suppressedOffers: number;
  readonly samples: readonly AgoraSample[];
}

interface MesosRow {
  readonly agents: number;
  readonly frameworks: number;
  readonly setUpMs: number;
  readonly fullMs: number;
  readonly mesosSeconds: number;
  readonly samples: readonly MesosSample[];
}

interface Results {
  readonly date: string;
  readonly machine: {
    readonly cpus: number;
    readonly model: string;
    readonly memoryGb: number;
    readonly node: string;
  };
  readonly runs: number;
  readonly isQuick: boolean;
  readonly agora: readonly AgoraRow[];
  readonly mesos: readonly MesosRow[];
  readonly loadAverage1m: { readonly before: number; readonly after: number };
  readonly totalSeconds: number;
}

function summarizeAgora(
  agents: number,
  frameworks: number,
  samples: readonly AgoraSample[],
): AgoraRow {
  const of = (pick: (sample: AgoraSample) => number) => median(samples.map(pick));
  const rounds = samples.flatMap((s) => s.incremental);
  return {
    agents,
    frameworks,
    setUpMs: of((s) => s.setUpMs),
    fullMs: of((s) => s.fullMs),
    incrementalMs: median(rounds.map((r) => r.cycleMs)),
    firstIncrementalMs: median(
      samples.flatMap((s) => s.incremental.slice(0, 1).map((r) => r.cycleMs)),
    ),
    suppressedMs: of((s) => s.suppressedMs),
    heapMb: of((s) => s.heapMb),
    offers: of((s) => s.offers),
    recovered: median(rounds.map((r) => r.recovered)),
    recoverMs: median(rounds.map((r) => r.recoverMs)),
    incrementalOffers: median(rounds.map((r) => r.offers)),
    tasksEndedMs: of((s) => s.tasksEnded.cycleMs),
    suppressedOffers: of((s) => s.suppressedOffers),
    samples,
  };
}

// ---------------------------------------------------------------- rendering

type Row = readonly string[];

/** Left-aligns the first column, right-aligns the rest; a rule under the header. */
function table(rows: readonly Row[]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  const line = (row: Row) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  const [header, ...body] = rows;
  if (header === undefined) return '';
  const width = line(header).length;
  return [line(header), '-'.repeat(width), ...body.map(line)].join('\n');
}

const count = (n: number) => n.toLocaleString('en-US');
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));

function goalLine(
  what: string,
  row: AgoraRow | undefined,
  value: (row: AgoraRow) => number,
  goalMs: number,
): string {
  if (row === undefined) return `goal: ${what} < ${count(goalMs)} ms: not run`;
  const measured = value(row);
  return `goal: ${what} < ${count(goalMs)} ms: ${ms(measured)} ms, ${measured < goalMs ? 'met' : 'NOT met'}`;
}

function render(results: Results): string {
  const { machine } = results;
  const out: string[] = [
    `Allocator benchmark (#4), ${results.date}: ${machine.cpus} × ${machine.model}, ` +
      `${machine.memoryGb} GB, Node.js ${machine.node}; median of ${results.runs} runs, fresh books each.`,
  ];
  const at = (agents: number, frameworks: number) =>
    results.agora.find((row) => row.agents === agents && row.frameworks === frameworks);
  if (results.agora.length > 0) {
    const rows: Row[] = [
      [
        'agents × frameworks',
        'set-up ms',
        'full ms',
        'full µs/agent',
        '1% incr ms',
        '1st incr ms',
        '10 back ms',
        '90%-supp ms',
        'heap MB',
        'offers',
      ],
    ];
    for (const row of results.agora)
      rows.push([
        `${count(row.agents)} × ${count(row.frameworks)}`,
        ms(row.setUpMs),
        ms(row.fullMs),
        ((row.fullMs * 1000) / row.agents).toFixed(1),
        ms(row.incrementalMs),
        ms(row.firstIncrementalMs),
        ms(row.tasksEndedMs),
        ms(row.suppressedMs),
        row.heapMb.toFixed(1),
        count(row.offers),
      ]);
    out.push(
      '',
      `Agora shape: agents '${AGORA_AGENT}'; frameworks in 1–3 roles (weights 1–3, some quota)`,
      table(rows),
      goalLine('full cycle, 10,000 × 1,000', at(10_000, 1_000), (r) => r.fullMs, GOAL_FULL_10K_MS),
      goalLine(
        '1% incremental cycle, 10,000 × 1,000',
        at(10_000, 1_000),
        (r) => r.incrementalMs,
        GOAL_INCREMENTAL_10K_MS,
      ),
      goalLine('full cycle, 50,000 × 1,000', at(50_000, 1_000), (r) => r.fullMs, GOAL_FULL_50K_MS),
      'set-up: every agentAdded, weightsUpdated, quotaUpdated and frameworkAdded event.',
      'full: one allocate() with every agent free. offers: the Allocations it returned.',
      `1% incr: allocate() after 1% of the full cycle's offers were recovered (every ${RECOVER_EVERY}th, no filter);`,
      `  ${INCREMENTAL_ROUNDS} rounds per run, each returning another 1%: median of all rounds. 1st: the first round only.`,
      `10 back: allocate() after ${TASKS_ENDED} tasks ended (${TASKS_ENDED} agents free), every other agent holding crumbs`,
      `  nobody can take (${CRUMBS}, under --min_allocatable_resources): what a cycle on recovery costs.`,
      `90%-supp: a full cycle on fresh books where ${SUPPRESS_GROUP - 1} in ${SUPPRESS_GROUP} frameworks suppress offers.`,
      'heap: heapUsed after forced GC, after the full cycle (offers held) minus before the set-up.',
    );
  }
  if (results.mesos.length > 0) {
    const rows: Row[] = [
      [
        'agents × frameworks',
        'Agora set-up ms',
        'Agora ms',
        'Mesos 1.8 published, approx. s',
        'ratio Mesos/Agora',
      ],
    ];
    for (const row of results.mesos)
      rows.push([
        `${count(row.agents)} × ${count(row.frameworks)}`,
        ms(row.setUpMs),
        ms(row.fullMs),
        row.mesosSeconds.toFixed(1),
        `${((row.mesosSeconds * 1000) / row.fullMs).toFixed(1)}×`,
      ]);
    out.push(
      '',
      `Mesos shape (HierarchicalAllocator_BENCHMARK_Test): agents '${MESOS_AGENT}', one role, no filters`,
      table(rows),
      'Agora ms: one allocate() with every agent free. Mesos: published figures, other hardware.',
    );
  }
  out.push(
    '',
    `1-minute load average: ${results.loadAverage1m.before.toFixed(2)} before, ` +
      `${results.loadAverage1m.after.toFixed(2)} after; ${results.totalSeconds.toFixed(0)} s in all.`,
  );
  return `${out.join('\n')}\n`;
}

// --------------------------------------------------------------------- main

interface Shape {
  readonly kind: 'agora' | 'mesos';
  readonly agents: number;
  readonly frameworks: number;
}

function parseShape(text: string | undefined): Shape | undefined | 'bad' {
  if (text === undefined) return undefined;
  const match = /^(agora|mesos):(\d+)x(\d+)$/.exec(text.replaceAll(/[,_]/g, ''));
  if (match === null) return 'bad';
  const [, kind, agents, frameworks] = match;
  if (kind !== 'agora' && kind !== 'mesos') return 'bad';
  return { kind, agents: Number(agents), frameworks: Number(frameworks) };
}

function main(): number {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      runs: { type: 'string' },
      shape: { type: 'string' },
    },
  });
  const shape = parseShape(values.shape);
  if (shape === 'bad') {
    process.stderr.write(
      `allocator: --shape: expected 'agora:<agents>x<frameworks>' or 'mesos:<agents>x<frameworks>', got '${values.shape}'\n`,
    );
    return 2;
  }
  if (
    shape?.kind === 'mesos' &&
    !MESOS_PUBLISHED.some((p) => p.agents === shape.agents && p.frameworks === shape.frameworks)
  ) {
    const sizes = MESOS_PUBLISHED.map((p) => `${p.agents}x${p.frameworks}`).join(', ');
    process.stderr.write(`allocator: --shape: Mesos published only ${sizes}\n`);
    return 2;
  }
  const isQuick = values.quick;
  const isWanted = (kind: Shape['kind'], agents: number, frameworks: number) =>
    shape === undefined
      ? !isQuick || agents <= QUICK_MAX_AGENTS
      : shape.kind === kind && shape.agents === agents && shape.frameworks === frameworks;
  const runs = Number(values.runs ?? (isQuick ? 3 : 5));
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(
      `allocator: --runs: expected a positive whole number, got '${values.runs}'\n`,
    );
    return 2;
  }
  const started = performance.now();
  const loadBefore = loadavg()[0] ?? 0;
  const progress = (text: string) => process.stderr.write(`allocator: ${text}\n`);

  // Warm-up, not reported: lets the JIT compile the hot paths before anything is timed.
  progress('warming up');
  runAgoraOnce(1_000, 10, 1);
  runAgoraOnce(1_000, 100, 2);
  runMesosOnce(1_000, 100, 3);

  const agora: AgoraRow[] = [];
  const agoraShapes =
    shape?.kind === 'agora'
      ? [shape]
      : AGORA_AGENT_COUNTS.flatMap((agents) =>
          AGORA_FRAMEWORK_COUNTS.map((frameworks) => ({ agents, frameworks })),
        );
  for (const { agents, frameworks } of agoraShapes) {
    if (!isWanted('agora', agents, frameworks)) continue;
    const samples: AgoraSample[] = [];
    for (let run = 0; run < runs; run++) samples.push(runAgoraOnce(agents, frameworks, 100 + run));
    const row = summarizeAgora(agents, frameworks, samples);
    agora.push(row);
    progress(`agora ${count(agents)} × ${count(frameworks)}: full ${ms(row.fullMs)} ms`);
  }

  const mesos: MesosRow[] = [];
  for (const published of MESOS_PUBLISHED) {
    if (!isWanted('mesos', published.agents, published.frameworks)) continue;
    const samples: MesosSample[] = [];
    for (let run = 0; run < runs; run++)
      samples.push(runMesosOnce(published.agents, published.frameworks, 200 + run));
    const row: MesosRow = {
      agents: published.agents,
      frameworks: published.frameworks,
      setUpMs: median(samples.map((s) => s.setUpMs)),
      fullMs: median(samples.map((s) => s.fullMs)),
      mesosSeconds: published.seconds,
      samples,
    };
    mesos.push(row);
    progress(`mesos ${count(row.agents)} × ${count(row.frameworks)}: ${ms(row.fullMs)} ms`);
  }

  const results: Results = {
    date: new Date().toISOString().slice(0, 10),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    runs,
    isQuick,
    agora,
    mesos,
    loadAverage1m: { before: loadBefore, after: loadavg()[0] ?? 0 },
    totalSeconds: (performance.now() - started) / 1000,
  };
  process.stdout.write(render(results));
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return 0;
}

if (globalThis.gc === undefined) {
  // Forced GCs make the heap figures comparable; re-run with the flag, same arguments.
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, '--expose-gc', ...process.argv.slice(1)],
    { stdio: 'inherit' },
  );
  process.exitCode = child.status ?? 1;
} else {
  process.exitCode = main();
}
