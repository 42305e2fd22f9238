// The registry over a coordinator's key-value store (ZooKeeper, etcd), whose
// values are limited in size (ZooKeeper 1 MB per request, etcd 1.5 MiB). The
// state is kept as a chunk set (chunk-set.ts): the snapshot's text cut into
// chunks at agent (and framework, role…) boundaries, and a head naming them,
// switched in one fenced transaction. A write stores only the chunks whose
// entries changed, so a batch of registrations costs a few kilobytes, not the
// whole registry: rewriting 10 MB per batch during a storm of 5,000 agents cost
// the leader its ZooKeeper session. Operations applied while a write is under
// way go together in the next one, as Mesos' registrar batches them.
import assert from 'node:assert/strict';
import { ChunkSet, type ChunkStore, type WriteStats } from './chunk-set.js';
import { decodeSnapshot, encodeOperation, SNAPSHOT_FORMATS } from './codec.js';
import {
  RegistryClosedError,
  RegistryCorruptError,
  RegistryFailedError,
  RegistryFormatError,
} from './errors.js';
import type { RecoveryReport, Registry } from './registry.js';
import { SnapshotPieceCache } from './snapshot-pieces.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  type RegistryOperation,
  type RegistryState,
} from './state.js';
import type { RegistryWarmer } from './warm-registry.js';

export type { ChunkStore, ChunkWrite, HeadVersion } from './chunk-set.js';

export class ChunkedRegistry implements Registry {
  private state: RegistryState = EMPTY_REGISTRY_STATE;
  private phase: 'new' | 'open' | 'closed' = 'new';
  private report: RecoveryReport | undefined;
  private readonly chunks: ChunkSet;
  /** The last write's pieces, so the next one makes only those of changed entries. */
  private readonly pieces = new SnapshotPieceCache();
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
    store: ChunkStore,
    /** Unique among writers ever (a ZooKeeper node name, an etcd lease id). */
    writer: string,
    chunkBytes: number,
    /** What this master kept of the registry as a standby: recovery reads only the rest. */
    private readonly warm?: RegistryWarmer,
  ) {
    this.chunks = new ChunkSet(store, writer, chunkBytes);
  }

  get recoveryReport(): RecoveryReport | undefined {
    return this.report;
  }

  /** What the last write stored (chunks written and kept), for tests and logs. */
  get lastWrite(): WriteStats | undefined {
    return this.chunks.lastWrite;
  }

  async recover(): Promise<RegistryState> {
    assert.equal(this.phase, 'new', 'recover() must be called exactly once, before close()');
    this.warm?.stop();
    const opened = await this.chunks.open(this.warm);
    const kept = opened.head === undefined ? undefined : this.warm?.stateFor(opened.head);
    if (kept !== undefined) this.state = kept;
    else if ('document' in opened) {
      const decoded = decodeSnapshot(opened.document);
      if (!decoded.ok && decoded.newerFormat !== undefined)
        throw new RegistryFormatError(
          `${this.chunks.where} (snapshot)`,
          decoded.newerFormat,
          SNAPSHOT_FORMATS,
        );
      if (!decoded.ok)
        throw new RegistryCorruptError(`${this.chunks.where}/head`, 0, decoded.reason);
      this.state = decoded.value.state;
    }
    this.phase = 'open';
    this.report = {
      snapshotGeneration: this.chunks.generation === 0 ? undefined : this.chunks.generation,
      recordsReplayed: 0,
      tornTail: undefined,
      removedFiles: opened.removed,
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
        // What JSON cannot hold (NaN…) fails here, for this operation alone.
        encodeOperation(entry.op);
        next = applyOperation(next, entry.op);
        included.push({ entry, after: next });
      } catch (error) {
        entry.reject(error);
      }
    if (included.length === 0) return;
    try {
      await this.write(next);
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

  private async write(next: RegistryState): Promise<void> {
    if (this.failure !== undefined)
      throw new RegistryFailedError('registry failed on an earlier write', {
        cause: this.failure,
      });
    try {
      // Generation 0 in the text: the head carries the generation, and a text that
      // changed with every write would change its first chunk with every write.
      await this.chunks.write(this.pieces.pieces(0, next));
      this.state = next;
    } catch (error) {
      // Fenced out, the head moved under us, or the store is gone: nothing later
      // may be written from this instance.
      this.failure = error instanceof Error ? error : new Error(String(error));
      throw new RegistryFailedError(`registry write failed: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
  }
}
