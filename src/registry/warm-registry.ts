// A standby master's copy of the registry, kept while another master leads, so
// that once elected it reads the head and only the chunks written since its
// last look, and, when the head has not moved, not even those: the document
// decoded from it is ready (#10: a new leader read 5,000 agents' registry at
// election, ~0.2 s through etcd, before it served anyone).
//
// Chunks are immutable under their names (chunk-set.ts) and each is checked
// against the size and sha256 of the head that named it, so a kept chunk can
// stand in for a read. Only reads: nothing here writes, so nothing needs a fence.
import { type ChunkStore, inParallel, parseHead, sha256, type WarmChunks } from './chunk-set.js';
import { decodeSnapshot } from './codec.js';
import type { RegistryState } from './state.js';

/** How often a standby looks at the head: one small read when nothing changed. */
export const DEFAULT_WARM_INTERVAL_MS = 1000;
/** Chunk reads in flight at once: a standby is in no hurry, and shares the machine. */
const READ_CONCURRENCY = 4;

export interface RegistryWarmerOptions {
  /** The registry's store; only its reads are used. */
  readonly store: ChunkStore;
  readonly intervalMs?: number;
  /**
   * Called with each state decoded, to prepare what the master builds from it
   * at election; it must not change the state.
   */
  readonly prepared?: (state: RegistryState) => void;
  /** A look that failed (the next one tries again). */
  readonly onError?: (error: Error) => void;
}

interface KeptChunk {
  readonly bytes: number;
  readonly sha256: string;
  readonly data: Buffer;
}

export class RegistryWarmer implements WarmChunks {
  private readonly chunks = new Map<string, KeptChunk>();
  /** The head whose chunks are all kept. */
  private head: Buffer | undefined;
  private decoded: { readonly head: Buffer; readonly state: RegistryState } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private isStopped = false;

  constructor(private readonly options: RegistryWarmerOptions) {}

  /** Looks now, then every interval, until stop(). */
  start(): void {
    this.schedule(0);
  }

  /** No further looks; what is kept stays readable (the new leader's recovery reads it). */
  stop(): void {
    this.isStopped = true;
    clearTimeout(this.timer);
  }

  chunk(name: string, bytes: number, hash: string): Buffer | undefined {
    const kept = this.chunks.get(name);
    return kept !== undefined && kept.bytes === bytes && kept.sha256 === hash
      ? kept.data
      : undefined;
  }

  /** The state decoded from exactly this head, or undefined. */
  stateFor(head: Buffer): RegistryState | undefined {
    return this.decoded?.head.equals(head) === true ? this.decoded.state : undefined;
  }

  /** One look: reads the head and the chunks not kept; decodes a head seen twice in a row. */
  async look(): Promise<void> {
    const { store } = this.options;
    const found = await store.readHead();
    if (found === undefined) return;
    if (this.head?.equals(found.data) === true) {
      // Unchanged since the last look: decoded now, not on each write of a busy leader.
      if (this.decoded?.head.equals(found.data) !== true) this.decode(found.data);
      return;
    }
    const head = parseHead(found.data, store.where);
    // Format 1 names chunks by generation and has no hash per chunk: read whole at election.
    if (head.format !== 2) return;
    const missing = head.chunks.filter(([name, bytes, hash]) => !this.chunk(name, bytes, hash));
    // A chunk the leader removed meanwhile (its head moved on) fails the read: the next
    // look starts from the newer head.
    const read = await inParallel(missing, READ_CONCURRENCY, ([name]) => store.readChunk(name));
    for (const [i, [name, bytes, hash]] of missing.entries()) {
      const data = read[i] as Buffer;
      if (data.length !== bytes || sha256(data) !== hash) return;
      this.chunks.set(name, { bytes, sha256: hash, data });
    }
    const named = new Set(head.chunks.map(([name]) => name));
    for (const name of this.chunks.keys()) if (!named.has(name)) this.chunks.delete(name);
    this.head = found.data;
  }

  private decode(headData: Buffer): void {
    const head = parseHead(headData, this.options.store.where);
    if (head.format !== 2) return;
    const parts: Buffer[] = [];
    for (const [name] of head.chunks) {
      const kept = this.chunks.get(name);
      if (kept === undefined) return;
      parts.push(kept.data);
    }
    const decoded = decodeSnapshot(Buffer.concat(parts));
    // Not readable here is not readable at election either, where recovery says why.
    if (!decoded.ok) return;
    this.decoded = { head: headData, state: decoded.value.state };
    this.options.prepared?.(decoded.value.state);
  }

  private schedule(delayMs: number): void {
    if (this.isStopped) return;
    this.timer = setTimeout(() => {
      this.look()
        .catch((error: unknown) =>
          this.options.onError?.(error instanceof Error ? error : new Error(String(error))),
        )
        .finally(() => this.schedule(this.options.intervalMs ?? DEFAULT_WARM_INTERVAL_MS));
    }, delayMs);
    this.timer.unref();
  }
}
