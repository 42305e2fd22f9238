// The master core's own share of a failover, without sockets or JSON (#10):
//
//   node --import tsx bench/reregister-core.ts [--agents 2000] [--tasks 10] [--rounds 5]
//                                              [--warm] [--gcs N] [--report per-task|compact]
//
// Per round: a fresh core recovers a registry of --agents agents (the books a new
// leader builds, as recoverRegistry does), then each agent re-subscribes through
// agents.subscribe with --tasks running tasks the core never heard of (adopted).
// Prints the CPU time of each step per agent. The HTTP side (accept, the body's
// JSON, the SUBSCRIBED write) is bench/reregister.ts's; the body's parse and check
// (parseJsonBody, parseAgentCall) are timed here apart, on bodies made before.
//
// --alloc FILE: the last round's re-subscribe step under V8's sampling heap profiler (every
// object, collected or not, sampled about every 256 bytes): bytes per agent by function are
// printed, and the profile written to FILE (a .heapprofile, for Chrome's devtools).
//
// --kept: the last round also weighs, after full collections, what the books hold once its
// agents are back (records, indexes, and the parts of each SUBSCRIBE they keep), per agent.
//
// --warm: first the rehearsal a standby runs (src/master/warm-up.ts), as a new leader
// would have had it; --gcs N: then N full garbage collections, as a standby that stood by
// a while would have had (V8 may drop code it has not run for several of them).
// --report per-task: the tasks reported each with its framework's info, as agents of older
// versions send them; compact: each framework and each resources list once (default: each
// framework listed once, wire/agent-report.ts).

import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as agents from '../src/master/core/agents.js';
import { recoverRegistry } from '../src/master/core/recovery.js';
import {
  rehearsalAgent,
  rehearsalSubscribe,
  rehearseReregistration,
} from '../src/master/warm-up.js';
import { applyOperation, EMPTY_REGISTRY_STATE, type RegistryState } from '../src/registry/index.js';
import { Resources } from '../src/resources/index.js';
import { parseJsonBody } from '../src/runtime/index.js';
import {
  type AgentInfo,
  type AgentSubscribe,
  type AgentTask,
  agentId,
  frameworkId,
  MESOS_API_VERSION,
  parseAgentCall,
  type ReportShape,
  reportIn,
  taskId,
} from '../src/wire/index.js';
import { CoreBed } from '../test/master/core-bed.js';
import { startHeapSampling } from './heap-sampling.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '2000' },
    tasks: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    warm: { type: 'boolean', default: false },
    'warm-agents': { type: 'string' },
    // 'rehearsal': every agent and SUBSCRIBE shaped as the warm-up's own (same fields);
    // 'mixed': agents' task counts, frameworks and task sizes vary (reported() says how).
    shape: { type: 'string', default: 'plain' },
    'warm-rounds': { type: 'string' },
    gcs: { type: 'string', default: '0' },
    report: { type: 'string', default: 'frameworks-once' },
    alloc: { type: 'string' },
    kept: { type: 'boolean', default: false },
  },
});
const AGENTS = Number(values.agents);
const TASKS = Number(values.tasks);
const ROUNDS = Number(values.rounds);
const GCS = Number(values.gcs);
const SHAPE: ReportShape =
  values.report === 'per-task'
    ? 'perTask'
    : values.report === 'compact'
      ? 'compact'
      : 'frameworksOnce';

const framework = { id: frameworkId('fw'), user: 'u', name: 'storm', failover_timeout: 3600 };
const REHEARSAL_SHAPE = values.shape === 'rehearsal';
const infos: AgentInfo[] = Array.from({ length: AGENTS }, (_, i) =>
  REHEARSAL_SHAPE
    ? rehearsalAgent(i)
    : ({
        hostname: `host-${i}`,
        port: 5051,
        id: agentId(`agent-${i}`),
        resources: Resources.parse('cpus:4;mem:8192').toWire('post-refinement'),
      } as AgentInfo),
);
let state: RegistryState = EMPTY_REGISTRY_STATE;
for (const info of infos) state = applyOperation(state, { kind: 'admitAgent', agent: info });

/** --shape mixed: the second framework, whose tasks alternate with the first's. */
const other = { id: frameworkId('fw-2'), user: 'u', name: 'mixed', failover_timeout: 3600 };
const MIXED = values.shape === 'mixed';

function reported(i: number): AgentTask[] {
  // --shape mixed: 0-2 tasks more or less per agent, two frameworks' tasks alternating and
  // three sizes in turn, so that no two tasks in a row share a framework and a size.
  const count = MIXED ? Math.max(0, TASKS + (i % 5) - 2) : TASKS;
  return Array.from({ length: count }, (_, t) => {
    const owner = MIXED && t % 2 === 1 ? other : framework;
    const size = MIXED ? (t % 3) + 1 : 1;
    return {
      framework_id: owner.id,
      framework_info: owner,
      state: 'TASK_RUNNING',
      task: {
        name: `held-${i}-${t}`,
        task_id: taskId(`held-${i}-${t}`),
        agent_id: agentId(`agent-${i}`),
        resources: [
          {
            name: 'cpus',
            type: 'SCALAR',
            scalar: { value: 0.1 * size },
            allocation_info: { role: '*' },
          },
          {
            name: 'mem',
            type: 'SCALAR',
            scalar: { value: 32 * size },
            allocation_info: { role: '*' },
          },
        ],
        command: { value: 'sleep 3600' },
      },
    };
  });
}

