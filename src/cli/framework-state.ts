// Where a bundled framework (services, jobs) keeps its state, from its --state flag: the one
// shared FrameworkStore, so both persist the same way — embedded on local disk, or in the
// cluster's ZooKeeper or etcd (chunked, fenced by a compare-and-set on the head), which is
// what lets a restarted framework on another machine carry on.
import { resolve } from 'node:path';
import {
  EmbeddedFrameworkStore,
  etcdFrameworkStore,
  type FrameworkStore,
  InMemoryFrameworkStore,
  zooKeeperFrameworkStore,
} from '../registry/index.js';
import { UsageError } from './command.js';

export interface FrameworkState {
  readonly store: FrameworkStore;
  /** Closes the coordinator's client (after the store is closed). */
  close(): Promise<void>;
  /** The embedded store's directory, if that is where the state is. */
  readonly directory?: string;
}

/**
 * `state`: `embedded` (in `directory`), `in_memory`, `zk://host:port,…/path` or
 * `etcd://host:port,…/path` (the framework's keys under `<path>/<name>`).
 */
export async function frameworkStateFrom(
  state: string,
  directory: string,
  name: string,
): Promise<FrameworkState> {
  if (state === 'in_memory')
    return { store: new InMemoryFrameworkStore(), close: async () => undefined };
  if (state === 'embedded') {
    const dir = resolve(directory);
    return {
      store: new EmbeddedFrameworkStore({ directory: dir }),
      close: async () => undefined,
      directory: dir,
    };
  }
  let url: URL;
  try {
    url = new URL(state);
  } catch {
    url = new URL('invalid:');
  }
  const path = `${url.pathname.replace(/\/+$/, '') || '/agora'}/${name}`;
  if (url.protocol === 'zk:') {
    const zookeeper = (await import('node-zookeeper-client')).default;
    const client = zookeeper.createClient(url.host, { sessionTimeout: 10_000 });
    const connected = new Promise<void>((ok) => client.once('connected', () => ok()));
    client.connect();
    await connected;
    await new Promise<void>((ok, fail) =>
      client.mkdirp(path, (error) => (error ? fail(error) : ok())),
    );
    return { store: zooKeeperFrameworkStore(client, path), close: async () => client.close() };
  }
  if (url.protocol === 'etcd:') {
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: url.host.split(',').map((h) => `http://${h}`) });
    return { store: etcdFrameworkStore(client, path), close: async () => client.close() };
  }
  throw new UsageError(
    `--state: expected embedded, in_memory, zk://host:port/path or etcd://host:port/path, got '${state}'`,
  );
}
