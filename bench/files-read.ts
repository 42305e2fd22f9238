// The agent's `/files/read` of a task's output, in one process (#11: `agora run` polls it
// while dockerd starts the container, and once more at the task's end): SandboxFiles.read
// of `/frameworks/<fid>/executors/<eid>/runs/latest/stdout` on a sandbox laid out as the
// agent lays it out, the way the route opens it (a walk name by name, O_NOFOLLOW), then a
// read of its bytes.
//
//   node --import tsx bench/files-read.ts [--reads N] [--rounds R] [--concurrency C]
//                                         [--baseline <other build's src/>]
//
// Three cases: the file there with 100 bytes to read; `runs/latest` not there yet (a 404:
// the pumps' reads while the agent had not pointed it); the file there, read from its end
// (a poll that finds nothing new). Each round does N reads of each case, C at a time,
// for this build and, with --baseline, for the other build's SandboxFiles on the same
// tree, the two alternating round by round so both see the same load. Per read: wall time
// (the round's time over N, with C in flight), and the process's CPU (user + system) over
// N. Medians over the rounds.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SandboxFiles } from '../src/agent/files.js';

interface Reader {
  read(given: string, offset: number | undefined): Promise<{ readonly size: number }>;
}
type ReaderClass = new (roots: { agentDir: () => string | undefined; slavesDir: string }) => Reader;

const { values } = parseArgs({
  options: {
    reads: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '9' },
    concurrency: { type: 'string', default: '1' },
    baseline: { type: 'string' },
  },
});
const reads = Number(values.reads);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
if (!(reads >= 1 && rounds >= 1 && concurrency >= 1)) {
  process.stderr.write('files-read: --reads, --rounds and --concurrency ≥ 1\n');
  process.exit(2);
}

const base = mkdtempSync(join(tmpdir(), 'agora-bench-files-'));
process.on('exit', () => rmSync(base, { recursive: true, force: true }));
const slaves = join(base, 'slaves');
const agentId = 'S-bench-agent-0';
const frameworkId = 'F-bench-framework-0000';
/** The shape of ids the agent and `agora run` make: long enough to cost what they cost. */
const runsOf = (executor: string) =>
  join(slaves, agentId, 'frameworks', frameworkId, 'executors', executor, 'runs');
const CONTAINER = '0b9c4d2e-8f61-4a43-9d0e-3c5a7f1e2b11';
for (const executor of ['task-there', 'task-not-yet']) {
  mkdirSync(join(runsOf(executor), CONTAINER), { recursive: true });
  writeFileSync(join(runsOf(executor), CONTAINER, 'stdout'), 'x'.repeat(100));
}
symlinkSync(CONTAINER, join(runsOf('task-there'), 'latest'));
const path = (executor: string) =>
  `/frameworks/${frameworkId}/executors/${executor}/runs/latest/stdout`;
const CASES = [
  { name: 'file there, 100 bytes read', path: path('task-there'), offset: 0 },
  { name: 'runs/latest not there (404)', path: path('task-not-yet'), offset: 0 },
  { name: 'file there, nothing new', path: path('task-there'), offset: 100 },
] as const;

const builds: { name: string; reader: Reader }[] = [];
const roots = { agentDir: () => join(slaves, agentId), slavesDir: slaves };
builds.push({ name: 'this build', reader: new SandboxFiles(roots) });
if (values.baseline !== undefined) {
  const module = (await import(join(values.baseline, 'agent', 'files.ts'))) as {
    SandboxFiles: ReaderClass;
  };
  builds.push({ name: 'baseline', reader: new module.SandboxFiles(roots) });
}

async function once(reader: Reader, given: string, offset: number): Promise<void> {
  try {
    await reader.read(given, offset);
  } catch (error) {
    // The 404 case's answer; anything else is a broken bench.
    if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
  }
}

/** One round: N reads, C in flight; wall and CPU per read in µs. */
async function round(reader: Reader, given: string, offset: number) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < reads) await once(reader, given, offset);
    }),
  );
  const wallUs = ((performance.now() - started) * 1000) / reads;
  const cpu = process.cpuUsage(cpuBefore);
  return { wallUs, cpuUs: (cpu.user + cpu.system) / reads };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const loadBefore = loadavg()[0] ?? 0;
const results = new Map<string, { wallUs: number[]; cpuUs: number[] }>();
// A warm-up round of each, untimed: the JIT and the dentry cache.
for (const build of builds)
  for (const c of CASES) for (let i = 0; i < 50; i++) await once(build.reader, c.path, c.offset);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? builds : [...builds].reverse();
  for (const c of CASES)
    for (const build of order) {
      const key = `${c.name}\u0000${build.name}`;
      const entry = results.get(key) ?? { wallUs: [], cpuUs: [] };
      const { wallUs, cpuUs } = await round(build.reader, c.path, c.offset);
      entry.wallUs.push(wallUs);
      entry.cpuUs.push(cpuUs);
      results.set(key, entry);
    }
}

const lines = [
  `${'case'.padEnd(32)}${'build'.padEnd(12)}${'wall µs/read'.padStart(14)}${'CPU µs/read'.padStart(14)}`,
];
for (const c of CASES)
  for (const build of builds) {
    const entry = results.get(`${c.name}\u0000${build.name}`);
    if (entry === undefined) continue;
    lines.push(
      `${c.name.padEnd(32)}${build.name.padEnd(12)}${median(entry.wallUs).toFixed(1).padStart(14)}${median(entry.cpuUs).toFixed(1).padStart(14)}`,
    );
  }
const cpu = cpus()[0]?.model ?? 'unknown CPU';
lines.push(
  `\n${reads} reads × ${rounds} rounds per case and build, ${concurrency} in flight; ${cpus().length} × ${cpu}; Node.js ${process.version}; 1-min load ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after.`,
);
process.stdout.write(`${lines.join('\n')}\n`);
