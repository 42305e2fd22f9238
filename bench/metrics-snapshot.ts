// What one /metrics/snapshot costs the master at 10,000 agents and 100,000 tasks
// (#10): a read that walks every agent and task (as every read did before the
// gauge cache) against a read served from the gauge cache (src/master/gauge-cache.ts),
// in one process, alternating. CPU time per read, no sockets:
// `node --import tsx bench/metrics-snapshot.ts [agents]`.
import { loadavg } from 'node:os';
import { accept } from '../src/master/core/accept.js';
import { snapshotMetrics, walkGauges, walkSize } from '../src/master/core/snapshot.js';
import { GaugeCache } from '../src/master/gauge-cache.js';
import { Resources } from '../src/resources/index.js';
import { systemClock } from '../src/runtime/index.js';
import { taskId } from '../src/wire/index.js';
import { CoreBed } from '../test/master/core-bed.js';

const AGENTS = Number(process.argv[2] ?? 10_000);
const ROUNDS = 20;
const bed = new CoreBed();
for (let i = 0; i < AGENTS; i++) bed.addAgent('cpus:1;mem:320');
const frameworks = Array.from({ length: 10 }, (_, i) => bed.subscribe({ name: `f${i}` }));
bed.advance(0);
let n = 0;
for (const fw of frameworks)
  for (const offer of bed.offersOn(fw.streamId)) {
    accept(bed.core, bed.framework(fw.id), {
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: Array.from({ length: 10 }, () => ({
              name: `t${n}`,
              task_id: taskId(`t${n++}`),
              agent_id: offer.agent_id,
              resources: Resources.parse('cpus:0.1;mem:32').toWire('pre-refinement'),
              command: { value: 'true' },
            })),
          },
        },
      ],
    });
    bed.drain();
  }
const cache = new GaugeCache({
  clock: systemClock,
  walk: () => walkGauges(bed.core),
  size: () => walkSize(bed.core),
  maxAgeMs: 60_000,
});
cache.read(); // the first read of a large master walks once

function cpuMsPerRead(read: () => Record<string, number>): number {
  const before = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) read();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / ROUNDS;
}

const load = loadavg()[0]?.toFixed(1);
const walked: number[] = [];
const cached: number[] = [];
for (let round = 0; round < 3; round++) {
  walked.push(cpuMsPerRead(() => snapshotMetrics(bed.core, 0)));
  cached.push(cpuMsPerRead(() => snapshotMetrics(bed.core, 0, undefined, cache.read())));
}
cache.stop();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(
  `${AGENTS} agents, ${n} tasks; CPU ms per /metrics/snapshot read, median of 3 × ${ROUNDS}`,
);
console.log(`  walking every agent and task: ${median(walked).toFixed(2)} ms`);
console.log(`  from the gauge cache:         ${median(cached).toFixed(2)} ms`);
console.log(
  `  1-minute load average at the start: ${load}, at the end: ${loadavg()[0]?.toFixed(1)}`,
);
