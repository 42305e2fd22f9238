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
  readonly isRunning: boolean;
  /** Output so far, for failure messages. */
  output(): string;
  /** Signals the running process (SIGKILL, SIGSTOP, SIGCONT); it is not restarted. */
  kill(signal: NodeJS.Signals): void;
  waitExited(): Promise<void>;
  /** Starts it again on the same port with the same data (killing it first if it runs). */
  restart(): Promise<void>;
  /** Kills it and removes its data. */
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
  const server = new CoordinatorServer(plan.command, plan.args, port, dir, () =>
    isServing(kind, port),
  );
  try {
    await server.restart();
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** One coordinator process at a time on a fixed port and data dir; restart() keeps both. */
class CoordinatorServer implements Server {
  readonly address: string;
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private hasExited = true;
  private readonly chunks: string[] = [];

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly port: number,
    private readonly dir: string,
    private readonly isReady: () => Promise<boolean>,
  ) {
    this.address = `127.0.0.1:${port}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get process(): ChildProcess {
    if (this.child === undefined) throw new Error('not started');
    return this.child;
  }

  get isRunning(): boolean {
    return !this.hasExited;
  }

  output(): string {
    return this.chunks.join('').slice(-4000);
  }

  /** Sends `signal` to the running coordinator (SIGKILL, SIGSTOP, SIGCONT). */
  kill(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child?.kill(signal);
  }

  /** Resolves once the process has exited (at once when none runs). */
  async waitExited(): Promise<void> {
    await this.exited;
  }

  /** (Re)starts it on the same port and data, and waits until it serves. */
  async restart(): Promise<void> {
    if (!this.hasExited) {
      this.child?.kill('SIGKILL');
      await this.exited;
    }
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.hasExited = false;
    child.stdout?.on('data', (chunk: Buffer) => this.chunks.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.chunks.push(chunk.toString()));
    this.exited = once(child, 'exit').then(() => {
      if (this.child === child) this.hasExited = true;
    });
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (!(await this.isReady())) {
      if (this.hasExited || performance.now() > deadline) {
        child.kill('SIGKILL');
        await this.exited;
        throw new Error(`${this.command} did not start on port ${this.port}: ${this.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    if (!this.hasExited) {
      this.child?.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
