// The containerizer's part of a task's start with cgroups (#7 item 17): launch() to
// the task's first instruction, through a parked shim (src/containerizer/shim-parking.ts)
// and the usual way (a new cgroup, a shim forked by the launcher that joins it), the two
// alternating launch by launch in one process, so both see the same load.
//
//   node --import tsx bench/parked-launch.ts [--runs N] [--gap-ms G]
//
// Each launch runs `date +%s%N` (`cpus:0.1;mem:32`) and is timed from just before
// launch() to the task's own clock; G ms of idle after each (the quiet moment between
// two `agora run`s, in which the next shim parks and the cgroup lock's grace period goes
// cold). Also the event loop's time inside launch() until it returns its promise, and the
// agent's CPU per launch (process.cpuUsage from launch() to the end of the idle moment
// after it, so the parking of the next shim counts), and at how many of the parked way's
// launches a shim was parked. The two ways alternate, so the parked way's launches are
// 2G ms plus one usual launch apart: `--gap-ms 25` puts them about as close as one
// `agora run` after another on a quiet machine (~60 ms). Needs root and cgroups v1.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { detectCgroups, MesosContainerizer } from '../src/containerizer/index.js';
import { Resources } from '../src/resources/index.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    'gap-ms': { type: 'string', default: '200' },
  },
});
const runs = Number(values.runs);
const gapMs = Number(values['gap-ms']);
const detection = detectCgroups(readFileSync('/proc/self/mountinfo', 'utf8'));
if (detection.kind !== 'available' || detection.hierarchy.version !== 'v1')
  throw new Error('needs cgroups v1');
const hierarchy = detection.hierarchy;
const root = `agora-bench-park-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'agora-parked-launch-'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ways = {
  parked: new MesosContainerizer({
    isolation: { kind: 'cgroups', hierarchy, root, enableCfs: false, pidsMax: 1024 },
    ledgerDir: join(dir, 'parked', 'meta', 'cgroups'),
  }),
  usual: new MesosContainerizer({
    isolation: { kind: 'cgroups', hierarchy, root, enableCfs: false, pidsMax: 1024 },
    ledgerDir: join(dir, 'usual', 'meta', 'cgroups'),
    parkShims: false,
  }),
};
type Way = keyof typeof ways;
const samples: Record<Way, { start: number[]; loop: number[]; cpu: number[] }> = {
  parked: { start: [], loop: [], cpu: [] },
  usual: { start: [], loop: [], cpu: [] },
};

/** Whether this process holds a parked shim's FIFO open: the slot is ready (shim-parking.ts). */
function isShimParked(): boolean {
  for (const fd of readdirSync('/proc/self/fd'))
    try {
      if (/\/parked-[^/]*\.fifo$/.test(readlinkSync(`/proc/self/fd/${fd}`))) return true;
    } catch {
      // Closed meanwhile.
    }
  return false;
}
/** Parked-way launches measured, and how many of them found a shim parked. */
const parkedWay = { launches: 0, found: 0 };

let n = 0;
async function launchOnce(way: Way, isMeasured: boolean): Promise<void> {
  const id = `bench-${process.pid}-${n++}`;
  const sandbox = join(dir, id, 'sandbox');
  mkdirSync(sandbox, { recursive: true });
  if (way === 'parked' && isMeasured) {
    parkedWay.launches += 1;
    if (isShimParked()) parkedWay.found += 1;
  }
  const cpu0 = process.cpuUsage();
  const startMs = performance.timeOrigin + performance.now();
  const t0 = performance.now();
  const launching = ways[way].launch({
    containerId: id,
    sandbox,
    runtimeDir: join(dir, id, 'runtime'),
    command: { value: 'date +%s%N' },
    environment: { PATH: '/usr/bin:/bin' },
    resources: Resources.parse('cpus:0.1;mem:32'),
  });
  const loopMs = performance.now() - t0;
  const container = await launching;
  await container.terminated;
  await ways[way].cleanup(id);
  // The idle moment after it, in which the parked way parks the next shim: counted.
  await sleep(gapMs);
  const cpu = process.cpuUsage(cpu0);
  const stamp = readFileSync(join(sandbox, 'stdout'), 'utf8').trim();
  samples[way].start.push(Number(BigInt(stamp) / 1000n) / 1000 - startMs);
  samples[way].loop.push(loopMs);
  samples[way].cpu.push((cpu.user + cpu.system) / 1000);
}

function stat(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return `${at(0.5).toFixed(2).padStart(7)} ${at(0.9).toFixed(2).padStart(7)} ${mean.toFixed(2).padStart(7)}`;
}

const loadBefore = loadavg()[0] ?? 0;
await ways.parked.recover([]);
await ways.usual.recover([]);
const paired: number[] = [];
for (let round = 0; round < runs + 2; round++) {
  const order: Way[] = round % 2 === 0 ? ['parked', 'usual'] : ['usual', 'parked'];
  for (const way of order) await launchOnce(way, round >= 2);
  if (round < 2)
    for (const way of order)
      for (const k of ['start', 'loop', 'cpu'] as const) samples[way][k].length = 0;
  else paired.push((samples.parked.start.at(-1) ?? 0) - (samples.usual.start.at(-1) ?? 0));
}
const loadAfter = loadavg()[0] ?? 0;
await Promise.all([ways.parked.close(), ways.usual.close()]);
for (const mount of new Set(Object.values(hierarchy.mounts)))
  try {
    rmdirSync(join(mount, root));
  } catch {
    // Something is still there: reported by the leak tests, not here.
  }
rmSync(dir, { recursive: true, force: true });

console.log(
  `parked-launch: ${runs} launches each, ${gapMs} ms idle after each, load ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)}`,
);
console.log('                                          median     p90    mean');
for (const way of ['parked', 'usual'] as const) {
  console.log(
    `${way.padEnd(7)} launch() -> task's first instruction ${stat(samples[way].start)} ms`,
  );
  console.log(
    `${way.padEnd(7)} event loop inside launch()           ${stat(samples[way].loop)} ms`,
  );
  console.log(`${way.padEnd(7)} agent CPU per launch, with the idle  ${stat(samples[way].cpu)} ms`);
}
console.log(`parked - usual, paired by round (task start)     ${stat(paired)} ms`);
console.log(
  `parked way: a shim was parked at ${parkedWay.found} of ${parkedWay.launches} launches`,
);
