// Persistent volumes on the agent: each lives in
// `<work_dir>/volumes/roles/<role>/<persistence id>` (Mesos' layout,
// docs/persistent-volume.md), is made when a task first uses it, is mounted into
// the task where its `disk.volume.container_path` says, and outlives the task:
// only DESTROY removes it. Also a MESOS container's own `volumes` (host and sandbox
// paths), which go where the persistent ones go.
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative } from 'node:path';
import { makeDirsRefusingLinks, type VolumeMount } from '../containerizer/index.js';
import type { Resource } from '../wire/index.js';

/** The directory of a persistent volume on this agent. */
export function volumePath(workDir: string, role: string, persistenceId: string): string {
  const base = join(workDir, 'volumes', 'roles');
  const path = join(base, role, persistenceId);
  // Ids and roles are validated by the master; this guards the agent's own disk regardless.
  if (relative(base, path).startsWith('..')) throw new Error(`volume path escapes ${base}`);
  return path;
}

/** The role a volume is reserved to: the last reservation's, else the legacy role field. */
function roleOf(resource: Resource): string {
  return (
    resource.reservations?.at(-1)?.role ??
    (resource.role !== undefined && resource.role !== '*' ? resource.role : undefined) ??
    resource.allocation_info?.role ??
    '*'
  );
}

/** The task's persistent volumes, each directory made if it is not there yet. */
export function persistentVolumes(workDir: string, resources: readonly Resource[]): VolumeMount[] {
  const mounts: VolumeMount[] = [];
  for (const resource of resources) {
    const id = resource.disk?.persistence?.id;
    const volume = resource.disk?.volume;
    if (resource.name !== 'disk' || id === undefined || volume === undefined) continue;
    const hostPath = volumePath(workDir, roleOf(resource), id);
    mkdirSync(hostPath, { recursive: true });
    mounts.push({ hostPath, containerPath: volume.container_path, mode: volume.mode });
  }
  return mounts;
}

/** What a ContainerInfo.Volume may hold, as far as where its data comes from. */
interface ContainerVolume {
  readonly container_path?: unknown;
  readonly host_path?: unknown;
  readonly mode?: unknown;
  readonly image?: unknown;
  readonly source?: {
    readonly type?: unknown;
    readonly host_path?: { readonly path?: unknown };
    readonly sandbox_path?: { readonly type?: unknown; readonly path?: unknown };
  };
}

/**
 * A MESOS container's `volumes` (ContainerInfo.volumes), as mounts beside its persistent
 * volumes: a host path (`host_path` absolute, or `source` HOST_PATH) bind mounted, which
 * needs the agent's filesystem/linux (`canBindMount`), as Mesos' volume/host_path isolator
 * needs it; a sandbox path (`host_path` relative, Mesos' legacy form, or `source`
 * SANDBOX_PATH: SELF in the task's sandbox, PARENT in its task group executor's, as pods
 * share data) made if missing. Throws, so the launch fails with the reason, for what cannot
 * be honoured: a host path that does not exist or cannot be mounted, a path out of its
 * sandbox, PARENT outside a task group, and kinds this agent does not provide (image,
 * Docker volume, secret, CSI). They used to be dropped
 * without a word: the task ran, and wrote what it meant for the host's disk into its
 * sandbox, lost at garbage collection. Other container types handle their own volumes.
 */
export function containerVolumes(
  container: Readonly<Record<string, unknown>> | undefined,
  sandboxes: { readonly sandbox: string; readonly parentSandbox: string | undefined },
  canBindMount: boolean,
  /** The task's user: directories made for sandbox paths are theirs, as the sandbox is. */
  owner?: { readonly uid: number; readonly gid: number },
): VolumeMount[] {
  if (container?.type !== 'MESOS' || !Array.isArray(container.volumes)) return [];
  return (container.volumes as readonly ContainerVolume[]).map((volume) => {
    const containerPath = String(volume.container_path ?? '');
    const mode = volume.mode === 'RO' ? 'RO' : 'RW';
    const hostPath = hostPathOf(volume, containerPath, sandboxes);
    if (hostPath.kind === 'host') {
      if (!canBindMount)
        throw new Error(
          `Volume '${containerPath}': host path volumes need the agent's filesystem/linux isolation`,
        );
      if (!existsSync(hostPath.path))
        throw new Error(`Path '${hostPath.path}' in HOST_PATH volume does not exist`);
      return { hostPath: hostPath.path, containerPath, mode };
    }
    makeDirsRefusingLinks(hostPath.base, hostPath.path, owner);
    return { hostPath: hostPath.path, sandboxBase: hostPath.base, containerPath, mode };
  });
}

