// An exclusive hold on a registry directory: a `lock` file holding the owner's pid.
// Node has no flock(), and a pid file is what Mesos' tools and operators expect
// to find and read.
//
// Limits, accepted for a single-master store: the pid is checked on this host only
// (a directory shared over NFS is not supported), a recycled pid looks alive (the
// operator removes the file), and two processes that both find the same dead pid
// can both take over (unlink + create is not atomic as a pair).
import { type FileHandle, open, readFile, rm } from 'node:fs/promises';
import { RegistryLockedError } from './errors.js';

/** Attempts to replace a stale lock before giving up: each loss means a live rival. */
const MAX_TAKEOVER_ATTEMPTS = 3;

/** Creates `path` holding `pid`; throws RegistryLockedError if a live process holds it. */
export async function acquireLock(path: string, pid: number = process.pid): Promise<void> {
  for (let attempt = 0; attempt < MAX_TAKEOVER_ATTEMPTS; attempt += 1) {
    if (await tryCreate(path, pid)) return;
    const holder = await readHolder(path);
    if (holder !== undefined && isAlive(holder)) throw new RegistryLockedError(path, holder);
    // The holder died without close(), or died between creating the file and
    // writing its pid (the file is empty): the lock is stale.
    await rm(path, { force: true });
  }
  throw new RegistryLockedError(path, undefined);
}

/** Removes `path` if it still holds `pid`, so a lock taken over by another is left alone. */
export async function releaseLock(path: string, pid: number = process.pid): Promise<void> {
  if ((await readHolder(path)) === pid) await rm(path, { force: true });
}

async function tryCreate(path: string, pid: number): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(`${pid}\n`);
  } catch (error) {
    await handle.close();
    await rm(path, { force: true });
    throw error;
  }
  await handle.close();
  return true;
}

/** The pid in the lock file, or undefined when the file is gone or holds no pid. */
async function readHolder(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  if (!/^\s*[1-9]\d*\s*$/.test(text)) return undefined;
  const pid = Number(text);
  return Number.isSafeInteger(pid) ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return errorCode(error) === 'EPERM';
  }
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
