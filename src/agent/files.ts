// `/files/*` (WIRE §7.4): sandbox files, by real path or by the virtual path
// `/frameworks/<fid>/executors/<eid>/runs/latest/...`. Nothing outside the
// agent's sandboxes can be reached, symlinks included.
import { createReadStream } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { HttpError, type HttpServer, type Request, sendJson } from '../runtime/index.js';
import { BadRequestError } from '../wire/index.js';

/** At most 16 pages per read (WIRE §7.4). */
export const MAX_READ_BYTES = 16 * 4096;

export interface SandboxRoots {
  /** `<work_dir>/slaves/<agent_id>`, or undefined before the agent has an id. */
  readonly agentDir: () => string | undefined;
  /** `<work_dir>/slaves`: the only tree /files may serve. */
  readonly slavesDir: string;
}

export function routeFiles(http: HttpServer, roots: SandboxRoots): void {
  http.route(['GET'], '/files/read', async (request, response) => {
    const path = await resolvePath(request, roots);
    const offset = integerParam(request, 'offset');
    const length = integerParam(request, 'length');
    const info = await stat(path);
    if (info.isDirectory()) throw new BadRequestError('path', 'is a directory');
    if (offset === undefined || offset === -1)
      return sendJson(response, 200, { offset: info.size, data: '' }, request);
    if (offset < 0) throw new BadRequestError('offset', 'must be -1 or a non-negative integer');
    if (length !== undefined && length < -1)
      throw new BadRequestError('length', 'must be -1 or a non-negative integer');
    const wanted =
      length === undefined || length === -1 ? MAX_READ_BYTES : Math.min(length, MAX_READ_BYTES);
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(Math.max(0, Math.min(wanted, info.size - offset)));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      const data = buffer
        .subarray(0, completeUtf8Length(buffer.subarray(0, bytesRead)))
        .toString('utf8');
      sendJson(response, 200, { offset, data }, request);
    } finally {
      await handle.close();
    }
  });

  http.route(['GET'], '/files/browse', async (request, response) => {
    const path = await resolvePath(request, roots);
    const info = await stat(path);
    if (!info.isDirectory()) throw new BadRequestError('path', 'is not a directory');
    const entries = await readdir(path);
    const listing = await Promise.all(
      entries.sort().map(async (name) => {
        const entry = await stat(join(path, name));
        return {
          path: join(request.query.get('path') ?? '', name),
          nlink: entry.nlink,
          size: entry.size,
          mtime: Math.floor(entry.mtimeMs / 1000),
          mode: modeString(entry.mode, entry.isDirectory()),
          uid: String(entry.uid),
          gid: String(entry.gid),
        };
      }),
    );
    sendJson(response, 200, listing, request);
  });

  http.route(['GET'], '/files/download', async (request, response) => {
    const path = await resolvePath(request, roots);
    const info = await stat(path);
    if (info.isDirectory()) throw new BadRequestError('path', 'is a directory');
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': info.size,
      'content-disposition': `attachment; filename=${basename(path)}`,
    });
    const stream = createReadStream(path);
    request.signal.addEventListener('abort', () => stream.destroy(), { once: true });
    await new Promise<void>((done, fail) => {
      stream.once('error', fail);
      response.once('close', () => done());
      stream.pipe(response);
    });
  });
}

function integerParam(request: Request, name: string): number | undefined {
  const raw = request.query.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new BadRequestError(name, `'${raw}' is not an integer`);
  return value;
}

/** Maps the `path` parameter to a real path inside the sandboxes, or throws 400/404. */
async function resolvePath(request: Request, roots: SandboxRoots): Promise<string> {
  const given = request.query.get('path');
  if (given === null || given === '') throw new BadRequestError('path', 'is required');
  const agentDir = roots.agentDir();
  const virtual = /^\/frameworks\//.test(given) && agentDir !== undefined;
  const candidate = virtual ? join(agentDir, given) : resolve(given);
  let real: string;
  let root: string;
  try {
    real = await realpath(candidate);
    root = await realpath(roots.slavesDir);
  } catch {
    throw new HttpError('NOT_FOUND', `no file at '${given}'`);
  }
  if (real !== root && !real.startsWith(`${root}${sep}`))
    throw new HttpError('NOT_FOUND', `no file at '${given}'`);
  return real;
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

function modeString(mode: number, isDirectory: boolean): string {
  const bits = 'rwxrwxrwx';
  let out = isDirectory ? 'd' : '-';
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}
