// Persistent volumes on the agent: each lives in
// `<work_dir>/volumes/roles/<role>/<persistence id>` (Mesos' layout,
// docs/persistent-volume.md), is made when a task first uses it, is mounted into
// the task where its `disk.volume.container_path` says, and outlives the task:
// only DESTROY removes it.
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type { VolumeMount } from '../containerizer/index.js';
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
        `Persistent volume container path '${mount.containerPath}' is absolute: a command task needs a relative one (or a DOCKER container)`,
      );
    const path = join(sandbox, mount.containerPath);
    if (relative(sandbox, path).startsWith('..') || path === sandbox)
      throw new Error(
        `Persistent volume container path '${mount.containerPath}' escapes the sandbox`,
      );
    mkdirSync(dirname(path), { recursive: true });
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
