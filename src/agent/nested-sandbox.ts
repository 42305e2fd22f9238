// The sandbox of a container nested in a task's: `<task sandbox>/containers/<id>`,
// with the files its output goes to. The agent makes these as root inside a
// directory the task owns, so every name is made and opened under the descriptor
// of its parent (`/proc/self/fd/<dir>/<name>`, Node's stand-in for openat) with
// O_NOFOLLOW: a task that put a symlink at `containers`, at the id or at
// `stdout` gets a refusal, never root's write somewhere else. The output files
// must be regular files with one link (a hard link to a file elsewhere is
// refused too), opened O_NONBLOCK so a FIFO put there cannot block the open.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError } from '../runtime/index.js';

const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const OUTPUT_FLAGS =
  constants.O_WRONLY |
  constants.O_CREAT |
  constants.O_APPEND |
  constants.O_NOFOLLOW |
  constants.O_NONBLOCK |
  constants.O_NOCTTY;

export interface NestedSandbox {
  /** Its path, as the container's MESOS_SANDBOX. */
  readonly path: string;
  /** The directory, open: a child's cwd as `/proc/self/fd/<fd>` is this directory, whatever its name now points at. */
  readonly directory: FileHandle;
  readonly stdout: FileHandle;
  readonly stderr: FileHandle;
}

/** Makes (or reuses) `<taskSandbox>/containers/<name>` and opens its output files; close them. */
export async function openNestedSandbox(taskSandbox: string, name: string): Promise<NestedSandbox> {
  const opened: FileHandle[] = [];
  const keep = (handle: FileHandle) => {
    opened.push(handle);
    return handle;
  };
  try {
    const sandbox = keep(await openDirectory(taskSandbox, taskSandbox));
    const containers = keep(await makeDirectory(sandbox, 'containers', taskSandbox));
    const directory = await makeDirectory(containers, name, taskSandbox);
    keep(directory);
    const stdout = keep(await openOutput(directory, 'stdout'));
    const stderr = keep(await openOutput(directory, 'stderr'));
    await Promise.all([sandbox.close(), containers.close()]);
    return { path: join(taskSandbox, 'containers', name), directory, stdout, stderr };
  } catch (error) {
    await Promise.all(opened.map((handle) => handle.close().catch(() => undefined)));
    throw error;
  }
}

export async function closeNestedSandbox(sandbox: NestedSandbox): Promise<void> {
  await Promise.all([sandbox.directory.close(), sandbox.stdout.close(), sandbox.stderr.close()]);
}

async function makeDirectory(
  parent: FileHandle,
  name: string,
  taskSandbox: string,
): Promise<FileHandle> {
  const path = `/proc/self/fd/${parent.fd}/${name}`;
  await mkdir(path, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return openDirectory(path, taskSandbox);
}

async function openDirectory(path: string, taskSandbox: string): Promise<FileHandle> {
  try {
    return await open(path, DIRECTORY_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR')
      throw new HttpError(
        'CONFLICT',
        `the task's sandbox ${taskSandbox} has a symlink or file where a nested container's directory goes`,
      );
    throw error;
  }
}

async function openOutput(directory: FileHandle, name: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(`/proc/self/fd/${directory.fd}/${name}`, OUTPUT_FLAGS, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR')
      throw new HttpError('CONFLICT', `a nested container's ${name} is not a regular file`);
    throw error;
  }
  const stats = await handle.stat();
  if (!stats.isFile() || stats.nlink !== 1) {
    await handle.close();
    throw new HttpError(
      'CONFLICT',
      `a nested container's ${name} is not a regular file of its own (a link or a special file)`,
    );
  }
  return handle;
}

/**
 * Removes `<taskSandbox>/containers/<name>`. The task still runs and owns that tree, so the
 * removal must follow no symlink the task may swap in meanwhile: GNU rm walks with openat and
 * O_NOFOLLOW and stays on one filesystem; it is given `containers` as a descriptor opened
 * without following a link, so a link put there cannot point it elsewhere either.
 */
export async function removeNestedSandbox(taskSandbox: string, name: string): Promise<void> {
  let containers: FileHandle;
  try {
    containers = await openDirectory(join(taskSandbox, 'containers'), taskSandbox);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const child = spawn('rm', ['-rf', '--one-file-system', '--', `/proc/self/fd/3/${name}`], {
      stdio: ['ignore', 'ignore', 'pipe', containers.fd],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-1000);
    });
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`cannot remove the nested sandbox ${name}: ${stderr.trim()}`);
  } finally {
    await containers.close();
  }
}
