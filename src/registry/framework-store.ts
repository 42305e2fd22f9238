// A small durable key-value store for frameworks' own state (the bundled
// services and jobs frameworks): the master's Registry is typed to its
// RegistryState, while a framework needs only "these keys now hold these JSON
// texts". One narrow interface, three stores behind it: local disk
// (framework-store-embedded.ts), ZooKeeper and etcd (framework-store-chunked.ts),
// and the in-memory one here for tests.
//
// Writes are batches applied atomically. Batches that arrive while one is being
// made durable are merged into the next disk write (group commit), so a
// framework launching a thousand tasks pays for a few fsyncs, not a thousand;
// each write() still resolves only once its own changes are durable, in call order.
import assert from 'node:assert/strict';
import { RegistryClosedError, RegistryError, RegistryFailedError } from './errors.js';

/** Keys are short plain names: `app:/team/web`, `instance:web.1a2b`. */
export const MAX_FRAMEWORK_KEY_CHARS = 512;
const KEY_PATTERN = /^[A-Za-z0-9_.:/@+=-]+$/;
/** One value; a framework's record is a few kB. */
export const MAX_FRAMEWORK_VALUE_BYTES = 1024 * 1024;
/** Changes in one write() call. */
export const MAX_FRAMEWORK_BATCH_CHANGES = 100_000;

export type FrameworkStoreChange =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string };

export interface FrameworkStore {
  /**
   * Reads every entry back. Call exactly once, and let it resolve before
   * write(). Rejects with RegistryLockedError when another live process holds
   * the store and RegistryCorruptError when what is stored cannot be read.
   */
  recover(): Promise<ReadonlyMap<string, string>>;
  /**
   * Applies `changes` in order, atomically, and resolves once they are durable.
   * Calls resolve in call order. Rejects with FrameworkStoreInputError for a bad
   * key or value (nothing is written), RegistryClosedError after close(), and
   * RegistryFailedError once a write has failed.
   */
  write(changes: readonly FrameworkStoreChange[]): Promise<void>;
  /** What is stored now (after every resolved write). */
  snapshot(): ReadonlyMap<string, string>;
  /** Lets queued writes finish, then releases files, locks and nodes. Idempotent. */
  close(): Promise<void>;
}

/** A key or value the store refuses: the caller's bug or its user's oversized input. */
export class FrameworkStoreInputError extends RegistryError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'FrameworkStoreInputError';
  }
}

export function checkChanges(changes: readonly FrameworkStoreChange[]): void {
  if (changes.length > MAX_FRAMEWORK_BATCH_CHANGES)
    throw new FrameworkStoreInputError(
      'changes',
      `${changes.length} changes in one write, at most ${MAX_FRAMEWORK_BATCH_CHANGES}`,
    );
  for (const [i, change] of changes.entries()) {
    if (
      typeof change.key !== 'string' ||
      change.key.length === 0 ||
      change.key.length > MAX_FRAMEWORK_KEY_CHARS ||
      !KEY_PATTERN.test(change.key)
    )
      throw new FrameworkStoreInputError(
        `changes[${i}].key`,
        `must be 1..${MAX_FRAMEWORK_KEY_CHARS} characters of A-Z a-z 0-9 _ . : / @ + = -`,
      );
    if (change.kind === 'put') {
      if (typeof change.value !== 'string')
        throw new FrameworkStoreInputError(`changes[${i}].value`, 'must be a string');
      if (Buffer.byteLength(change.value, 'utf8') > MAX_FRAMEWORK_VALUE_BYTES)
        throw new FrameworkStoreInputError(
          `changes[${i}].value`,
          `longer than ${MAX_FRAMEWORK_VALUE_BYTES} bytes`,
        );
    } else assert.equal(change.kind, 'delete', 'a change is a put or a delete');
  }
}

