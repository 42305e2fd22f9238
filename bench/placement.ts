// Placement policies (#4): what min-delay, priority, binpack and spread do to utilisation and
// waiting time on one mixed workload, simulated with the same seed, side by side.
//
//   node --import tsx bench/placement.ts [--seeds 1,2,3,4] [--json]
//
// The first seed gets the full table; every seed gets a short one, to show whether the ranking
// holds across workloads drawn from different seeds. The simulation (src/sim) is pure and
// deterministic: only the run-time row depends on the machine.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { PLACEMENT_POLICIES, type PlacementPolicy } from '../src/placement/index.js';
import { DEFAULT_SIM_CONFIG, type SimResult, simulate, type WaitStats } from '../src/sim/index.js';

const { values } = parseArgs({
  options: { seeds: { type: 'string', default: '1,2,3,4' }, json: { type: 'boolean' } },
});
const seeds = values.seeds.split(',').map((text) => {
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`--seeds: '${text}' is not an integer`);
  return seed;
});

interface Run {
  readonly result: SimResult;
  readonly wallMs: number;
}

const loadBefore = loadavg()[0] ?? 0;
const runs = new Map<number, Map<PlacementPolicy, Run>>();
for (const seed of seeds) {
  const bySeed = new Map<PlacementPolicy, Run>();
  for (const policy of PLACEMENT_POLICIES) {
    const startMs = performance.now();
    const result = simulate(policy, { ...DEFAULT_SIM_CONFIG, seed });
    bySeed.set(policy, { result, wallMs: performance.now() - startMs });
  }
  runs.set(seed, bySeed);
}
const loadAfter = loadavg()[0] ?? 0;

const LABEL_WIDTH = 34;
const COLUMN_WIDTH = 11;
const s = (ms: number): string => (ms / 1000).toFixed(1);
const percent = (share: number | undefined): string => `${((share ?? 0) * 100).toFixed(1)} %`;
const waits = (w: WaitStats | undefined, pick: (w: WaitStats) => number): string =>
  w === undefined ? '-' : s(pick(w));

type Row = readonly [label: string, cell: (run: Run) => string];
const ROWS: readonly Row[] = [
  ['tasks submitted', (r) => String(r.result.tasksSubmitted)],
  ['tasks completed', (r) => String(r.result.tasksCompleted)],
  ['utilisation cpus (0-2 h)', (r) => percent(r.result.utilization.cpus)],
  ['utilisation mem (0-2 h)', (r) => percent(r.result.utilization.mem)],
  ['wait, all: mean s', (r) => s(r.result.wait.meanMs)],
  ['wait, all: p50 s', (r) => s(r.result.wait.p50Ms)],
  ['wait, all: p95 s', (r) => s(r.result.wait.p95Ms)],
  ['wait, all: p99 s', (r) => s(r.result.wait.p99Ms)],
  ['wait, small: mean s', (r) => waits(r.result.waitByClass.small, (w) => w.meanMs)],
  ['wait, small: p99 s', (r) => waits(r.result.waitByClass.small, (w) => w.p99Ms)],
  ['wait, large: mean s', (r) => waits(r.result.waitByClass.large, (w) => w.meanMs)],
  ['wait, large: p50 s', (r) => waits(r.result.waitByClass.large, (w) => w.p50Ms)],
  ['wait, large: p95 s', (r) => waits(r.result.waitByClass.large, (w) => w.p95Ms)],
  ['wait, large: p99 s', (r) => waits(r.result.waitByClass.large, (w) => w.p99Ms)],
  ['wait, large: max s', (r) => waits(r.result.waitByClass.large, (w) => w.maxMs)],
  [
    `waited > ${DEFAULT_SIM_CONFIG.starvationThresholdMs / 60_000} min (tasks)`,
    (r) => String(r.result.starvedCount),
  ],
  ['makespan min', (r) => (r.result.makespanMs / 60_000).toFixed(1)],
  ['run time ms (wall, this machine)', (r) => r.wallMs.toFixed(0)],
];
const SHORT_ROWS: readonly Row[] = ROWS.filter(([label]) =>
  [
    'utilisation cpus (0-2 h)',
    'wait, all: mean s',
    'wait, large: mean s',
    'wait, large: p95 s',
    'wait, large: max s',
  ].includes(label),
).concat([ROWS.find(([label]) => label.startsWith('waited >')) ?? ['', () => '']]);

function table(title: string, bySeed: ReadonlyMap<PlacementPolicy, Run>, rows: readonly Row[]) {
  const lines = [
    title.padEnd(LABEL_WIDTH) + PLACEMENT_POLICIES.map((p) => p.padStart(COLUMN_WIDTH)).join(''),
    '-'.repeat(LABEL_WIDTH + COLUMN_WIDTH * PLACEMENT_POLICIES.length),
  ];
  for (const [label, cell] of rows) {
    const cells = PLACEMENT_POLICIES.map((policy) => {
      const run = bySeed.get(policy);
      return (run === undefined ? '-' : cell(run)).padStart(COLUMN_WIDTH);
    });
    lines.push(`  ${label}`.padEnd(LABEL_WIDTH) + cells.join(''));
  }
  return lines.join('\n');
}

const c = DEFAULT_SIM_CONFIG;
const [first, ...others] = seeds;
const output: string[] = [];
if (first !== undefined) {
  output.push(table(`seed ${first}`, runs.get(first) ?? new Map(), ROWS));
  for (const seed of others)
    output.push(table(`seed ${seed}`, runs.get(seed) ?? new Map(), SHORT_ROWS));
}
const classes = c.classes
  .map((k) => {
    const range = (name: string) => {
      const r = k.demand[name];
      return r === undefined ? '0' : `${r.min}-${r.max}`;
    };
    return `${k.fraction * 100}% ${k.name} (${range('cpus')} cpus, ${range('mem')} MB, ${k.durationMs.min / 1000}-${k.durationMs.max / 1000} s)`;
  })
  .join(', ');
output.push(
  [
    `${c.agentCount} agents × ${JSON.stringify(c.agentCapacity)}; ${classes};`,
    `Poisson arrivals for ${c.arrivalWindowMs / 3_600_000} h at offered load ${c.offeredLoad} (cpus); the queue is placed every ${c.tickMs / 1000} s;`,
    `priority's τ = ${c.agingMs / 1000} s. Waits are start − submission; percentiles are nearest rank.`,
    `Machine: ${availableParallelism()} CPUs, ${cpus()[0]?.model ?? 'unknown'}, Node.js ${process.version}; 1-minute load ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after.`,
  ].join('\n'),
);
console.log(output.join('\n\n'));
if (values.json === true)
  console.log(
    JSON.stringify(
      [...runs.values()].flatMap((bySeed) => [...bySeed.values()].map((run) => run.result)),
      null,
      2,
    ),
  );
