// A real Docker daemon for the Docker containerizer's tests: Debian's dockerd
// (installed with apt-get when missing), started with its own data root, exec
// root, socket and pidfile under a temp dir, so it shares nothing with any other
// dockerd on the machine, and stopped by PID at the end. There is no image
// registry here, so the test image is made with `docker import` from a
// busybox-static rootfs.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive, waitFor } from './harness.js';

const run = promisify(execFile);

/** Debian's CLI, the same release as its dockerd (another `docker` may come first on PATH). */
export const DOCKER_CLI = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const DOCKERD = '/usr/sbin/dockerd';
const BUSYBOX = '/usr/bin/busybox';
/** The image every test runs: busybox's applets on an empty rootfs. */
export const TEST_IMAGE = 'agora-test/busybox:latest';
/** How long dockerd gets after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 20_000;

export interface DockerDaemon {
  /** The daemon's socket path (the agent's --docker_socket). */
  readonly socket: string;
  readonly pid: number;
  readonly image: string;
  /** The name of the Linux bridge its default `bridge` network uses, when it has one. */
  readonly bridge: string | undefined;
  /** Runs the Docker CLI against this daemon. */
  docker(args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** A GET on the Engine API; the parsed JSON body. */
  get(path: string): Promise<unknown>;
  /** What no test may leave behind: containers, user networks, volumes. */
  leftovers(): Promise<{ containers: string[]; networks: string[]; volumes: string[] }>;
  /** Removes every container, stops dockerd by PID, and removes its files. Idempotent. */
  stop(): Promise<void>;
}

