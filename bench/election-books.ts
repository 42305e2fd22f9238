// What a new leader does between 'elected leader' and 'serving', and what one registry
// write costs, at --agents admitted agents (#10), without a coordinator:
//
//   node --import tsx bench/election-books.ts [--agents 10000] [--rounds 6] [--writes 20]
//
// books: each round a fresh MasterCore on the system clock recovers a registry state of
// --agents agents (recoverRegistry, as master.ts runs it at election), once with the
// records a standby prepared for that state (prepareRecovery) and once without (a standby
// that missed the last write). write: a ChunkedRegistry over an in-memory store holding
// those agents (512 KiB chunks, as ZooKeeper's and etcd's default) applies one operation
// at a time (a framework's, a new agent's, an agent marked unreachable); CPU per write. Both are CPU of this process (process.cpuUsage).
import { parseArgs } from 'node:util';
import { HierarchicalAllocator } from '../src/allocator/index.js';
import { MasterCore } from '../src/master/core/core.js';
import { prepareRecovery, recoverRegistry } from '../src/master/core/recovery.js';
import { ChunkedRegistry } from '../src/registry/chunked-registry.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  type RegistryOperation,
  type RegistryState,
} from '../src/registry/index.js';
import { silentLogger, systemClock } from '../src/runtime/index.js';
import { agentId, frameworkId, MESOS_API_VERSION, type Resource } from '../src/wire/index.js';
import { memoryStore } from '../test/registry/memory-store.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '6' },
    writes: { type: 'string', default: '20' },
  },
});
const AGENTS = Number(values.agents);
const ROUNDS = Number(values.rounds);
const WRITES = Number(values.writes);

/** As bench:failover's simulated agents register. */
const RESOURCES: readonly Resource[] = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 320 } },
];
const admit = (i: number): RegistryOperation => ({
  kind: 'admitAgent',
  agent: {
    hostname: `sim-agent-${i}`,
    port: 5051,
    id: agentId(`5f1c5aff-ebd0-4b45-b472-b74edb880358-S${i}`),
    resources: RESOURCES,
  },
});
const renameFramework = (i: number): RegistryOperation => ({
  kind: 'addFramework',
  framework: {
    info: { id: frameworkId(`fw-${i % 10}`), user: 'u', name: `f-${i}`, failover_timeout: 3600 },
    registeredTimeSec: 1,
  },
});

const cpuMs = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
};
const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 20));

let state: RegistryState = EMPTY_REGISTRY_STATE;
for (let i = 0; i < AGENTS; i++) state = applyOperation(state, admit(i));
for (let f = 0; f < 10; f++) state = applyOperation(state, renameFramework(f));

function books(recovered: RegistryState): { readonly ms: number; readonly isPrepared: boolean } {
  const core = new MasterCore({
    masterId: 'bench',
    allocator: new HierarchicalAllocator({ random: Math.random }),
    clock: systemClock,
    logger: silentLogger(),
    allocationIntervalMs: 1000,
    heartbeatIntervalMs: 15_000,
    agentReregisterTimeoutMs: 600_000,
    agentPingTimeoutMs: 15_000,
    maxAgentPingTimeouts: 5,
    frameworkReregisterTimeoutMs: 10_000,
  });
  core.setMasterInfo({
    id: 'bench',
    ip: 0x0100007f,
    port: 5050,
    pid: 'master@127.0.0.1:5050',
    hostname: 'localhost',
    version: MESOS_API_VERSION,
  });
  const from = process.cpuUsage();
  const isPrepared = recoverRegistry(core, recovered);
  core.start();
  const ms = cpuMs(from);
  core.stop();
  return { ms, isPrepared };
}

for (let round = 1; round <= ROUNDS; round++) {
  // A state object of its own each round, as each decoded head is.
  state = applyOperation(state, { kind: 'updateWeights', weights: [{ role: 'r', weight: round }] });
  prepareRecovery(state);
  await nextTurn();
  const prepared = books(state);
  await nextTurn();
  const other = applyOperation(state, renameFramework(round));
  const cold = books(other);
  process.stdout.write(
    `books round ${round}: prepared ${prepared.ms.toFixed(1)} ms (${prepared.isPrepared ? 'taken' : 'NOT taken'}), not prepared ${cold.ms.toFixed(1)} ms, ${AGENTS} agents\n`,
  );
  await nextTurn();
}

const memory = memoryStore();
memory.live.add('bench');
const registry = new ChunkedRegistry(memory.storeFor('bench'), 'bench', 512 * 1024);
await registry.recover();
// Filled in batches, as a registration storm's writes are.
for (let from = 0; from < AGENTS; from += 500)
  await Promise.all(
    Array.from({ length: Math.min(500, AGENTS - from) }, (_, k) => registry.apply(admit(from + k))),
  );
// One operation at a time, of the kinds a master writes most: a framework's (the agents'
// list unchanged), a new agent's (a registration), one agent marked unreachable (as after a
// failover).
const kinds: [string, (i: number) => RegistryOperation][] = [
  ['a framework changed', renameFramework],
  ['an agent admitted', (i) => admit(AGENTS + i)],
  [
    'an agent marked unreachable',
    (i) => ({
      kind: 'markAgentUnreachable',
      agentId: agentId(`5f1c5aff-ebd0-4b45-b472-b74edb880358-S${(i * 7919) % AGENTS}`),
      sinceSec: 1000 + i,
    }),
  ],
];
for (const [what, operation] of kinds) {
  const writes: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    await nextTurn();
    const from = process.cpuUsage();
    await registry.apply(operation(i));
    writes.push(cpuMs(from));
  }
  writes.sort((a, b) => a - b);
  const at = (q: number) => (writes[Math.floor(q * (writes.length - 1))] ?? Number.NaN).toFixed(1);
  process.stdout.write(
    `write of one operation at ${AGENTS} agents (${what}): CPU median ${at(0.5)} ms, min ${at(0)}, max ${at(1)} (${WRITES} writes; ${JSON.stringify(registry.lastWrite)})\n`,
  );
}
await registry.close();
