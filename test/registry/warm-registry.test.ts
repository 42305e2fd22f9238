// A standby's copy of the registry (#10): once elected, the master reads the head
// and only the chunks written since the standby's last look, and none when the
// head has not moved; what it recovers is what a cold read gives. Fencing is the
// store's, untouched: a deposed writer's write still fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkedRegistry } from '../../src/registry/chunked-registry.js';
import { type RegistryOperation, RegistryWarmer } from '../../src/registry/index.js';
import { agentId } from '../../src/wire/index.js';
import { agent } from './fixtures.js';
import { memoryStore } from './memory-store.js';

const CHUNK_BYTES = 16 * 1024;
const admissions: RegistryOperation[] = Array.from({ length: 400 }, (_, i) => ({
  kind: 'admitAgent',
  agent: agent(`agent-${String(i).padStart(4, '0')}`),
}));

async function leaderWith(memory: ReturnType<typeof memoryStore>, fence: string) {
  memory.live.add(fence);
  const registry = new ChunkedRegistry(memory.storeFor(fence), fence, CHUNK_BYTES);
  await registry.recover();
  return registry;
}

test('elected with an unmoved head, a warm standby reads no chunk and recovers what a cold read gives', async () => {
  const memory = memoryStore();
  const first = await leaderWith(memory, 'w1');
  await Promise.all(admissions.map((op) => first.apply(op)));
  const prepared: unknown[] = [];
  const warmer = new RegistryWarmer({
    store: memory.storeFor(''),
    prepared: (state) => prepared.push(state),
  });
  await warmer.look();
  await warmer.look();
  assert.equal(prepared.length, 1, 'decoded once the head was seen twice unchanged');

  memory.live.delete('w1');
  memory.live.add('w2');
  memory.box.reads = 0;
  const warm = new ChunkedRegistry(memory.storeFor('w2'), 'w2', CHUNK_BYTES, warmer);
  const state = await warm.recover();
  assert.equal(memory.box.reads, 0, 'no chunk read at election');
  assert.equal(state, prepared[0], 'the state the standby prepared');
  const cold = await new ChunkedRegistry(memory.storeFor('x'), 'x', CHUNK_BYTES).recover();
  assert.deepEqual(state, cold);
  assert.equal(state.agents.size, admissions.length);

  // The new leader writes on; the deposed one cannot.
  await warm.apply({ kind: 'markAgentUnreachable', agentId: agentId('agent-0007'), sinceSec: 3 });
  await assert.rejects(first.apply(admissions[0] as RegistryOperation), /fenced out/);
});

test('elected after writes it did not see, a warm standby reads only the chunks written since', async () => {
  const memory = memoryStore();
  const first = await leaderWith(memory, 'w1');
  await Promise.all(admissions.map((op) => first.apply(op)));
  const warmer = new RegistryWarmer({ store: memory.storeFor('') });
  await warmer.look();
  const chunksBefore = JSON.parse(memory.box.head?.data.toString('utf8') ?? '{}').chunks.length;
  // Written after the standby's last look: one agent more, one marked unreachable.
  await first.apply({ kind: 'admitAgent', agent: agent('agent-0200a') });
  await first.apply({
    kind: 'markAgentUnreachable',
    agentId: agentId('agent-0300'),
    sinceSec: 9,
  });

  memory.live.delete('w1');
  memory.live.add('w2');
  memory.box.reads = 0;
  const state = await new ChunkedRegistry(
    memory.storeFor('w2'),
    'w2',
    CHUNK_BYTES,
    warmer,
  ).recover();
  assert.ok(chunksBefore > 20, `a registry of many chunks (${chunksBefore})`);
  assert.ok(
    memory.box.reads >= 1 && memory.box.reads <= 4,
    `read ${memory.box.reads} of ${chunksBefore} chunks`,
  );
  const cold = await new ChunkedRegistry(memory.storeFor('x'), 'x', CHUNK_BYTES).recover();
  assert.deepEqual(state, cold);
  assert.equal(state.unreachableAgents.get('agent-0300'), 9);
  assert.ok(state.agents.has('agent-0200a'));
});
