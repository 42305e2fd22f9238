// A coordinator's key-value store in memory, for the chunked registry's tests: it
// counts chunk reads, a commit needs the writer's fence to be alive (a deposed
// writer's write fails, as ZooKeeper's and etcd's do), and a test may read and set
// the chunks and the head as another build would have left them.
import type { ChunkStore } from '../../src/registry/chunked-registry.js';

/** A ChunkStore in memory that counts chunk reads; commits need the writer's fence alive. */
export function memoryStore() {
  const chunks = new Map<string, Buffer>();
  const live = new Set<string>();
  const box: { head: { data: Buffer; version: string } | undefined; reads: number } = {
    head: undefined,
    reads: 0,
  };
  const storeFor = (fence: string): ChunkStore => ({
    where: 'memory:/agora/registry',
    async prepare() {},
    async readHead() {
      return box.head;
    },
    async listChunks() {
      return [...chunks.keys()];
    },
    async readChunk(name) {
      box.reads++;
      const data = chunks.get(name);
      if (data === undefined) throw new Error(`${name} is missing`);
      return data;
    },
    async putChunk(name, data) {
      chunks.set(name, Buffer.from(data));
    },
    async commitHead(data, expected, writes, removals) {
      if (!live.has(fence)) throw new Error(`fenced out: ${fence} is gone`);
      if (box.head?.version !== expected) throw new Error('the head moved');
      for (const write of writes) chunks.set(write.name, Buffer.from(write.data));
      box.head = { data, version: String(Number(expected ?? 0) + 1) };
      for (const name of removals) chunks.delete(name);
      return box.head.version;
    },
    async removeChunk(name) {
      chunks.delete(name);
    },
  });
  return {
    box,
    live,
    storeFor,
    chunks,
    /** The head's JSON as stored. */
    head: () => JSON.parse(box.head?.data.toString('utf8') ?? 'null') as { format?: number },
    /** Stores `head` as the head, as an older or newer build would have. */
    setHead: (head: unknown) => {
      box.head = { data: Buffer.from(JSON.stringify(head)), version: '7' };
    },
  };
}
