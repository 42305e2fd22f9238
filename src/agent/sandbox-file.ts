// Opens a path under the sandboxes so that nothing outside them is ever opened,
// whatever a task does to its sandbox meanwhile. Every `/files` route opens
// through here and reads only from the descriptor it gets (issue #7).
//
// Why: `/files` used to check `realpath(path)` and then `open(path)`. A task that
// swapped a file for a symlink to /etc/passwd between the two got /etc/passwd
// served (585 of 6,000 reads). Any check of a *path* followed by a use of it has
// that race. So here no path is checked and then used: each name is opened under
// the descriptor of its parent, which is already open, through
// `/proc/self/fd/<dir>/<name>` (Node's stand-in for openat), with O_NOFOLLOW so
// the kernel follows no symlink for us. A symlink is read and followed here, and
// only while its target stays under the root, so `runs/latest` and a task's
// links between its own files work, and a link out is refused as missing.
// Checking the opened descriptor's /proc path afterwards, instead of walking,
// would also catch a link out, but only after opening the target: following a
// link to a device outside (/dev/watchdog, a tape) has effects on open itself.
//
// The descriptor is then checked: fstat must say regular file or directory (a
// FIFO blocked a pool thread per request until libuv's four were gone and all
// of /files hung; O_NONBLOCK makes the open itself return), and its real path
// from `/proc/self/fd/<fd>` must still lie under the root (a directory can be
// moved out while we walk it). Without /proc (not Linux) this fails closed.
//
// The directories on the way are opened, read as links and closed with
// synchronous calls, on the event loop: each is one cheap system call, where
// the thread pool cost a round trip per name (~16 serial hops per read of a
// task's `runs/latest/stdout`, while `agora run` polls it). That cannot block:
// O_DIRECTORY makes the kernel refuse anything but a directory (ENOTDIR) before
// any driver's open runs, and a directory's open does not wait. Only the last
// name goes through the pool, as before: it may be a device a task made in its
// sandbox (CAP_MKNOD is in Docker's default set), whose open may block or have
// effects before fstat can refuse it.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  type ReadStream,
  readlinkSync,
  type Stats,
} from 'node:fs';
import { type FileHandle, lstat, open, readdir, realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import { HttpError } from '../runtime/index.js';
import { BadRequestError } from '../wire/index.js';

/** Linux's PATH_MAX: the longest path a request may name. */
export const PATH_MAX_BYTES = 4096;
/** Linux's NAME_MAX: the longest name of one entry. */
export const NAME_MAX_BYTES = 255;
/** Symlinks followed in one open, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;
/** Names opened in one open: any path within PATH_MAX fits, with room for links. */
const MAX_STEPS = 4096;
/** lstat calls in flight per listing, so one big directory cannot fill the pool. */
const LIST_BATCH = 64;

// O_NONBLOCK: a FIFO's open returns at once. O_NOCTTY: a tty never becomes ours.
const OPEN_FLAGS =
  constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const OPEN_DIRECTORY_FLAGS = OPEN_FLAGS | constants.O_DIRECTORY;

export type SandboxFileKind = 'file' | 'directory';

/** One entry of a directory, as `lstat` sees it: a symlink is a symlink. */
export interface SandboxEntry {
  readonly name: string;
  readonly stats: Stats;
}

/** `<work_dir>/slaves`, the only tree `/files` may serve; its real path is found once. */
export class SandboxRoot {
  private realDir: string | undefined;

  constructor(readonly dir: string) {}

  /** The real path of the root, or undefined while it does not exist. */
  async real(): Promise<string | undefined> {
    if (this.realDir === undefined) {
      try {
        this.realDir = await realpath(this.dir);
      } catch {
        return undefined;
      }
    }
    return this.realDir;
  }
}

/** A regular file or directory under the root, open for reading. Close it. */
export class SandboxFile {
  private constructor(
    readonly handle: FileHandle,
    /** fstat of the descriptor, taken once it was verified. */
    readonly stats: Stats,
    readonly kind: SandboxFileKind,
    /** The path as the client named it, for messages. */
    readonly shownPath: string,
    /** The descriptor's real path, under the root's real path (whose sandbox it is in). */
    readonly realPath: string,
  ) {}

  /**
   * Opens `path` (absolute, its `..` resolved by the text) under `root`.
   * Throws HttpError NOT_FOUND for a path that is missing or leads outside the
   * root (the same answer, so nothing about outside paths leaks), BAD_REQUEST
   * for a malformed path or one that names neither a regular file nor a
   * directory, FORBIDDEN when the agent may not open it, NOT_IMPLEMENTED
   * without /proc.
   */
  static async open(root: SandboxRoot, path: string, shownPath = path): Promise<SandboxFile> {
    checkPathText(path);
    if (process.platform !== 'linux')
      throw new HttpError(
        'NOT_IMPLEMENTED',
        'sandbox files are served on Linux only (needs /proc)',
      );
    const rootReal = await root.real();
    if (rootReal === undefined) throw notFound(shownPath);
    // Both spellings of the root name it: the configured one and the real one.
    const prefixes = [rootReal, posix.resolve(root.dir)];
    const names = namesUnder(prefixes, posix.resolve('/', path));
    if (names === undefined) throw notFound(shownPath);
    const handle = await walk(rootReal, prefixes, names, shownPath);
    try {
      const real = readlinkSync(descriptorPath(handle.fd));
      if (!isUnder(rootReal, real)) throw notFound(shownPath);
      const stats = fstatSync(handle.fd);
      const kind = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : undefined;
      if (kind === undefined) throw notRegular(shownPath, stats);
      return new SandboxFile(handle, stats, kind, shownPath, real);
    } catch (error) {
      await handle.close();
      throw mapError(error, shownPath);
    }
  }

  /** Reads up to `length` bytes at byte `position`; fewer at the end of the file. */
  async read(position: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  }

  /**
   * The directory's entries by name, each as `lstat` sees it, never following a
   * link. An entry that goes away between the listing and its lstat is left
   * out, as is one the agent may not stat.
   */
  async list(): Promise<SandboxEntry[]> {
    const dir = descriptorPath(this.handle.fd);
    const names = (await readdir(dir)).sort();
    const entries: SandboxEntry[] = [];
    for (let start = 0; start < names.length; start += LIST_BATCH) {
      const batch = await Promise.all(
        names.slice(start, start + LIST_BATCH).map(async (name) => {
          try {
            return { name, stats: await lstat(`${dir}/${name}`) };
          } catch {
            return undefined;
          }
        }),
      );
      for (const entry of batch) if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  /** The first `length` (> 0) bytes as a stream; it leaves the descriptor open. */
  stream(length: number): ReadStream {
    return this.handle.createReadStream({ start: 0, end: length - 1, autoClose: false });
  }

  /** Closes the descriptor; safe to call twice. */
  close(): Promise<void> {
    return this.handle.close();
  }
}

function checkPathText(path: string): void {
  if (path.includes('\0')) throw new BadRequestError('path', 'must not contain a NUL byte');
  if (Buffer.byteLength(path) > PATH_MAX_BYTES)
    throw new BadRequestError('path', `is longer than ${PATH_MAX_BYTES} bytes (PATH_MAX)`);
  if (path.split('/').some((name) => Buffer.byteLength(name) > NAME_MAX_BYTES))
    throw new BadRequestError('path', `has a name longer than ${NAME_MAX_BYTES} bytes (NAME_MAX)`);
}

/**
 * The names from the root down to the absolute `path`, if it lies under one of
 * `prefixes` (spellings of the root); undefined otherwise. `..` and `.` stay
 * in: the walk resolves them.
 */
function namesUnder(prefixes: readonly string[], path: string): string[] | undefined {
  const tidy = path.replace(/\/+/g, '/');
  for (const prefix of prefixes) {
    if (tidy === prefix) return [];
    if (tidy.startsWith(`${prefix}/`)) return tidy.slice(prefix.length + 1).split('/');
  }
  return undefined;
}

function isUnder(root: string, path: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

function descriptorPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/**
 * Opens `names` one by one from the root, each under its parent's descriptor
 * and with O_NOFOLLOW; follows symlinks itself, only within the root. Returns
 * the last one opened; every other descriptor is closed on every path out.
 * The directories on the way are raw descriptors opened synchronously (see the
 * header); only the last name's open is asynchronous and gives the FileHandle.
 */
async function walk(
  rootReal: string,
  prefixes: readonly string[],
  names: readonly string[],
  shownPath: string,
): Promise<FileHandle> {
  // The directories walked so far, each opened under the one before; `..` pops one.
  const dirs: number[] = [];
  try {
    const root = openSync(rootReal, OPEN_DIRECTORY_FLAGS);
    dirs.push(root);
    checkProc(root, rootReal);
    // The names still to open, the next one last so that pop() takes it.
    const pending: string[] = [];
    const prepend = (more: readonly string[]) => {
      for (let i = more.length - 1; i >= 0; i--) {
        const name = more[i];
        if (name !== undefined && name !== '' && name !== '.') pending.push(name);
      }
    };
    prepend(names);
    let links = 0;
    let steps = 0;
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      const dir = dirs[dirs.length - 1];
      if (++steps > MAX_STEPS || dir === undefined) throw notFound(shownPath);
      if (name === '..') {
        if (dirs.length === 1) throw notFound(shownPath); // above the root
        closeSync(dirs.pop() ?? -1);
        continue;
      }
      const at = `${descriptorPath(dir)}/${name}`;
      const isLast = pending.length === 0;
      try {
        if (isLast) return await open(at, OPEN_FLAGS);
        dirs.push(openSync(at, OPEN_DIRECTORY_FLAGS));
        continue;
      } catch (error) {
        // O_NOFOLLOW answers ELOOP for a symlink, or ENOTDIR along with O_DIRECTORY.
        const code = errorCode(error);
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw describeOpenError(error, at, shownPath);
      }
      const target = readLink(at);
      if (++links > MAX_SYMLINKS) throw notFound(shownPath);
      if (target === undefined) {
        if (!isLast) throw notFound(shownPath); // a file where a directory should be
        pending.push(name); // it was a link a moment ago: look again
      } else if (target.startsWith('/')) {
        const fromRoot = namesUnder(prefixes, target);
        if (fromRoot === undefined) throw notFound(shownPath);
        while (dirs.length > 1) closeSync(dirs.pop() ?? -1);
        prepend(fromRoot);
      } else prepend(target.split('/'));
    }
    // The path ended on a directory already open (the root, or after `..`): a FileHandle
    // of its own, through the descriptor's /proc link, which names that very directory.
    const last = dirs[dirs.length - 1];
    if (last === undefined) throw notFound(shownPath);
    return await open(descriptorPath(last), OPEN_DIRECTORY_FLAGS & ~constants.O_NOFOLLOW);
  } catch (error) {
    throw mapError(error, shownPath);
  } finally {
    for (const dir of dirs) closeSync(dir);
  }
}

/** A symlink's target, or undefined if `at` is no (longer a) symlink. */
function readLink(at: string): string | undefined {
  try {
    return readlinkSync(at);
  } catch {
    return undefined;
  }
}

/**
 * Fails closed unless /proc shows where descriptors point: without it neither
 * the walk nor the final check would mean anything.
 */
function checkProc(root: number, rootReal: string): void {
  let seen: string;
  try {
    seen = readlinkSync(descriptorPath(root));
  } catch (error) {
    throw new HttpError(
      'NOT_IMPLEMENTED',
      'sandbox files are served only with /proc mounted (it is how they are opened safely)',
      {},
      { cause: error },
    );
  }
  if (seen !== rootReal) throw new HttpError('UNAVAILABLE', 'the sandbox root has moved');
}

/** An open error other than a symlink's, as what the entry is if that explains it. */
function describeOpenError(error: unknown, at: string, shownPath: string): unknown {
  const code = errorCode(error);
  if (code !== 'ENXIO' && code !== 'ENODEV') return error;
  // A socket, or a device with no driver behind it, cannot be opened at all.
  let stats: Stats;
  try {
    stats = lstatSync(at);
  } catch {
    return error;
  }
  return notRegular(shownPath, stats);
}

/** Maps an fs error to the answer it deserves; AgoraErrors pass through. */
function mapError(error: unknown, shownPath: string): unknown {
  if (error instanceof HttpError || error instanceof BadRequestError) return error;
  const code = errorCode(error);
  const cause = { cause: error };
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ELOOP':
      return notFound(shownPath);
    case 'EACCES':
    case 'EPERM':
      return new HttpError('FORBIDDEN', `the agent may not open '${shownPath}'`, {}, cause);
    case 'ENAMETOOLONG':
      return new BadRequestError('path', 'is too long', cause);
    case 'EMFILE':
    case 'ENFILE':
      return new HttpError('UNAVAILABLE', 'the agent has too many files open; retry', {}, cause);
    default:
      return new HttpError('NOT_FOUND', `cannot open '${shownPath}' (${code})`, {}, cause);
  }
}

function notFound(shownPath: string): HttpError {
  return new HttpError('NOT_FOUND', `no file at '${shownPath}'`);
}

function notRegular(shownPath: string, stats: Stats): BadRequestError {
  return new BadRequestError(
    'path',
    `'${shownPath}' is ${describeType(stats)}, not a regular file or directory`,
  );
}

function describeType(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'of an unknown type';
}

function errorCode(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string')
    return error.code;
  return 'UNKNOWN';
}
