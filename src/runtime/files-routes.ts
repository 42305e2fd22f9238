// `/files/*` (WIRE §7.4) on any daemon: read, browse, download and debug over
// files the daemon opens its own way. The agent serves its sandboxes (opened
// through SandboxFile, which never leaves them); the master serves the files it
// attached, such as its log. This module only reads from what it was handed, so
// what may be reached is the opener's decision alone.
import { constants, type ReadStream, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BadRequestError } from '../wire/index.js';
import { HttpError } from './http-errors.js';
import { sendJson } from './http-io.js';
import type { HttpServer, Request } from './http-server.js';

/** At most 16 pages per read (WIRE §7.4). */
export const MAX_READ_BYTES = 16 * 4096;

/** A regular file or directory a daemon opened to serve; reads come from its descriptor only. */
export interface ServedFile {
  readonly kind: 'file' | 'directory';
  /** fstat of the open descriptor. */
  readonly stats: Stats;
  /** The path as the client named it, for answers and messages. */
  readonly shownPath: string;
  /** Up to `length` bytes at byte `position`; fewer at the end of the file. */
  read(position: number, length: number): Promise<Buffer>;
  /** A directory's entries, each as `lstat` sees it. */
  list(): Promise<readonly { readonly name: string; readonly stats: Stats }[]>;
  /** The first `length` (> 0) bytes, leaving the descriptor open. */
  stream(length: number): ReadStream;
  close(): Promise<void>;
}

/**
 * Opens the path a client asked for, or throws the HttpError it deserves
 * (NOT_FOUND for anything it will not serve, so nothing about it leaks).
 */
export type FileOpener = (path: string) => Promise<ServedFile>;

export interface FilesRouteOptions {
  /** `/files/debug`: virtual paths and what they stand for; absent, the route is not served. */
  readonly debug?: () => Readonly<Record<string, string>>;
  /**
   * The opener for one request, when what may be opened depends on who asks (ACLs
   * access_sandboxes, access_mesos_logs): it throws FORBIDDEN for what the caller may not
   * read. Absent, every request opens through the route's `open`.
   */
  readonly openerFor?: (request: Request) => FileOpener;
}

/**
 * Mesos' read window (files.cpp): which bytes a read of `length` at `offset`
 * returns from a file of `size`. Past the end, or a length of 0, reads nothing;
 * no length reads to the end; every read stops at MAX_READ_BYTES.
 */
export function readWindow(size: number, offset: number, length: number | undefined): number {
  if (offset >= size) return 0;
  return Math.min(length ?? size - offset, size - offset, MAX_READ_BYTES);
}

/** Opens `path` through `open`, hands it to `use`, and closes it before resolving. */
export async function withFile<T>(
  open: FileOpener,
  path: string,
  use: (file: ServedFile) => Promise<T>,
): Promise<T> {
  const file = await open(path);
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

export function serveFiles(
  http: HttpServer,
  open: FileOpener,
  options: FilesRouteOptions = {},
): void {
  const openerFor = options.openerFor ?? (() => open);
  http.route(['GET'], '/files/read', async (request, response) => {
    const offset = integerParam(request, 'offset');
    const length = integerParam(request, 'length');
    if (offset !== undefined && offset < -1)
      throw new BadRequestError('offset', 'must be -1 or a non-negative integer');
    if (length !== undefined && length < -1)
      throw new BadRequestError('length', 'must be -1 or a non-negative integer');
    const answer = await withFile(openerFor(request), requiredPath(request), async (file) => {
      if (file.kind === 'directory') throw new BadRequestError('path', 'is a directory');
      const size = file.stats.size;
      // offset -1 (or none) asks for the size: the web UI's pager starts so.
      if (offset === undefined || offset === -1) return { offset: size, data: '' };
      const wanted = length === undefined || length === -1 ? MAX_READ_BYTES : length;
      const bytes = await file.read(offset, readWindow(size, offset, wanted));
      return { offset, data: bytes.subarray(0, completeUtf8Length(bytes)).toString('utf8') };
    });
    sendJson(response, 200, answer, request);
  });

  http.route(['GET'], '/files/browse', async (request, response) => {
    const listing = await withFile(openerFor(request), requiredPath(request), async (file) => {
      if (file.kind !== 'directory') throw new BadRequestError('path', 'is not a directory');
      return (await file.list()).map(({ name, stats }) => ({
        path: posix.join(file.shownPath, name),
        nlink: stats.nlink,
        size: stats.size,
        mtime: Math.floor(stats.mtimeMs / 1000),
        mode: modeString(stats),
        uid: String(stats.uid),
        gid: String(stats.gid),
      }));
    });
    sendJson(response, 200, listing, request);
  });

  http.route(['GET'], '/files/download', async (request, response) => {
    const isComplete = await withFile(openerFor(request), requiredPath(request), async (file) => {
      if (file.kind === 'directory') throw new BadRequestError('path', 'is a directory');
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': file.stats.size,
        'content-disposition': contentDisposition(posix.basename(file.shownPath)),
      });
      return sendBytes(file, request, response);
    });
    // A file that shrank while it was sent cuts the connection: a client must
    // not take a short body for the whole file.
    if (isComplete) response.end();
    else response.destroy();
  });

  const debug = options.debug;
  if (debug !== undefined)
    http.route(['GET'], '/files/debug', (request, response) =>
      sendJson(response, 200, debug(), request),
    );
}

