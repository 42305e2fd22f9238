// Real coordinators for tests: a ZooKeeper (Debian `zookeeper`) and an etcd
// (Debian `etcd-server`), each on 127.0.0.1 on a free port with a temp data dir,
// stopped by PID. Installed with apt-get when missing (we are root on CI), so
// `npm test` needs nothing else on a fresh machine.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CoordinatorKind,
  ETCD_BINARY,
  freePort,
  isServing,
  planLocalCoordinator,
  ZOOKEEPER_JAR,
} from '../../src/cli/local-coordinator.js';

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
  if (installed || (existsSync(ZOOKEEPER_JAR) && existsSync(ETCD_BINARY))) {
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

export { freePort };

/** Starts a one-node ZooKeeper. Sessions may be as short as a second (for fast failover tests). */
export function startZooKeeper(): Promise<Server> {
  return startCoordinator('zookeeper');
}

/** Starts a one-member etcd. */
export function startEtcd(): Promise<Server> {
  return startCoordinator('etcd');
}

/** The coordinator `agora up --ha` runs, with a temp dir on free ports. */
async function startCoordinator(kind: CoordinatorKind): Promise<Server> {
  ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), `agora-${kind === 'zookeeper' ? 'zk' : kind}-`));
  const port = await freePort();
  const plan = planLocalCoordinator(kind, { dir, port, peerPort: await freePort() });
  for (const [path, content] of Object.entries(plan.files)) writeFileSync(path, content);
  return launch(plan.command, plan.args, port, dir, () => isServing(kind, port));
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
