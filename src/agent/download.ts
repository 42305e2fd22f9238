// HTTP downloads into files for the fetcher (fetcher.ts): a response head with a deadline,
// a body streamed into a file with a size bound and a stall timeout, and what a cut-off
// body needs to be resumed by range. Failures another try may not meet are told apart.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FetchError } from './archives.js';

/** Mesos' --fetcher_stall_timeout default: a download that sends nothing for a minute is dropped. */
export const DEFAULT_FETCHER_STALL_TIMEOUT_MS = 60_000;
/** Network failures a later try may not meet. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** Never follow a link when writing into a sandbox. */
const WRITE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/** A download failure another try may not meet: a stall, a truncated body, a 5xx, 408, 429. */
export class TransientFetchError extends FetchError {}

export function isTransient(error: unknown): boolean {
  if (error instanceof TransientFetchError) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

export function contentLength(response: IncomingMessage): number | undefined {
  const length = response.headers['content-length'];
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
}

/**
 * Whether the rest of `response`'s body can be asked for later: the server takes byte
 * ranges and named this version of it. A weak ETag (W/…) cannot be used with If-Range
 * (RFC 9110, 13.1.5); Last-Modified can.
 */
export function resumableFrom(
  response: IncomingMessage,
  url: URL,
  size: number | undefined,
): { url: URL; validator: string } | undefined {
  if (size === undefined || response.statusCode !== 200) return undefined;
  if (response.headers['accept-ranges']?.toLowerCase() !== 'bytes') return undefined;
  const etag = response.headers.etag;
  const validator =
    etag !== undefined && !etag.startsWith('W/') ? etag : response.headers['last-modified'];
  return validator === undefined ? undefined : { url, validator };
}

/** The first byte of a 206's `Content-Range: bytes N-M/size`, if it is of this `size`. */
export function rangeStart(response: IncomingMessage, size: number): number | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers['content-range'] ?? '');
  if (match === null || Number(match[3]) !== size || Number(match[2]) !== size - 1)
    return undefined;
  return Number(match[1]);
}

/** The response head of GET `url`; aborted if no answer comes within `stallTimeoutMs`. */
export async function requestHead(
  url: URL,
  signal: AbortSignal,
  stallTimeoutMs: number,
  headers: Readonly<Record<string, string>> = {},
): Promise<IncomingMessage> {
  // Only the head has this deadline: the body's stalls are copyInto's to time.
  const headTimeout = new AbortController();
  const timer = setTimeout(
    () => headTimeout.abort(new TransientFetchError(`no answer within ${stallTimeoutMs / 1000}s`)),
    stallTimeoutMs,
  );
  const options = {
    method: 'GET',
    signal: AbortSignal.any([signal, headTimeout.signal]),
    agent: false,
    headers: { ...headers, 'user-agent': 'agora-fetcher', connection: 'close' },
  };
  try {
    const request =
      url.protocol === 'https:'
        ? // Loaded on first use: most agents never fetch over https.
          (await import('node:https')).request(url, options)
        : httpRequest(url, options);
    return await new Promise<IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', (error) =>
        reject(
          signal.aborted
            ? signal.reason
            : headTimeout.signal.aborted
              ? headTimeout.signal.reason
              : error,
        ),
      );
      request.end();
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Streams `input` into a new file at `path` (O_NOFOLLOW: a link there is an
 * error, never followed), at most `maxBytes`, failing if nothing arrives for
 * `stallTimeoutMs`. Returns the bytes written.
 */
export async function copyInto(
  input: NodeJS.ReadableStream & { destroy(error?: Error): void },
  path: string,
  maxBytes: number,
  signal: AbortSignal,
  stallTimeoutMs = DEFAULT_FETCHER_STALL_TIMEOUT_MS,
  options: { readonly isAppend?: boolean } = {},
): Promise<number> {
  let bytes = 0;
  let stall: NodeJS.Timeout | undefined;
  const stalled = new AbortController();
  const rearm = () => {
    clearTimeout(stall);
    stall = setTimeout(
      () => stalled.abort(new TransientFetchError(`no data for ${stallTimeoutMs / 1000}s`)),
      stallTimeoutMs,
    );
  };
  const meter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      bytes += chunk.length;
      rearm();
      if (bytes > maxBytes) callback(new FetchError(`more than ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
  let output: Awaited<ReturnType<typeof open>>;
  try {
    // Appending (a resumed download) keeps what the file has; never through a link either.
    output = await open(
      path,
      options.isAppend === true
        ? constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW
        : WRITE_FLAGS,
      0o644,
    );
  } catch (error) {
    input.destroy();
    throw (error as NodeJS.ErrnoException).code === 'ELOOP'
      ? new FetchError(`'${path}' is a symbolic link; nothing is written through one`)
      : error;
  }
  rearm();
  const sink = output.createWriteStream();
  try {
    // The stream closes the handle when it finishes or fails.
    await pipeline(input, meter, sink, {
      signal: AbortSignal.any([signal, stalled.signal]),
    });
  } catch (error) {
    // A write still in flight lands before the handle closes: only then does the file's
    // size say what it holds (a resumed download asks for the rest from there).
    if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()));
    if (signal.aborted) throw signal.reason;
    if (stalled.signal.aborted) throw stalled.signal.reason;
    throw error;
  } finally {
    clearTimeout(stall);
  }
  return bytes;
}
