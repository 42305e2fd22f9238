// The single-master registry on local disk: a snapshot plus an append-only log of
// the operations since it (DEPS.md, "embedded registry"; README.md here has the
// file format and the crash-safety argument).
//
// Files in the directory:
//   lock               pid of the process holding the directory
//   snapshot.json      { format, generation: g, state }; absent means g = 0 and an empty state
//   log.<g>            operations applied after snapshot g, one framed record each
//   snapshot.json.tmp  a snapshot being written; a leftover is an interrupted compaction
//
// The log to replay is named by the snapshot's generation rather than being one
// fixed `log` file, so that installing a snapshot and starting its empty log is a
// single atomic step (the rename of snapshot.json). With one fixed log, a crash
// between the rename and the truncation would replay operations the snapshot
// already holds; that is harmless for today's operations, which are all blind
// writes, but would silently break the first one that is not.
import assert from 'node:assert/strict';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  decodeOperation,
  decodeSnapshot,
  encodeOperation,
  encodeSnapshot,
  SNAPSHOT_FORMATS,
  type Snapshot,
} from './codec.js';
import {
  RegistryClosedError,
  RegistryCorruptError,
  RegistryFailedError,
  RegistryFormatError,
} from './errors.js';
import { acquireLock, releaseLock } from './lock-file.js';
import { encodeRecord, scanLog } from './log-format.js';
import type { RecoveryReport, Registry, TornTail } from './registry.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  type RegistryOperation,
  type RegistryState,
} from './state.js';

export const DEFAULT_COMPACT_EVERY_OPS = 1000;

const LOCK_FILE = 'lock';
const SNAPSHOT_FILE = 'snapshot.json';
const SNAPSHOT_TEMP_FILE = 'snapshot.json.tmp';
const LOG_FILE = /^log\.(0|[1-9]\d{0,14})$/;
const logFile = (generation: number): string => `log.${generation}`;

export interface EmbeddedRegistryOptions {
  /** Created (with its parents) if missing; held exclusively until close(). */
  readonly directory: string;
  /** Snapshot the state and start an empty log after this many logged operations. */
  readonly compactEveryOps?: number;
}

type Phase = 'new' | 'recovering' | 'open' | 'closed';

export class EmbeddedRegistry implements Registry {
  private readonly directory: string;
  private readonly compactEveryOps: number;
  private phase: Phase = 'new';
  private state: RegistryState = EMPTY_REGISTRY_STATE;
  /** The snapshot generation in force; the log being appended to is log.<generation>. */
  private generation = 0;
  private opsSinceCompaction = 0;
  private log: FileHandle | undefined;
  private holdsLock = false;
  /** Tail of the chain that runs commits and compactions one at a time; never rejects. */
  private queue: Promise<void> = Promise.resolve();
  /** The first failed write; once set, nothing later can be promised durable. */
  private failure: { readonly error: unknown } | undefined;
  private recovering: Promise<RegistryState> | undefined;
  private closing: Promise<void> | undefined;
  private report: RecoveryReport | undefined;

  constructor(options: EmbeddedRegistryOptions) {
    const compactEveryOps = options.compactEveryOps ?? DEFAULT_COMPACT_EVERY_OPS;
    assert.ok(
      Number.isSafeInteger(compactEveryOps) && compactEveryOps > 0,
      `compactEveryOps must be a positive integer, got ${compactEveryOps}`,
    );
    this.directory = resolve(options.directory);
    this.compactEveryOps = compactEveryOps;
  }

  get recoveryReport(): RecoveryReport | undefined {
    return this.report;
  }

  recover(): Promise<RegistryState> {
    assert.equal(this.phase, 'new', 'recover() must be called exactly once, before close()');
    this.phase = 'recovering';
    this.recovering = this.recoverHeld();
    return this.recovering;
  }

