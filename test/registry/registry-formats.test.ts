// Registry formats across builds: this build reads every format an older build
// wrote (a chunk-set head of format 1, before chunks were kept across writes),
// and refuses one a newer build wrote with an error that names the format found
// and those it reads, touching nothing (#10).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ChunkedRegistry } from '../../src/registry/chunked-registry.js';
import { encodeSnapshot } from '../../src/registry/codec.js';
import { RegistryFormatError, type RegistryOperation } from '../../src/registry/index.js';
import { agent, embedded, fold, framework, teardown, tempDir } from './fixtures.js';
import { memoryStore } from './memory-store.js';

/** An in-memory coordinator store whose writers' fences all hold. */
function memoryChunks() {
  const memory = memoryStore();
  for (const writer of ['new.writer', 'third.writer', 'old.build']) memory.live.add(writer);
  return memory;
}

const ops: RegistryOperation[] = [
  { kind: 'admitAgent', agent: agent('a1') },
  { kind: 'admitAgent', agent: agent('a2') },
  { kind: 'addFramework', framework: framework('fw-1') },
  { kind: 'updateWeights', weights: [{ role: 'web', weight: 2 }] },
];

test('chunked registry reads a format-1 head (an older build) and writes format 2 from then on', async () => {
  const memory = memoryChunks();
  // Format 1, as builds before chunk sets wrote it: the snapshot cut in equal
  // parts named g<generation>-<writer>-<i>, one size and one sha256 for all.
  const document = Buffer.from(encodeSnapshot(5, fold(ops)), 'utf8');
  const third = Math.ceil(document.length / 3);
  for (let i = 0; i < 3; i++)
    memory.chunks.set(`g5-old.writer-${i}`, document.subarray(i * third, (i + 1) * third));
  memory.setHead({
    format: 1,
    generation: 5,
    writer: 'old.writer',
    chunks: 3,
    bytes: document.length,
    sha256: createHash('sha256').update(document).digest('hex'),
  });

  const registry = new ChunkedRegistry(memory.storeFor('new.writer'), 'new.writer', 64 * 1024);
  assert.deepEqual(await registry.recover(), fold(ops));
  const more: RegistryOperation = { kind: 'admitAgent', agent: agent('a3') };
  await registry.apply(more);
  assert.equal(memory.head().format, 2, 'the next write is of the current format');
  assert.ok(
    [...memory.chunks.keys()].every((name) => !name.startsWith('g5-old.writer-')),
    "the old format's chunks are gone once the new head names others",
  );
  await registry.close();

  const reader = new ChunkedRegistry(memory.storeFor('third.writer'), 'third.writer', 64 * 1024);
  assert.deepEqual(await reader.recover(), fold([...ops, more]));
  await reader.close();
});

test('chunked registry refuses a head of a newer format, naming it and the formats it reads, and removes nothing', async () => {
  const memory = memoryChunks();
  memory.chunks.set('g9-future-0', Buffer.from('whatever a newer build keeps'));
  memory.chunks.set('some-future-index', Buffer.from('{}'));
  memory.setHead({ format: 3, generation: 9, writer: 'future', parts: ['g9-future-0'] });
  const registry = new ChunkedRegistry(memory.storeFor('old.build'), 'old.build', 64 * 1024);
  await assert.rejects(registry.recover(), (error: unknown) => {
    assert.ok(error instanceof RegistryFormatError, String(error));
    assert.equal(error.found, 3);
    assert.deepEqual(error.supported, [1, 2]);
    assert.match(error.message, /memory:\/agora\/registry\/head has format 3/);
    assert.match(error.message, /reads formats 1 and 2/);
    assert.match(error.message, /newer build/);
    return true;
  });
  assert.deepEqual(
    [...memory.chunks.keys()].sort(),
    ['g9-future-0', 'some-future-index'],
    "nothing of the newer build's registry was removed",
  );
});

test('chunked registry refuses a snapshot of a newer format inside a head it reads', async () => {
  const memory = memoryChunks();
  const document = Buffer.from(JSON.stringify({ format: 4, generation: 2, state: {} }), 'utf8');
  memory.chunks.set('g2-future-0', document);
  memory.setHead({
    format: 2,
    generation: 2,
    writer: 'future',
    chunks: [['g2-future-0', document.length, createHash('sha256').update(document).digest('hex')]],
  });
  const registry = new ChunkedRegistry(memory.storeFor('old.build'), 'old.build', 64 * 1024);
  await assert.rejects(registry.recover(), (error: unknown) => {
    assert.ok(error instanceof RegistryFormatError, String(error));
    assert.equal(error.found, 4);
    assert.deepEqual(error.supported, [1, 2, 3]);
    assert.match(error.message, /has format 4, .* reads formats 1, 2 and 3/);
    return true;
  });
});

test('embedded registry refuses a snapshot of a newer format and leaves its files as they were', async (t) => {
  const defer = teardown(t);
  const dir = tempDir(defer);
  const snapshot = JSON.stringify({ format: 4, generation: 3, state: { agents: [] } });
  writeFileSync(join(dir, 'snapshot.json'), snapshot);
  writeFileSync(join(dir, 'log.3'), '');
  const registry = embedded(defer, dir);
  await assert.rejects(registry.recover(), (error: unknown) => {
    assert.ok(error instanceof RegistryFormatError, String(error));
    assert.equal(error.found, 4);
    assert.match(error.message, /snapshot\.json has format 4/);
    return true;
  });
  assert.equal(readFileSync(join(dir, 'snapshot.json'), 'utf8'), snapshot);
  assert.ok(readdirSync(dir).includes('log.3'));
});
