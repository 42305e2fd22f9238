// Where the leading master is, from what a user gives as the master: one
// `host:port` is used as is; a list, a coordinator URL (zk://, etcd://) or a
// file:// is resolved each time it is needed, so a new leader is found after a
// failover. Coordination is loaded only then: `agora run` does not pay for it.
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
