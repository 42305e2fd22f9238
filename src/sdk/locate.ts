// Where the leading master is, from what a user gives as the master: one
// `host:port` is used as is; a list, a coordinator URL (zk://, etcd://) or a
// file:// is resolved each time it is needed, so a new leader is found after a
// failover. Coordination is loaded only then: `agora run` does not pay for it.
import { readFileSync } from 'node:fs';
import { defaultProtocol } from './client-tls.js';
import { baseUrl } from './http-client.js';

/** True when `address` names masters through a coordinator, a list or a file. */
export function needsLeaderDetection(address: string): boolean {
  return (
    address.startsWith('zk://') ||
    address.startsWith('etcd://') ||
    address.startsWith('file://') ||
    address.includes(',')
  );
}

/** The leading master's base URL now. Rejects when none is found within `timeoutMs`. */
export async function locateMaster(
  address: string,
  options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<URL> {
  if (!needsLeaderDetection(address)) return baseUrl(address);
  const { detectMaster } = await import('../coordination/index.js');
  const url = await detectMaster(address, options);
  // A coordinator names a master by host and port; TLS is this process's setting (libprocess').
  url.protocol = defaultProtocol();
  return url;
}

/**
 * A long-lived client's view of the leading master. Through a coordinator it
 * is watched (one session for the client's life) and every change is told;
 * otherwise it is looked up on demand and no change is ever told.
 */
export interface LeaderFollower {
  /** The leading master now (waits for one to be elected, within the timeout). */
  locate(options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<URL>;
  /** `listener` hears of each new leader the coordinator elects. Returns the unsubscribe. */
  onLeaderChange(listener: (leader: URL) => void): () => void;
  /** Ends the watch. Idempotent. */
  close(): Promise<void>;
}

/** The largest file:// indirection read (a few addresses). */
const MAX_FILE_BYTES = 4096;

/** Starts following the leader named by `address` (see LeaderFollower). */
export async function followLeader(address: string): Promise<LeaderFollower> {
  let resolved = address;
  if (address.startsWith('file://')) {
    const text = readFileSync(address.slice('file://'.length), 'utf8');
    if (text.length > MAX_FILE_BYTES)
      throw new Error(`${address}: longer than ${MAX_FILE_BYTES} bytes`);
    resolved = text.trim();
  }
  if (!resolved.startsWith('zk://') && !resolved.startsWith('etcd://'))
    return {
      locate: (options) => locateMaster(resolved, options),
      onLeaderChange: () => () => {},
      close: async () => {},
    };
  const { MasterDetector } = await import('../coordination/index.js');
  const detector = new MasterDetector(resolved);
  // A coordinator names a master by host and port; TLS is this process's setting, as in
  // locateMaster.
  const withScheme = (leader: URL) => {
    leader.protocol = defaultProtocol();
    return leader;
  };
  return {
    locate: async (options) => withScheme(await detector.leader(options)),
    onLeaderChange: (listener) =>
      detector.onChange((leader) => {
        if (leader !== undefined) listener(withScheme(leader));
      }),
    close: () => detector.close(),
  };
}
