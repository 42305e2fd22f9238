// The registry over a coordinator's key-value store (ZooKeeper, etcd), whose
// values are limited in size (ZooKeeper 1 MB per request, etcd 1.5 MiB). The
// state is stored whole on every write (the registry is small and written
// rarely) as chunks `g<generation>-<writer>-<i>`, written first and unseen; then
// `head` is switched to them in one fenced compare-and-set; then the old chunks
// go. A crash in between leaves only unreferenced chunks, removed at recovery.
// Chunk names carry the writer, so a deposed writer can never overwrite chunks
// the new one's head points to. Operations applied while a write is under way
// go together in the next one, as Mesos' registrar batches them: a thousand
// agents registering at once cost a few writes, not a thousand whole states.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeSnapshot, encodeSnapshot } from './codec.js';
import { RegistryClosedError, RegistryCorruptError, RegistryFailedError } from './errors.js';
import type { RecoveryReport, Registry } from './registry.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  type RegistryOperation,
  type RegistryState,
} from './state.js';

/** The most chunks a head may name: 1 GiB of state at 512 KiB chunks. */
const MAX_CHUNKS = 2048;

/** A store's version of the head, opaque to the registry (ZooKeeper's version, etcd's mod revision). */
export type HeadVersion = string;

/** The few operations a coordinator's store offers the registry. */
export interface ChunkStore {
  /** Where errors say the registry is: `zk://…/registry`. */
  readonly where: string;
  prepare(): Promise<void>;
  readHead(): Promise<{ readonly data: Buffer; readonly version: HeadVersion } | undefined>;
  /** Every name stored besides the head. */
  listChunks(): Promise<string[]>;
  readChunk(name: string): Promise<Buffer>;
  /** Creates or replaces a chunk (never one a head points to: names are unique per writer). */
  putChunk(name: string, data: Buffer): Promise<void>;
  /**
   * Atomically, if the writer's fence holds and the head is still at `expected`
   * (undefined: there is none), sets the head; resolves with its new version.
   * Rejects when the fence or the comparison fails, or the store is unreachable.
   */
  commitHead(data: Buffer, expected: HeadVersion | undefined): Promise<HeadVersion>;
  /** Removes a chunk; one already gone is no error. */
  removeChunk(name: string): Promise<void>;
}

interface Head {
  readonly format: 1;
  readonly generation: number;
  readonly writer: string;
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
}

