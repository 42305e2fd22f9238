// A small HTTP/1.1 client on node:http. DEPS.md names undici, but importing it
// costs ~70 ms here against ~5 ms for node:http, and `agora run` must start a
// task in under 75 ms from its own launch (#3); the SDK's needs (JSON calls and
// one long-lived RecordIO stream) are few.
//
// node:http is loaded at the first request, not with this module: `agora run`
// reaches its master through lean-http.ts and needs node:http only later, for
// /files and the master's JSON pages (#7 item 17).
import type { Agent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { withClientAuthorization } from './client-credential.js';
import { clientTls, defaultProtocol } from './client-tls.js';

let http: typeof import('node:http') | undefined;
let https: typeof import('node:https') | undefined;
/** Shared keep-alive pools for short calls, one per scheme; streams get their own sockets. */
let keepAlive: Agent | undefined;
let keepAliveTls: Agent | undefined;

function httpModule(): typeof import('node:http') {
  http ??= process.getBuiltinModule('node:http');
  return http;
}

function httpsModule(): typeof import('node:https') {
  https ??= process.getBuiltinModule('node:https');
  return https;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Text (sent as UTF-8) or bytes (a protobuf body). */
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
  /**
   * Gives up (ConnectionError 'timed out') if the TCP connection is not up within this long.
   * Without it a SYN dropped by a partition is retried by the kernel for about two minutes.
   */
  readonly connectTimeoutMs?: number;
  /**
   * Gives up the same way when this aborts while the TCP connection is not yet up (and only
   * then): a caller that learnt the link is back retries at once, rather than waiting for the
   * kernel to resend a SYN lost in a partition (1, 3, 7 s after the first).
   */
  readonly connectAbort?: AbortSignal;
}

/** Thrown when a server answers with something other than what was expected. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly url: string,
  ) {
    super(`${url} answered ${status}: ${body.trim() || '(no body)'}`);
    this.name = 'HttpStatusError';
  }
}

/** What a socket error code means to someone who typed the address. */
const UNREACHABLE_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
};

/**
 * Nothing answered at `address` (`host:port`): refused, reset, unknown host.
 * Operating trouble, not a bug: callers retry it or report it in one line
 * (the CLI maps it to "cannot reach the master at …" in one place).
 */
