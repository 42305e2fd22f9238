// The floor under `agora run`'s task start (#7 item 17): how close a Node client can
// come to `node -e 0`, measured on one clock, interleaved round by round.
//
//   node --import tsx bench/cli-floor.ts [--runs 30] [--baseline <another build's bin/agora.js>]
//
// Starts a master and two agents (this build's daemons, their default isolation) and,
// each round, in a rotating order, times from spawn() (wall clock, this process):
//   node -e 0                          → exit
//   node <an empty file>               → exit
//   bare client: net + SUBSCRIBE       → the request's first byte reaches a listener here
//   agora run                          → the same (its SUBSCRIBE reaching that listener)
//   bare client: SUBSCRIBE + 1 event   → exit (against the real master)
//   min-run (cli-floor/min-run.cjs)    → the task's own start, and exit; again with 10 ms of
//                                        busy CPU once the ACCEPT is answered, or at the
//                                        task's first update
//   agora run (this build, baseline)   → the task's own start, and exit
// Under `chrt -f 1 node --import tsx bench/cli-floor.ts …` the bench and the clients it spawns
// run under a real-time policy (no wait for the other engineers' processes on a shared
// machine) and the daemons under the normal one.
// The task is `date +%s%N > <file>`, so both run clients are timed by what the task wrote,
// not by their output streaming. The listener kills a client once its first byte arrived.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchCluster, startBenchCluster } from './bench-cluster.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const AGORA = join(ROOT, 'bin', 'agora.js');
const FLOOR = join(ROOT, 'bench', 'cli-floor');
const RUN_TIMEOUT_MS = 30_000;
/** Between runs on the cluster: the agent parks its next shim 10-30 ms after a launch. */
const GAP_MS = 150;

const wallMs = () => performance.timeOrigin + performance.now();

/**
 * Run under `chrt -f 1` (a real-time policy: the clients then wait for no other process on this
 * shared machine), the daemons still start under the normal policy unless `--rt-daemons`: an
 * agent's task cannot join a cgroup without a real-time budget (cgroup v1's cpu.rt_runtime_us
 * is 0 there), so real-time daemons need `--isolation posix` (no parked shim: an upper bound).
 */
function isRealTime(): boolean {
  try {
    return execFileSync('chrt', ['-p', String(process.pid)], { encoding: 'utf8' }).includes(
      'SCHED_FIFO',
    );
  } catch {
    return false;
  }
}
let daemonCommand: string[] = [process.execPath];

const ENV = (() => {
  const { NODE_EXTRA_CA_CERTS: _ca, NODE_OPTIONS: _options, ...env } = process.env;
  return env;
})();