  async apply(op: RegistryOperation): Promise<RegistryState> {
    // Everything up to the enqueue runs synchronously in the caller's turn, which
    // is what makes the queue order the call order.
    if (this.phase === 'closed') throw new RegistryClosedError();
    assert.equal(this.phase, 'open', 'recover() must resolve before apply()');
    const committed = this.queue.then(() => this.commit(op));
    this.queue = committed.then(
      () => this.compactIfDue(),
      () => undefined, // the caller gets this rejection through `committed`
    );
    return committed;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.phase = 'closed';
    // A failed recovery has already released what it took.
    await this.recovering?.then(
      () => undefined,
      () => undefined,
    );
    await this.queue;
    const log = this.log;
    this.log = undefined;
    try {
      await log?.close();
    } finally {
      if (this.holdsLock) {
        this.holdsLock = false;
        await releaseLock(join(this.directory, LOCK_FILE));
      }
    }
  }

  private async recoverHeld(): Promise<RegistryState> {
    await makeDirectoryDurable(this.directory);
    const lockPath = join(this.directory, LOCK_FILE);
    await acquireLock(lockPath);
    this.holdsLock = true;
    try {
      const state = await this.load();
      if (this.phase === 'recovering') this.phase = 'open';
      return state;
    } catch (error) {
      const log = this.log;
      this.log = undefined;
      await log?.close();
      this.holdsLock = false;
      await releaseLock(lockPath);
      throw error;
    }
  }

  private async load(): Promise<RegistryState> {
    const dir = this.directory;
    const names = new Set(await readdir(dir));
    const removedFiles: string[] = [];

    const snapshot = names.has(SNAPSHOT_FILE) ? await readSnapshot(dir) : undefined;
    const generation = snapshot?.generation ?? 0;
    let state = snapshot?.state ?? EMPTY_REGISTRY_STATE;

    // Make the snapshot we just read durable before deleting anything it makes
    // redundant: if the process that wrote it crashed after the rename but before
    // fsyncing the directory, the rename may still be only in the page cache.
    await syncDirectory(dir);
    if (names.has(SNAPSHOT_TEMP_FILE)) {
      await rm(join(dir, SNAPSHOT_TEMP_FILE));
      removedFiles.push(SNAPSHOT_TEMP_FILE);
    }
    for (const name of names) {
      const match = LOG_FILE.exec(name);
      if (match === null) continue;
      const logGeneration = Number(match[1]);
      if (logGeneration === generation) continue;
      const path = join(dir, name);
      // A newer log is created empty just before its snapshot is installed and is
      // written only after; records in one mean its snapshot was lost.
      if (logGeneration > generation && (await stat(path)).size > 0) {
        throw new RegistryCorruptError(
          path,
          0,
          `log generation ${logGeneration} has records but snapshot generation is ${generation}`,
        );
      }
      // An older log is wholly contained in the snapshot.
      await rm(path);
      removedFiles.push(name);
    }

    const logPath = join(dir, logFile(generation));
    const hasLog = names.has(logFile(generation));
    let recordsReplayed = 0;
    let tornTail: TornTail | undefined;
    if (hasLog) {
      const bytes = await readFile(logPath);
      const scan = scanLog(bytes);
      if (scan.bad?.nextValidOffset !== undefined) {
        throw new RegistryCorruptError(
          logPath,
          scan.bad.offset,
          `${scan.bad.reason}, and a valid record follows at byte ${scan.bad.nextValidOffset}`,
        );
      }
      for (const record of scan.records) {
        const op = decodeOperation(record.payload);
        if (!op.ok) throw new RegistryCorruptError(logPath, record.offset, op.reason);
        state = applyOperation(state, op.value);
        recordsReplayed += 1;
      }
      if (scan.bad !== undefined) {
        // A crash mid-append: the record was never acknowledged. Cut it off, or the
        // next append would land behind it and turn it into corruption.
        await truncateDurable(logPath, scan.validBytes);
        tornTail = {
          file: logPath,
          offset: scan.bad.offset,
          droppedBytes: bytes.length - scan.validBytes,
          reason: scan.bad.reason,
        };
      }
    }
    this.log = await open(logPath, 'a');
    // A new log's directory entry must be durable before the first record in it is
    // acknowledged.
    if (!hasLog) await syncDirectory(dir);

    this.state = state;
    this.generation = generation;
    this.opsSinceCompaction = recordsReplayed;
    this.report = {
      snapshotGeneration: snapshot?.generation,
      recordsReplayed,
      tornTail,
      removedFiles,
    };
    return state;
  }