export class ConnectionError extends Error {
  readonly code = 'UNREACHABLE';
  constructor(
    readonly address: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach ${address} (${reason})`, options);
    this.name = 'ConnectionError';
  }
}

/** Socket-level failures become ConnectionError; aborts and everything else pass through. */
export function asConnectionError(url: URL, error: unknown): unknown {
  if (!(error instanceof Error) || error.name === 'AbortError') return error;
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    (code !== undefined ? UNREACHABLE_REASONS[code] : undefined) ??
    (error.message === 'socket hang up' ? 'connection closed' : undefined) ??
    (isTlsFailure(code) ? `TLS: ${error.message}` : undefined);
  return reason === undefined ? error : new ConnectionError(url.host, reason, { cause: error });
}

/** A certificate the client refused, or a handshake that failed (OpenSSL's and Node's codes). */
function isTlsFailure(code: string | undefined): boolean {
  return code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_/.test(code);
}

function send(url: URL, options: RequestOptions, isStream: boolean): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...withClientAuthorization(options.headers ?? {}) };
    if (options.body !== undefined)
      headers['content-length'] = String(Buffer.byteLength(options.body));
    const isTls = url.protocol === 'https:';
    let pool: Agent;
    if (isTls) {
      keepAliveTls ??= new (httpsModule().Agent)({ keepAlive: true, maxSockets: 64 });
      pool = keepAliveTls;
    } else {
      keepAlive ??= new (httpModule().Agent)({ keepAlive: true, maxSockets: 64 });
      pool = keepAlive;
    }
    const request = isTls ? httpsModule().request : httpModule().request;
    const req = request(url, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      agent: isStream ? false : pool,
      ...(isTls ? clientTls() : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    req.once('response', resolve);
    req.once('error', (error) => reject(asConnectionError(url, error)));
    const { connectTimeoutMs, connectAbort } = options;
    if (connectTimeoutMs !== undefined || connectAbort !== undefined)
      req.once('socket', (socket) => {
        if (!socket.connecting) return; // a pooled socket, already up
        const giveUp = (why: string) => {
          const error: NodeJS.ErrnoException = new Error(why);
          error.code = 'ETIMEDOUT';
          req.destroy(error);
        };
        const timer =
          connectTimeoutMs === undefined
            ? undefined
            : setTimeout(() => giveUp(`not connected in ${connectTimeoutMs} ms`), connectTimeoutMs);
        const onAbort = () => giveUp('not connected yet; given up by the caller');
        if (connectAbort?.aborted === true) {
          onAbort();
          return;
        }
        connectAbort?.addEventListener('abort', onAbort, { once: true });
        const done = () => {
          clearTimeout(timer);
          connectAbort?.removeEventListener('abort', onAbort);
        };
        socket.once('connect', done);
        socket.once('close', done);
      });
    req.end(options.body);
  });
}

/** The requests in flight on each caller's signal, and the one listener that aborts them all. */
const inFlight = new WeakMap<
  AbortSignal,
  { readonly requests: Set<AbortController>; readonly onAbort: () => void }
>();

/**
 * A signal of this request's own that follows `parent`. node:http adds an abort
 * listener to the signal it is given and keeps it while the request lives, so
 * many requests in flight on one long-lived signal (an agent's status updates)
 * piled up listeners on it (MaxListenersExceededWarning, #9). The parent now
 * has one listener however many requests follow it, removed with the last.
 */
function linkedSignal(parent: AbortSignal | undefined): {
  readonly signal: AbortSignal | undefined;
  readonly dispose: () => void;
} {
  if (parent === undefined) return { signal: undefined, dispose: () => {} };
  const own = new AbortController();
  if (parent.aborted) {
    own.abort(parent.reason);
    return { signal: own.signal, dispose: () => {} };
  }
  let entry = inFlight.get(parent);
  if (entry === undefined) {
    const requests = new Set<AbortController>();
    const onAbort = () => {
      for (const request of requests) request.abort(parent.reason);
      requests.clear();
      inFlight.delete(parent);
    };
    entry = { requests, onAbort };
    inFlight.set(parent, entry);
    parent.addEventListener('abort', onAbort, { once: true });
  }
  const { requests, onAbort } = entry;
  requests.add(own);
  return {
    signal: own.signal,
    dispose: () => {
      requests.delete(own);
      if (requests.size === 0 && inFlight.get(parent) === entry) {
        inFlight.delete(parent);
        parent.removeEventListener('abort', onAbort);
      }
    },
  };
}

/** One request, whole body read. Never throws on a status; the caller decides. */
export async function request(
  url: URL | string,
  options: RequestOptions = {},
): Promise<HttpResult> {
  const target = new URL(url);
  const { signal, dispose } = linkedSignal(options.signal);
  const chunks: Buffer[] = [];
  let response: IncomingMessage;
  try {
    response = await send(
      target,
      { ...options, ...(signal !== undefined ? { signal } : {}) },
      false,
    );
    for await (const chunk of response) chunks.push(chunk as Buffer);
  } catch (error) {
    throw asConnectionError(target, error);
  } finally {
    dispose();
  }
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    body: Buffer.concat(chunks),
  };
}

/** POSTs JSON; throws HttpStatusError unless 2xx. */
export function postJson(
  url: URL | string,
  body: unknown,
  options: Omit<RequestOptions, 'body' | 'method'> = {},
): Promise<HttpResult> {
  return postBody(url, JSON.stringify(body), 'application/json', options);
}

/**
 * POSTs a body already encoded as `mediaType` (JSON or protobuf), asking for answers in
 * the same type; throws HttpStatusError unless 2xx.
 */
export async function postBody(
  url: URL | string,
  body: string | Uint8Array,
  mediaType: string,
  options: Omit<RequestOptions, 'body' | 'method'> = {},
): Promise<HttpResult> {
  const result = await request(url, {
    ...options,
    method: 'POST',
    body,
    headers: { 'content-type': mediaType, accept: mediaType, ...options.headers },
  });
  if (result.status < 200 || result.status >= 300)
    throw new HttpStatusError(result.status, result.body.toString('utf8'), String(url));
  return result;
}

/** GETs JSON; throws HttpStatusError unless 200. */
export async function getJson<T>(
  url: URL | string,
  options: Omit<RequestOptions, 'body'> = {},
): Promise<T> {
  const result = await request(url, { ...options, method: 'GET' });
  if (result.status !== 200)
    throw new HttpStatusError(result.status, result.body.toString('utf8'), String(url));
  return JSON.parse(result.body.toString('utf8')) as T;
}

/**
 * Opens a long-lived response (a RecordIO stream). The response is returned as
 * soon as its headers arrive; the caller reads the body and must destroy it.
 */
export function openStream(url: URL | string, options: RequestOptions): Promise<IncomingMessage> {
  return send(new URL(url), options, true);
}

/**
 * `host:port`, `http(s)://host:port` or `http(s)://host:port/` as a base URL with no path.
 * A bare `host:port` is https when this process has TLS on (LIBPROCESS_SSL_ENABLED).
 */
export function baseUrl(address: string): URL {
  const withScheme = /^[a-z]+:\/\//i.test(address) ? address : `${defaultProtocol()}//${address}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`unsupported scheme in '${address}': only http and https are supported`);
  return new URL(`${url.protocol}//${url.host}`);
}