/** `entries` with `changes` applied, as a new map. */
export function applyChanges(
  entries: ReadonlyMap<string, string>,
  changes: readonly FrameworkStoreChange[],
): Map<string, string> {
  const next = new Map(entries);
  for (const change of changes) {
    if (change.kind === 'put') next.set(change.key, change.value);
    else next.delete(change.key);
  }
  return next;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * The contract's bookkeeping, shared by every store: phases, input checks,
 * group commit, the failed state. A store supplies load, persist and release.
 */
export abstract class BatchingFrameworkStore implements FrameworkStore {
  private entries: Map<string, string> = new Map();
  private phase: 'new' | 'recovering' | 'open' | 'closed' = 'new';
  private pending: { changes: FrameworkStoreChange[]; waiters: Waiter[] } | undefined;
  private isFlushing = false;
  private flushed: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  /** Reads the stored entries (takes locks, creates directories). */
  protected abstract load(): Promise<Map<string, string>>;
  /** Makes `changes` durable; `next` is the whole state after them. */
  protected abstract persist(
    changes: readonly FrameworkStoreChange[],
    next: ReadonlyMap<string, string>,
  ): Promise<void>;
  /** Releases what load() took. */
  protected abstract release(): Promise<void>;

  async recover(): Promise<ReadonlyMap<string, string>> {
    assert.equal(this.phase, 'new', 'recover() must be called exactly once, before close()');
    this.phase = 'recovering';
    this.entries = await this.load();
    if (this.phase === 'recovering') this.phase = 'open';
    return new Map(this.entries);
  }

  snapshot(): ReadonlyMap<string, string> {
    return this.entries;
  }

  write(changes: readonly FrameworkStoreChange[]): Promise<void> {
    if (this.phase === 'closed') return Promise.reject(new RegistryClosedError());
    if (this.phase !== 'open')
      return Promise.reject(
        new assert.AssertionError({ message: 'recover() must resolve before write()' }),
      );
    try {
      checkChanges(changes);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.pending ??= { changes: [], waiters: [] };
      for (const change of changes) this.pending.changes.push(change);
      this.pending.waiters.push({ resolve, reject });
      if (!this.isFlushing) {
        this.isFlushing = true;
        this.flushed = this.flush();
      }
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const wasOpen = this.phase === 'open';
      this.phase = 'closed';
      while (this.isFlushing) await this.flushed;
      if (wasOpen) await this.release();
    })();
    return this.closing;
  }

  private async flush(): Promise<void> {
    while (this.pending !== undefined) {
      const batch = this.pending;
      this.pending = undefined;
      if (this.failure !== undefined) {
        const error = new RegistryFailedError('framework store failed on an earlier write', {
          cause: this.failure,
        });
        for (const waiter of batch.waiters) waiter.reject(error);
        continue;
      }
      // Applied in place: copying the whole map per batch cost more than the writes. A
      // failed persist fails the store for good, so no caller relies on it after that.
      const next = this.entries as Map<string, string>;
      for (const change of batch.changes) {
        if (change.kind === 'put') next.set(change.key, change.value);
        else next.delete(change.key);
      }
      try {
        await this.persist(batch.changes, next);
        for (const waiter of batch.waiters) waiter.resolve();
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
        const failed = new RegistryFailedError(
          `framework store write failed: ${this.failure.message}`,
          { cause: this.failure },
        );
        for (const waiter of batch.waiters) waiter.reject(failed);
      }
    }
    // Cleared in the same turn as the last look at `pending`: a write() whose
    // caller resumes after its batch resolved starts a new flush.
    this.isFlushing = false;
  }
}

/** Forgets everything with the process: for tests, and frameworks run with nothing to keep. */
export class InMemoryFrameworkStore extends BatchingFrameworkStore {
  constructor(private readonly initial: ReadonlyMap<string, string> = new Map()) {
    super();
  }
  protected async load(): Promise<Map<string, string>> {
    return new Map(this.initial);
  }
  protected async persist(): Promise<void> {}
  protected async release(): Promise<void> {}
}
