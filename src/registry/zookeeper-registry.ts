// The registry kept in ZooKeeper for masters in HA mode. Only the leader writes,
// and every write is fenced: it commits in one transaction with a check that the
// writer's own ephemeral election node still exists, so a deposed leader (its
// session expired, its node gone) cannot write, however late it wakes up.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import { decodeSnapshot, encodeSnapshot } from './codec.js';
import { RegistryClosedError, RegistryCorruptError, RegistryFailedError } from './errors.js';
import type { RecoveryReport, Registry } from './registry.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  type RegistryOperation,
  type RegistryState,
} from './state.js';

/**
 * ZooKeeper refuses a request over jute.maxbuffer (1 MiB by default, the whole
 * request); half of it leaves room for the path and the framing.
 */
export const DEFAULT_ZK_CHUNK_BYTES = 512 * 1024;
/** The most chunks a head may name: 1 GiB of state at the default chunk size. */
const MAX_CHUNKS = 2048;

export interface ZooKeeperRegistryOptions {
  /** A connected client; the caller owns it (the coordinator's session). */
  readonly client: zookeeper.Client;
  /** Where the registry lives: `<zk path>/registry`. */
  readonly path: string;
  /** The writer's election node: every write requires that it still exists. */
  readonly fence: string;
  readonly chunkBytes?: number;
}

/** `<path>/head`: which chunks hold the current snapshot. */
interface Head {
  readonly format: 1;
  readonly generation: number;
  /** The writer's election node name: chunk names are unique per writer and generation. */
  readonly writer: string;
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * State is stored whole on every write (the registry is small and written
 * rarely): chunk nodes `g<generation>-<writer>-<i>` are written first, unseen,
 * then `head` is switched to them in the fenced transaction, then the old chunks
 * go. A crash in between leaves only unreferenced chunks, removed at recovery.
 */
export class ZooKeeperRegistry implements Registry {
  private state: RegistryState = EMPTY_REGISTRY_STATE;
  private phase: 'new' | 'open' | 'closed' = 'new';
  private report: RecoveryReport | undefined;
  private head: Head | undefined;
  /** The head node's version for the compare-and-set; -1 while it does not exist. */
  private headVersion = -1;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly writer: string;
  private readonly chunkBytes: number;

  constructor(private readonly options: ZooKeeperRegistryOptions) {
    this.writer = options.fence.slice(options.fence.lastIndexOf('/') + 1);
    this.chunkBytes = options.chunkBytes ?? DEFAULT_ZK_CHUNK_BYTES;
    assert.ok(this.chunkBytes >= 16 && this.chunkBytes <= 1000 * 1024, 'chunkBytes out of range');
  }

  get recoveryReport(): RecoveryReport | undefined {
    return this.report;
  }

  async recover(): Promise<RegistryState> {
    assert.equal(this.phase, 'new', 'recover() must be called exactly once, before close()');
    const { path } = this.options;
    await this.zk<string>((done) => this.options.client.mkdirp(path, done));
    const removed: string[] = [];
    const found = await this.readHead();
    if (found !== undefined) {
      this.head = found.head;
      this.headVersion = found.version;
      this.state = await this.readState(found.head);
    }
    for (const child of await this.zk<string[]>((done) =>
      this.options.client.getChildren(path, done),
    )) {
      if (child === 'head' || this.isCurrentChunk(child)) continue;
      await this.removeIfThere(`${path}/${child}`);
      removed.push(child);
    }
    this.phase = 'open';
    this.report = {
      snapshotGeneration: this.head?.generation,
      recordsReplayed: 0,
      tornTail: undefined,
      removedFiles: removed,
    };
    return this.state;
  }

  apply(op: RegistryOperation): Promise<RegistryState> {
    if (this.phase === 'closed') return Promise.reject(new RegistryClosedError());
    if (this.phase !== 'open')
      return Promise.reject(
        new assert.AssertionError({ message: 'recover() must resolve before apply()' }),
      );
    // Each state follows from the one before it, so it is computed in turn; a
    // malformed operation fails its assertion there, before anything is written.
    const result = this.queue.then(() => {
      const next = applyOperation(this.state, op);
      return this.write(next, encodeSnapshot((this.head?.generation ?? 0) + 1, next));
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.phase = 'closed';
      await this.queue;
    })();
    return this.closing;
  }

  // ------------------------------------------------------------------ internals

