// Persistent volumes on the agent: each lives in
// `<work_dir>/volumes/roles/<role>/<persistence id>` (Mesos' layout,
// docs/persistent-volume.md), is made when a task first uses it, is mounted into
// the task where its `disk.volume.container_path` says, and outlives the task:
// only DESTROY removes it.
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
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

/** DESTROY: the volume's data goes. */
export function destroyVolumes(workDir: string, resources: readonly Resource[]): void {
  for (const resource of resources) {
    const id = resource.disk?.persistence?.id;
    if (resource.name !== 'disk' || id === undefined) continue;
    rmSync(volumePath(workDir, roleOf(resource), id), { recursive: true, force: true });
  }
}
