// Where `agora run`'s task start goes, stage by stage, on one clock (#7 item 17).
//
//   node --import tsx bench/start-trace.ts [--runs 20] [--gap-ms 300] [--cli <bin/agora.js>]
//                                          [--baseline <another build's bin/agora.js>] [--keep]
//                                          [--reread <dir kept>]
//
// With --baseline, that build's CLI runs too, alternating with this one round by round,
// against the same daemons (this build's): the CLI's part compared on one cluster.
//
// Starts a master and two agents (their default isolation), then runs `perf trace -a`
// (the kernel's syscall tracepoints: no ptrace stop, so the processes run at their own
// speed) while `agora run -- 'date +%s%N'` runs --runs times, each followed by a
// `node -e 0` as the floor of the same moment. From the system calls of the CLI, the
// master, the agent and the shim, each run is cut into stages by what crossed a socket
// or a pipe, matched by byte count (a read of exactly what the other side wrote):
//
//   CLI exec → its first connect → SUBSCRIBE written → master read it → master's last
//   answer written (SUBSCRIBED, OFFERS) → CLI read them → ACCEPT written → master read
//   it → RUN_TASK written → agent read it → the go written (parked shim: the FIFO's
//   newline; else the launcher's script) → read by the shell → `setsid` exec → `date`
//   exec (the task's start).
//
// Root only (perf). Every time is perf's (the kernel's monotonic sched clock), so the
// stages of different processes compare directly; system calls are timestamped at entry.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchCluster, startBenchCluster, waitFor } from './bench-cluster.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SYSCALLS = 'execve,connect,accept4,read,write,writev,clone,clone3,exit_group';

// ------------------------------------------------------------------ the trace

export interface Syscall {
  /** When the call was entered. */
  readonly atMs: number;
  /** When it returned (a read that waited for data: when the data came). */
  readonly endMs: number;
  /** The thread's name once the call returned (after an execve: the new program's). */
  readonly comm: string;
  readonly tid: number;
  readonly name: string;
  readonly fd: number | undefined;
  readonly count: number | undefined;
  /** connect(): whether the address is an inet one (16 or 28 bytes long). */
  readonly isInet?: boolean;
  /** The return value; undefined when the call never returned in the trace (exit). */
  readonly ret: number | undefined;
}

const LINE = /^\s*(\d+\.\d+) \(\s*(?:([\d.]+) ms)?\s*\): (.+?)\/(\d+) +(\w+)\((.*)$/;
const CONTINUED =
  /^\s*(?:\d+\.\d+|\?) \(\s*(?:([\d.]+) ms)?\s*\): (.+?)\/(\d+) +\.\.\. \[continued\]: (\w+)\(\)\) += (-?\d+)/;

/**
 * `perf trace -T` text to system calls, in time order. A call interrupted by another
 * process's line is printed as `name(args …` and later `... [continued]: name()) = ret`:
 * joined here by thread.
 */
export function parsePerfTrace(text: string): Syscall[] {
  const calls: Syscall[] = [];
  const pending = new Map<number, { call: Omit<Syscall, 'ret'>; index: number }>();
  let lastMs = 0;
  for (const line of text.split('\n')) {
    const continued = CONTINUED.exec(line);
    if (continued !== null) {
      const [, duration, comm = '', tid, name, ret] = continued;
      const open = pending.get(Number(tid));
      if (open !== undefined && open.call.name === name) {
        calls[open.index] = {
          ...open.call,
          comm,
          endMs: open.call.atMs + Number(duration ?? 0),
          ret: Number(ret),
        };
        pending.delete(Number(tid));
      } else if (open === undefined) {
        // Entered before the trace began (a parked shim's read of its FIFO): perf prints the
        // return in time order, so the line before it dates it closely enough.
        calls.push({
          atMs: lastMs,
          endMs: lastMs,
          comm,
          tid: Number(tid),
          name: name ?? '',
          fd: undefined,
          count: undefined,
          ret: Number(ret),
        });
      }
      continue;
    }
    const match = LINE.exec(line);
    if (match === null) continue;
    const [, at, duration, comm = '', tid, name = '', rest = ''] = match;
    lastMs = Number(at);
    const fd = /\bfd: (\d+)/.exec(rest)?.[1];
    const count = /\bcount: (\d+)/.exec(rest)?.[1];
    const ret = /\) += (-?\d+)/.exec(rest)?.[1];
    const addrlen = /\baddrlen: (\d+)/.exec(rest)?.[1];
    const call = {
      endMs: Number(at) + Number(duration ?? 0),
      ...(addrlen !== undefined ? { isInet: addrlen === '16' || addrlen === '28' } : {}),
      atMs: Number(at),
      comm,
      tid: Number(tid),
      name,
      fd: fd === undefined ? undefined : Number(fd),
      count: count === undefined ? undefined : Number(count),
    };
    if (ret === undefined && rest.trimEnd().endsWith('...')) {
      pending.set(call.tid, { call, index: calls.length });
      calls.push({ ...call, ret: undefined });
    } else calls.push({ ...call, ret: ret === undefined ? undefined : Number(ret) });
  }
  return calls.sort((a, b) => a.atMs - b.atMs);
}

