// Directories made inside a sandbox (or an image's root) for volumes: what lies there is
// the task's to shape (fetched archives, a task group's siblings, an image), and whoever
// makes the directories runs as root, so no link on the way may be followed.
import { lchownSync, lstatSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/**
 * Makes `path` (inside `base`) and each missing directory on the way, refusing a link at
 * any component below `base`. What lies under a sandbox is the task's (fetched archives,
 * a task group's siblings): `mkdir -p`, run by the agent as root, would follow a planted
 * link and make (and chown to the task's user) directories anywhere on the host. Made
 * directories belong to `owner` when given, as the sandbox does.
 */
export function makeDirsRefusingLinks(
  base: string,
  path: string,
  owner?: { readonly uid: number; readonly gid: number },
): void {
  const rest = relative(base, path);
  if (rest === '') return;
  if (rest.startsWith('..') || isAbsolute(rest))
    throw new Error(`'${path}' is not inside '${base}'`);
  let current = base;
  for (const part of rest.split(sep)) {
    current = join(current, part);
    const info = lstatOrUndefined(current);
    if (info?.isSymbolicLink())
      throw new Error(`'${path}' passes through a link at '${current}'; refusing to follow it`);
    if (info !== undefined) {
      if (!info.isDirectory()) throw new Error(`'${current}' is not a directory`);
      continue;
    }
    // Not recursive: a link put here since the lstat makes this fail (EEXIST), not follow it.
    mkdirSync(current);
    if (owner !== undefined) lchownSync(current, owner.uid, owner.gid);
  }
}

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
