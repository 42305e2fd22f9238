// The fetcher cache's books (docs/fetcher.md, docs/fetcher-cache-internals.md):
// one entry per URI, downloaded at most once while it stays cached, shared by
// concurrent fetches, bounded by --fetcher_cache_size and evicted least
// recently used first, never while a fetch is using it. The entries' files are
// the fetcher's business; this class decides, and says which files to delete.

export interface CacheEntry {
  readonly key: string;
  /** The cache file's name in the cache directory. */
  readonly file: string;
  /** Bytes reserved for it: its announced size until it is ready, then its real one. */
  size: number;
  /** Fetches using it now; an entry in use is never evicted. */
  refs: number;
  state: 'downloading' | 'ready';
  /** Settles when the download ends: resolves if the entry became ready, else rejects. */
  readonly ready: Promise<void>;
  readonly settle: (error?: Error) => void;
}

/**
 * Which entries to evict, least recently used first, so that `neededBytes` more
 * fit in `capacityBytes`; undefined when they cannot (too much in use, or the
 * cache too small). `entries` are in least recently used order.
 */
export function chooseEvictions(
  entries: readonly Pick<CacheEntry, 'key' | 'size' | 'refs' | 'state'>[],
  capacityBytes: number,
  neededBytes: number,
): string[] | undefined {
  if (neededBytes > capacityBytes) return undefined;
  let used = entries.reduce((sum, entry) => sum + entry.size, 0);
  const evicted: string[] = [];
  for (const entry of entries) {
    if (used + neededBytes <= capacityBytes) break;
    if (entry.refs > 0 || entry.state !== 'ready') continue;
    evicted.push(entry.key);
    used -= entry.size;
  }
  return used + neededBytes <= capacityBytes ? evicted : undefined;
}

/** Prefix of every file the cache writes: the only names it ever deletes from its directory. */
export const CACHE_FILE_PREFIX = 'agora-fetch-';

export class CacheBook {
  /** In least recently used order: a use moves an entry to the end. */
  private readonly entries = new Map<string, CacheEntry>();
  private serial = 0;

  constructor(readonly capacityBytes: number) {}

  get isEnabled(): boolean {
    return this.capacityBytes > 0;
  }

  get usedBytes(): number {
    let used = 0;
    for (const entry of this.entries.values()) used += entry.size;
    return used;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry for `key`, taken into use (release it), or undefined. */
  use(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    entry.refs += 1;
    return entry;
  }

  /** A new entry for `key`, downloading and in use, reserving nothing yet. */
  begin(key: string): CacheEntry {
    let settle: (error?: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Waiters that see a failed download fall back on their own; nobody else listens.
    ready.catch(() => undefined);
    const entry: CacheEntry = {
      key,
      file: `${CACHE_FILE_PREFIX}${++this.serial}`,
      size: 0,
      refs: 1,
      state: 'downloading',
      ready,
      settle,
    };
    this.entries.set(key, entry);
    return entry;
  }

  /**
   * Reserves `bytes` for a downloading entry, evicting others if needed.
   * Returns the evicted entries' files (to delete), or undefined when there is
   * no room: the caller then drops the entry and bypasses the cache.
   */
  reserve(entry: CacheEntry, bytes: number): string[] | undefined {
    const others = [...this.entries.values()].filter((e) => e !== entry);
    const keys = chooseEvictions(others, this.capacityBytes, bytes);
    if (keys === undefined) return undefined;
    const files = keys.flatMap((key) => {
      const evicted = this.entries.get(key);
      this.entries.delete(key);
      return evicted === undefined ? [] : [evicted.file];
    });
    entry.size = bytes;
    return files;
  }

  /** The download is complete: the entry is served from now on. */
  ready(entry: CacheEntry, bytes: number): void {
    entry.size = bytes;
    entry.state = 'ready';
    entry.settle();
  }

  /** The download failed or was abandoned: the entry is gone; waiters are told. */
  drop(entry: CacheEntry, error: Error): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    entry.settle(error);
  }

  release(entry: CacheEntry): void {
    entry.refs = Math.max(0, entry.refs - 1);
  }
}
