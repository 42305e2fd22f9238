// A one-node coordinator on loopback for `agora up --ha` (and the HA tests):
// Debian's ZooKeeper or etcd, with its data under the cluster's work dir. This
// file only plans the command line and probes readiness; up.ts runs it.
//
// ZooKeeper is started directly, not through zkServer.sh, whose env script
// hard-codes /etc/zookeeper/conf (DEPS.md).
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';

export type CoordinatorKind = 'zookeeper' | 'etcd';

export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
export const ETCD_BINARY = '/usr/bin/etcd';
/** Where each coordinator listens by default, as their own packages do. */
export const DEFAULT_COORDINATOR_PORTS: Readonly<Record<CoordinatorKind, number>> = {
  zookeeper: 2181,
  etcd: 2379,
};
/** The election path masters share: `zk://…/agora`, `etcd://…/agora`. */
export const LOCAL_COORDINATOR_PATH = '/agora';

export interface LocalCoordinatorPlan {
  readonly kind: CoordinatorKind;
  readonly command: string;
  readonly args: readonly string[];
  /** Files to write (path -> content) before the first start: ZooKeeper's zoo.cfg. */
  readonly files: Readonly<Record<string, string>>;
  /** `127.0.0.1:port`, where clients connect. */
  readonly address: string;
  /** What masters are given: `--zk zk://…` or `--etcd http://…`. */
  readonly masterFlag: readonly [string, string];
  /** What agents, frameworks and the CLI are given as --master: `zk://…` or `etcd://…`. */
  readonly clientUrl: string;
  /** As people call it in messages. */
  readonly title: string;
}

export interface PlanOptions {
  /** The coordinator's own directory (config and data); kept across restarts. */
  readonly dir: string;
  readonly port: number;
  /** etcd's peer port (one member, but etcd insists on listening for peers). */
  readonly peerPort: number;
}

export function planLocalCoordinator(
  kind: CoordinatorKind,
  options: PlanOptions,
): LocalCoordinatorPlan {
  const address = `127.0.0.1:${options.port}`;
  const path = LOCAL_COORDINATOR_PATH;
  if (kind === 'zookeeper') {
    const config = join(options.dir, 'zoo.cfg');
    return {
      kind,
      command: 'java',
      args: [
        '-Xmx256m',
        '-cp',
        `${options.dir}:${ZOOKEEPER_JAR}`,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        config,
      ],
      files: {
        [config]: [
          // A short tick lets masters ask for sessions down to a second (2 ticks), so a
          // local cluster, or a test, can fail over in seconds.
          'tickTime=500',
          `dataDir=${join(options.dir, 'data')}`,
          `clientPort=${options.port}`,
          'clientPortAddress=127.0.0.1',
          'admin.enableServer=false',
          'minSessionTimeout=1000',
          'maxSessionTimeout=600000',
          '4lw.commands.whitelist=ruok',
          '',
        ].join('\n'),
      },
      address,
      masterFlag: ['--zk', `zk://${address}${path}`],
      clientUrl: `zk://${address}${path}`,
      title: `ZooKeeper at ${address}`,
    };
  }
  const client = `http://${address}`;
  const peer = `http://127.0.0.1:${options.peerPort}`;
  return {
    kind,
    command: ETCD_BINARY,
    args: [
      '--name',
      'agora',
      '--data-dir',
      join(options.dir, 'data'),
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `agora=${peer}`,
      '--log-level',
      'warn',
    ],
    files: {},
    address,
    masterFlag: ['--etcd', `${client}${path}`],
    clientUrl: `etcd://${address}${path}`,
    title: `etcd at ${address}`,
  };
}

/** Why the coordinator cannot run here (its Debian package is missing), or undefined. */
export function missingCoordinator(kind: CoordinatorKind): string | undefined {
  if (kind === 'zookeeper' && !existsSync(ZOOKEEPER_JAR))
    return `ZooKeeper is not installed (${ZOOKEEPER_JAR}): apt-get install zookeeper`;
  if (kind === 'etcd' && !existsSync(ETCD_BINARY))
    return `etcd is not installed (${ETCD_BINARY}): apt-get install etcd-server`;
  return undefined;
}

/** True once the coordinator on `port` serves clients: ZooKeeper's `ruok`, etcd's /health. */
export async function isServing(kind: CoordinatorKind, port: number): Promise<boolean> {
  if (kind === 'zookeeper') return ruok(port);
  const response = await fetch(`http://127.0.0.1:${port}/health`, {
    signal: AbortSignal.timeout(2000),
  }).catch(() => undefined);
  if (response?.ok !== true) return false;
  const body = (await response.json().catch(() => ({}))) as { health?: unknown };
  return body.health === 'true';
}

/** True when nothing listens on 127.0.0.1:`port` (so a coordinator started there is ours). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** ZooKeeper's four-letter `ruok`: `imok` once it serves. */
function ruok(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (data) => {
      answer += data.toString();
    });
    socket.on('close', () => resolve(answer === 'imok'));
    socket.on('error', () => resolve(false));
    socket.connect(port, '127.0.0.1', () => socket.end('ruok'));
  });
}

/**
 * Runs the coordinator's command (its arguments follow) under a shell that
 * stops it when `up` is gone: stdin is a pipe from `up`, and its end-of-file
 * (however `up` ended, SIGKILL included) SIGKILLs the coordinator. A TERM or
 * INT to the shell is passed on. Java and etcd have no such option themselves.
 */
export const STOP_WITH_PARENT_SHELL = [
  'exec 3<&0 0</dev/null',
  '"$@" &',
  'child=$!',
  '( while read -r _ <&3; do :; done; kill -KILL "$child" 2>/dev/null ) &',
  'watcher=$!',
  'exec 3<&-',
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT',
  'wait "$child"; status=$?',
  // A trapped signal ends `wait` early: wait again for the coordinator's real end.
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');
