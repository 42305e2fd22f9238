// The filesystem/linux and docker/runtime isolators in front of the Mesos
// containerizer: a task with an image (`mesos.image`, --image_providers=docker)
// gets a root filesystem of its own under `<work_dir>/provisioner/containers/<id>`
// (an overlay of the stored image, or a copy where overlay cannot be mounted),
// the sandbox at /mnt/mesos/sandbox, /proc and /dev, its persistent volumes bind
// mounted, and runs there with the image's Entrypoint/Cmd/Env/WorkingDir. A
// task without an image under filesystem/linux gets its volumes bind mounted
// into its sandbox. Every mount is made inside the container's own mount
// namespace (image-runtime.ts's script, run under the shim): it goes away with
// the container's last process, so no agent crash leaves one on the host; what
// stays is the container's directory, removed at cleanup or at recovery.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import type { Resources } from '../resources/index.js';
import { commandArgv } from '../wire/index.js';
import type { DockerImageStore } from './docker-image-store.js';
import { CONTAINER_SANDBOX } from './docker-plan.js';
import {
  filesystemArgv,
  imageCommand,
  imageEnvironment,
  imageOf,
  type RootfsMount,
  volumeBinds,
} from './image-runtime.js';
import type {
  Container,
  Containerizer,
  KnownContainer,
  LaunchSpec,
  ResourceLimits,
  RunAsUser,
  Termination,
} from './types.js';

const run = promisify(execFile);
const UNSHARE = '/usr/bin/unshare';
const NSENTER = '/usr/bin/nsenter';

/** Mesos' provisioner backends that Agora has: an overlay per container, or a copy. */
export type ProvisionerBackend = 'overlay' | 'copy';

export interface LinuxFilesystemOptions {
  /** `filesystem/linux` is in --isolation: volumes are bind mounts in the container's namespace. */
  readonly isLinuxFilesystem: boolean;
  /** --image_providers=docker: where images come from; undefined if the agent has none. */
  readonly images: DockerImageStore | undefined;
  /** --image_provisioner_backend; undefined: overlay where it can be mounted, else copy. */
  readonly backend: ProvisionerBackend | undefined;
  /** `<work_dir>/provisioner`. */
  readonly provisionerDir: string;
}

export class LinuxFilesystemContainerizer implements Containerizer {
  /**
   * Containers with a mount namespace of their own, by id (their task's PID, and whether
   * they have a root of their own): commands entering them go into it.
   */
  private readonly namespaced = new Map<
    string,
    { readonly pid: number; readonly isRooted: boolean }
  >();
  private overlayProbe: Promise<boolean> | undefined;

  constructor(
    private readonly inner: Containerizer,
    private readonly options: LinuxFilesystemOptions,
  ) {}

  get description(): string {
    const images = this.options.images === undefined ? '' : '; images: docker';
    return `${this.inner.description}${this.options.isLinuxFilesystem ? ', filesystem/linux' : ''}${images}`;
  }

  /** Whether the task's volumes are mounted here (else the agent links them into the sandbox). */
  willLaunch(container: Readonly<Record<string, unknown>> | undefined): void {
    this.inner.willLaunch?.(container);
  }

  mountsVolumes(container: Readonly<Record<string, unknown>> | undefined): boolean {
    return this.options.isLinuxFilesystem || imageOf(container).kind === 'docker';
  }

