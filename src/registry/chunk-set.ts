// One document (the master's registry, a framework's store) kept in a
// coordinator's key-value store as chunks plus a `head` naming them, written so
// that a batch of changes costs only the chunks it changed.
//
// The writer hands in the document as pieces (one per registry entry), in a
// stable order. Chunk boundaries fall after pieces chosen by the piece's own
// key hash (content-defined chunking at entry granularity), so an entry added,
// changed or removed moves no boundary but its own: every other chunk is the
// same text as before and is kept by name. New chunks get names no head has
// ever held (`g<generation>-<writer>-<n>`), so a deposed writer never
// overwrites what a newer head points to.
//
// A write is atomic and fenced: the new chunks that fit in one request, the
// head and the removal of chunks no longer named all go in one transaction
// (ZooKeeper multi, etcd txn) that requires the writer's fence; chunks that do
// not fit are put beforehand, unseen until the head names them. A crash leaves
// either the old head and its chunks or the new ones, plus unnamed chunks that
// the next recovery removes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { RegistryCorruptError, RegistryFormatError } from './errors.js';

/** The head formats this build reads (HeadV1, HeadV2); it writes the last. */
export const CHUNK_HEAD_FORMATS: readonly number[] = [1, 2];

/** The most chunks a head may name: 128 MiB of document at the default average chunk. */
const MAX_CHUNKS = 4096;
/** Operations in one transaction besides the head (etcd's --max-txn-ops is 128). */
const MAX_INLINE_OPS = 100;

/** Chunk reads in flight at once while recovering. */
const READ_CONCURRENCY = 16;
/** Chunks cut between two turns of the event loop: about 1 MB at the default size. */
const YIELD_EVERY_CHUNKS = 32;

/** A store's version of the head, opaque to the registry (ZooKeeper's version, etcd's mod revision). */
export type HeadVersion = string;

export interface ChunkWrite {
  readonly name: string;
  readonly data: Buffer;
}

/** The few operations a coordinator's store offers. */
export interface ChunkStore {
  /** Where errors say the document is: `zk://…/registry`. */
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
   * (undefined: there is none): creates `writes` (names that do not exist),
   * sets the head, removes `removals` (names that exist); resolves with the
   * head's new version. Rejects, having changed nothing, when the fence or the
   * comparison fails or the store is unreachable.
   */
  commitHead(
    data: Buffer,
    expected: HeadVersion | undefined,
    writes: readonly ChunkWrite[],
    removals: readonly string[],
  ): Promise<HeadVersion>;
  /** Removes a chunk; one already gone is no error. */
  removeChunk(name: string): Promise<void>;
}

/** Chunks a reader kept, each found only under the name, size and sha256 it was checked against. */
export interface WarmChunks {
  chunk(name: string, bytes: number, sha256: string): Buffer | undefined;
}

/** A piece of the document; chunks end only after a piece. */
export interface Piece {
  readonly text: string;
  /** A 32-bit hash of what the piece stands for (its entry's key), not of its text. */
  readonly hash: number;
}

/** What the cut makes: pieces that are one chunk, or a slice of a piece too long for one. */
type Cut =
  | { readonly kind: 'pieces'; readonly pieces: readonly Piece[] }
  | { readonly kind: 'slice'; readonly data: Buffer };

/** A chunk cut from pieces: its text and the ref it is stored under. */
interface CutChunk {
  readonly pieces: readonly Piece[];
  readonly text: string;
  readonly ref: ChunkRef;
}

const textOf = (piece: Piece): string => piece.text;

