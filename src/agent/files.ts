// `/files/*` (WIRE §7.4): sandbox files, by real path or by the virtual path
// `/frameworks/<fid>/executors/<eid>/runs/latest/...`. Every route opens through
// SandboxFile (sandbox-file.ts), which reaches nothing outside the sandboxes and
// nothing but regular files and directories, and then reads only from the
// descriptor it opened.
import type { Stats } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type HttpServer, type Request, sendJson } from '../runtime/index.js';
import { BadRequestError } from '../wire/index.js';
import { SandboxFile, SandboxRoot } from './sandbox-file.js';

/** At most 16 pages per read (WIRE §7.4). */
export const MAX_READ_BYTES = 16 * 4096;

export interface SandboxRoots {
  /** `<work_dir>/slaves/<agent_id>`, or undefined before the agent has an id. */
  readonly agentDir: () => string | undefined;
  /** `<work_dir>/slaves`: the only tree /files may serve. */
  readonly slavesDir: string;
}

/** A file's entry in a listing, as /files/browse and LIST_FILES show it. */
export interface FileInfo {
  readonly path: string;
  readonly nlink: number;
  readonly size: number;
  readonly mtime: number;
  readonly mode: string;
  readonly uid: string;
  readonly gid: string;
}

/** Reads and lists sandbox files for /files and the agent's LIST_FILES and READ_FILE. */
export class SandboxFiles {
  private readonly root: SandboxRoot;

  constructor(private readonly roots: SandboxRoots) {
    this.root = new SandboxRoot(roots.slavesDir);
  }

  /**
   * Opens `given` (a real or virtual path), hands the file to `use` and closes it
   * before resolving, so the descriptor is gone before the client sees the answer.
   */
  async withFile<T>(given: string, use: (file: SandboxFile) => Promise<T>): Promise<T> {
    const agentDir = this.roots.agentDir();
    const isVirtual = given.startsWith('/frameworks/') && agentDir !== undefined;
    const path = isVirtual ? posix.join(agentDir, given) : given;
    const file = await SandboxFile.open(this.root, path, given);
    try {
      return await use(file);
    } finally {
      await file.close();
    }
  }

  /**
   * Up to `length` bytes (at most MAX_READ_BYTES) from `offset`, cut on a UTF-8
   * boundary; with no offset (or -1), the file's size and no data (WIRE §7.4).
   */
  read(given: string, offset: number | undefined, length: number | undefined) {
    return this.withFile(given, async (file) => {
      if (file.kind === 'directory') throw new BadRequestError('path', 'is a directory');
      const size = file.stats.size;
      if (offset === undefined || offset === -1) return { offset: size, data: '', size };
      const wanted =
        length === undefined || length === -1 ? MAX_READ_BYTES : Math.min(length, MAX_READ_BYTES);
      const bytes = await file.read(offset, Math.max(0, Math.min(wanted, size - offset)));
      const data = bytes.subarray(0, completeUtf8Length(bytes));
      return { offset, data: data.toString('utf8'), bytes: data, size };
    });
  }

  browse(given: string): Promise<FileInfo[]> {
    return this.withFile(given, async (file) => {
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
  }
}

export function routeFiles(http: HttpServer, files: SandboxFiles): void {
  http.route(['GET'], '/files/read', async (request, response) => {
    const offset = integerParam(request, 'offset');
    const length = integerParam(request, 'length');
    if (offset !== undefined && offset < -1)
      throw new BadRequestError('offset', 'must be -1 or a non-negative integer');
    if (length !== undefined && length < -1)
      throw new BadRequestError('length', 'must be -1 or a non-negative integer');
    const answer = await files.read(requiredPath(request), offset, length);
    sendJson(response, 200, { offset: answer.offset, data: answer.data }, request);
  });

  http.route(['GET'], '/files/browse', async (request, response) => {
    sendJson(response, 200, await files.browse(requiredPath(request)), request);
  });

  http.route(['GET'], '/files/download', async (request, response) => {
    const isComplete = await files.withFile(requiredPath(request), async (file) => {
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
}

/**
 * Writes the file's first `stats.size` bytes (the length the headers promised)
 * without ending the response; true if all were sent.
 */
async function sendBytes(
  file: SandboxFile,
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