  private async commit(op: RegistryOperation): Promise<RegistryState> {
    if (this.failure !== undefined) {
      throw new RegistryFailedError('registry failed on an earlier write', {
        cause: this.failure.error,
      });
    }
    // Both can fail an assertion on a malformed op; nothing has been written then.
    const next = applyOperation(this.state, op);
    const record = encodeRecord(Buffer.from(encodeOperation(op), 'utf8'));
    const log = this.log;
    assert.ok(log !== undefined, 'an open registry has a log');
    try {
      await writeAll(log, record);
      await log.datasync();
    } catch (error) {
      this.failure = { error };
      throw new RegistryFailedError('registry append failed', { cause: error });
    }
    this.state = next;
    this.opsSinceCompaction += 1;
    return next;
  }

  /** Runs on the queue after a commit; a failure is kept and reported by the next apply(). */
  private async compactIfDue(): Promise<void> {
    if (this.failure !== undefined || this.opsSinceCompaction < this.compactEveryOps) return;
    try {
      await this.compact();
    } catch (error) {
      this.failure = { error };
    }
  }

  /**
   * Installs snapshot g+1 of the current state and switches to the empty log.<g+1>.
   * Every operation acknowledged so far is in log.<g>. Crash safety, step by step:
   *  1. Create empty log.<g+1>. A crash now leaves snapshot g + log.<g>, which
   *     recovery replays; it deletes the empty log.<g+1>.
   *  2. Write snapshot.json.tmp and fsync it. A crash now also leaves the temp file,
   *     which recovery deletes unread.
   *  3. Rename it over snapshot.json, then fsync the directory: the commit point.
   *     rename() is atomic, so after a crash snapshot.json is either snapshot g
   *     (case 2) or snapshot g+1, whose state already holds everything in log.<g>,
   *     continued by log.<g+1>, still empty. The directory fsync makes the rename
   *     and log.<g+1>'s entry durable together before anything is appended there.
   *  4. Append to log.<g+1> from now on and delete log.<g>. A crash before the
   *     delete leaves log.<g>, older than the snapshot, which recovery deletes
   *     without replaying it.
   * A failure before step 3 leaves the old files in force; any failure marks the
   * registry failed, since a failed fsync means the disk can no longer be trusted.
   */
  private async compact(): Promise<void> {
    const dir = this.directory;
    const previous = this.generation;
    const next = previous + 1;
    const nextLog = await open(join(dir, logFile(next)), 'w');
    try {
      const snapshot = Buffer.from(encodeSnapshot(next, this.state), 'utf8');
      await writeDurable(join(dir, SNAPSHOT_TEMP_FILE), snapshot);
      await rename(join(dir, SNAPSHOT_TEMP_FILE), join(dir, SNAPSHOT_FILE));
      await syncDirectory(dir);
    } catch (error) {
      await nextLog.close();
      throw error;
    }
    const previousLog = this.log;
    this.log = nextLog;
    this.generation = next;
    this.opsSinceCompaction = 0;
    await previousLog?.close();
    await rm(join(dir, logFile(previous)));
  }
}

async function readSnapshot(dir: string): Promise<Snapshot> {
  const path = join(dir, SNAPSHOT_FILE);
  const decoded = decodeSnapshot(await readFile(path));
  if (!decoded.ok && decoded.newerFormat !== undefined)
    throw new RegistryFormatError(path, decoded.newerFormat, SNAPSHOT_FORMATS);
  if (!decoded.ok) throw new RegistryCorruptError(path, 0, decoded.reason);
  return decoded.value;
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, null);
    assert.ok(bytesWritten > 0, 'write() made no progress');
    written += bytesWritten;
  }
}

async function writeDurable(path: string, bytes: Buffer): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await writeAll(handle, bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function truncateDurable(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** fsync of a directory persists its entries: creations, renames, deletions. */
async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** mkdir -p, then fsync each parent that gained an entry, so the directory survives a crash. */
async function makeDirectoryDurable(directory: string): Promise<void> {
  const firstCreated = await mkdir(directory, { recursive: true });
  if (firstCreated === undefined) return;
  const top = dirname(resolve(firstCreated));
  for (let path = directory; ; ) {
    const parent = dirname(path);
    await syncDirectory(parent);
    if (parent === top || parent === path) return;
    path = parent;
  }
}