/** One run's marks, ms on perf's clock; undefined where the trace did not show one. */
export interface RunMarks {
  readonly exec?: number;
  readonly connect?: number;
  readonly subscribeWritten?: number;
  readonly subscribeRead?: number;
  readonly answerWritten?: number;
  readonly offersRead?: number;
  readonly acceptWritten?: number;
  readonly acceptRead?: number;
  readonly runTaskWritten?: number;
  readonly runTaskRead?: number;
  readonly goWritten?: number;
  readonly goRead?: number;
  readonly setsidExec?: number;
  readonly taskExec?: number;
  readonly exit?: number;
}

const isWrite = (c: Syscall) => c.name === 'write' || c.name === 'writev';
const wrote = (c: Syscall) => (isWrite(c) && c.ret !== undefined && c.ret > 0 ? c.ret : 0);

/**
 * The marks of the `agora run` whose process is `cli`, among `calls` (all of the trace),
 * the master's main thread being `master` and the agents' `agents`. Pure.
 */
export function marksOf(
  calls: readonly Syscall[],
  cli: number,
  master: number,
  agents: ReadonlySet<number>,
): RunMarks {
  const find = (from: number, test: (c: Syscall) => boolean) => {
    for (let i = from; i < calls.length; i++) if (test(calls[i] as Syscall)) return i;
    return -1;
  };
  const at = (i: number) => (i < 0 ? undefined : calls[i]?.atMs);
  const marks: { -readonly [K in keyof RunMarks]: number | undefined } = {};
  const exec = find(0, (c) => c.tid === cli && c.name === 'execve' && c.ret === 0);
  marks.exec = at(exec);
  if (exec < 0) return marks;
  marks.exit = at(find(exec, (c) => c.tid === cli && c.name === 'exit_group'));
  // Not nscd's unix socket (getpwuid's first try), which is refused: an inet address.
  const connect = find(exec, (c) => c.tid === cli && c.name === 'connect' && c.isInet === true);
  marks.connect = at(connect);
  if (connect < 0) return marks;
  const stream = calls[connect]?.fd;
  const cliSockets = new Set<number>();
  for (let i = connect; i < calls.length; i++) {
    const c = calls[i] as Syscall;
    if (c.tid === cli && c.name === 'connect' && c.fd !== undefined) cliSockets.add(c.fd);
  }
  const subscribe = find(connect, (c) => c.tid === cli && c.fd === stream && wrote(c) > 0);
  marks.subscribeWritten = at(subscribe);
  if (subscribe < 0) return marks;
  const subscribeBytes = wrote(calls[subscribe] as Syscall);
  const subscribeRead = find(
    subscribe,
    (c) => c.tid === master && c.name === 'read' && c.ret === subscribeBytes,
  );
  marks.subscribeRead = at(subscribeRead);
  const offers = find(
    subscribe,
    (c) => c.tid === cli && c.name === 'read' && c.fd === stream && (c.ret ?? 0) > 0,
  );
  marks.offersRead = at(offers);
  if (offers < 0) return marks;
  const masterFd = calls[subscribeRead]?.fd;
  for (let i = offers; i > subscribeRead && subscribeRead >= 0; i--) {
    const c = calls[i] as Syscall;
    if (c.tid === master && c.fd === masterFd && wrote(c) > 0) {
      marks.answerWritten = c.atMs;
      break;
    }
  }
  const accept = find(
    offers,
    (c) => c.tid === cli && c.fd !== stream && cliSockets.has(c.fd ?? -1) && wrote(c) > 0,
  );
  marks.acceptWritten = at(accept);
  if (accept < 0) return marks;
  const acceptBytes = wrote(calls[accept] as Syscall);
  const acceptRead = find(
    accept,
    (c) => c.tid === master && c.name === 'read' && c.ret === acceptBytes,
  );
  marks.acceptRead = at(acceptRead);
  if (acceptRead < 0) return marks;
  // RUN_TASK: the master's first write that an agent then reads byte for byte.
  let agent: number | undefined;
  let runTaskRead = -1;
  for (let i = acceptRead + 1; i < calls.length && agent === undefined; i++) {
    const c = calls[i] as Syscall;
    if (c.tid !== master || wrote(c) === 0) continue;
    const read = find(
      i,
      (r) => agents.has(r.tid) && r.name === 'read' && r.ret === wrote(c) && r.atMs - c.atMs < 50,
    );
    if (read < 0) continue;
    marks.runTaskWritten = c.atMs;
    runTaskRead = read;
    agent = calls[read]?.tid;
  }
  marks.runTaskRead = at(runTaskRead);
  if (runTaskRead < 0 || agent === undefined) return marks;
  // The go: of the agent's writes that a shell then reads byte for byte, the one read first
  // (the parked shim's FIFO newline comes after the script file it names, and is read first;
  // on the usual path the launcher reads the whole script from its pipe). A read that
  // waited counts from its return.
  let go: { write: Syscall; read: Syscall } | undefined;
  for (let i = runTaskRead + 1; i < calls.length; i++) {
    const c = calls[i] as Syscall;
    if (c.atMs - (marks.runTaskRead ?? 0) > 200) break;
    if (c.tid !== agent || wrote(c) === 0) continue;
    for (let j = i + 1 - 50 < 0 ? 0 : i - 50; j < calls.length; j++) {
      const r = calls[j] as Syscall;
      if (r.atMs - c.atMs > 200) break;
      if (r.comm !== 'sh' || r.name !== 'read' || r.ret !== wrote(c) || r.endMs < c.atMs) continue;
      if (go === undefined || r.endMs < go.read.endMs) go = { write: c, read: r };
      break;
    }
  }
  if (go === undefined) return marks;
  marks.goWritten = go.write.atMs;
  marks.goRead = go.read.endMs;
  const after = calls.indexOf(go.write);
  const execOf = (comm: string) =>
    at(find(after, (r) => r.comm === comm && r.name === 'execve' && r.ret === 0));
  marks.setsidExec = execOf('setsid');
  marks.taskExec = execOf('date');
  return marks;
}

