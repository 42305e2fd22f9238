// A framework's store in ZooKeeper or etcd, kept as the master's HA registry
// is: a chunk set (chunk-set.ts), one piece per entry, so a batch writes only
// the chunks whose entries changed. A second writer (a framework started
// twice) fails its first write: the head moved under it. Group commit
// (framework-store.ts) keeps this to one write per batch of changes.
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type zookeeper from 'node-zookeeper-client';
import { ChunkSet, type ChunkStore, keyHash, type Piece } from './chunk-set.js';
import { RegistryCorruptError } from './errors.js';
import { EtcdChunks } from './etcd-registry.js';
import { BatchingFrameworkStore } from './framework-store.js';
import { ZooKeeperChunks } from './zookeeper-registry.js';

const DEFAULT_CHUNK_BYTES = 512 * 1024;

export class ChunkedFrameworkStore extends BatchingFrameworkStore {
  private readonly chunks: ChunkSet;

  constructor(
    store: ChunkStore,
    /** Unique among writers ever; a new one per process. */
    writer: string = `w${Date.now().toString(36)}${randomBytes(4).toString('hex')}`,
    chunkBytes: number = DEFAULT_CHUNK_BYTES,
    private readonly beforeLoad: () => Promise<void> = async () => undefined,
  ) {
    super();
    if (!/^[A-Za-z0-9._]+$/.test(writer)) throw new Error(`writer '${writer}' is not a plain name`);
    this.chunks = new ChunkSet(store, writer, chunkBytes);
  }

  protected async load(): Promise<Map<string, string>> {
    await this.beforeLoad();
    const opened = await this.chunks.open();
    return 'document' in opened ? this.parse(opened.document) : new Map();
  }

  protected async persist(_changes: unknown, next: ReadonlyMap<string, string>): Promise<void> {
    await this.chunks.write(entryPieces(next));
  }

  protected async release(): Promise<void> {}

  private parse(bytes: Buffer): Map<string, string> {
    try {
      const list = JSON.parse(bytes.toString('utf8')) as unknown;
      if (!Array.isArray(list)) throw new Error('not a list');
      const entries = new Map<string, string>();
      for (const entry of list as unknown[]) {
        if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string')
          throw new Error('an entry is not [key, value]');
        entries.set(entry[0], entry[1]);
      }
      return entries;
    } catch (error) {
      throw new RegistryCorruptError(`${this.chunks.where}/head`, 0, (error as Error).message);
    }
  }
}

/**
 * The entries as the JSON list `[[key, value], …]`, one piece per entry, in the
 * map's order: a new key lands in the last chunk, a changed one in its own.
 */
function* entryPieces(entries: ReadonlyMap<string, string>): Generator<Piece> {
  if (entries.size === 0) {
    yield { text: '[]', hash: 0 };
    return;
  }
  let first = true;
  for (const [key, value] of entries) {
    yield { text: `${first ? '[' : ','}${JSON.stringify([key, value])}`, hash: keyHash(key) };
    first = false;
  }
  yield { text: ']', hash: 0 };
}

/**
 * A framework store under `path` in ZooKeeper; `client` is connected and owned by
 * the caller. Writes are fenced by the head's version only: frameworks hold no
 * election node.
 */
export function zooKeeperFrameworkStore(
  client: zookeeper.Client,
  path: string,
): ChunkedFrameworkStore {
  return new ChunkedFrameworkStore(new ZooKeeperChunks(client, path, path));
}

/** A framework store under `path` (a key prefix) in etcd; `client` is owned by the caller. */
export function etcdFrameworkStore(client: Etcd3, path: string): ChunkedFrameworkStore {
  // The chunk store's fence must be a key that exists: one beside the prefix names the writer.
  const fence = `${path}.writer`;
  return new ChunkedFrameworkStore(
    new EtcdChunks(client, path, fence),
    undefined,
    undefined,
    async () => {
      await client.put(fence).value(String(process.pid)).exec();
    },
  );
}