/** Installs docker.io and busybox-static when missing (as root; tests run as root here). */
export function ensureDockerInstalled(): void {
  const missing = [
    [DOCKERD, 'docker.io'],
    [BUSYBOX, 'busybox-static'],
  ].filter(([path]) => !existsSync(path ?? ''));
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update'],
    ['install', '-y', '--no-install-recommends', ...missing.map(([, name]) => name ?? '')],
  ]) {
    const result = spawnSync('apt-get', args, { env, stdio: 'ignore', timeout: 300_000 });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: ${result.status}`);
  }
}

/**
 * Starts a dockerd of its own. With `bridge`, its default bridge network is a Linux bridge
 * made for it (a random name and a /24 in 172.30.0.0/16), so two daemons never fight over
 * docker0; without, it has no bridge at all. iptables stay off: published ports are
 * forwarded by docker-proxy, which is all a test on 127.0.0.1 needs.
 */
export async function startDocker(
  options: { readonly bridge?: boolean } = {},
): Promise<DockerDaemon> {
  ensureDockerInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'agora-dk-'));
  const socket = join(dir, 'docker.sock');
  const suffix = dir.slice(-6).replace(/[^a-zA-Z0-9]/g, 'x');
  const bridge = options.bridge === true ? `agdk${suffix}`.slice(0, 15) : undefined;
  let child: ChildProcess | undefined;
  let isStopped = false;
  const cleanups: (() => Promise<void> | void)[] = [
    () => rmSync(dir, { recursive: true, force: true }),
  ];
  const stop = async () => {
    if (isStopped) return;
    isStopped = true;
    for (const cleanup of cleanups.reverse())
      try {
        await cleanup();
      } catch {
        // Each undo runs even when one before it failed.
      }
  };
  try {
    if (bridge !== undefined) {
      const third = 1 + Math.floor(Math.random() * 250);
      ip(['link', 'add', bridge, 'type', 'bridge']);
      cleanups.push(() => void ip(['link', 'del', bridge]));
      ip(['addr', 'add', `172.30.${third}.1/24`, 'dev', bridge]);
      ip(['link', 'set', bridge, 'up']);
    }
    child = spawn(
      DOCKERD,
      [
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '-H',
        `unix://${socket}`,
        '--pidfile',
        join(dir, 'dockerd.pid'),
        '--iptables=false',
        '--ip-masq=false',
        `--bridge=${bridge ?? 'none'}`,
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const daemon = child;
    const pid = daemon.pid ?? -1;
    const exited = once(daemon, 'exit');
    let stderr = '';
    daemon.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 100_000) stderr += chunk.toString('utf8');
    });
    cleanups.push(async () => {
      if (!isAlive(pid)) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => isAlive(pid) && process.kill(pid, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      // What dockerd leaves mounted under its roots (its default netns, always; overlays
      // if it was killed), deepest first, so that the directory can go.
      const mounts = readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .map((line) => line.split(' ')[1] ?? '')
        .filter((point) => point.startsWith(`${dir}/`))
        .sort((a, b) => b.length - a.length);
      for (const point of mounts) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
    });
    await waitFor(
      'dockerd to answer on its socket',
      async () => {
        if (daemon.exitCode !== null) throw new Error(`dockerd exited: ${stderr.slice(-2000)}`);
        return (await engineGet(socket, '/_ping').catch(() => undefined)) === undefined
          ? undefined
          : true;
      },
      60_000,
    );
    const docker = async (args: readonly string[]) =>
      run(DOCKER_CLI, ['-H', `unix://${socket}`, ...args], { maxBuffer: 16 * 1024 * 1024 });
    const removeAll = async () => {
      const { stdout } = await docker(['ps', '-aq']);
      const ids = stdout.split('\n').filter((id) => id !== '');
      if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids]);
    };
    cleanups.push(removeAll);
    await importBusybox(dir, socket);
    const get = (path: string) => engineGet(socket, path);
    return {
      socket,
      pid,
      image: TEST_IMAGE,
      bridge,
      docker,
      get,
      async leftovers() {
        const containers = (await get('/containers/json?all=1')) as { Names: string[] }[];
        const networks = (await get('/networks')) as { Name: string }[];
        const volumes = (await get('/volumes')) as { Volumes: { Name: string }[] | null };
        return {
          containers: containers.flatMap((c) => c.Names),
          networks: networks
            .map((n) => n.Name)
            .filter((name) => !['bridge', 'host', 'none'].includes(name)),
          volumes: (volumes.Volumes ?? []).map((v) => v.Name),
        };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function ip(args: readonly string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
}

/** `docker import` of a rootfs holding busybox-static and a link per applet. */
async function importBusybox(dir: string, socket: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  for (const sub of ['bin', 'tmp', 'etc', 'www']) mkdirSync(join(rootfs, sub), { recursive: true });
  spawnSync('cp', [BUSYBOX, join(rootfs, 'bin', 'busybox')]);
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n');
  for (const applet of applets)
    if (/^[a-z0-9_.[-]+$/i.test(applet) && applet !== 'busybox')
      symlinkSync('busybox', join(rootfs, 'bin', applet));
  spawnSync('sh', ['-c', `echo 'root:x:0:0:root:/root:/bin/sh' > ${rootfs}/etc/passwd`]);
  const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const importer = spawn(
    DOCKER_CLI,
    ['-H', `unix://${socket}`, 'import', '-c', 'CMD ["/bin/sh"]', '-', TEST_IMAGE],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  importer.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  if (tar.stdout !== null && importer.stdin !== null) tar.stdout.pipe(importer.stdin);
  const [code] = await once(importer, 'exit');
  rmSync(rootfs, { recursive: true, force: true });
  if (code !== 0) throw new Error(`docker import failed: ${stderr}`);
}

/** A GET on the Engine API over the daemon's unix socket. */
export function engineGet(socket: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`${path}: ${res.statusCode} ${body}`));
        else
          try {
            resolve(body === 'OK' ? 'OK' : JSON.parse(body));
          } catch (error) {
            reject(error);
          }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The first of `count` consecutive ports nothing on this shared machine listens on
 * (docker-proxy binds a published port on 0.0.0.0).
 */
export async function freePortRun(count: number): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    // Below the kernel's ephemeral range (32768+), where thousands of client sockets of the
    // other tests make a free run rare.
    const first = 20_000 + Math.floor(Math.random() * 12_000);
    let isRunFree = true;
    for (let port = first; port < first + count && isRunFree; port++)
      isRunFree = await isFree(port);
    if (isRunFree) return first;
  }
  throw new Error('no free run of ports');
}

/** An agent's flags for the Docker containerizer on `docker` (exited containers go at once). */
export function dockerAgentFlags(
  docker: Pick<DockerDaemon, 'socket'>,
  extra: readonly string[] = [],
): string[] {
  return [
    '--containerizers',
    'docker,mesos',
    '--docker',
    DOCKER_CLI,
    '--docker_socket',
    docker.socket,
    '--docker_remove_delay',
    '0secs',
    ...extra,
  ];
}