/** A floor run (`node -e 0`): exec to exit_group. */
export function floorOf(calls: readonly Syscall[], pid: number): number | undefined {
  const exec = calls.find((c) => c.tid === pid && c.name === 'execve' && c.ret === 0);
  const exit = calls.find((c) => c.tid === pid && c.name === 'exit_group');
  return exec === undefined || exit === undefined ? undefined : exit.atMs - exec.atMs;
}

// ------------------------------------------------------------------ the cluster

async function runProcess(file: string, args: readonly string[]): Promise<number> {
  const { NODE_EXTRA_CA_CERTS: _ca, ...env } = process.env;
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}`);
  return child.pid ?? -1;
}

// ------------------------------------------------------------------ report

const STAGES: readonly (readonly [string, keyof RunMarks, keyof RunMarks])[] = [
  ['CLI: exec → first connect', 'exec', 'connect'],
  ['CLI: connect → SUBSCRIBE written', 'connect', 'subscribeWritten'],
  ['wire: SUBSCRIBE written → master read it', 'subscribeWritten', 'subscribeRead'],
  ['master: SUBSCRIBE read → SUBSCRIBED+OFFERS written', 'subscribeRead', 'answerWritten'],
  ['wire: answer written → CLI read it', 'answerWritten', 'offersRead'],
  ['CLI: offers read → ACCEPT written', 'offersRead', 'acceptWritten'],
  ['wire: ACCEPT written → master read it', 'acceptWritten', 'acceptRead'],
  ['master: ACCEPT read → RUN_TASK written', 'acceptRead', 'runTaskWritten'],
  ['wire: RUN_TASK written → agent read it', 'runTaskWritten', 'runTaskRead'],
  ['agent: RUN_TASK read → go written', 'runTaskRead', 'goWritten'],
  ['pipe: go written → shell read it', 'goWritten', 'goRead'],
  ['shim: go read → setsid exec', 'goRead', 'setsidExec'],
  ['task: setsid exec → date exec', 'setsidExec', 'taskExec'],
  ['total: CLI exec → task exec', 'exec', 'taskExec'],
  ['  of which: CLI exec → SUBSCRIBE written', 'exec', 'subscribeWritten'],
  ['  of which: SUBSCRIBE written → ACCEPT written', 'subscribeWritten', 'acceptWritten'],
  ['  of which: ACCEPT written → task exec', 'acceptWritten', 'taskExec'],
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function p90(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(0.9 * sorted.length) - 1)] ?? Number.NaN;
}

export function render(runs: readonly RunMarks[], floorsMs: readonly number[]): string {
  const lines = [`${'stage'.padEnd(56)} ${'median'.padStart(7)} ${'p90'.padStart(7)}   n`];
  for (const [label, from, to] of STAGES) {
    const values = runs.flatMap((m) => {
      const a = m[from];
      const b = m[to];
      return a === undefined || b === undefined ? [] : [b - a];
    });
    if (values.length === 0) continue;
    lines.push(
      `${label.padEnd(56)} ${median(values).toFixed(2).padStart(7)} ${p90(values).toFixed(2).padStart(7)}  ${String(values.length).padStart(2)}`,
    );
  }
  if (floorsMs.length > 0)
    lines.push(
      `${'floor: node -e 0, exec → exit_group'.padEnd(56)} ${median(floorsMs).toFixed(2).padStart(7)} ${p90(floorsMs).toFixed(2).padStart(7)}  ${String(floorsMs.length).padStart(2)}`,
    );
  return `${lines.join('\n')}\n`;
}

const PAIRED: readonly (readonly [string, keyof RunMarks, keyof RunMarks])[] = [
  ['CLI exec → SUBSCRIBE written', 'exec', 'subscribeWritten'],
  ['CLI exec → offers read', 'exec', 'offersRead'],
  ['CLI exec → ACCEPT written', 'exec', 'acceptWritten'],
  ['ACCEPT written → task exec', 'acceptWritten', 'taskExec'],
  ['CLI exec → task exec', 'exec', 'taskExec'],
];

/** This build's stages; with a baseline, its stages and this − baseline paired by round. */
export function report(
  runs: readonly RunMarks[],
  baseline: readonly RunMarks[] | undefined,
  floorsMs: readonly number[],
): string {
  if (baseline === undefined) return render(runs, floorsMs);
  const lines = ['this build', render(runs, floorsMs), 'baseline', render(baseline, [])];
  lines.push(
    `${'this − baseline, paired by round'.padEnd(56)} ${'median'.padStart(7)} ${'p90'.padStart(7)}   n`,
  );
  for (const [label, from, to] of PAIRED) {
    const differences: number[] = [];
    runs.forEach((marks, i) => {
      const other = baseline[i];
      const [a, b, c, d] = [marks[from], marks[to], other?.[from], other?.[to]];
      if (a !== undefined && b !== undefined && c !== undefined && d !== undefined)
        differences.push(b - a - (d - c));
    });
    if (differences.length > 0)
      lines.push(
        `${label.padEnd(56)} ${median(differences).toFixed(2).padStart(7)} ${p90(differences).toFixed(2).padStart(7)}  ${String(differences.length).padStart(2)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      'gap-ms': { type: 'string', default: '300' },
      cli: { type: 'string', default: join(ROOT, 'bin', 'agora.js') },
      baseline: { type: 'string' },
      keep: { type: 'boolean', default: false },
      reread: { type: 'string' },
    },
  });
  if (values.reread !== undefined) {
    const pids = JSON.parse(readFileSync(join(values.reread, 'pids.json'), 'utf8')) as {
      master: number;
      agents: number[];
      cliPids: number[];
      baselinePids?: number[];
      floorPids: number[];
    };
    const calls = parsePerfTrace(readFileSync(join(values.reread, 'perf-trace.txt'), 'utf8'));
    const marksFor = (list: readonly number[]) =>
      list.map((pid) => marksOf(calls, pid, pids.master, new Set(pids.agents)));
    process.stdout.write(
      report(
        marksFor(pids.cliPids),
        pids.baselinePids === undefined ? undefined : marksFor(pids.baselinePids),
        pids.floorPids.flatMap((pid) => floorOf(calls, pid) ?? []),
      ),
    );
    return;
  }
  const runs = Number(values.runs);
  const gapMs = Number(values['gap-ms']);
  const cli = values.cli;
  const workDir = mkdtempSync(join(tmpdir(), 'agora-start-trace-'));
  let cluster: BenchCluster | undefined;
  let perf: ChildProcess | undefined;
  const load = [loadavg()[0] ?? 0];
  try {
    cluster = await startBenchCluster([process.execPath, cli], workDir);
    const { url } = cluster;
    const run = (which = cli) =>
      runProcess(process.execPath, [which, 'run', '--master', url, '--', 'date +%s%N']);
    const baseline = values.baseline;
    // Warm-up: the code caches are written, the agents' first launches are done.
    for (let i = 0; i < 3; i++) {
      await run();
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      if (baseline === undefined) continue;
      await run(baseline);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    const traceFile = join(workDir, 'perf-trace.txt');
    perf = spawn('perf', ['trace', '-a', '-T', '-e', SYSCALLS, '-o', traceFile], {
      stdio: 'ignore',
    });
    const perfExited = once(perf, 'exit');
    // perf is tracing once a process of ours shows in its file.
    await waitFor('perf trace to start', async () => {
      const pid = await runProcess('/bin/true', []);
      if (statSync(traceFile, { throwIfNoEntry: false }) === undefined) return undefined;
      return readFileSync(traceFile, 'utf8').includes(`/${pid} `) ? true : undefined;
    });
    const cliPids: number[] = [];
    const baselinePids: number[] = [];
    const floorPids: number[] = [];
    const pause = () => new Promise((resolve) => setTimeout(resolve, gapMs / 2));
    for (let i = 0; i < runs; i++) {
      // With a baseline, both CLIs run each round against the same daemons, in turn first.
      const order =
        baseline === undefined ? ['this'] : i % 2 === 0 ? ['this', 'base'] : ['base', 'this'];
      for (const which of order) {
        if (which === 'this') cliPids.push(await run());
        else if (baseline !== undefined) baselinePids.push(await run(baseline));
        await pause();
      }
      floorPids.push(await runProcess(process.execPath, ['-e', '0']));
      await pause();
    }
    perf.kill('SIGINT');
    await perfExited;
    load.push(loadavg()[0] ?? 0);
    const calls = parsePerfTrace(readFileSync(traceFile, 'utf8'));
    const [masterDaemon, ...agentDaemons] = cluster.daemons;
    const agents = new Set(agentDaemons.map((d) => d.child.pid ?? -1));
    const marksFor = (list: readonly number[]) =>
      list.map((pid) => marksOf(calls, pid, masterDaemon?.child.pid ?? -1, agents));
    const floors = floorPids.flatMap((pid) => floorOf(calls, pid) ?? []);
    process.stdout.write(
      report(
        marksFor(cliPids),
        baseline === undefined ? undefined : marksFor(baselinePids),
        floors,
      ),
    );
    process.stdout.write(
      `${runs} runs, ${gapMs} ms apart; 1-minute load ${load.map((l) => l.toFixed(2)).join(' → ')}; ${cli}\n`,
    );
    if (values.keep) {
      writeFileSync(
        join(workDir, 'pids.json'),
        JSON.stringify({
          master: masterDaemon?.child.pid,
          agents: [...agents],
          cliPids,
          ...(baseline === undefined ? {} : { baselinePids }),
          floorPids,
        }),
      );
      process.stdout.write(`trace kept: ${traceFile} (again: --reread ${workDir})\n`);
    }
  } finally {
    if (perf !== undefined && perf.exitCode === null) perf.kill('SIGINT');
    await cluster?.stop();
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
