// A framework's store on local disk: the embedded registry's layout and crash
// safety (README.md here), for key-value entries instead of the master's state.
//
//   lock               pid of the holder (lock-file.ts)
//   snapshot.json      { format: 1, generation: g, entries: [[key, value], …] }
//   log.<g>            one framed record (log-format.ts) per batch written after snapshot g
//   snapshot.json.tmp  a snapshot being written; a leftover is an interrupted compaction
//
// Compaction writes snapshot g+1 after an empty log.<g+1> exists and switches to
// it by the rename of snapshot.json, so a crash anywhere leaves either (g, log.<g>)
// or (g+1, log.<g+1>) to replay, never a batch applied twice.
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RegistryCorruptError } from './errors.js';
import {
  applyChanges,
  BatchingFrameworkStore,
  type FrameworkStoreChange,
} from './framework-store.js';
import { acquireLock, releaseLock } from './lock-file.js';
import { encodeRecord, scanLog } from './log-format.js';

const SNAPSHOT_FILE = 'snapshot.json';
const SNAPSHOT_TEMP_FILE = 'snapshot.json.tmp';
const LOG_FILE = /^log\.(0|[1-9]\d{0,14})$/;
const logFile = (generation: number): string => `log.${generation}`;
/** Compact after this many batches, or this many log bytes, whichever first. */
const COMPACT_EVERY_BATCHES = 1000;
const COMPACT_EVERY_BYTES = 64 * 1024 * 1024;

export interface EmbeddedFrameworkStoreOptions {
  /** Created if missing; held exclusively until close(). */
  readonly directory: string;
  readonly compactEveryBatches?: number;
}

export class EmbeddedFrameworkStore extends BatchingFrameworkStore {
  private readonly directory: string;
  private readonly compactEveryBatches: number;
  private generation = 0;
  private batchesInLog = 0;
  private bytesInLog = 0;
  private log: FileHandle | undefined;

  constructor(options: EmbeddedFrameworkStoreOptions) {
    super();
    this.directory = resolve(options.directory);
    this.compactEveryBatches = options.compactEveryBatches ?? COMPACT_EVERY_BATCHES;
  }

  protected async load(): Promise<Map<string, string>> {
    const dir = this.directory;
    await mkdir(dir, { recursive: true });
    await acquireLock(join(dir, 'lock'));
    try {
      return await this.loadHeld();
    } catch (error) {
      await this.log?.close();
      this.log = undefined;
      await releaseLock(join(dir, 'lock'));
      throw error;
    }
  }

  private async loadHeld(): Promise<Map<string, string>> {
    const dir = this.directory;
    const names = new Set(await readdir(dir));
    let entries = new Map<string, string>();
    let generation = 0;
    if (names.has(SNAPSHOT_FILE)) {
      const path = join(dir, SNAPSHOT_FILE);
      const snapshot = decodeSnapshot(await readFile(path));
      if (snapshot === undefined) throw new RegistryCorruptError(path, 0, 'not a snapshot');
      entries = snapshot.entries;
      generation = snapshot.generation;
    }
    await syncDirectory(dir);
    if (names.has(SNAPSHOT_TEMP_FILE)) await rm(join(dir, SNAPSHOT_TEMP_FILE));
    for (const name of names) {
      const match = LOG_FILE.exec(name);
      if (match !== null && Number(match[1]) !== generation) await rm(join(dir, name));
    }
    const logPath = join(dir, logFile(generation));
    if (names.has(logFile(generation))) {
      const bytes = await readFile(logPath);
      const scan = scanLog(bytes);
      if (scan.bad?.nextValidOffset !== undefined)
        throw new RegistryCorruptError(
          logPath,
          scan.bad.offset,
          `${scan.bad.reason}, and a valid record follows at byte ${scan.bad.nextValidOffset}`,
        );
      for (const record of scan.records) {
        const changes = decodeChanges(record.payload);
        if (changes === undefined)
          throw new RegistryCorruptError(logPath, record.offset, 'not a batch of changes');
        entries = applyChanges(entries, changes);
        this.batchesInLog += 1;
      }
      if (scan.bad !== undefined) {
        // A torn final append: never acknowledged, cut off so the next append is readable.
        const handle = await open(logPath, 'r+');
        try {
          await handle.truncate(scan.validBytes);
          await handle.datasync();
        } finally {
          await handle.close();
        }
      }
      this.bytesInLog = scan.validBytes;
    }
    this.log = await open(logPath, 'a');
    await syncDirectory(dir);
    this.generation = generation;
    return entries;
  }

  protected async persist(
    changes: readonly FrameworkStoreChange[],
    next: ReadonlyMap<string, string>,
  ): Promise<void> {
    const log = this.log;
    if (log === undefined) throw new Error('the store has no open log');
    const record = encodeRecord(Buffer.from(JSON.stringify(changes), 'utf8'));
    await writeAll(log, record);
    await log.datasync();
    this.batchesInLog += 1;
    this.bytesInLog += record.length;
    if (this.batchesInLog >= this.compactEveryBatches || this.bytesInLog >= COMPACT_EVERY_BYTES)
      await this.compact(next);
  }

  private async compact(entries: ReadonlyMap<string, string>): Promise<void> {
    const dir = this.directory;
    const previous = this.generation;
    const nextLog = await open(join(dir, logFile(previous + 1)), 'w');
    try {
      const text = JSON.stringify({ format: 1, generation: previous + 1, entries: [...entries] });
      const temp = await open(join(dir, SNAPSHOT_TEMP_FILE), 'w');
      try {
        await writeAll(temp, Buffer.from(text, 'utf8'));
        await temp.sync();
      } finally {
        await temp.close();
      }
      await rename(join(dir, SNAPSHOT_TEMP_FILE), join(dir, SNAPSHOT_FILE));
      await syncDirectory(dir);
    } catch (error) {
      await nextLog.close();
      throw error;
    }
    await this.log?.close();
    this.log = nextLog;
    this.generation = previous + 1;
    this.batchesInLog = 0;
    this.bytesInLog = 0;
    await rm(join(dir, logFile(previous)));
  }

  protected async release(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    try {
      await log?.close();
    } finally {
      await releaseLock(join(this.directory, 'lock'));
    }
  }
}

function decodeSnapshot(
  bytes: Buffer,
): { generation: number; entries: Map<string, string> } | undefined {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as {
      format?: unknown;
      generation?: unknown;
      entries?: unknown;
    };
    if (value.format !== 1 || !Number.isSafeInteger(value.generation)) return undefined;
    if (!Array.isArray(value.entries)) return undefined;
    const entries = new Map<string, string>();
    for (const entry of value.entries) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string')
        return undefined;
      entries.set(entry[0], entry[1]);
    }
    return { generation: value.generation as number, entries };
  } catch {
    return undefined;
  }
}

export function decodeChanges(bytes: Buffer): FrameworkStoreChange[] | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (!Array.isArray(value)) return undefined;
    const changes: FrameworkStoreChange[] = [];
    for (const item of value as { kind?: unknown; key?: unknown; value?: unknown }[]) {
      if (typeof item?.key !== 'string') return undefined;
      if (item.kind === 'put' && typeof item.value === 'string')
        changes.push({ kind: 'put', key: item.key, value: item.value });
      else if (item.kind === 'delete') changes.push({ kind: 'delete', key: item.key });
      else return undefined;
    }
    return changes;
  } catch {
    return undefined;
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, null);
    if (bytesWritten <= 0) throw new Error('write() made no progress');
    written += bytesWritten;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