// O_NOFOLLOW: a link in the last place is refused, not followed. O_NONBLOCK: a FIFO's open
// returns at once. O_NOCTTY: a tty never becomes ours.
const OPEN_FLAGS =
  constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Opens the regular file at `realPath` to serve it as `shownPath`. For a file
 * the daemon itself names (a log it writes), not for paths a client chose:
 * a symlink in its place, a FIFO or a device is refused as missing.
 */
export async function openRegularFile(realPath: string, shownPath: string): Promise<ServedFile> {
  let handle: FileHandle;
  try {
    handle = await open(realPath, OPEN_FLAGS);
  } catch (error) {
    throw new HttpError('NOT_FOUND', `no file at '${shownPath}'`, {}, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new HttpError('NOT_FOUND', `no file at '${shownPath}'`);
    return {
      kind: 'file',
      stats,
      shownPath,
      async read(position, length) {
        if (length <= 0) return Buffer.alloc(0);
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, position);
        return buffer.subarray(0, bytesRead);
      },
      list: async () => [],
      stream: (length) => handle.createReadStream({ start: 0, end: length - 1, autoClose: false }),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Writes the file's first `stats.size` bytes (the length the headers promised)
 * without ending the response; true if all were sent.
 */
async function sendBytes(
  file: ServedFile,
  request: Request,
  response: ServerResponse,
): Promise<boolean> {
  const size = file.stats.size;
  if (size === 0) return true;
  const stream = file.stream(size);
  try {
    await pipeline(stream, response, { end: false, signal: request.signal });
  } catch (error) {
    if (request.signal.aborted) return false; // the client left
    throw error;
  } finally {
    stream.destroy();
  }
  return stream.bytesRead === size;
}

function requiredPath(request: Request): string {
  const given = request.query.get('path');
  if (given === null || given === '') throw new BadRequestError('path', 'is required');
  return given;
}

function integerParam(request: Request, name: string): number | undefined {
  const raw = request.query.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new BadRequestError(name, `'${raw}' is not an integer`);
  return value;
}

/**
 * `attachment; filename=<name>` as Mesos sends it when the name is a plain
 * token; otherwise a quoted ASCII stand-in plus the exact name in RFC 6266's
 * `filename*`, since a header cannot carry newlines or non-Latin-1 characters.
 */
export function contentDisposition(name: string): string {
  if (/^[\w.+-]+$/.test(name)) return `attachment; filename=${name}`;
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/gu, '_');
  const exact = encodeURIComponent(name).replace(
    /['()*!]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

/**
 * The length of the longest prefix that ends on a UTF-8 character boundary, so
 * a read never splits a character (the reader's next offset is byte-exact).
 */
export function completeUtf8Length(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= Math.min(4, end); back++) {
    const byte = bytes[end - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? end - back : end;
  }
  return end;
}

/** `ls -l`'s mode string, as Mesos lists it: the type letter, then rwx three times. */
export function modeString(stats: Stats): string {
  const type = stats.isDirectory()
    ? 'd'
    : stats.isSymbolicLink()
      ? 'l'
      : stats.isFIFO()
        ? 'p'
        : stats.isSocket()
          ? 's'
          : stats.isCharacterDevice()
            ? 'c'
            : stats.isBlockDevice()
              ? 'b'
              : '-';
  const bits = 'rwxrwxrwx';
  let out = type;
  for (let i = 0; i < 9; i++) out += stats.mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}
