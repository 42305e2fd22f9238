// A framework's store in ZooKeeper or etcd, laid out as the master's HA
// registry is (chunked-registry.ts): the whole map as chunks, then `head`
// switched to them by a compare-and-set on its version, then the old chunks
// removed. A second writer (a framework started twice) fails its first write:
// the head moved under it. Group commit (framework-store.ts) keeps this to one
// whole-state write per batch of changes.
import { createHash, randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type zookeeper from 'node-zookeeper-client';
import type { ChunkStore, HeadVersion } from './chunked-registry.js';
import { RegistryCorruptError } from './errors.js';
import { EtcdChunks } from './etcd-registry.js';
import { BatchingFrameworkStore } from './framework-store.js';
import { ZooKeeperChunks } from './zookeeper-registry.js';

/** The most chunks a head may name: 1 GiB at 512 KiB chunks. */
const MAX_CHUNKS = 2048;
const DEFAULT_CHUNK_BYTES = 512 * 1024;

interface Head {
  readonly format: 1;
  readonly generation: number;
  readonly writer: string;
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
}

export class ChunkedFrameworkStore extends BatchingFrameworkStore {
  private head: Head | undefined;
  private headVersion: HeadVersion | undefined;

  constructor(
    private readonly store: ChunkStore,
    /** Unique among writers ever; a new one per process. */
    private readonly writer: string = `w${Date.now().toString(36)}${randomBytes(4).toString('hex')}`,
    private readonly chunkBytes: number = DEFAULT_CHUNK_BYTES,
    private readonly beforeLoad: () => Promise<void> = async () => undefined,
  ) {
    super();
    if (!/^[A-Za-z0-9._]+$/.test(writer)) throw new Error(`writer '${writer}' is not a plain name`);
  }

  protected async load(): Promise<Map<string, string>> {
    await this.beforeLoad();
    await this.store.prepare();
    const found = await this.store.readHead();
    let entries = new Map<string, string>();
    if (found !== undefined) {
      this.head = parseHead(found.data, this.store.where);
      this.headVersion = found.version;
      entries = await this.readEntries(this.head);
    }
    for (const name of await this.store.listChunks())
      if (!this.isCurrentChunk(name)) await this.store.removeChunk(name);
    return entries;
  }

  protected async persist(_changes: unknown, next: ReadonlyMap<string, string>): Promise<void> {
    const generation = (this.head?.generation ?? 0) + 1;
    const bytes = Buffer.from(JSON.stringify([...next]), 'utf8');
    const chunks = Math.max(1, Math.ceil(bytes.length / this.chunkBytes));
    if (chunks > MAX_CHUNKS)
      throw new Error(`a state of ${bytes.length} bytes needs more than ${MAX_CHUNKS} chunks`);
    for (let i = 0; i < chunks; i++)
      await this.store.putChunk(
        `g${generation}-${this.writer}-${i}`,
        bytes.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes),
      );
    const head: Head = {
      format: 1,
      generation,
      writer: this.writer,
      chunks,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    this.headVersion = await this.store.commitHead(
      Buffer.from(JSON.stringify(head)),
      this.headVersion,
    );
    const previous = this.head;
    this.head = head;
    if (previous !== undefined)
      for (let i = 0; i < previous.chunks; i++)
        await this.store
          .removeChunk(`g${previous.generation}-${previous.writer}-${i}`)
          .catch(() => undefined);
  }

  protected async release(): Promise<void> {}

  private async readEntries(head: Head): Promise<Map<string, string>> {
    const parts: Buffer[] = [];
    for (let i = 0; i < head.chunks; i++)
      parts.push(await this.store.readChunk(`g${head.generation}-${head.writer}-${i}`));
    const bytes = Buffer.concat(parts);
    const where = `${this.store.where}/head`;
    if (
      bytes.length !== head.bytes ||
      createHash('sha256').update(bytes).digest('hex') !== head.sha256
    )
      throw new RegistryCorruptError(where, 0, 'chunks do not match the head (size or sha256)');
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
      throw new RegistryCorruptError(where, 0, (error as Error).message);
    }
  }

  private isCurrentChunk(name: string): boolean {
    const head = this.head;
    if (head === undefined) return false;
    const prefix = `g${head.generation}-${head.writer}-`;
    return name.startsWith(prefix) && Number(name.slice(prefix.length)) < head.chunks;
  }
}

function parseHead(data: Buffer, where: string): Head {
  let head: Head;
  try {
    head = JSON.parse(data.toString('utf8')) as Head;
  } catch {
    throw new RegistryCorruptError(`${where}/head`, 0, 'head is not JSON');
  }
  if (
    head.format !== 1 ||
    !Number.isSafeInteger(head.generation) ||
    !Number.isSafeInteger(head.chunks) ||
    head.chunks < 1 ||
    head.chunks > MAX_CHUNKS ||
    !Number.isSafeInteger(head.bytes) ||
    typeof head.writer !== 'string' ||
    typeof head.sha256 !== 'string'
  )
    throw new RegistryCorruptError(`${where}/head`, 0, 'head does not describe a store');
  return head;
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
