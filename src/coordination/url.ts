// Coordinator addresses as Mesos writes them (WIRE §8): `zk://[user:password@]h:p,h:p/path`
// for ZooKeeper, and `etcd://h:p,h:p/path` (or `http://h:p/path` for --etcd) for etcd.
// Pure: reading a `file://` indirection is the caller's business.
import { BadRequestError } from '../wire/index.js';

export type CoordinatorUrl =
  | {
      readonly kind: 'zookeeper';
      /** `host:port,host:port`, as ZooKeeper clients take it. */
      readonly servers: string;
      /** The election path: `/agora`; never `/`. */
      readonly path: string;
      readonly credentials?: { readonly user: string; readonly password: string };
    }
  | {
      readonly kind: 'etcd';
      /** `http://host:port` for each endpoint. */
      readonly endpoints: readonly string[];
      /** Key prefix every key lives under: `/agora`; never `/`. */
      readonly path: string;
    };

/** The longest coordinator URL taken: a long server list is a few hundred characters. */
const MAX_URL_LENGTH = 4096;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const PATH = /^(\/[A-Za-z0-9._-]+)+$/;

/** True for addresses that name a coordinator rather than a master. */
export function isCoordinatorUrl(address: string): boolean {
  return address.startsWith('zk://') || address.startsWith('etcd://');
}

/**
 * Parses a coordinator URL. `flag` names the flag in errors. An `http://`
 * URL is taken as etcd only when `httpMeans` says so (--etcd).
 */
export function parseCoordinatorUrl(raw: string, flag: string, httpMeans?: 'etcd'): CoordinatorUrl {
  const fail = (why: string): never => {
    throw new BadRequestError(flag, `${why} (got '${raw.slice(0, 200)}')`);
  };
  if (raw.length > MAX_URL_LENGTH) fail(`longer than ${MAX_URL_LENGTH} characters`);
  const scheme = /^([a-z]+):\/\//.exec(raw)?.[1];
  const kind =
    scheme === 'zk'
      ? 'zookeeper'
      : scheme === 'etcd' || (scheme === 'http' && httpMeans === 'etcd')
        ? 'etcd'
        : fail(
            `expected zk://host:port[,host:port…]/path${httpMeans === 'etcd' ? ' or http://host:port/path' : ''}`,
          );
  const rest = raw.slice(`${scheme}://`.length);
  const slash = rest.indexOf('/');
  if (slash < 0) fail('a path is required, e.g. /agora');
  let authority = rest.slice(0, slash);
  const path = rest.slice(slash).replace(/\/+$/, '');
  if (path === '') fail("the path must not be '/'");
  if (!PATH.test(path))
    fail('the path may hold only letters, digits, ".", "_" and "-" between slashes');
  let credentials: { user: string; password: string } | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    if (kind !== 'zookeeper') fail('credentials are taken only in zk:// URLs');
    const userInfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userInfo.indexOf(':');
    if (colon <= 0) fail('credentials must be user:password@');
    credentials = { user: userInfo.slice(0, colon), password: userInfo.slice(colon + 1) };
  }
  const hosts = authority.split(',');
  for (const host of hosts) {
    const match = HOST_PORT.exec(host);
    if (match === null) fail(`'${host}' is not host:port`);
    const port = Number(match?.[2]);
    if (port < 1 || port > 65535) fail(`'${host}': the port must be 1 to 65535`);
  }
  if (kind === 'zookeeper')
    return {
      kind,
      servers: hosts.join(','),
      path,
      ...(credentials !== undefined ? { credentials } : {}),
    };
  return { kind, endpoints: hosts.map((h) => `http://${h}`), path };
}