function hostPathOf(
  volume: ContainerVolume,
  containerPath: string,
  sandboxes: { readonly sandbox: string; readonly parentSandbox: string | undefined },
):
  | { readonly kind: 'host'; readonly path: string }
  | { readonly kind: 'sandbox'; readonly base: string; readonly path: string } {
  const source = volume.source;
  const inSandbox = (base: string, path: string) => {
    const resolved = join(base, path);
    if (isAbsolute(path) || relative(base, resolved).startsWith('..'))
      throw new Error(`Volume '${containerPath}': sandbox path '${path}' escapes the sandbox`);
    return { kind: 'sandbox', base, path: resolved } as const;
  };
  if (source?.type === 'HOST_PATH') {
    const path = String(source.host_path?.path ?? '');
    if (!isAbsolute(path)) throw new Error(`Path '${path}' in HOST_PATH volume is not absolute`);
    return { kind: 'host', path: normalize(path) };
  }
  if (source?.type === 'SANDBOX_PATH') {
    const path = String(source.sandbox_path?.path ?? '');
    const type = source.sandbox_path?.type ?? 'SELF';
    if (type === 'SELF') return inSandbox(sandboxes.sandbox, path);
    if (type === 'PARENT' && sandboxes.parentSandbox !== undefined)
      return inSandbox(sandboxes.parentSandbox, path);
    throw new Error(
      `Volume '${containerPath}': a ${String(type)} sandbox path needs a task group's executor`,
    );
  }
  if (source?.type !== undefined || volume.image !== undefined)
    throw new Error(
      `Volume '${containerPath}': ${volume.image !== undefined ? 'image' : String(source?.type)} volumes are not supported by this agent`,
    );
  if (typeof volume.host_path !== 'string' || volume.host_path === '')
    throw new Error(`Volume '${containerPath}' names no host_path or source`);
  return isAbsolute(volume.host_path)
    ? { kind: 'host', path: normalize(volume.host_path) }
    : inSandbox(sandboxes.sandbox, volume.host_path);
}

/**
 * A command task's volumes, as links in its sandbox at their container paths, as Mesos'
 * filesystem/posix isolator makes them. Not bind mounts: a command task has no mount
 * namespace of its own here, and a bind mount in the host's would outlive a crashed agent
 * inside a sandbox that garbage collection later deletes recursively, data and all; a
 * link is removed without touching what it points to. Throws (the launch fails) for a
 * path that is absolute or leads out of the sandbox.
 */
export function linkVolumes(sandbox: string, mounts: readonly VolumeMount[]): void {
  for (const mount of mounts) {
    if (isAbsolute(mount.containerPath))
      throw new Error(
        `Volume container path '${mount.containerPath}' is absolute: a command task needs a relative one (or a DOCKER container)`,
      );
    const path = join(sandbox, mount.containerPath);
    if (relative(sandbox, path).startsWith('..') || path === sandbox)
      throw new Error(`Volume container path '${mount.containerPath}' escapes the sandbox`);
    makeDirsRefusingLinks(sandbox, dirname(path));
    if (isLink(path)) rmSync(path);
    symlinkSync(mount.hostPath, path);
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * CHECKPOINT_RESOURCES: the master's word on which persistent volumes the agent holds.
 * Each one listed gets its directory; each one gone since the last word (DESTROY) has
 * its directory removed, data and all, as Mesos' agent syncs them. Returns the paths
 * removed.
 */
export function syncVolumes(
  workDir: string,
  before: readonly Resource[],
  after: readonly Resource[],
): string[] {
  const paths = (resources: readonly Resource[]) =>
    new Set(
      resources.flatMap((resource) => {
        const id = resource.disk?.persistence?.id;
        return resource.name === 'disk' && id !== undefined
          ? [volumePath(workDir, roleOf(resource), id)]
          : [];
      }),
    );
  const kept = paths(after);
  for (const path of kept) mkdirSync(path, { recursive: true });
  const removed = [...paths(before)].filter((path) => !kept.has(path));
  for (const path of removed) rmSync(path, { recursive: true, force: true });
  return removed;
}
