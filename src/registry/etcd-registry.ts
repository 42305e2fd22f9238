// The registry kept in etcd for masters in HA mode (chunked-registry.ts has the
// layout). The head is set in a transaction that requires the writer's election
// key to exist (it lives on the writer's lease: a deposed leader's is gone) and
// the head to be at the revision this writer last saw.
import type { Etcd3 } from 'etcd3';
import {
  ChunkedRegistry,
  type ChunkStore,
  type ChunkWrite,
  type HeadVersion,
} from './chunked-registry.js';
import type { RegistryWarmer } from './warm-registry.js';

/** etcd refuses requests over --max-request-bytes (1.5 MiB by default). */
export const DEFAULT_ETCD_CHUNK_BYTES = 512 * 1024;

export interface EtcdRegistryOptions {
  readonly client: Etcd3;
  /** Key prefix of the registry: `<etcd path>/registry`. */
  readonly path: string;
  /** The writer's election key: every write requires that it still exists. */
  readonly fence: string;
  readonly chunkBytes?: number;
  /** What this master kept of the registry as a standby. */
  readonly warm?: RegistryWarmer;
}

export class EtcdRegistry extends ChunkedRegistry {
  constructor(options: EtcdRegistryOptions) {
    super(
      new EtcdChunks(options.client, options.path, options.fence),
      options.fence.slice(options.fence.lastIndexOf('/') + 1),
      options.chunkBytes ?? DEFAULT_ETCD_CHUNK_BYTES,
      options.warm,
    );
  }
}

export class EtcdChunks implements ChunkStore {
  readonly where: string;
  private readonly head: string;

  constructor(
    private readonly client: Etcd3,
    private readonly path: string,
    private readonly fence: string,
  ) {
    this.where = `etcd:${path}`;
    this.head = `${path}/head`;
  }

  async prepare(): Promise<void> {}

  async readHead(): Promise<{ data: Buffer; version: HeadVersion } | undefined> {
    const response = await this.client.get(this.head).exec();
    const kv = response.kvs[0];
    return kv === undefined ? undefined : { data: kv.value, version: kv.mod_revision };
  }

  async listChunks(): Promise<string[]> {
    const keys = await this.client.getAll().prefix(`${this.path}/`).keys();
    return keys.filter((key) => key !== this.head).map((key) => key.slice(this.path.length + 1));
  }

  async readChunk(name: string): Promise<Buffer> {
    const value = await this.client.get(`${this.path}/${name}`).buffer();
    if (value === null) throw new Error(`${name} is missing`);
    return value;
  }

  async putChunk(name: string, data: Buffer): Promise<void> {
    await this.client.put(`${this.path}/${name}`).value(data).exec();
  }

  async commitHead(
    data: Buffer,
    expected: HeadVersion | undefined,
    writes: readonly ChunkWrite[],
    removals: readonly string[],
  ): Promise<HeadVersion> {
    const transaction = this.client
      .if(this.fence, 'Create', '>', 0)
      .and(this.head, expected === undefined ? 'Create' : 'Mod', '==', expected ?? 0)
      .then(
        ...writes.map((write) => this.client.put(`${this.path}/${write.name}`).value(write.data)),
        this.client.put(this.head).value(data),
        ...removals.map((name) => this.client.delete().key(`${this.path}/${name}`)),
      );
    const result = await transaction.commit();
    if (!result.succeeded)
      throw new Error(
        `fenced out: the writer's election key ${this.fence} is gone or the head moved`,
      );
    return result.header.revision;
  }

  async removeChunk(name: string): Promise<void> {
    await this.client.delete().key(`${this.path}/${name}`).exec();
  }
}