/** Whether two chunks are the same piece objects, in order. */
function samePieces(a: readonly Piece[], b: readonly Piece[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A chunk as the head names it. */
interface ChunkRef {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Format 1 (before chunks were kept across writes): `g<generation>-<writer>-<i>`, one hash for all. */
interface HeadV1 {
  readonly format: 1;
  readonly generation: number;
  readonly writer: string;
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
}

interface HeadV2 {
  readonly format: 2;
  readonly generation: number;
  readonly writer: string;
  /** [name, bytes, sha256] in document order. */
  readonly chunks: readonly (readonly [string, number, string])[];
}

/** What one write did, for tests and logs. */
export interface WriteStats {
  readonly chunks: number;
  readonly written: number;
  readonly writtenBytes: number;
  readonly removed: number;
}

export class ChunkSet {
  private generationNow = 0;
  private headVersion: HeadVersion | undefined;
  /** The chunks the head names, in order. */
  private refs: ChunkRef[] = [];
  /** Text of each chunk the head names -> its ref: an unchanged chunk is found here. */
  private known = new Map<string, ChunkRef>();
  /**
   * Each chunk the last write cut from pieces, by its first piece: a writer that hands in
   * the same piece objects for unchanged entries (snapshot-pieces.ts) has an unchanged
   * chunk found by its pieces, without joining its text and hashing it for `known`.
   */
  private byFirstPiece = new Map<Piece, CutChunk>();
  /** Counts chunk names this instance made, so a retried write never reuses one. */
  private made = 0;
  lastWrite: WriteStats | undefined;

  /**
   * @param writer unique among writers ever (a ZooKeeper node name, an etcd lease id)
   * @param chunkBytes the most bytes in one chunk, and in one transaction's chunks
   */
  constructor(
    private readonly store: ChunkStore,
    private readonly writer: string,
    private readonly chunkBytes: number,
  ) {
    assert.ok(/^[A-Za-z0-9._]+$/.test(writer), `writer '${writer}' must be a plain name`);
    assert.ok(chunkBytes >= 16 && chunkBytes <= 1000 * 1024, 'chunkBytes out of range');
  }

  get where(): string {
    return this.store.where;
  }

  /** The generation of the head last read or written (0: none). */
  get generation(): number {
    return this.generationNow;
  }

  /**
   * Reads the head and its chunks; removes chunks no head names (a crashed
   * write's). Resolves with the document, or undefined when there is none yet.
   */
  async open(
    warm?: WarmChunks,
  ): Promise<
    { document: Buffer; head: Buffer; removed: string[] } | { removed: string[]; head?: undefined }
  > {
    await this.store.prepare();
    const found = await this.store.readHead();
    let document: Buffer | undefined;
    if (found !== undefined) {
      const head = parseHead(found.data, this.store.where);
      this.generationNow = head.generation;
      this.headVersion = found.version;
      document = head.format === 1 ? await this.readV1(head) : await this.readV2(head, warm);
    }
    const current = new Set(this.refs.map((ref) => ref.name));
    const removed: string[] = [];
    for (const name of await this.store.listChunks()) {
      if (current.has(name)) continue;
      await this.store.removeChunk(name);
      removed.push(name);
    }
    return document === undefined || found === undefined
      ? { removed }
      : { document, head: found.data, removed };
  }

  /**
   * Makes `pieces` (concatenated) the document: writes the chunks not already
   * stored, then the head, fenced. Rejects when fenced out, when the head moved,
   * or when the store is unreachable; the caller then writes nothing more.
   */
  async write(pieces: Iterable<Piece>): Promise<WriteStats> {
    const generation = this.generationNow + 1;
    const refs: ChunkRef[] = [];
    const known = new Map<string, ChunkRef>();
    const byFirstPiece = new Map<Piece, CutChunk>();
    const fresh: ChunkWrite[] = [];
    const made = (data: Buffer): ChunkRef => {
      const ref = {
        name: `g${generation}-${this.writer}-${this.made++}`,
        bytes: data.length,
        sha256: sha256(data),
      };
      fresh.push({ name: ref.name, data });
      return ref;
    };
    let sinceYield = 0;
    for (const chunk of this.cut(pieces)) {
      // A registry of 10,000 agents is megabytes to cut, compare and hash: let
      // the coordinator client's pings and the agents' requests through now and
      // then (a stalled loop costs the session, stall-watch.ts).
      if (++sinceYield === YIELD_EVERY_CHUNKS) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (chunk.kind === 'slice') {
        refs.push(made(chunk.data));
        continue;
      }
      const first = chunk.pieces[0] as Piece;
      const same = this.byFirstPiece.get(first);
      let cut: CutChunk;
      if (same !== undefined && samePieces(same.pieces, chunk.pieces)) cut = same;
      else {
        const text = chunk.pieces.length === 1 ? first.text : chunk.pieces.map(textOf).join('');
        const ref = this.known.get(text) ?? made(Buffer.from(text, 'utf8'));
        cut = { pieces: chunk.pieces, text, ref };
      }
      refs.push(cut.ref);
      known.set(cut.text, cut.ref);
      byFirstPiece.set(first, cut);
    }
    if (refs.length > MAX_CHUNKS)
      throw new Error(`the document needs ${refs.length} chunks, more than ${MAX_CHUNKS}`);
    const head: HeadV2 = {
      format: 2,
      generation,
      writer: this.writer,
      chunks: refs.map((ref) => [ref.name, ref.bytes, ref.sha256] as const),
    };
    const headData = Buffer.from(JSON.stringify(head), 'utf8');
    // As many new chunks as fit go in the head's transaction; the rest first, unseen.
    const inline: ChunkWrite[] = [];
    let inlineBytes = headData.length;
    for (const write of fresh) {
      if (inline.length < MAX_INLINE_OPS && inlineBytes + write.data.length <= this.chunkBytes) {
        inline.push(write);
        inlineBytes += write.data.length;
      } else await this.store.putChunk(write.name, write.data);
    }
    const names = new Set(refs.map((ref) => ref.name));
    const gone = [...new Set(this.refs.map((ref) => ref.name))].filter((name) => !names.has(name));
    const inlineRemovals = gone.slice(0, MAX_INLINE_OPS - inline.length);
    this.headVersion = await this.store.commitHead(
      headData,
      this.headVersion,
      inline,
      inlineRemovals,
    );
    this.generationNow = generation;
    this.refs = refs;
    this.known = known;
    this.byFirstPiece = byFirstPiece;
    // Names the new head dropped are never named again, by this writer or a later
    // one (a later one starts from this head), so removing them unfenced is safe.
    for (const name of gone.slice(inlineRemovals.length))
      await this.store.removeChunk(name).catch(() => undefined);
    this.lastWrite = {
      chunks: refs.length,
      written: fresh.length,
      writtenBytes: fresh.reduce((sum, write) => sum + write.data.length, 0),
      removed: gone.length,
    };
    return this.lastWrite;
  }

  /**
   * The document's chunks: pieces grouped up to a boundary. A piece ends a chunk
   * with probability (its length / the average chunk), decided by its hash, so
   * chunks average chunkBytes/16 whatever the pieces' size; none exceeds
   * chunkBytes (a UTF-16 unit is at most 3 bytes of UTF-8). A piece too long
   * for a chunk of its own is stored in slices of chunkBytes bytes.
   */
  private *cut(pieces: Iterable<Piece>): Generator<Cut> {
    const limitChars = Math.floor(this.chunkBytes / 3);
    const average = Math.max(1, Math.floor(this.chunkBytes / 16));
    let group: Piece[] = [];
    let chars = 0;
    for (const piece of pieces) {
      const length = piece.text.length;
      if (chars > 0 && chars + length > limitChars) {
        yield { kind: 'pieces', pieces: group };
        group = [];
        chars = 0;
      }
      if (length > limitChars) {
        const data = Buffer.from(piece.text, 'utf8');
        for (let at = 0; at < data.length; at += this.chunkBytes)
          yield { kind: 'slice', data: data.subarray(at, at + this.chunkBytes) };
        continue;
      }
      group.push(piece);
      chars += length;
      if ((piece.hash >>> 0) / 2 ** 32 < length / average) {
        yield { kind: 'pieces', pieces: group };
        group = [];
        chars = 0;
      }
    }
    if (group.length > 0) yield { kind: 'pieces', pieces: group };
  }

  private async readV1(head: HeadV1): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let i = 0; i < head.chunks; i++) {
      const name = `g${head.generation}-${head.writer}-${i}`;
      parts.push(await this.readNamed(name));
      // Kept only so that recovery does not remove them; the next write replaces them all.
      this.refs.push({ name, bytes: 0, sha256: '' });
    }
    const bytes = Buffer.concat(parts);
    if (bytes.length !== head.bytes || sha256(bytes) !== head.sha256)
      throw new RegistryCorruptError(
        `${this.store.where}/head`,
        0,
        'chunks do not match the head (size or sha256)',
      );
    return bytes;
  }

  private async readV2(head: HeadV2, warm: WarmChunks | undefined): Promise<Buffer> {
    // A standby kept the chunks it had read (warm-registry.ts), checked against the head
    // that named them: only those written since are read now.
    const held = head.chunks.map(([name, bytes, hash]) => warm?.chunk(name, bytes, hash));
    // Read many at a time: at ~32 KiB a chunk a registry is tens of chunks, and one
    // round trip each in turn would hold up the new leader's recovery.
    const read = await inParallel(head.chunks, READ_CONCURRENCY, async ([name], i) => {
      const kept = held[i];
      return kept === undefined ? this.readNamed(name) : kept;
    });
    const parts: Buffer[] = [];
    for (const [i, [name, bytes, hash]] of head.chunks.entries()) {
      const data = read[i] ?? Buffer.alloc(0);
      if (held[i] === undefined && (data.length !== bytes || sha256(data) !== hash))
        throw new RegistryCorruptError(
          `${this.store.where}/${name}`,
          0,
          'chunk does not match the head (size or sha256)',
        );
      parts.push(data);
      const ref = { name, bytes, sha256: hash };
      this.refs.push(ref);
      // A chunk that is a slice of a long piece is never found by text: it is rewritten.
      this.known.set(data.toString('utf8'), ref);
    }
    return Buffer.concat(parts);
  }

  private async readNamed(name: string): Promise<Buffer> {
    try {
      return await this.store.readChunk(name);
    } catch (error) {
      throw new RegistryCorruptError(
        `${this.store.where}/${name}`,
        0,
        `chunk unreadable: ${(error as Error).message}`,
      );
    }
  }
}

/** `run` on each item, at most `limit` at a time; the results in the items' order. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await run(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** FNV-1a, 32 bits: a piece's hash from its key. */
export function keyHash(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // Mixed once more: FNV's low bits alone follow the last characters too closely.
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x2c1b3c6d);
  hash ^= hash >>> 12;
  return hash >>> 0;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function parseHead(data: Buffer, where: string): HeadV1 | HeadV2 {
  let head: HeadV1 | HeadV2;
  try {
    head = JSON.parse(data.toString('utf8')) as HeadV1 | HeadV2;
  } catch {
    throw new RegistryCorruptError(`${where}/head`, 0, 'head is not JSON');
  }
  const common =
    typeof head === 'object' &&
    head !== null &&
    Number.isSafeInteger(head.generation) &&
    head.generation >= 1 &&
    typeof head.writer === 'string';
  if (
    common &&
    head.format === 1 &&
    Number.isSafeInteger(head.chunks) &&
    head.chunks >= 1 &&
    head.chunks <= MAX_CHUNKS &&
    Number.isSafeInteger(head.bytes) &&
    typeof head.sha256 === 'string'
  )
    return head;
  if (
    common &&
    head.format === 2 &&
    Array.isArray(head.chunks) &&
    head.chunks.length <= MAX_CHUNKS &&
    head.chunks.every(
      (chunk) =>
        Array.isArray(chunk) &&
        typeof chunk[0] === 'string' &&
        /^[A-Za-z0-9._-]+$/.test(chunk[0]) &&
        Number.isSafeInteger(chunk[1]) &&
        typeof chunk[2] === 'string',
    )
  )
    return head;
  // A head of a format past ours was written by a newer build: say so, rather
  // than call it corrupt (and never read on, nor remove the chunks it names).
  const format: unknown = typeof head === 'object' && head !== null ? head.format : undefined;
  if (
    typeof format === 'number' &&
    Number.isSafeInteger(format) &&
    format > Math.max(...CHUNK_HEAD_FORMATS)
  )
    throw new RegistryFormatError(`${where}/head`, format, CHUNK_HEAD_FORMATS);
  throw new RegistryCorruptError(`${where}/head`, 0, 'head does not describe a chunked document');
}