export class ChunkedRegistry implements Registry {
  private state: RegistryState = EMPTY_REGISTRY_STATE;
  private phase: 'new' | 'open' | 'closed' = 'new';
  private report: RecoveryReport | undefined;
  private head: Head | undefined;
  private headVersion: HeadVersion | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Operations waiting for the next write, in call order. */
  private waiting: {
    readonly op: RegistryOperation;
    readonly resolve: (state: RegistryState) => void;
    readonly reject: (error: unknown) => void;
  }[] = [];
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly store: ChunkStore,
    /** Unique among writers ever (a ZooKeeper node name, an etcd lease id). */
    private readonly writer: string,
    private readonly chunkBytes: number,
  ) {
    assert.ok(/^[A-Za-z0-9._]+$/.test(writer), `writer '${writer}' must be a plain name`);
    assert.ok(chunkBytes >= 16 && chunkBytes <= 1000 * 1024, 'chunkBytes out of range');
  }

  get recoveryReport(): RecoveryReport | undefined {
    return this.report;
  }

  async recover(): Promise<RegistryState> {
    assert.equal(this.phase, 'new', 'recover() must be called exactly once, before close()');
    await this.store.prepare();
    const found = await this.store.readHead();
    if (found !== undefined) {
      this.head = parseHead(found.data, this.store.where);
      this.headVersion = found.version;
      this.state = await this.readState(this.head);
    }
    const removed: string[] = [];
    for (const name of await this.store.listChunks()) {
      if (this.isCurrentChunk(name)) continue;
      await this.store.removeChunk(name);
      removed.push(name);
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
    return new Promise<RegistryState>((resolve, reject) => {
      this.waiting.push({ op, resolve, reject });
      // The first to wait schedules the write; those after it join it until it starts.
      if (this.waiting.length === 1) this.queue = this.queue.then(() => this.writeWaiting());
    });
  }

  /** One write for every operation waiting, resolving (or rejecting) them all. */
  private async writeWaiting(): Promise<void> {
    const batch = this.waiting.splice(0);
    // Each state follows from the one before it, so it is computed in turn; a
    // malformed operation fails its assertion there, and is left out of the write.
    // Each caller gets the state right after its own operation, as if written alone.
    let next = this.state;
    const included: { readonly entry: (typeof batch)[number]; readonly after: RegistryState }[] =
      [];
    for (const entry of batch)
      try {
        next = applyOperation(next, entry.op);
        included.push({ entry, after: next });
      } catch (error) {
        entry.reject(error);
      }
    if (included.length === 0) return;
    try {
      await this.write(next, encodeSnapshot((this.head?.generation ?? 0) + 1, next));
      for (const { entry, after } of included) entry.resolve(after);
    } catch (error) {
      for (const { entry } of included) entry.reject(error);
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.phase = 'closed';
      await this.queue;
    })();
    return this.closing;
  }

  private async write(next: RegistryState, text: string): Promise<RegistryState> {
    if (this.failure !== undefined)
      throw new RegistryFailedError('registry failed on an earlier write', {
        cause: this.failure,
      });
    const generation = (this.head?.generation ?? 0) + 1;
    const bytes = Buffer.from(text, 'utf8');
    const chunks = Math.max(1, Math.ceil(bytes.length / this.chunkBytes));
    try {
      if (chunks > MAX_CHUNKS)
        throw new Error(`a state of ${bytes.length} bytes needs more than ${MAX_CHUNKS} chunks`);
      for (let i = 0; i < chunks; i++)
        await this.store.putChunk(
          chunkName(generation, this.writer, i),
          bytes.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes),
        );
      const head: Head = {
        format: 1,
        generation,
        writer: this.writer,
        chunks,
        bytes: bytes.length,
        sha256: sha256(bytes),
      };
      this.headVersion = await this.store.commitHead(
        Buffer.from(JSON.stringify(head)),
        this.headVersion,
      );
      const previous = this.head;
      this.head = head;
      this.state = next;
      if (previous !== undefined)
        for (let i = 0; i < previous.chunks; i++)
          await this.store
            .removeChunk(chunkName(previous.generation, previous.writer, i))
            .catch(() => undefined);
      return next;
    } catch (error) {
      // Fenced out, the head moved under us, or the store is gone: nothing later
      // may be written from this instance.
      this.failure = error instanceof Error ? error : new Error(String(error));
      throw new RegistryFailedError(`registry write failed: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
  }

  private async readState(head: Head): Promise<RegistryState> {
    const parts: Buffer[] = [];
    for (let i = 0; i < head.chunks; i++) {
      const name = chunkName(head.generation, head.writer, i);
      try {
        parts.push(await this.store.readChunk(name));
      } catch (error) {
        throw new RegistryCorruptError(
          `${this.store.where}/${name}`,
          0,
          `chunk unreadable: ${(error as Error).message}`,
        );
      }
    }
    const bytes = Buffer.concat(parts);
    const where = `${this.store.where}/head`;
    if (bytes.length !== head.bytes || sha256(bytes) !== head.sha256)
      throw new RegistryCorruptError(where, 0, 'chunks do not match the head (size or sha256)');
    const decoded = decodeSnapshot(bytes);
    if (!decoded.ok) throw new RegistryCorruptError(where, 0, decoded.reason);
    return decoded.value.state;
  }

  private isCurrentChunk(name: string): boolean {
    const head = this.head;
    if (head === undefined) return false;
    const prefix = `g${head.generation}-${head.writer}-`;
    return name.startsWith(prefix) && Number(name.slice(prefix.length)) < head.chunks;
  }
}

function chunkName(generation: number, writer: string, index: number): string {
  return `g${generation}-${writer}-${index}`;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
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
    throw new RegistryCorruptError(`${where}/head`, 0, 'head does not describe a snapshot');
  return head;
}
