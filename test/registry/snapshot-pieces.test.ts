// The pieces a chunked registry writes, kept from one write to the next
// (snapshot-pieces.ts), must be exactly what snapshotPieces makes from scratch: the
// same texts, cut after the same entries with the same hashes, whatever sequence of
// states they are asked for. And the chunks found unchanged by their pieces must hold
// the text the head says they do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkSet, keyHash } from '../../src/registry/chunk-set.js';
import { decodeSnapshot, encodeSnapshot, snapshotPieces } from '../../src/registry/codec.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  type RegistryOperation,
  type RegistryState,
} from '../../src/registry/index.js';
import { SnapshotPieceCache } from '../../src/registry/snapshot-pieces.js';
import { mulberry32 } from '../../src/sim/index.js';
import { agentId, frameworkId } from '../../src/wire/index.js';
import { agent, framework } from './fixtures.js';
import { memoryStore } from './memory-store.js';

/** A random operation on a small id space, so entries come and go, first ones too. */
function randomOperation(random: () => number, state: RegistryState): RegistryOperation {
  const pick = (n: number) => Math.floor(random() * n);
  const admitted = [...state.agents.keys()];
  const someAgent = admitted[pick(admitted.length)];
  const id = `agent-${String(pick(1000)).padStart(3, '0')}`;
  const roll = pick(12);
  if (someAgent === undefined || roll < 4)
    return { kind: 'admitAgent', agent: agent(id, `host-${pick(3)}.example`) };
  const existing = agentId(someAgent);
  switch (roll) {
    case 4:
      return { kind: 'removeAgent', agentId: existing };
    case 5:
      return { kind: 'markAgentUnreachable', agentId: existing, sinceSec: pick(1000) };
    case 6:
      // Rarely: a gone agent's id never comes back.
      return random() < 0.1
        ? { kind: 'markAgentGone', agentId: existing }
        : { kind: 'admitAgent', agent: agent(id) };
    case 7:
      return { kind: 'addFramework', framework: framework(`fw-${pick(20)}`, pick(100)) };
    case 8:
      return { kind: 'removeFramework', frameworkId: frameworkId(`fw-${pick(20)}`) };
    case 9:
      return { kind: 'updateWeights', weights: [{ role: `role-${pick(5)}`, weight: 1 + pick(4) }] };
    case 10:
      return { kind: 'deactivateAgent', agentId: existing };
    default:
      return random() < 0.5
        ? { kind: 'drainAgent', agentId: existing, config: { mark_gone: false } }
        : { kind: 'reactivateAgent', agentId: existing };
  }
}

/** The state after a random operation the state allows (removed frameworks stay removed…). */
function nextState(random: () => number, state: RegistryState): RegistryState {
  for (;;)
    try {
      return applyOperation(state, randomOperation(random, state));
    } catch (error) {
      if (!(error instanceof assert.AssertionError)) throw error;
    }
}

const fromScratch = (state: RegistryState) =>
  snapshotPieces(0, state).map(({ text, key }) => ({ text, hash: keyHash(key) }));

test('kept pieces equal pieces made from scratch, state after state', () => {
  for (const seed of [1, 2, 3]) {
    const random = mulberry32(seed);
    const cache = new SnapshotPieceCache();
    const states: RegistryState[] = [EMPTY_REGISTRY_STATE];
    let state = EMPTY_REGISTRY_STATE;
    for (let step = 0; step < 1000; step++) {
      state = nextState(random, state);
      states.push(state);
      // Asked for most states, but now and then after many changes at once (more than
      // a splice takes), an earlier state, or a decoded copy sharing no object with them.
      const roll = random();
      let asked = state;
      if (roll < 0.3) continue;
      if (roll < 0.35) asked = states[Math.floor(random() * states.length)] ?? state;
      else if (roll < 0.38) {
        const decoded = decodeSnapshot(Buffer.from(encodeSnapshot(0, state)));
        assert.ok(decoded.ok);
        asked = decoded.value.state;
      }
      assert.deepEqual(cache.pieces(0, asked), fromScratch(asked), `seed ${seed} step ${step}`);
    }
    assert.ok(state.agents.size > 20, `the states grew: ${state.agents.size} agents`);
  }
});

test('a large batch of admissions at once is ordered like a fresh sort', () => {
  const cache = new SnapshotPieceCache();
  let state = EMPTY_REGISTRY_STATE;
  for (let i = 0; i < 500; i += 2)
    state = applyOperation(state, { kind: 'admitAgent', agent: agent(`a-${i}`) });
  assert.deepEqual(cache.pieces(0, state), fromScratch(state));
  // 250 more, between and before the first: past what a splice takes, in one write.
  for (let i = 499; i > 0; i -= 2)
    state = applyOperation(state, { kind: 'admitAgent', agent: agent(`a-${i}`) });
  state = applyOperation(state, { kind: 'admitAgent', agent: agent('a-') });
  assert.deepEqual(cache.pieces(0, state), fromScratch(state));
});

test('chunks found unchanged by their pieces hold the text the head names', async () => {
  const memory = memoryStore();
  memory.live.add('w1');
  const store = memory.storeFor('w1');
  const chunks = new ChunkSet(store, 'w1', 16 * 1024);
  await chunks.open();
  const cache = new SnapshotPieceCache();
  const random = mulberry32(7);
  let state = EMPTY_REGISTRY_STATE;
  let written = 0;
  for (let step = 0; step < 300; step++) {
    state = nextState(random, state);
    const stats = await chunks.write(cache.pieces(0, state));
    written += stats.written;
    const head = JSON.parse(memory.box.head?.data.toString() ?? '{}') as {
      chunks: [string, number, string][];
    };
    const parts = await Promise.all(head.chunks.map(([name]) => store.readChunk(name)));
    assert.equal(Buffer.concat(parts).toString('utf8'), encodeSnapshot(0, state), `step ${step}`);
  }
  // Most chunks were kept write after write: far fewer written than named.
  assert.ok(written < 300 * 4, `${written} chunks written in 300 writes`);
});
