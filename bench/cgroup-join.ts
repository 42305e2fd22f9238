// What a shim's join of its container's cgroups costs on the path of a task's start
// (#7 item 17), with and without the warm-up the containerizer starts when a RUN_TASK
// arrives (warmCgroupMoves in src/containerizer/cgroups.ts).
//
//   node --import tsx bench/cgroup-join.ts [--runs N] [--gap-ms G] [--work-ms W]
//
// Each round makes a fresh cgroup in every hierarchy, waits G ms (the idle moment
// between two `agora run`s), then does W ms of other work (the agent's checkpoint and
// sandbox) and runs `sh -c 'echo $$ > …/cgroup.procs …'` (the shim's joins, one sh fork
// and exec included), timed from the start of the work to the sh's exit, as the task's
// start sees it; and the join alone, from its spawn:
//   cold:   as the agent did before;
//   warmed: with the warm-up started just before the work, as it does now.
// The two alternate round by round. Needs root and cgroups; removes what it made.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { detectCgroups, warmCgroupMoves } from '../src/containerizer/cgroups.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    'gap-ms': { type: 'string', default: '200' },
    'work-ms': { type: 'string', default: '3' },
  },
});
const runs = Number(values.runs);
const gapMs = Number(values['gap-ms']);
const workMs = Number(values['work-ms']);

const detection = detectCgroups(readFileSync('/proc/self/mountinfo', 'utf8'));
if (detection.kind !== 'available') throw new Error(`no cgroups: ${detection.reason}`);
const hierarchy = detection.hierarchy;
const mounts =
  hierarchy.version === 'v1' ? [...new Set(Object.values(hierarchy.mounts))] : [hierarchy.mount];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function joinMs(dirs: readonly string[]): Promise<number> {
  const script = dirs.map((dir) => `echo $$ > ${join(dir, 'cgroup.procs')}`).join(' && ');
  const start = performance.now();
  const child = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`the join exited with ${code}`);
  return performance.now() - start;
}

function summary(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return `median ${at(0.5)?.toFixed(1)} ms, p90 ${at(0.9)?.toFixed(1)} ms`;
}

const coldTotal: number[] = [];
const coldJoin: number[] = [];
const warmedTotal: number[] = [];
const warmedJoin: number[] = [];
const loadBefore = loadavg()[0] ?? 0;
for (let round = 0; round < runs; round++) {
  for (const kind of round % 2 === 0 ? ['cold', 'warmed'] : ['warmed', 'cold']) {
    const dirs = mounts.map((mount) =>
      join(mount, `agora-bench-join-${process.pid}-${round}-${kind}`),
    );
    await Promise.all(dirs.map((dir) => mkdir(dir)));
    try {
      await sleep(gapMs);
      const start = performance.now();
      if (kind === 'warmed') warmCgroupMoves(hierarchy);
      await sleep(workMs);
      const joined = await joinMs(dirs);
      (kind === 'warmed' ? warmedJoin : coldJoin).push(joined);
      (kind === 'warmed' ? warmedTotal : coldTotal).push(performance.now() - start);
    } finally {
      // The sh has exited: its cgroups are empty and can go.
      for (const dir of dirs) rmdirSync(dir);
    }
  }
}
process.stdout.write(
  [
    `cgroup ${hierarchy.version}, ${mounts.length} hierarchies; ${runs} rounds, ${gapMs} ms idle before each, ${workMs} ms of work after the warm-up`,
    `cold:   work + join ${summary(coldTotal)}; the join alone ${summary(coldJoin)}`,
    `warmed: work + join ${summary(warmedTotal)}; the join alone ${summary(warmedJoin)}`,
    `1-minute load average: ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after`,
    '',
  ].join('\n'),
);
