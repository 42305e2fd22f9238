// A standby builds the agents' records ahead from the registry state it keeps
// (prepareRecovery), so that once elected its books are ready (#10). What a new leader
// serves must still be exactly the fenced state it read at election: a standby that
// missed a write recovers that write; records are never shared between two masters;
// the agents that do not come back are marked unreachable at the one deadline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentRecord } from '../../src/master/core/records.js';
import { prepareRecovery, recoverRegistry } from '../../src/master/core/recovery.js';
import { ChunkedRegistry } from '../../src/registry/chunked-registry.js';
import {
  type RegistryOperation,
  type RegistryState,
  RegistryWarmer,
} from '../../src/registry/index.js';
import { agentId } from '../../src/wire/index.js';
import { agent, fold, framework } from '../registry/fixtures.js';
import { memoryStore } from '../registry/memory-store.js';
import { CoreBed } from './core-bed.js';

const CHUNK_BYTES = 16 * 1024;
const admitted: RegistryOperation[] = [
  { kind: 'addFramework', framework: framework('fw-1', 100) },
  ...Array.from(
    { length: 200 },
    (_, i): RegistryOperation => ({
      kind: 'admitAgent',
      agent: agent(`agent-${String(i).padStart(3, '0')}`),
    }),
  ),
  { kind: 'markAgentUnreachable', agentId: agentId('agent-010'), sinceSec: 5 },
];
/** Written by the old leader after the standby's last look: the standby never sees them. */
const missed: RegistryOperation[] = [
  { kind: 'admitAgent', agent: agent('agent-late') },
  { kind: 'markAgentUnreachable', agentId: agentId('agent-003'), sinceSec: 9 },
  { kind: 'admitAgent', agent: agent('agent-010') },
  { kind: 'deactivateAgent', agentId: agentId('agent-005') },
  {
    kind: 'admitAgent',
    agent: {
      ...agent('agent-007'),
      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 32 } }],
    },
  },
  { kind: 'removeAgent', agentId: agentId('agent-009') },
  { kind: 'addFramework', framework: framework('fw-2', 200) },
];

/** What a leader's books show of each agent and framework: what it serves from them. */
function booksOf(bed: CoreBed) {
  const agents = [...bed.core.books.agents.values()].map((a: Readonly<AgentRecord>) => ({
    id: a.id.value,
    info: a.info,
    link: a.link,
    total: a.total.toString(),
    isDeactivated: a.isDeactivated,
    drain: a.drain,
    registeredTimeSec: a.registeredTimeSec,
  }));
  const frameworks = [...bed.core.books.frameworks.values()].map((f) => ({
    id: f.id.value,
    info: f.info,
    link: f.link,
  }));
  return { agents, frameworks };
}

function recovered(state: RegistryState): CoreBed {
  const bed = new CoreBed();
  recoverRegistry(bed.core, state);
  return bed;
}

async function standbyAndLeader(t: { after(fn: () => void): void }) {
  const memory = memoryStore();
  memory.live.add('w1');
  const first = new ChunkedRegistry(memory.storeFor('w1'), 'w1', CHUNK_BYTES);
  await first.recover();
  for (const op of admitted) await first.apply(op);
  const prepared: RegistryState[] = [];
  const warmer = new RegistryWarmer({
    store: memory.storeFor(''),
    prepared: (state) => {
      prepareRecovery(state);
      prepared.push(state);
    },
  });
  t.after(() => warmer.stop());
  // Decoded (and prepared) once the head is seen twice unchanged.
  await warmer.look();
  await warmer.look();
  assert.equal(prepared.length, 1, 'the standby prepared the state it decoded');
  return { memory, first, warmer, prepared };
}

/** The old leader is deposed; `fence` leads and reads the registry, warm from `warmer`. */
async function elect(
  memory: ReturnType<typeof memoryStore>,
  warmer: RegistryWarmer | undefined,
  fence: string,
): Promise<RegistryState> {
  memory.live.delete('w1');
  memory.live.add(fence);
  return new ChunkedRegistry(memory.storeFor(fence), fence, CHUNK_BYTES, warmer).recover();
}

test('a standby that missed a write recovers the books of the state read at election, not the one it prepared', async (t) => {
  const { memory, first, warmer, prepared } = await standbyAndLeader(t);
  for (const op of missed) await first.apply(op);

  const state = await elect(memory, warmer, 'w2');
  assert.notEqual(state, prepared[0], 'the head moved: the state is read, not the kept one');
  const leader = recovered(state);
  const cold = recovered(fold([...admitted, ...missed]));
  assert.deepEqual(booksOf(leader), booksOf(cold));

  const books = leader.core.books;
  assert.equal(books.agents.get('agent-late')?.link.state, 'recovered');
  assert.deepEqual(books.agents.get('agent-003')?.link, { state: 'unreachable', sinceSec: 9 });
  assert.equal(books.agents.get('agent-010')?.link.state, 'recovered', 'admitted again');
  assert.equal(books.agents.get('agent-005')?.isDeactivated, true);
  assert.equal(books.agents.get('agent-007')?.total.toString(), 'cpus:32');
  assert.equal(books.agents.has('agent-009'), false);
  assert.equal(books.frameworks.has('fw-2'), true);
});

test('a standby elected on the head it prepared recovers what a cold read gives, stamped at recovery', async (t) => {
  const { memory, warmer, prepared } = await standbyAndLeader(t);
  const state = await elect(memory, warmer, 'w2');
  assert.equal(state, prepared[0], 'the kept state');
  const leader = new CoreBed();
  leader.clock.advance(42_000);
  recoverRegistry(leader.core, state);
  const cold = new CoreBed();
  cold.clock.advance(42_000);
  recoverRegistry(cold.core, fold(admitted));
  assert.deepEqual(booksOf(leader), booksOf(cold));
  assert.equal(leader.agent('agent-000').registeredTimeSec, leader.clock.now() / 1000);
  assert.deepEqual(leader.agent('agent-010').link, { state: 'unreachable', sinceSec: 5 });
});

test('two masters recovering the same prepared state do not share an agent record', () => {
  const state = fold(admitted);
  prepareRecovery(state);
  const one = recovered(state);
  const two = recovered(state);
  one.addAgent('cpus:4;mem:4096', { id: 'agent-001', hostname: 'agent-001.example' });
  assert.equal(one.agent('agent-001').link.state, 'connected');
  assert.equal(two.agent('agent-001').link.state, 'recovered');
  assert.notEqual(one.agent('agent-002'), two.agent('agent-002'));
});

test('recovered agents not back by --agent_reregister_timeout are marked unreachable; those back are not', () => {
  const bed = new CoreBed({ agentReregisterTimeoutMs: 60_000 });
  const state = fold(admitted.slice(0, 4));
  prepareRecovery(state);
  recoverRegistry(bed.core, state);
  bed.advance(30_000);
  bed.addAgent('cpus:4', { id: 'agent-001', hostname: 'agent-001.example' });
  bed.advance(29_999);
  assert.equal(bed.agent('agent-000').link.state, 'recovered', 'not before the deadline');
  bed.advance(1);
  const marked = bed.effects.flatMap((e) =>
    e.kind === 'persist' && e.operation.kind === 'markAgentUnreachable'
      ? [e.operation.agentId.value]
      : [],
  );
  assert.deepEqual(marked.sort(), ['agent-000', 'agent-002']);
  assert.equal(bed.agent('agent-000').link.state, 'unreachable');
  assert.equal(bed.agent('agent-001').link.state, 'connected');
});
