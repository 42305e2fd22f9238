// Where the jobs framework keeps its state: a narrow interface, so the shared framework-state
// store (src/registry, being built for the services framework) can replace the file-backed one
// here without touching the core. Keys are short paths (`job/<id>`, `run/<job>/<run>`,
// `idx/<job>/<run>/<i>`, `cron/<job>/<schedule>`, `framework`), values JSON.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoreWrite {
  readonly key: string;
  /** undefined deletes the key. */
  readonly value: unknown;
}

export interface JobStore {
  /** Everything stored, by key. */
  load(): Promise<Map<string, unknown>>;
  /** Persists a batch; every write in it is durable once this resolves. In order of calls. */
  commit(writes: readonly StoreWrite[]): Promise<void>;
  put(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Compact when the log holds this many more records than there are live keys. */
const COMPACT_SLACK_RECORDS = 50_000;

/**
 * An append-only log of JSON lines in `<dir>/jobs.log`, fdatasync'd per commit (one sync for a
 * whole batch: a cycle's launches or a burst of statuses). A crash can leave a torn last line;
 * loading ignores it (its commit never resolved). Compaction writes the live keys to a temp file,
 * fsyncs it and renames it over the log, so a crash leaves either the old log or the new one.
 * One process per directory: the framework's single instance (in HA the shared store replaces
 * this one).
 */
export class FileJobStore implements JobStore {
  private readonly path: string;
  private live = new Map<string, unknown>();
  private records = 0;
  private handle: FileHandle | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {
    this.path = join(dir, 'jobs.log');
  }

  async load(): Promise<Map<string, unknown>> {
    mkdirSync(this.dir, { recursive: true });
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const live = new Map<string, unknown>();
    let records = 0;
    let goodBytes = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let record: { k?: unknown; v?: unknown; d?: unknown };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        break; // a torn tail: everything after it was never acknowledged
      }
      if (typeof record.k !== 'string') break;
      if (record.d === 1) live.delete(record.k);
      else live.set(record.k, record.v);
      records++;
      goodBytes += Buffer.byteLength(line) + 1;
    }
    this.live = live;
    this.records = records;
    if (goodBytes !== Buffer.byteLength(text)) this.compactNow();
    this.handle = await open(this.path, 'a');
    return new Map(live);
  }

  commit(writes: readonly StoreWrite[]): Promise<void> {
    if (writes.length === 0) return this.chain;
    const lines = writes
      .map((w) =>
        JSON.stringify(w.value === undefined ? { k: w.key, d: 1 } : { k: w.key, v: w.value }),
      )
      .join('\n');
    for (const w of writes) {
      if (w.value === undefined) this.live.delete(w.key);
      else this.live.set(w.key, w.value);
    }
    const next = this.chain.then(async () => {
      const handle = this.handle;
      if (handle === undefined) throw new Error('the job store is closed');
      await handle.write(`${lines}\n`);
      await handle.datasync();
      this.records += writes.length;
      if (this.records > this.live.size + COMPACT_SLACK_RECORDS) {
        await handle.close();
        this.compactNow();
        this.handle = await open(this.path, 'a');
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  put(key: string, value: unknown): Promise<void> {
    return this.commit([{ key, value }]);
  }

  delete(key: string): Promise<void> {
    return this.commit([{ key, value: undefined }]);
  }

  async close(): Promise<void> {
    await this.chain;
    await this.handle?.close();
    this.handle = undefined;
  }

  private compactNow(): void {
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, 'w');
    try {
      const lines = [...this.live].map(([k, v]) => JSON.stringify({ k, v }));
      writeSync(fd, lines.length > 0 ? `${lines.join('\n')}\n` : '');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.records = this.live.size;
  }
}

/** For tests of the shell without a disk. */
export class MemoryJobStore implements JobStore {
  readonly data = new Map<string, unknown>();
  async load() {
    return new Map(this.data);
  }
  async commit(writes: readonly StoreWrite[]) {
    for (const w of writes) {
      if (w.value === undefined) this.data.delete(w.key);
      else this.data.set(w.key, structuredClone(w.value));
    }
  }
  put(key: string, value: unknown) {
    return this.commit([{ key, value }]);
  }
  delete(key: string) {
    return this.commit([{ key, value: undefined }]);
  }
  async close() {}
}