/** Spawns `args` and resolves with ms from spawn to exit; throws on a status other than 0. */
async function timedExit(args: readonly string[], env = ENV): Promise<number> {
  const start = wallMs();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.resume();
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  const end = wallMs();
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}: ${stderr}`);
  return end - start;
}

/** A listener that notes when a client's first byte arrives, then kills that client. */
class FirstByte {
  private readonly server = createServer();
  private onByte: ((atMs: number) => void) | undefined;
  private readonly sockets = new Set<Socket>();
  async listen(): Promise<number> {
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.once('data', () => this.onByte?.(wallMs()));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }
  /** ms from spawn to the first byte of the client's first request. */
  async time(args: readonly string[]): Promise<number> {
    const arrived = new Promise<number>((resolve) => {
      this.onByte = resolve;
    });
    const start = wallMs();
    const child = spawn(process.execPath, args, { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.resume();
    const exited = once(child, 'exit');
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const atMs = await Promise.race([
      arrived,
      exited.then(() => Promise.reject(new Error(`${args.join(' ')} exited before writing`))),
    ]);
    child.kill('SIGKILL');
    await exited;
    clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    return atMs - start;
  }
  close(): void {
    this.server.close();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
function p90(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.9) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '30' },
      baseline: { type: 'string' },
      isolation: { type: 'string' },
      'rt-daemons': { type: 'boolean' },
    },
  });
  const runs = Number(values.runs);
  const realTime = isRealTime();
  if (realTime && values['rt-daemons'] !== true)
    daemonCommand = ['chrt', '-o', '0', process.execPath];
  const workDir = mkdtempSync(join(tmpdir(), 'agora-cli-floor-'));
  let cluster: BenchCluster | undefined;
  const listener = new FirstByte();
  const load = [loadavg()[0] ?? 0];
  try {
    cluster = await startBenchCluster(
      [...daemonCommand, AGORA],
      workDir,
      values.isolation !== undefined ? ['--isolation', values.isolation] : [],
    );
    const { url } = cluster;
    const hostPort = new URL(url).host;
    const fakePort = await listener.listen();
    let n = 0;
    /** ms from spawn to the task's own clock, and to the client's exit. */
    const taskRun = async (
      args: (command: string) => string[],
      env = ENV,
    ): Promise<[number, number]> => {
      const file = join(workDir, `t-${n++}`);
      const start = wallMs();
      const exitMs = await timedExit(args(`date +%s%N > ${file}`), env);
      const taskNs = BigInt(readFileSync(file, 'utf8').trim());
      const taskMs = Number(taskNs / 1000n) / 1000;
      await new Promise((resolve) => setTimeout(resolve, GAP_MS));
      return [taskMs - start, exitMs];
    };
    /**
     * A run through marks.cjs: from spawn to node's first line of JS, to the SUBSCRIBE and
     * the ACCEPT written, to the task's own start, all on the wall clock; CPU beside.
     */
    const marked = async (name: string, args: (command: string) => string[]) => {
      const file = join(workDir, `marks-${n}.json`);
      const taskFile = join(workDir, `t-${n++}`);
      const start = wallMs();
      await timedExit([join(FLOOR, 'marks.cjs'), ...args(`date +%s%N > ${taskFile}`)], {
        ...ENV,
        AGORA_MARKS: file,
      });
      const marks = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number[]>;
      const task = Number(BigInt(readFileSync(taskFile, 'utf8').trim()) / 1000n) / 1000;
      const at = (name: string, i: number): number => {
        const value = marks[name]?.[i];
        if (value === undefined) throw new Error(`mark ${name} missing: ${JSON.stringify(marks)}`);
        return value;
      };
      const [bootCpu, bootWall, bootRun] = [0, 1, 2].map((i) => at('boot', i)) as [
        number,
        number,
        number,
      ];
      const [subscribeCpu, subscribeWall, subscribeRun] = [0, 1, 2].map((i) =>
        at('subscribe', i),
      ) as [number, number, number];
      const [acceptCpu, acceptWall, acceptRun, acceptWait] = [0, 1, 2, 3].map((i) =>
        at('accept', i),
      ) as [number, number, number, number];
      add(`${name} (marked): spawn → first line of JS`, bootWall - start);
      add(`${name} (marked): first line → SUBSCRIBE written`, subscribeWall - bootWall);
      add(`${name} (marked): SUBSCRIBE written → ACCEPT written`, acceptWall - subscribeWall);
      add(`${name} (marked): ACCEPT written → task start`, task - acceptWall);
      add(`${name} (marked): spawn → task start`, task - start);
      add(`${name} (marked): CPU to first line`, bootCpu);
      add(`${name} (marked): CPU first line → SUBSCRIBE written`, subscribeCpu - bootCpu);
      add(`${name} (marked): CPU SUBSCRIBE → ACCEPT written`, acceptCpu - subscribeCpu);
      add(`${name} (marked): main thread on CPU to first line`, bootRun);
      add(`${name} (marked): main thread on CPU first line → SUBSCRIBE`, subscribeRun - bootRun);
      add(`${name} (marked): main thread on CPU SUBSCRIBE → ACCEPT`, acceptRun - subscribeRun);
      add(`${name} (marked): main thread waiting for a CPU, spawn → ACCEPT`, acceptWait);
      await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    };
    const clis: [string, string][] = [['agora run', AGORA]];
    if (values.baseline !== undefined) clis.push(['agora run (baseline)', values.baseline]);
    type Row = string;
    const samples = new Map<Row, number[]>();
    const add = (row: Row, ms: number) => {
      const list = samples.get(row) ?? [];
      list.push(ms);
      samples.set(row, list);
    };
    const steps: (() => Promise<void>)[] = [
      async () => add('node -e 0 → exit', await timedExit(['-e', '0'])),
      async () => add('node <empty file> → exit', await timedExit([join(FLOOR, 'empty.cjs')])),
      async () =>
        add(
          'bare: net + SUBSCRIBE → first byte at a listener',
          await listener.time([join(FLOOR, 'subscribe-write.cjs'), `127.0.0.1:${fakePort}`]),
        ),
      async () =>
        add(
          'bare: SUBSCRIBE + SUBSCRIBED read → exit',
          await timedExit([join(FLOOR, 'subscribe-event.cjs'), hostPort]),
        ),
      async () => {
        const [task, exit] = await taskRun((command) => [
          join(FLOOR, 'min-run.cjs'),
          hostPort,
          command,
        ]);
        add('min-run → task start', task);
        add('min-run → exit', exit);
      },
      async () => {
        const [task] = await taskRun((command) => [join(FLOOR, 'min-run.cjs'), hostPort, command], {
          ...ENV,
          AGORA_MIN_RUN_BUSY_MS: '10',
        });
        add('min-run + 10 ms of CPU after the ACCEPT is answered → task start', task);
      },
      async () => {
        const [task] = await taskRun((command) => [join(FLOOR, 'min-run.cjs'), hostPort, command], {
          ...ENV,
          AGORA_MIN_RUN_BUSY_MS: '10',
          AGORA_MIN_RUN_BUSY_AT: 'update',
        });
        add("min-run + 10 ms of CPU at the task's first update → task start", task);
      },
      () =>
        marked('min-run', (command) => ['script', join(FLOOR, 'min-run.cjs'), hostPort, command]),
      ...clis.flatMap(([name, cli]) => [
        async () =>
          add(
            `${name}: → SUBSCRIBE's first byte at a listener`,
            await listener.time([cli, 'run', '--master', `127.0.0.1:${fakePort}`, '--', 'true']),
          ),
        async () => {
          const [task, exit] = await taskRun((command) => [
            cli,
            'run',
            '--master',
            hostPort,
            '--',
            command,
          ]);
          add(`${name} → task start`, task);
          add(`${name} → exit`, exit);
        },
        () => marked(name, (command) => ['agora', cli, 'run', '--master', hostPort, '--', command]),
      ]),
    ];
    // Warm-up: code caches written, the agents' first launches done.
    for (let i = 0; i < 2; i++) for (const step of steps) await step();
    samples.clear();
    const paired = new Map<Row, number[]>();
    for (let round = 0; round < runs; round++) {
      const offset = round % steps.length;
      for (let i = 0; i < steps.length; i++) await steps[(i + offset) % steps.length]?.();
      const floor = samples.get('node -e 0 → exit')?.at(-1) ?? NaN;
      for (const [row, list] of samples) {
        if (row === 'node -e 0 → exit' || row.includes('(marked)')) continue;
        const over = paired.get(row) ?? [];
        over.push((list.at(-1) ?? NaN) - floor);
        paired.set(row, over);
      }
    }
    load.push(loadavg()[0] ?? 0);
    const width = Math.max(...[...samples.keys()].map((k) => k.length));
    const lines = [
      `${'row'.padEnd(width)}   median     p90   over node -e 0 (paired by round, median)`,
    ];
    for (const [row, list] of samples)
      lines.push(
        `${row.padEnd(width)}  ${median(list).toFixed(1).padStart(7)} ${p90(list).toFixed(1).padStart(7)}   ${
          paired.has(row)
            ? median(paired.get(row) ?? [])
                .toFixed(1)
                .padStart(7)
            : ''
        }`,
      );
    lines.push(
      `${runs} rounds (order rotating), ${samples.get('node -e 0 → exit')?.length} samples a row; clients ${realTime ? 'SCHED_FIFO' : 'SCHED_OTHER'}, daemons ${realTime && values['rt-daemons'] === true ? 'SCHED_FIFO' : 'SCHED_OTHER'}; agents' isolation ${values.isolation ?? 'default'}; 1-minute load ${load.map((l) => l.toFixed(2)).join(' → ')}; ${cpus()[0]?.model ?? '?'}; node ${process.version}`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    listener.close();
    await cluster?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
