// Where the jobs framework keeps its state: the shared framework store (src/registry's
// FrameworkStore: embedded on local disk, or ZooKeeper or etcd, with their chunking and
// fencing), seen through the narrow interface below, as the services framework sees it.
// Frameworks do not import the registry (test/layering.test.ts); the CLI builds the store.
//
// Keys are short paths (`job/<id>`, `run/<job>/<run>`, `idx/<job>/<run>/<i>`,
// `cron/<job>/<schedule>`, `framework`); values are JSON texts.
//
// Before the shared store, the framework kept its own append-only log of JSON lines,
// `<work_dir>/jobs.log`. `readLegacyJobLog` reads one back so its jobs survive the upgrade:
// the framework imports it into an empty store once, then renames it `jobs.log.imported`.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export type JobsStoreChange =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string };

/** The registry's FrameworkStore, narrowed to what the framework calls. */
export interface JobsStore {
  /** Everything stored; called once, before write(). */
  recover(): Promise<ReadonlyMap<string, string>>;
  /** Applies the changes atomically, durable once it resolves; calls resolve in call order. */
  write(changes: readonly JobsStoreChange[]): Promise<void>;
  close(): Promise<void>;
}

/** The FrameworkStore's bound on changes per write (MAX_FRAMEWORK_BATCH_CHANGES). */
export const MAX_STORE_BATCH_CHANGES = 100_000;

const LEGACY_LOG = 'jobs.log';
const LEGACY_IMPORTED = 'jobs.log.imported';

/** A pre-shared-store log in `dir`: its live records by key, or undefined if there is none. */
export function readLegacyJobLog(dir: string): Map<string, unknown> | undefined {
  const path = join(dir, LEGACY_LOG);
  if (!existsSync(path)) return undefined;
  const live = new Map<string, unknown>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    let record: { k?: unknown; v?: unknown; d?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      break; // a torn tail: its commit never resolved
    }
    if (typeof record.k !== 'string') break;
    if (record.d === 1) live.delete(record.k);
    else live.set(record.k, record.v);
  }
  return live;
}

/** Renames the legacy log once its records are in the shared store, so it is read only once. */
export function retireLegacyJobLog(dir: string): void {
  renameSync(join(dir, LEGACY_LOG), join(dir, LEGACY_IMPORTED));
}
