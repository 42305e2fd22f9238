// The master's CPU per agent re-registration after a failover (#10 goal (b)):
//
//   node --import tsx bench/reregister.ts [--agents 2000] [--tasks 10] [--within 1000]
//                                         [--rounds 3] [--profile <dir>] [--warm] [--warm-http]
//                                         [--cold] [--no-front] [--kept]
//                                         [--alloc FILE | --survivors FILE] > /dev/null
//
// This process is the master (so process.cpuUsage() is the master's CPU alone; its
// info-level log goes to stdout, as the daemon's: send it to /dev/null); the agents are
// src/sim's in a process of their own (test/master/storm-agents.ts). A first master admits
// them; each agent then holds --tasks running tasks it never told that master of. Each
// round starts a new master from the registry the first one wrote (as a newly elected one
// recovers it), stops the previous one, and sends every agent to it, each after a random
// wait under --within ms (an agent's registration backoff after an election): the master
// adopts every agent's tasks, as after a failover. Per round: CPU per re-registration, the
// time until all are back, the worst lateness of a 10 ms timer. --profile writes a
// .cpuprofile of each round's storm there. --warm: before round 1, the rehearsal a standby
// runs (src/master/warm-up.ts), as the newly elected master would have had it; --warm-http:
// then its HTTP side too (src/master/warm-up-http.ts). --cold: the first master runs in a
// process of its own (bench/reregister-admit.ts), so this one has run no agent API code
// before round 1, as a standby has not (without it, round 1 follows the first master's
// registrations in this process: warmer than a standby). --no-front: the measured masters
// leave every request to node:http (no connection front, runtime/http-front.ts).
//
// The last round can be weighed (#10: a new leader's collector copies what a storm keeps):
// --kept, the heap after full collections before and after it, per agent (what the master
// holds for an agent back: books and connection); --alloc FILE, V8's sampling heap profiler
// over it, every object (what a re-registration makes); --survivors FILE, the same sampling
// counting only what is alive when the storm is over (what it keeps, by the function that
// allocated it). Bytes per agent by function are printed; the profile goes to FILE.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Master } from '../src/master/index.js';
import { rehearseReregistration } from '../src/master/warm-up.js';
import { rehearseReregistrationHttp } from '../src/master/warm-up-http.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  InMemoryRegistry,
  type RegistryState,
} from '../src/registry/index.js';
import { createLogger } from '../src/runtime/index.js';
import type { AgentInfo } from '../src/wire/index.js';
import { ROOT, waitFor } from '../test/integration/harness.js';
import { testMaster } from '../test/master/daemon-routes.js';
import { KeptRegistry } from '../test/master/kept-registry.js';
import { startStormAgents } from '../test/master/storm-agents-process.js';
import { startHeapSampling } from './heap-sampling.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '2000' },
    tasks: { type: 'string', default: '10' },
    within: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'string' },
    warm: { type: 'boolean', default: false },
    'warm-http': { type: 'boolean', default: false },
    cold: { type: 'boolean', default: false },
    'no-front': { type: 'boolean', default: false },
    kept: { type: 'boolean', default: false },
    alloc: { type: 'string' },
    survivors: { type: 'string' },
  },
});
if (values.alloc !== undefined && values.survivors !== undefined)
  throw new Error('--alloc and --survivors each take a sampling of their own: one per run');
const AGENTS = Number(values.agents);
const TASKS = Number(values.tasks);
const WITHIN_MS = Number(values.within);
const ROUNDS = Number(values.rounds);

/** The master's log, as the daemon's: info level, written once per loop round, on stdout. */
const logger = () => createLogger('master');

/** Time in GC pauses so far (the main thread's, as PerformanceObserver reports them). */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

/**
 * The heap in use after full collections (twice: the first may leave what finalizers free),
 * and the memory of ArrayBuffers and Buffers outside it.
 */
const heapAfterGc = (): { readonly heap: number; readonly buffers: number } => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, buffers: usage.arrayBuffers };
};

const kept = new KeptRegistry();
/** The master the agents follow now; in --cold mode, none of this process's until round 1. */
let master: Master | undefined;
/** --cold: the admitting master's process, and a line it said. */
let admitter:
  | { readonly child: ChildProcess; readonly heard: (line: string) => Promise<string> }
  | undefined;