  private async write(next: RegistryState, text: string): Promise<RegistryState> {
    if (this.failure !== undefined)
      throw new RegistryFailedError('registry failed on an earlier write', { cause: this.failure });
    const { client, path, fence } = this.options;
    const generation = (this.head?.generation ?? 0) + 1;
    const bytes = Buffer.from(text, 'utf8');
    const chunks = Math.max(1, Math.ceil(bytes.length / this.chunkBytes));
    try {
      if (chunks > MAX_CHUNKS)
        throw new RegistryFailedError(
          `registry state of ${bytes.length} bytes needs more than ${MAX_CHUNKS} chunks`,
        );
      for (let i = 0; i < chunks; i++) {
        const data = bytes.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes);
        await this.putChunk(`${path}/${chunkName(generation, this.writer, i)}`, data);
      }
      const head: Head = {
        format: 1,
        generation,
        writer: this.writer,
        chunks,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
      const headData = Buffer.from(JSON.stringify(head));
      const transaction = client.transaction().check(fence, -1);
      // node-zookeeper-client reads a version of 0 as "any" (`version || -1`), so a
      // new head is created and set in one go: its versions start at 1 and every
      // compare-and-set below is a real one.
      if (this.headVersion < 0)
        transaction.create(`${path}/head`, headData).setData(`${path}/head`, headData, -1);
      else transaction.setData(`${path}/head`, headData, this.headVersion);
      await this.zk<unknown>((done) => transaction.commit(done));
      const previous = this.head;
      this.head = head;
      this.headVersion = this.headVersion < 0 ? 1 : this.headVersion + 1;
      this.state = next;
      if (previous !== undefined)
        for (let i = 0; i < previous.chunks; i++)
          await this.removeIfThere(
            `${path}/${chunkName(previous.generation, previous.writer, i)}`,
          ).catch(() => undefined);
      return next;
    } catch (error) {
      // Fenced out, or the head moved under us, or the session is gone: nothing
      // later may be written from this instance.
      this.failure = error instanceof Error ? error : new Error(String(error));
      throw new RegistryFailedError(`registry write failed: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
  }

  private async putChunk(node: string, data: Buffer): Promise<void> {
    try {
      await this.zk<string>((done) => this.options.client.create(node, data, done));
    } catch (error) {
      if (codeOf(error) !== zookeeper.Exception.NODE_EXISTS) throw error;
      await this.zk<unknown>((done) => this.options.client.setData(node, data, -1, done));
    }
  }

  private async readHead(): Promise<{ head: Head; version: number } | undefined> {
    const where = `${this.options.path}/head`;
    let data: Buffer;
    let version: number;
    try {
      [data, version] = await new Promise<[Buffer, number]>((resolve, reject) =>
        this.options.client.getData(where, (error, bytes, stat) =>
          error ? reject(asError(error)) : resolve([bytes, stat.version]),
        ),
      );
    } catch (error) {
      if (codeOf(error) === zookeeper.Exception.NO_NODE) return undefined;
      throw error;
    }
    let head: Head;
    try {
      head = JSON.parse(data.toString('utf8')) as Head;
    } catch {
      throw new RegistryCorruptError(where, 0, 'head is not JSON');
    }
    if (
      head.format !== 1 ||
      !Number.isSafeInteger(head.generation) ||
      !Number.isSafeInteger(head.chunks) ||
      head.chunks < 1 ||
      head.chunks > MAX_CHUNKS ||
      typeof head.writer !== 'string' ||
      typeof head.sha256 !== 'string'
    )
      throw new RegistryCorruptError(where, 0, 'head does not describe a snapshot');
    if (version < 1) throw new RegistryCorruptError(where, 0, 'head was not written by this store');
    return { head, version };
  }

  private async readState(head: Head): Promise<RegistryState> {
    const parts: Buffer[] = [];
    for (let i = 0; i < head.chunks; i++) {
      const node = `${this.options.path}/${chunkName(head.generation, head.writer, i)}`;
      try {
        parts.push(await this.zk<Buffer>((done) => this.options.client.getData(node, done)));
      } catch (error) {
        throw new RegistryCorruptError(node, 0, `chunk unreadable: ${(error as Error).message}`);
      }
    }
    const bytes = Buffer.concat(parts);
    const where = `${this.options.path}/head`;
    if (
      bytes.length !== head.bytes ||
      createHash('sha256').update(bytes).digest('hex') !== head.sha256
    )
      throw new RegistryCorruptError(where, 0, 'chunks do not match the head (size or sha256)');
    const decoded = decodeSnapshot(bytes);
    if (!decoded.ok) throw new RegistryCorruptError(where, 0, decoded.reason);
    return decoded.value.state;
  }

  private isCurrentChunk(child: string): boolean {
    const head = this.head;
    if (head === undefined) return false;
    const prefix = `g${head.generation}-${head.writer}-`;
    return child.startsWith(prefix) && Number(child.slice(prefix.length)) < head.chunks;
  }

  private async removeIfThere(node: string): Promise<void> {
    try {
      await this.zk<undefined>((done) =>
        this.options.client.remove(node, -1, (error) => done(error, undefined)),
      );
    } catch (error) {
      if (codeOf(error) !== zookeeper.Exception.NO_NODE) throw error;
    }
  }

  private zk<T>(
    run: (done: (error: Error | zookeeper.Exception | null, result: T) => void) => void,
  ): Promise<T> {
    return new Promise((resolve, reject) =>
      run((error, result) => (error ? reject(asError(error)) : resolve(result))),
    );
  }
}

function chunkName(generation: number, writer: string, index: number): string {
  return `g${generation}-${writer}-${index}`;
}

class ZooKeeperCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function asError(error: Error | zookeeper.Exception): Error {
  return error instanceof Error ? error : new ZooKeeperCallError(error.getCode(), error.toString());
}

function codeOf(error: unknown): number | undefined {
  if (error instanceof ZooKeeperCallError) return error.code;
  const code = (error as { getCode?: () => number }).getCode?.();
  return typeof code === 'number' ? code : undefined;
}
