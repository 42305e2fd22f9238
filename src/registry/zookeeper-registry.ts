// The registry kept in ZooKeeper for masters in HA mode (chunked-registry.ts
// has the layout). Only the leader writes, and every write is fenced: the head
// is set in one transaction with a check that the writer's own ephemeral
// election node still exists, so a deposed leader (its session expired, its
// node gone) cannot write, however late it wakes up.
import zookeeper from 'node-zookeeper-client';
import {
  ChunkedRegistry,
  type ChunkStore,
  type ChunkWrite,
  type HeadVersion,
} from './chunked-registry.js';
import type { RegistryWarmer } from './warm-registry.js';

/**
 * ZooKeeper refuses a request over jute.maxbuffer (1 MiB by default, the whole
 * request); half of it leaves room for the path and the framing.
 */
export const DEFAULT_ZK_CHUNK_BYTES = 512 * 1024;

export interface ZooKeeperRegistryOptions {
  /** A connected client; the caller owns it (the coordinator's session). */
  readonly client: zookeeper.Client;
  /** Where the registry lives: `<zk path>/registry`. */
  readonly path: string;
  /** The writer's election node: every write requires that it still exists. */
  readonly fence: string;
  readonly chunkBytes?: number;
  /** What this master kept of the registry as a standby. */
  readonly warm?: RegistryWarmer;
}

export class ZooKeeperRegistry extends ChunkedRegistry {
  constructor(options: ZooKeeperRegistryOptions) {
    super(
      new ZooKeeperChunks(options.client, options.path, options.fence),
      options.fence.slice(options.fence.lastIndexOf('/') + 1),
      options.chunkBytes ?? DEFAULT_ZK_CHUNK_BYTES,
      options.warm,
    );
  }
}

export class ZooKeeperChunks implements ChunkStore {
  readonly where: string;

  constructor(
    private readonly client: zookeeper.Client,
    private readonly path: string,
    private readonly fence: string,
  ) {
    this.where = `zk:${path}`;
  }

  async prepare(): Promise<void> {
    await call<string>((done) => this.client.mkdirp(this.path, done));
  }

  async readHead(): Promise<{ data: Buffer; version: HeadVersion } | undefined> {
    try {
      const [data, version] = await new Promise<[Buffer, number]>((resolve, reject) =>
        this.client.getData(`${this.path}/head`, (error, bytes, stat) =>
          error ? reject(asError(error)) : resolve([bytes, stat.version]),
        ),
      );
      return { data, version: String(version) };
    } catch (error) {
      if (codeOf(error) === zookeeper.Exception.NO_NODE) return undefined;
      throw error;
    }
  }

  async listChunks(): Promise<string[]> {
    const children = await call<string[]>((done) => this.client.getChildren(this.path, done));
    return children.filter((child) => child !== 'head');
  }

  readChunk(name: string): Promise<Buffer> {
    return call<Buffer>((done) => this.client.getData(`${this.path}/${name}`, done));
  }

  async putChunk(name: string, data: Buffer): Promise<void> {
    const node = `${this.path}/${name}`;
    try {
      await call<string>((done) => this.client.create(node, data, done));
    } catch (error) {
      if (codeOf(error) !== zookeeper.Exception.NODE_EXISTS) throw error;
      await call<unknown>((done) => this.client.setData(node, data, -1, done));
    }
  }

  async commitHead(
    data: Buffer,
    expected: HeadVersion | undefined,
    writes: readonly ChunkWrite[],
    removals: readonly string[],
  ): Promise<HeadVersion> {
    const head = `${this.path}/head`;
    const transaction = this.client.transaction().check(this.fence, -1);
    for (const write of writes) transaction.create(`${this.path}/${write.name}`, write.data);
    // node-zookeeper-client reads a version of 0 as "any" (`version || -1`), so a
    // new head is created and set in one go: its versions start at 1 and every
    // compare-and-set after it is a real one.
    if (expected === undefined) transaction.create(head, data).setData(head, data, -1);
    else {
      const version = Number(expected);
      if (!(version >= 1)) throw new Error(`head version ${expected} cannot be compared`);
      transaction.setData(head, data, version);
    }
    for (const name of removals) transaction.remove(`${this.path}/${name}`, -1);
    await call<unknown>((done) => transaction.commit(done));
    return String(expected === undefined ? 1 : Number(expected) + 1);
  }

  async removeChunk(name: string): Promise<void> {
    try {
      await call<undefined>((done) =>
        this.client.remove(`${this.path}/${name}`, -1, (error) => done(error, undefined)),
      );
    } catch (error) {
      if (codeOf(error) !== zookeeper.Exception.NO_NODE) throw error;
    }
  }
}

class ZooKeeperCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function call<T>(
  run: (done: (error: Error | zookeeper.Exception | null, result: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) =>
    run((error, result) => (error ? reject(asError(error)) : resolve(result))),
  );
}

function asError(error: Error | zookeeper.Exception): Error {
  return error instanceof Error ? error : new ZooKeeperCallError(error.getCode(), error.toString());
}

/** The ZooKeeper error code; the client's Exception may or may not be an Error. */
function codeOf(error: unknown): number | undefined {
  if (error instanceof ZooKeeperCallError) return error.code;
  const code = (error as { getCode?: () => number } | undefined)?.getCode?.();
  return typeof code === 'number' ? code : undefined;
}