  async launch(spec: LaunchSpec): Promise<Container> {
    const image = imageOf(spec.container);
    const volumes = spec.volumes ?? [];
    if (image.kind === 'none') {
      if (!this.options.isLinuxFilesystem || volumes.length === 0) return this.inner.launch(spec);
      const binds = volumeBinds(volumes, { sandbox: spec.sandbox, rootfs: undefined });
      const container = await this.inner.launch(
        wrapped(spec, spec.environment, {
          unshare: UNSHARE,
          rootfs: undefined,
          sandbox: spec.sandbox,
          workingDir: spec.sandbox,
          binds,
          command: commandArgv(spec.command),
        }),
      );
      this.remember(spec.containerId, container, false);
      return container;
    }
    const store = this.options.images;
    if (store === undefined || !this.options.isLinuxFilesystem)
      throw new Error(
        `the task asks for image '${image.name}' and this agent runs no images (start it with --image_providers=docker --isolation=filesystem/linux,docker/runtime)`,
      );
    const stored = await store.get(image.name);
    const command = imageCommand(stored.config, spec.command);
    const workingDir = stored.config.workingDir ?? CONTAINER_SANDBOX;
    // The mount script makes these on the host before changing root: none may lead out.
    for (const path of [
      workingDir,
      ...volumes.map((v) => v.containerPath).filter((p) => isAbsolute(p)),
    ])
      await refuseLinks(stored.rootfs, path);
    const dir = this.containerDir(spec.containerId);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    try {
      const rootfs = await this.provision(stored.rootfs, dir);
      const binds = volumeBinds(volumes, { sandbox: spec.sandbox, rootfs: rootfs.rootfs });
      const container = await this.inner.launch(
        wrapped(spec, imageEnvironment(stored.config, spec.environment), {
          unshare: UNSHARE,
          rootfs,
          sandbox: spec.sandbox,
          workingDir,
          binds,
          command,
        }),
      );
      this.remember(spec.containerId, container, true);
      return container;
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  async recover(known: readonly KnownContainer[]): Promise<Map<string, Container | Termination>> {
    const out = await this.inner.recover(known);
    // Which recovered containers have a namespace of their own is not recorded: one with a
    // rootfs does; a command task's bind mounts are entered only until the agent restarts.
    for (const [id, outcome] of out)
      if ('pid' in outcome && existsSync(join(this.containerDir(id), 'rootfs')))
        this.remember(id, outcome, true);
    // A container directory no known container explains is what a crash left behind.
    const knownIds = new Set(known.map((k) => k.containerId));
    const base = join(this.options.provisionerDir, 'containers');
    for (const id of await readdir(base).catch(() => []))
      if (!knownIds.has(id)) await rm(join(base, id), { recursive: true, force: true });
    return out;
  }

  update(containerId: string, resources: Resources, limits?: ResourceLimits): void {
    this.inner.update?.(containerId, resources, limits);
  }

  async cleanup(containerId: string): Promise<void> {
    this.namespaced.delete(containerId);
    await this.inner.cleanup(containerId);
    await rm(this.containerDir(containerId), { recursive: true, force: true });
  }

  enter(
    containerId: string,
    command: readonly string[],
    user?: RunAsUser,
  ): { readonly file: string; readonly args: readonly string[] } | undefined {
    const entry = this.namespaced.get(containerId);
    if (entry === undefined) return this.inner.enter(containerId, command, user);
    // The agent gives a command entering an image the task's variables, not the image's: the
    // image's PATH (as the task has it) and the sandbox as the container sees it are set here.
    const path = entry.isRooted ? taskPath(entry.pid) : undefined;
    const variables = entry.isRooted
      ? [
          '/usr/bin/env',
          `MESOS_SANDBOX=${CONTAINER_SANDBOX}`,
          ...(path === undefined ? [] : [`PATH=${path}`]),
        ]
      : [];
    // Into the task's mount namespace (its root, if it has one) and directory, in its cgroups.
    return this.inner.enter(containerId, [
      ...variables,
      NSENTER,
      `--target=${entry.pid}`,
      '--mount',
      ...(entry.isRooted ? ['--root'] : []),
      '--wd',
      // nsenter drops to the user once inside (setpriv before it could not enter at all).
      ...(user === undefined ? [] : [`--setuid=${user.uid}`, `--setgid=${user.gid}`]),
      '--',
      ...command,
    ]);
  }

  private remember(containerId: string, container: Container, isRooted: boolean): void {
    const entry = { pid: container.pid, isRooted };
    this.namespaced.set(containerId, entry);
    void container.terminated.then(() => {
      if (this.namespaced.get(containerId) === entry) this.namespaced.delete(containerId);
    });
  }

  close(): void | Promise<void> {
    return this.inner.close();
  }

  private containerDir(containerId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(containerId) || containerId.startsWith('.'))
      throw new Error(`container id '${containerId}' cannot name a directory`);
    return join(this.options.provisionerDir, 'containers', containerId);
  }

  /** The container's root: an overlay to mount (in its namespace), or a copy made now. */
  private async provision(image: string, dir: string): Promise<RootfsMount> {
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    const backend = this.options.backend ?? ((await this.canOverlay()) ? 'overlay' : 'copy');
    if (backend === 'overlay') {
      const upper = join(dir, 'upper');
      const work = join(dir, 'work');
      await mkdir(upper);
      await mkdir(work);
      return { kind: 'overlay', rootfs, lower: image, upper, work };
    }
    try {
      await run('cp', ['-a', '--', `${image}/.`, rootfs]);
    } catch (error) {
      throw new Error(`Failed to copy the image's rootfs: ${(error as Error).message}`);
    }
    return { kind: 'copy', rootfs };
  }

  /** Whether an overlay mounts here (not on every filesystem): tried once, in a throwaway namespace. */
  private canOverlay(): Promise<boolean> {
    this.overlayProbe ??= (async () => {
      const dir = join(
        this.options.provisionerDir,
        `overlay-probe-${randomBytes(4).toString('hex')}`,
      );
      try {
        for (const sub of ['lower', 'upper', 'work', 'merged'])
          await mkdir(join(dir, sub), { recursive: true });
        await run(UNSHARE, [
          '--mount',
          '--',
          'mount',
          '-t',
          'overlay',
          'overlay',
          '-o',
          `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`,
          `${dir}/merged`,
        ]);
        return true;
      } catch {
        return false;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
    return this.overlayProbe;
  }
}

/** The spec the inner containerizer launches: the filesystem script in front of the command. */
function wrapped(
  spec: LaunchSpec,
  environment: Readonly<Record<string, string>>,
  fs: Parameters<typeof filesystemArgv>[0],
): LaunchSpec {
  const argv = filesystemArgv(fs);
  return {
    ...spec,
    environment,
    command: { ...spec.command, shell: false, value: argv[0] ?? UNSHARE, arguments: [...argv] },
  };
}

/**
 * Refuses a path inside the image (the working directory, a volume's target) that passes
 * through a link or leaves the root: the mount script creates and mounts it from the host,
 * where an absolute link would resolve against the host's root.
 */
async function refuseLinks(rootfs: string, path: string): Promise<void> {
  if (!isAbsolute(path)) throw new Error(`the image's path '${path}' is not absolute`);
  const parts = normalize(path)
    .split('/')
    .filter((p) => p !== '');
  if (parts.includes('..')) throw new Error(`the image's path '${path}' leaves its root`);
  let current = rootfs;
  for (const part of parts) {
    current = join(current, part);
    const info = await lstat(current).catch(() => undefined);
    if (info === undefined) return;
    if (info.isSymbolicLink())
      throw new Error(`'${path}' passes through a link in the image; give the path it points to`);
  }
}

/** The PATH the task runs with (from /proc), or undefined if it cannot be read. */
function taskPath(pid: number): string | undefined {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return environ
      .split('\0')
      .find((entry) => entry.startsWith('PATH='))
      ?.slice(5);
  } catch {
    return undefined;
  }
}