const cpuMs = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
};
if (values.warm) {
  const from = process.cpuUsage();
  const done = await rehearseReregistration({
    ...(values['warm-agents'] !== undefined ? { agents: Number(values['warm-agents']) } : {}),
    ...(values['warm-rounds'] !== undefined ? { rounds: Number(values['warm-rounds']) } : {}),
  });
  process.stderr.write(
    `warm-up: ${done.subscribed} re-registrations, ${done.adopted} tasks, ${cpuMs(from).toFixed(1)} ms CPU\n`,
  );
}
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
for (let i = 0; i < GCS; i++) gc();
/** The heap in use after full collections (twice: the first may leave what finalizers free). */
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
// Wall time in garbage collection, per round: heap growth is part of a cold round's cost too.
let gcMs = 0;
const gcWatch = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
});
gcWatch.observe({ entryTypes: ['gc'] });
const totals: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  // Each SUBSCRIBE as it arrives: bytes, parsed and checked as the agent API does.
  const bodies = infos.map((info, i) =>
    REHEARSAL_SHAPE
      ? Buffer.from(JSON.stringify(rehearsalSubscribe(info, i, TASKS, SHAPE)))
      : Buffer.from(
          JSON.stringify({
            type: 'SUBSCRIBE',
            agent_id: info.id,
            subscribe: {
              agent_info: info,
              version: MESOS_API_VERSION,
              ...reportIn(SHAPE, reported(i)),
            },
          }),
        ),
  );
  await new Promise((resolve) => setImmediate(resolve));
  const isWeighed = round === ROUNDS && values.kept;
  const beforeParse = isWeighed ? heapAfterGc() : 0;
  const gcBefore = gcMs;
  const parseFrom = process.cpuUsage();
  const calls: (AgentSubscribe | undefined)[] = bodies.map((body) => {
    const call = parseAgentCall(parseJsonBody(body));
    if (call.type !== 'SUBSCRIBE') throw new Error('not a SUBSCRIBE');
    return call.subscribe;
  });
  const parseMs = cpuMs(parseFrom);
  const callsBytes = isWeighed ? heapAfterGc() - beforeParse : 0;
  const bed = new CoreBed({ agentReregisterTimeoutMs: 600_000 });
  const recoverFrom = process.cpuUsage();
  recoverRegistry(bed.core, state);
  const recoverMs = cpuMs(recoverFrom);
  const beforeSubscribe = isWeighed ? heapAfterGc() : 0;
  const stopSampling =
    round === ROUNDS && values.alloc !== undefined ? await startHeapSampling('all') : undefined;
  const subscribeFrom = process.cpuUsage();
  for (const [i, call] of calls.entries()) {
    if (call === undefined) continue;
    const id = agents.subscribe(bed.core, call, infos[i]?.id?.value, '127.0.0.1', `s-${i}`);
    if (id === undefined) throw new Error(`agent-${i} refused: ${JSON.stringify(bed.drain())}`);
    if (i % 100 === 99) bed.core.outbox.take();
    // What the books keep of the call stays; the rest is garbage, as in the master.
    calls[i] = undefined;
  }
  const subscribeMs = cpuMs(subscribeFrom);
  if (isWeighed) {
    bed.core.outbox.take();
    const kept = heapAfterGc() - beforeSubscribe + callsBytes;
    process.stderr.write(
      `kept by the books once back: ${(kept / AGENTS).toFixed(0)} B/agent (the parsed calls were ${(callsBytes / AGENTS).toFixed(0)} B/agent)\n`,
    );
  }
  if (stopSampling !== undefined)
    await stopSampling(values.alloc as string, AGENTS, 're-subscribe allocated');
  bed.core.stop();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setImmediate(resolve));
  const roundGcMs = gcMs - gcBefore;
  const perAgent = (ms: number) => ((ms * 1000) / AGENTS).toFixed(1);
  totals.push(parseMs + recoverMs + subscribeMs);
  process.stderr.write(
    `round ${round}: parse ${perAgent(parseMs)} µs/agent, recovery ${perAgent(recoverMs)} µs/agent, ` +
      `re-subscribe ${perAgent(subscribeMs)} µs/agent, all ${perAgent(parseMs + recoverMs + subscribeMs)} ` +
      `, gc ${perAgent(roundGcMs)} (${AGENTS} agents × ${TASKS} tasks)\n`,
  );
}
gcWatch.disconnect();
if (totals.length >= 3) {
  const later = totals.slice(2).reduce((a, b) => a + b, 0) / (totals.length - 2);
  process.stderr.write(
    `round 1 / mean of rounds 3-${totals.length}: ${((totals[0] as number) / later).toFixed(2)}${values.warm ? ' (warm-up first)' : ''}\n`,
  );
}
