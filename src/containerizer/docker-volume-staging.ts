// A DOCKER task's sandbox-path volumes (a relative host_path), staged for dockerd. dockerd
// resolves a `-v SOURCE:...` by name, as root, when it starts the container: a link swapped
// onto the path in the sandbox (the task's to shape: fetched archives, its own earlier
// runs) after the agent's check would take it anywhere on the host. So the agent walks each
// path from the sandbox a component at a time refusing links (image-runtime.ts' `enter`),
// opens the directory the walk ends in, bind mounts that descriptor (/proc/self/fd/5) onto
// a directory of its own, and gives dockerd that directory. The staging mounts are the
// host's: unstage() takes them away with the container (cleanup) or its failed launch.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ENTER_FUNCTION } from './image-runtime.js';

const run = promisify(execFile);

/** Where a container's sandbox-path volumes are staged: the agent's, never the task's. */
export function stagingDir(workDir: string, containerId: string): string {
  return join(workDir, 'docker-volumes', containerId);
}

const STAGE_SCRIPT = [
  'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
  ...ENTER_FUNCTION,
  'sandbox=$1; stage=$2; i=0; shift 2',
  'for path in "$@"; do',
  // In a subshell, so the walk's cd and descriptor 5 stay in it.
  '  (enter "$sandbox" "$path" && exec 5<. && mount -c --bind /proc/self/fd/5 "$stage/$i") || exit 1',
  '  i=$((i + 1))',
  'done',
].join('\n');

/**
 * Stages `paths` (inside `sandbox`, made already) under `dir`: resolves with the path
 * dockerd is to mount for each, in order. On failure nothing stays mounted.
 */
export async function stageSandboxVolumes(
  sandbox: string,
  paths: readonly string[],
  dir: string,
): Promise<string[]> {
  if (paths.length === 0) return [];
  const staged = paths.map((_, i) => join(dir, String(i)));
  for (const path of staged) mkdirSync(path, { recursive: true });
  const below = paths.map((path) => relative(sandbox, path) || '.');
  try {
    await run('/bin/sh', ['-c', STAGE_SCRIPT, 'agora-stage', sandbox, dir, ...below], {
      timeout: 30_000,
    });
  } catch (error) {
    await unstageSandboxVolumes(dir);
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`could not stage a sandbox volume: ${stderr || (error as Error).message}`);
  }
  return staged;
}

/** Unmounts and removes what stageSandboxVolumes made under `dir`; nothing there is fine. */
export async function unstageSandboxVolumes(dir: string): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    // Not mounted (a failed stage's later ones, or unmounted already): the rmdir tells.
    await run('umount', [path]).catch(() => undefined);
    try {
      rmdirSync(path);
    } catch {
      // Still mounted (busy): lazily, so it goes once dockerd lets go.
      await run('umount', ['-l', path]).catch(() => undefined);
      try {
        rmdirSync(path);
      } catch {
        // Left for the next cleanup of this container.
      }
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // Not empty: a mount that would not go.
  }
}
