import type { MasterInfo } from '../wire/index.js';

/**
 * Leader election among masters through a real coordinator (ZooKeeper or etcd).
 * One session per coordinator object: when it is lost, `sessionLost` aborts and
 * every candidacy made through it is over. A leader must then stop leading at
 * once (Mesos' master aborts), since another master may already lead.
 */
export interface Coordinator {
  readonly kind: 'zookeeper' | 'etcd';
  /** Opens the session; rejects when the coordinator cannot be reached in time. */
  connect(): Promise<void>;
  /**
   * Calls `onLeader` with the current leader (undefined: none) and again on every
   * change, until the returned function is called or the coordinator is closed.
   */
  watchLeader(onLeader: (leader: MasterInfo | undefined) => void): () => void;
  /** Enters the election with `info` as this master's published data. */
  contend(info: MasterInfo): Promise<Candidacy>;
  /** Aborted once the session is lost (expired, or unreachable past its timeout). */
  readonly sessionLost: AbortSignal;
  /** Leaves the election and closes the session. Idempotent. */
  close(): Promise<void>;
}

export interface Candidacy {
  /** Resolves once this candidate leads; never resolves if the session is lost first. */
  readonly elected: Promise<void>;
  /**
   * What fences the registry's writes (docs of each registry): ZooKeeper, the
   * path of this candidate's ephemeral node; etcd, its election key.
   */
  readonly fence: string;
  /**
   * Asks the coordinator whether this candidate still leads: its session alive
   * and its node (key) still there, so that no other master can have been
   * elected. Resolves false when it does not; rejects when the coordinator
   * cannot be asked (the caller bounds how long it waits). A leader whose
   * process stood still asks this before it acts again (master/stall-watch.ts).
   */
  stillLeads(): Promise<boolean>;
}

/** Session timeout when none is configured (Mesos' --zk_session_timeout). */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