let url: string;
if (values.cold) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'reregister-admit.ts')],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  const heard = (prefix: string) =>
    waitFor(
      `the admitting master to say ${prefix}`,
      () => {
        const at = lines.findIndex((line) => line.startsWith(prefix));
        return at < 0 ? undefined : (lines.splice(at, 1)[0] as string);
      },
      600_000,
    );
  admitter = { child, heard };
  url = (await heard('url ')).slice(4);
} else {
  master = testMaster({ registry: kept, logger: logger() });
  url = await master.start();
}
const agents = startStormAgents(url, AGENTS, TASKS);
await agents.heard('subscribed', 600_000);
const say = (line: string) => process.stderr.write(`${line}\n`);
say(
  `${AGENTS} agents × ${TASKS} tasks, re-registering within ${WITHIN_MS} ms; load ${loadavg()[0]?.toFixed(1)}`,
);
/** The registry the next master recovers: the first master's, or (--cold) rebuilt from its dump. */
let held: RegistryState | undefined = kept.held;
if (admitter !== undefined) {
  const file = join(tmpdir(), `agora-reregister-${process.pid}.json`);
  admitter.child.stdin?.write(`dump ${file}\n`);
  await admitter.heard('dumped');
  const infos = JSON.parse(readFileSync(file, 'utf8')) as AgentInfo[];
  rmSync(file, { force: true });
  held = EMPTY_REGISTRY_STATE;
  for (const agent of infos) held = applyOperation(held, { kind: 'admitAgent', agent });
}
if (values.warm || values['warm-http']) {
  const from = process.cpuUsage();
  const done = await rehearseReregistration();
  const used = process.cpuUsage(from);
  say(
    `warm-up: ${done.subscribed} rehearsed re-registrations, ${Math.round((used.user + used.system) / 1000)} ms CPU`,
  );
}
if (values['warm-http']) {
  const from = process.cpuUsage();
  const done = await rehearseReregistrationHttp();
  const used = process.cpuUsage(from);
  say(
    `warm-up over HTTP: ${done.subscribed} rehearsed re-registrations (${done.failed} failed), ${Math.round((used.user + used.system) / 1000)} ms CPU`,
  );
}
const session = values.profile === undefined ? undefined : new Session();
session?.connect();
if (session !== undefined) {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
}
for (let round = 1; round <= ROUNDS; round++) {
  const next = testMaster({
    registry: new InMemoryRegistry({ initial: held }),
    logger: logger(),
    isAgentFrontOn: !values['no-front'],
  });
  const nextUrl = await next.start();
  if (master !== undefined) await master.stop();
  else if (admitter !== undefined) {
    admitter.child.stdin?.end();
    await once(admitter.child, 'exit');
  }
  master = next;
  let lateMs = 0;
  let expected = performance.now() + 10;
  const ticker = setInterval(() => {
    const now = performance.now();
    lateMs = Math.max(lateMs, now - expected);
    expected = now + 10;
  }, 10);
  if (session !== undefined) await session.post('Profiler.start');
  const isLast = round === ROUNDS;
  const heapBefore = isLast && values.kept ? heapAfterGc() : undefined;
  const sampled = values.alloc ?? values.survivors;
  const stopSampling =
    isLast && sampled !== undefined
      ? await startHeapSampling(values.alloc !== undefined ? 'all' : 'live')
      : undefined;
  const load = loadavg()[0] ?? 0;
  const gcBefore = gcMs;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  agents.follow(nextUrl, WITHIN_MS);
  await agents.heard('resubscribed', 600_000);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const roundGcMs = gcMs - gcBefore;
  clearInterval(ticker);
  if (stopSampling !== undefined && sampled !== undefined)
    await stopSampling(
      sampled,
      AGENTS,
      values.alloc !== undefined ? 'the storm allocated' : 'alive after the storm',
    );
  if (heapBefore !== undefined) {
    const after = heapAfterGc();
    const perAgent = (bytes: number) => (bytes / AGENTS).toFixed(0);
    say(
      `kept once back: ${perAgent(after.heap - heapBefore.heap)} B/agent in the heap, ${perAgent(after.buffers - heapBefore.buffers)} B/agent of buffers`,
    );
  }
  if (session !== undefined && values.profile !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(values.profile, { recursive: true });
    writeFileSync(join(values.profile, `reregister-${round}.cpuprofile`), JSON.stringify(profile));
  }
  const cpuMs = (cpu.user + cpu.system) / 1000;
  let tasks = 0;
  for (const agent of master.books.agents.values()) tasks += agent.tasks.size;
  say(
    `round ${round}: ${(cpuMs / AGENTS).toFixed(3)} ms master CPU per re-registration (${Math.round(cpuMs)} ms, GC pauses ${Math.round(roundGcMs)} ms), ` +
      `all back in ${Math.round(elapsedMs)} ms (${Math.round(elapsedMs - WITHIN_MS)} ms past the spread), ` +
      `10 ms timer ≤ ${Math.round(lateMs)} ms late; ${tasks} tasks adopted, ${master.agentFrontAnswered} SUBSCRIBEs answered by the front; load ${load.toFixed(1)} → ${loadavg()[0]?.toFixed(1)}`,
  );
}
await agents.stop();
await master?.stop();
process.exit(0);
