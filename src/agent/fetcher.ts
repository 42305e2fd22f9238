// The fetcher (docs/fetcher.md): before a task starts, each of its
// CommandInfo.uris is fetched into its sandbox, one after the other, as Mesos'
// fetcher does: local files (absolute paths, file://) are copied and http://
// (or https://) resources downloaded, with a size bound and a stall timeout;
// archives are extracted (tar and its compressed forms with `tar`, .zip with
// `unzip`, .gz with `gzip`), `executable` makes the result executable instead,
// and `output_file` names it. With `cache: true` a URI is downloaded once into
// the cache (fetcher-cache.ts) and copied or extracted from there.
//
// Everything streams, on the event loop's terms: no file is read whole and no
// synchronous copy runs, so a large download never stalls the agent. Nothing
// is written outside the sandbox: output names are relative without '..', and
// a file is never written through a symbolic link. Extraction is archives.ts.
import { createReadStream, type ReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../runtime/index.js';
import { type CommandURI, outputFileProblem } from '../wire/index.js';
import { archiveKind, extract, FetchError } from './archives.js';
import {
  contentLength,
  copyInto,
  DEFAULT_FETCHER_STALL_TIMEOUT_MS,
  isTransient,
  rangeStart,
  requestHead,
  resumableFrom,
  TransientFetchError,
} from './download.js';
import { CACHE_FILE_PREFIX, CacheBook, type CacheEntry } from './fetcher-cache.js';
import { readAsUser } from './read-as-user.js';

/** Mesos' --fetcher_cache_size default: 2 GB. */
export const DEFAULT_FETCHER_CACHE_SIZE_BYTES = 2 * 1024 ** 3;
/**
 * The most one URI may bring into a sandbox when its task asked for no disk:
 * a bound a runaway download meets long before it fills the work dir's disk.
 */
export const DEFAULT_MAX_FETCH_BYTES = 4 * 1024 ** 3;
/**
 * Tries per URI when a download fails in a way a second try may not (a reset, a stall, a
 * truncated body, a 5xx): an edge agent's slow, lossy link must not fail a task on the first
 * lost packet (#15). Each try starts the file again; Mesos' fetcher tries once.
 */
export const DEFAULT_FETCH_ATTEMPTS = 3;
/** Before the second try; doubled before each later one. */
const DEFAULT_RETRY_DELAY_MS = 1000;
/**
 * Resumptions within one try of a download cut off mid-body, when the server said it takes
 * byte ranges (Accept-Ranges: bytes) and named the version (a strong ETag, or Last-Modified):
 * the rest is asked for with `Range: bytes=N-` and `If-Range`, so a changed file comes whole
 * (200) and is written again from the start. Without those, the try starts the file again.
 */
const MAX_RESUMES = 8;
/** Redirects followed per download, as curl's default allows many; more means a loop. */
const MAX_REDIRECTS = 10;

export { type ArchiveKind, archiveKind, FetchError } from './archives.js';
export { DEFAULT_FETCHER_STALL_TIMEOUT_MS } from './download.js';

export interface FetcherOptions {
  /** --fetcher_cache_dir: where cache files live; cleared of them at start, as Mesos does. */
  readonly cacheDir: string;
  /** --fetcher_cache_size: 0 turns the cache off. */
  readonly cacheSizeBytes: number;
  readonly log: Logger;
  readonly stallTimeoutMs?: number;
  /** Tries per URI for transient failures (DEFAULT_FETCH_ATTEMPTS); the delay before the second. */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
}

export interface FetchOptions {
  readonly signal: AbortSignal;
  /** Bytes one URI may bring (the task's disk); DEFAULT_MAX_FETCH_BYTES when undefined. */
  readonly maxBytes?: number;
  /** The task's user when the agent switches to it: local files are read as that user. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

/** Fetches tasks' URIs into their sandboxes; see the header. */
export interface UriFetcher {
  /** Rejects with a FetchError naming the URI that failed; the task must not start. */
  fetch(uris: readonly CommandURI[], sandbox: string, options: FetchOptions): Promise<void>;
}

export type UriSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'http'; readonly url: URL };

/** Where a URI's bytes come from, or why Agora cannot fetch it. */
export function parseUriSource(value: string): UriSource {
  if (isAbsolute(value)) return { kind: 'file', path: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FetchError(
      'a relative path can only be fetched with --frameworks_home, which this agent does not have',
    );
  }
  switch (url.protocol) {
    case 'file:':
      if (url.host !== '' && url.host !== 'localhost')
        throw new FetchError(`a file:// URI must name a local file, not one on '${url.host}'`);
      return { kind: 'file', path: fileURLToPath(url) };
    case 'http:':
    case 'https:':
      return { kind: 'http', url };
    default:
      throw new FetchError(
        `unsupported scheme '${url.protocol.slice(0, -1)}' (file://, absolute paths, http:// and https:// are)`,
      );
  }
}

/** Why `outputFile` cannot name a file in the sandbox, or undefined when it can. */
export function outputFileError(outputFile: string): string | undefined {
  const problem = outputFileProblem(outputFile);
  if (problem === undefined) return undefined;
  return outputFile === '' ? `output_file ${problem}` : `output_file '${outputFile}' ${problem}`;
}

/** The name a URI's file gets in the sandbox: its output_file, else the last part of its path. */
export function outputName(uri: CommandURI, source: UriSource): string {
  if (uri.output_file !== undefined) {
    const error = outputFileError(uri.output_file);
    if (error !== undefined) throw new FetchError(error);
    return normalize(uri.output_file);
  }
  const path = source.kind === 'file' ? source.path : decodeURIComponent(source.url.pathname);
  const name = basename(path);
  if (name === '' || name === '.' || name === '..' || path.endsWith('/'))
    throw new FetchError('the URI names no file; give it an output_file');
  return name;
}

interface OpenedSource {
  /** Bytes it will bring, when known up front (a file's size, an HTTP Content-Length). */
  readonly size: number | undefined;
  readonly stream: ReadStream | IncomingMessage | Readable;
  /** Set for an HTTP body whose rest can be asked for by range (see MAX_RESUMES). */
  readonly resumable?: { readonly url: URL; readonly validator: string };
}

export class Fetcher implements UriFetcher {
  private readonly cache: CacheBook;
  private readonly stallTimeoutMs: number;

  constructor(private readonly options: FetcherOptions) {
    this.cache = new CacheBook(options.cacheSizeBytes);
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_FETCHER_STALL_TIMEOUT_MS;
  }

  /**
   * Prepares the cache directory and removes what an earlier agent cached (the
   * cache does not survive a restart, as in Mesos): only files named as the
   * cache names them, so a directory shared with anything else loses nothing else.
   */
  async start(): Promise<void> {
    if (!this.cache.isEnabled) return;
    await mkdir(this.options.cacheDir, { recursive: true });
    for (const name of await readdir(this.options.cacheDir)) {
      if (!name.startsWith(CACHE_FILE_PREFIX)) continue;
      const path = join(this.options.cacheDir, name);
      if ((await lstat(path)).isFile()) await unlink(path).catch(() => undefined);
    }
  }

  /** Cached bytes and entries, for metrics and tests. */
  get cacheUsage(): { readonly bytes: number; readonly entries: number } {
    return { bytes: this.cache.usedBytes, entries: this.cache.size };
  }

  async fetch(uris: readonly CommandURI[], sandbox: string, options: FetchOptions): Promise<void> {
    const root = await realpath(sandbox);
    const attempts = this.options.attempts ?? DEFAULT_FETCH_ATTEMPTS;
    for (const uri of uris) {
      for (let attempt = 1; ; attempt += 1) {
        options.signal.throwIfAborted();
        try {
          await this.fetchOne(uri, root, options);
          break;
        } catch (error) {
          if (options.signal.aborted) throw options.signal.reason;
          const reason = error instanceof Error ? error.message : String(error);
          if (attempt >= attempts || !isTransient(error))
            throw new FetchError(`Failed to fetch '${uri.value}': ${reason}`, { cause: error });
          const waitMs = (this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS) * 2 ** (attempt - 1);
          this.options.log.warn(
            { uri: uri.value, attempt, err: reason, retry_in_ms: waitMs },
            'URI fetch failed; trying again',
          );
          await delay(waitMs, undefined, { signal: options.signal }).catch(() => {
            throw options.signal.reason;
          });
        }
      }
    }
  }

  private async fetchOne(uri: CommandURI, root: string, options: FetchOptions): Promise<void> {
    const source = parseUriSource(uri.value);
    const name = outputName(uri, source);
    const destination = await sandboxPath(root, name);
    const isExecutable = uri.executable === true;
    const archive = !isExecutable && (uri.extract ?? true) ? archiveKind(name) : undefined;
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_FETCH_BYTES;
    const { log } = this.options;

    // A local file read as the task's user is read each time: the cache is shared by all users.
    const user = source.kind === 'file' ? options.user : undefined;
    if (uri.cache === true && this.cache.isEnabled && user === undefined) {
      const cached = await this.fromCache(uri.value, source, options.signal, maxBytes, destination);
      if (cached !== undefined) {
        try {
          const file = join(this.options.cacheDir, cached.file);
          // A cached archive is extracted straight from the cache: only what it holds
          // lands in the sandbox (docs/fetcher.md).
          if (archive !== undefined)
            await extract(archive, file, destination, options.signal, (from, to) =>
              copyInto(from, to, maxBytes, options.signal),
            );
          else await copyInto(createReadStream(file), destination, maxBytes, options.signal);
        } finally {
          this.cache.release(cached);
        }
        if (isExecutable) await chmod(destination, 0o755);
        log.info({ uri: uri.value, destination, cache: 'used' }, 'URI fetched');
        return;
      }
    } else {
      const opened =
        source.kind === 'file' && user !== undefined
          ? { size: undefined, stream: readAsUser(source.path, user, options.signal) }
          : await this.open(source, options.signal);
      await this.write(opened, destination, maxBytes, options.signal);
    }
    if (isExecutable) await chmod(destination, 0o755);
    else if (archive !== undefined)
      await extract(archive, destination, destination, options.signal, (from, to) =>
        copyInto(from, to, maxBytes, options.signal),
      );
    log.info({ uri: uri.value, destination, cache: 'bypassed' }, 'URI fetched');
  }

  /**
   * The URI's cache entry, ready and in use (release it), downloading it first
   * if no fetch has; undefined when the cache cannot take it (size unknown, too
   * big, no room, or the shared download failed), after which the URI has been
   * written to `destination` directly, or must be.
   */
  private async fromCache(
    key: string,
    source: UriSource,
    signal: AbortSignal,
    maxBytes: number,
    destination: string,
  ): Promise<CacheEntry | undefined> {
    const existing = this.cache.use(key);
    if (existing !== undefined) {
      try {
        await existing.ready;
        return existing;
      } catch {
        // The download this fetch waited for failed: fetched directly instead.
        this.cache.release(existing);
        await this.write(await this.open(source, signal), destination, maxBytes, signal);
        return undefined;
      }
    }
    const entry = this.cache.begin(key);
    let opened: OpenedSource;
    try {
      opened = await this.open(source, signal);
    } catch (error) {
      this.cache.drop(entry, error as Error);
      throw error;
    }
    const size = opened.size;
    const evicted =
      size === undefined || size > maxBytes ? undefined : this.cache.reserve(entry, size);
    if (size === undefined || evicted === undefined) {
      // Mesos needs the size before it caches; without it, or room, the cache is bypassed.
      this.cache.drop(entry, new FetchError('not cacheable'));
      this.options.log.info(
        { uri: key, size, cache_bytes: this.cache.capacityBytes },
        'URI bypasses the fetcher cache',
      );
      await this.write(opened, destination, maxBytes, signal);
      return undefined;
    }
    for (const file of evicted)
      await unlink(join(this.options.cacheDir, file)).catch(() => undefined);
    const file = join(this.options.cacheDir, entry.file);
    const temporary = `${file}.tmp`;
    try {
      await mkdir(this.options.cacheDir, { recursive: true });
      const written = await this.write(opened, temporary, size, signal);
      if (written !== size)
        throw new TransientFetchError(`received ${written} bytes where ${size} were announced`);
      await rename(temporary, file);
      this.cache.ready(entry, written);
      return entry;
    } catch (error) {
      this.cache.drop(entry, error as Error);
      this.cache.release(entry);
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }

  private async open(source: UriSource, signal: AbortSignal): Promise<OpenedSource> {
    if (source.kind === 'file') {
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(source.path);
      } catch (error) {
        throw new FetchError(`cannot read ${source.path}: ${(error as Error).message}`);
      }
      if (!info.isFile()) throw new FetchError(`${source.path} is not a regular file`);
      return { size: info.size, stream: createReadStream(source.path) };
    }
    const { response, url } = await this.get(source.url, signal);
    const size = contentLength(response);
    const resumable = resumableFrom(response, url, size);
    return { size, stream: response, ...(resumable !== undefined ? { resumable } : {}) };
  }

  /** A 2xx response to GET `url`, after redirects, and the URL that gave it. */
  private async get(
    url: URL,
    signal: AbortSignal,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<{ response: IncomingMessage; url: URL }> {
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await requestHead(current, signal, this.stallTimeoutMs, headers);
      const code = response.statusCode ?? 0;
      const location = response.headers.location;
      if (code >= 300 && code < 400 && location !== undefined) {
        response.destroy();
        current = new URL(location, current);
        if (current.protocol !== 'http:' && current.protocol !== 'https:')
          throw new FetchError(`redirected to an unsupported scheme: ${current.href}`);
        continue;
      }
      if (code < 200 || code >= 300) {
        response.destroy();
        const message = `HTTP ${code} ${response.statusMessage ?? ''}`.trim();
        throw code >= 500 || code === 408 || code === 429
          ? new TransientFetchError(message)
          : new FetchError(message);
      }
      return { response, url: current };
    }
    throw new FetchError(`more than ${MAX_REDIRECTS} redirects`);
  }

  /** Streams `opened` into `path` (never through a link); returns the bytes written. */
  private async write(
    opened: OpenedSource,
    path: string,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<number> {
    if (opened.size !== undefined && opened.size > maxBytes) {
      opened.stream.destroy();
      throw new FetchError(`${opened.size} bytes is more than the ${maxBytes} allowed`);
    }
    const { resumable } = opened;
    if (resumable === undefined || opened.size === undefined)
      return copyInto(opened.stream, path, maxBytes, signal, this.stallTimeoutMs);
    const size = opened.size;
    // Undefined: the rest is to be asked for (again) from `offset`.
    let stream: OpenedSource['stream'] | undefined = opened.stream;
    let offset = 0;
    for (let resumes = 0; ; resumes++) {
      let isRangeRefused = false;
      try {
        if (stream === undefined) {
          // A Range request that is itself cut off (no answer yet) is a cut like any other:
          // asked again, within MAX_RESUMES, not a reason to start the file over.
          const { response } = await this.get(resumable.url, signal, {
            range: `bytes=${offset}-`,
            'if-range': resumable.validator,
          });
          if (response.statusCode !== 206 || rangeStart(response, size) !== offset) {
            // 200: the file changed since (If-Range) or the range was not honoured: the rest
            // cannot be joined to what was written; the try fails and starts the file again.
            response.destroy();
            isRangeRefused = true;
            throw new TransientFetchError(
              `asked for bytes ${offset}- and got HTTP ${response.statusCode ?? 0} without them`,
            );
          }
          stream = response;
        }
        const written = await copyInto(
          stream,
          path,
          maxBytes - offset,
          signal,
          this.stallTimeoutMs,
          {
            isAppend: offset > 0,
          },
        );
        if (offset + written !== size)
          throw new TransientFetchError(
            `received ${offset + written} bytes where ${size} were announced`,
          );
        return size;
      } catch (error) {
        stream = undefined;
        if (isRangeRefused || signal.aborted || !isTransient(error) || resumes >= MAX_RESUMES)
          throw error;
        // What reached the file is what is kept: the rest is asked for from there.
        offset = (await stat(path)).size;
        if (offset <= 0 || offset >= size) throw error;
        this.options.log.warn(
          {
            uri: resumable.url.href,
            offset,
            size,
            err: error instanceof Error ? error.message : String(error),
          },
          'URI download cut off; asking for the rest',
        );
      }
    }
  }
}

/**
 * `name` under the sandbox `root`, its directories created; refused if any of
 * them resolves outside the sandbox (a link an earlier URI's archive made).
 */
async function sandboxPath(root: string, name: string): Promise<string> {
  const path = join(root, name);
  const parent = dirname(path);
  await mkdir(parent, { recursive: true });
  const resolved = await realpath(parent);
  const inside = relative(root, resolved);
  if (inside.startsWith('..') || isAbsolute(inside) || inside.split(sep).includes('..'))
    throw new FetchError(`'${name}' would be written outside the sandbox`);
  return join(resolved, basename(path));
}
