import type { RegistryOperation, RegistryState } from './state.js';

/**
 * The master's durable state behind one interface: the embedded store on local
 * disk, an in-memory one, and later a ZooKeeper-backed one.
 */
export interface Registry {
  /**
   * Reads the stored state back. Call exactly once, and let it resolve before
   * apply(). Rejects with RegistryLockedError when another live registry holds the
   * store, and RegistryCorruptError when stored state cannot be read back.
   */
  recover(): Promise<RegistryState>;
  /**
   * Applies `op` and resolves with the new state once `op` is durable. Concurrent
   * calls are applied, and resolve, in call order. Rejects with AssertionError for
   * a malformed operation (nothing is written), RegistryClosedError after close(),
   * and RegistryFailedError once a write has failed.
   */
  apply(op: RegistryOperation): Promise<RegistryState>;
  /**
   * Lets in-flight applies finish, then releases files and locks. Idempotent: every
   * call returns the same promise.
   */
  close(): Promise<void>;
  /** What recover() found and repaired, for the caller to log; undefined before it resolves. */
  readonly recoveryReport: RecoveryReport | undefined;
}

export interface RecoveryReport {
  /** Generation of the snapshot that was loaded, or undefined when there was none. */
  readonly snapshotGeneration: number | undefined;
  /** Operations replayed from the log on top of the snapshot. */
  readonly recordsReplayed: number;
  /** A partly written final record (a crash mid-append) that recovery cut off. */
  readonly tornTail: TornTail | undefined;
  /** Leftovers of a compaction a crash interrupted, removed by recovery. */
  readonly removedFiles: readonly string[];
}

export interface TornTail {
  readonly file: string;
  /** Where the torn record started; the log now ends here. */
  readonly offset: number;
  readonly droppedBytes: number;
  readonly reason: string;
}
