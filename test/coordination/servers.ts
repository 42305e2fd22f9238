// Real coordinators for tests: a ZooKeeper (Debian `zookeeper`) and an etcd
// (Debian `etcd-server`), each on 127.0.0.1 on a free port with a temp data dir,
// stopped by PID. Installed with apt-get when missing (we are root on CI), so
// `npm test` needs nothing else on a fresh machine.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const ETCD = '/usr/bin/etcd';
const START_TIMEOUT_MS = 60_000;

export interface Server {
  /** `127.0.0.1:port` */
  readonly address: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Output so far, for failure messages. */
  readonly output: () => string;
  stop(): Promise<void>;
}

let installed = false;
/** apt-get installs the Debian packages once per test process, when a binary is missing. */
function ensureInstalled(): void {
  if (installed || (existsSync(ZOOKEEPER_JAR) && existsSync(ETCD))) {
    installed = true;
    return;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update'],
    ['install', '-y', '--no-install-recommends', 'zookeeper', 'etcd-server'],
  ]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0)
      throw new Error(`apt-get ${args.join(' ')} failed (status ${result.status}); run it as root`);
  }
  installed = true;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts a one-node ZooKeeper. Sessions may be as short as a second (for fast failover tests). */
export async function startZooKeeper(): Promise<Server> {
  ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'agora-zk-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'zoo.cfg'),
    [
      'tickTime=500',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      'minSessionTimeout=1000',
      'maxSessionTimeout=60000',
      '4lw.commands.whitelist=ruok',
      '',
    ].join('\n'),
  );
  // Not through zkServer.sh: its env script hard-codes /etc/zookeeper/conf (DEPS.md).
  return launch(
    'java',
    [
      '-Xmx256m',
      '-cp',
      `${dir}:${ZOOKEEPER_JAR}`,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      join(dir, 'zoo.cfg'),
    ],
    port,
    dir,
    () => ruok(port),
  );
}

/** Starts a one-member etcd. */
export async function startEtcd(): Promise<Server> {
  ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'agora-etcd-'));
  const port = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return launch(
    ETCD,
    [
      '--name',
      'agora-test',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `agora-test=${peer}`,
    ],
    port,
    dir,
    async () => {
      const response = await fetch(`${client}/health`).catch(() => undefined);
      return (
        response?.ok === true && ((await response.json()) as { health?: string }).health === 'true'
      );
    },
  );
}

async function launch(
  command: string,
  args: readonly string[],
  port: number,
  dir: string,
  isReady: () => Promise<boolean>,
): Promise<Server> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exited = once(child, 'exit');
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const output = () => chunks.join('').slice(-4000);
  const stop = async () => {
    if (!hasExited) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (!(await isReady())) {
    if (hasExited || performance.now() > deadline) {
      await stop();
      throw new Error(`${command} did not start on port ${port}: ${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { address: `127.0.0.1:${port}`, pid: child.pid ?? -1, process: child, output, stop };
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
