// A small HTTP/1.1 client on node:net for the scheduler API: JSON POSTs whose
// answers are framed by Content-Length or chunked, and the one long-lived
// chunked event stream. node:http's first request in a fresh process costs
// about 6 ms of CPU here (its ClientRequest, agent, parser and the internals
// they load), all of it on the path of `agora run`'s task start (#7 item 17,
// measured in bench/RESULTS.md); a raw socket costs a fraction. Everything
// else in the SDK (the agent's link, /files, the CLI's tables) keeps node:http.
import { connect, type Socket } from 'node:net';
import { withClientAuthorization } from './client-credential.js';
import { clientTls } from './client-tls.js';
import { asConnectionError, ConnectionError } from './http-client.js';
import { hasSentAhead, takeSentAhead } from './sent-ahead.js';

/**
 * Idle keep-alive sockets kept per origin; more are closed. Above what a framework has in
 * flight at once (its 8 acknowledgement workers, an ACCEPT, a DECLINE or two), so that a
 * burst of calls reuses sockets instead of connecting (with TLS, handshaking) anew.
 */
const MAX_IDLE_PER_ORIGIN = 16;
/** Body chunks buffered before the socket is paused until the reader catches up. */
const MAX_BUFFERED_CHUNKS = 64;
/** A head longer than this is not an HTTP answer we can use. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface LeanRequestOptions {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
  /** A long-lived answer: its own connection, never returned to the pool. */
  readonly isStream?: boolean;
}

export interface LeanResponse {
  readonly status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body chunk by chunk. Leaving a loop early does not close it; destroy() does. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer>;
  /** Reads the rest of the body as UTF-8. */
  text(): Promise<string>;
  /** Closes the connection; a read then throws `error`, or ends if there is none. Idempotent. */
  destroy(error?: Error): void;
  /**
   * Whether bytes came from the server since the last call (or since the head), whether or
   * not they were read; true too while the reader is so far behind that the socket is paused
   * (nothing can come then, through no fault of the server's).
   */
  hasHeardFrom(): boolean;
}

const idle = new Map<string, Socket[]>();

/**
 * Sends one request and resolves when the answer's head has arrived. A
 * keep-alive socket that turns out closed before any byte of the answer is
 * replaced once by a new connection. Rejects with ConnectionError when nothing
 * answers, and with the signal's reason when it aborts.
 */
export async function leanRequest(url: URL, options: LeanRequestOptions): Promise<LeanResponse> {
  options.signal?.throwIfAborted();
  if (options.isStream === true && typeof options.body === 'string' && hasSentAhead()) {
    const body = options.body;
    const ahead = takeSentAhead(url, requestHead(url, options, Buffer.byteLength(body)) + body);
    if (ahead !== undefined) {
      const response = new Response(ahead, url, options, false);
      ahead.resume();
      return response.head;
    }
  }
  const reused = options.isStream === true ? undefined : takeIdle(url.origin);
  if (reused !== undefined) {
    try {
      return await exchange(reused, url, options, true);
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error;
    }
  }
  return exchange(openSocket(url), url, options, false);
}

/** A new connection to `url`'s origin (TLS for https, resuming its last session), no delay. */
export function openSocket(url: URL): Socket {
  const host = hostOf(url);
  const socket =
    url.protocol === 'https:' ? connectTls(url, host) : connect({ host, port: portOf(url) });
  socket.setNoDelay(true);
  return socket;
}

/** The last TLS session each origin gave us, to resume rather than handshake in full. */
const tlsSessions = new Map<string, Buffer>();
/** Origins whose sessions are kept; a process talks to a handful (its master, a failover). */
const MAX_TLS_SESSIONS = 16;

/**
 * A TLS connection that resumes the origin's last session when it has one: a full handshake
 * (key exchange, certificate chain checked, signature) cost a framework ~1.5 ms of CPU and
 * the master as much again for each connection past the idle pool, on every burst of calls.
 */
function connectTls(url: URL, host: string): Socket {
  // node:tls is loaded only for an https master: plain `agora run` does not pay for it.
  const session = tlsSessions.get(url.origin);
  const socket = process.getBuiltinModule('node:tls').connect({
    host,
    port: portOf(url),
    ...clientTls(),
    ...(session !== undefined ? { session } : {}),
  });
  socket.on('session', (ticket: Buffer) => {
    if (!tlsSessions.has(url.origin) && tlsSessions.size >= MAX_TLS_SESSIONS) tlsSessions.clear();
    tlsSessions.set(url.origin, ticket);
  });
  return socket;
}

/**
 * Opens a connection to `url`'s origin ahead of a request and pools it once connected:
 * the next request there (a scheduler's first call, its ACCEPT) is written at once,
 * not after a connect and an event-loop turn spent setting up the socket (#7 item 17).
 * Plain HTTP only; a failure is ignored, and the request then connects as usual.
 * Resolves once the connection is pooled or has failed; callers need not wait.
 */
export function preconnect(url: URL): Promise<void> {
  if (url.protocol !== 'http:') return Promise.resolve();
  const sockets = idle.get(url.origin);
  if (sockets !== undefined && sockets.length > 0) return Promise.resolve();
  const socket = connect({ host: hostOf(url), port: portOf(url) });
  socket.setNoDelay(true);
  // It must not keep a CLI alive, connecting or pooled.
  socket.unref();
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.destroy();
      resolve();
    });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      release(url.origin, socket);
      unused.add(socket);
      // A server times out a connection that never sends a request (Agora's after
      // --http_headers_timeout, 20 s): one not taken by then is closed before that.
      setTimeout(() => {
        if (unused.has(socket)) forgetIdle(url.origin, socket);
      }, PRECONNECTED_IDLE_MS).unref();
      resolve();
    });
  });
}

/** The host to connect to: an IPv6 literal without its brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Preconnected sockets no request has taken yet. */
const unused = new WeakSet<Socket>();
/** How long a preconnected socket waits for its first request before it is closed. */
const PRECONNECTED_IDLE_MS = 5_000;

function takeIdle(origin: string): Socket | undefined {
  const sockets = idle.get(origin);
  const socket = sockets?.pop();
  if (sockets?.length === 0) idle.delete(origin);
  if (socket === undefined) return undefined;
  unused.delete(socket);
  socket.removeAllListeners('data');
  socket.removeAllListeners('end');
  socket.removeAllListeners('close');
  socket.removeAllListeners('error');
  socket.ref();
  return socket;
}

/** An idle socket goes back to the pool, unref'd: it must not keep a CLI alive. */
function release(origin: string, socket: Socket): void {
  const sockets = idle.get(origin) ?? [];
  if (sockets.length >= MAX_IDLE_PER_ORIGIN || socket.destroyed) {
    socket.destroy();
    return;
  }
  socket.removeAllListeners('data');
  socket.removeAllListeners('end');
  socket.removeAllListeners('close');
  socket.removeAllListeners('error');
  const forget = () => forgetIdle(origin, socket);
  socket.once('close', forget);
  socket.once('error', forget);
  // A server that closes an idle socket half-closes it first.
  socket.once('end', forget);
  // Or answers first (a 408 for a connection that sent nothing): it is not ours to reuse.
  socket.once('data', forget);
  socket.unref();
  sockets.push(socket);
  idle.set(origin, sockets);
}

/** Takes `socket` out of the idle pool, if there, and closes it. */
function forgetIdle(origin: string, socket: Socket): void {
  const list = idle.get(origin);
  const at = list?.indexOf(socket) ?? -1;
  if (list !== undefined && at >= 0) list.splice(at, 1);
  if (list?.length === 0) idle.delete(origin);
  socket.destroy();
}

/** A request's head as exchange() writes it, for a body of `length` bytes. */
function requestHead(url: URL, options: LeanRequestOptions, length: number): string {
  const lines = [
    `${options.method} ${url.pathname}${url.search} HTTP/1.1`,
    `host: ${url.host}`,
    ...Object.entries(withClientAuthorization(options.headers)).map(
      ([name, value]) => `${name}: ${value}`,
    ),
    `content-length: ${length}`,
    `connection: ${options.isStream === true ? 'close' : 'keep-alive'}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A pooled socket the server had closed: the request never reached it. */
class StaleSocketError extends Error {}

function exchange(
  socket: Socket,
  url: URL,
  options: LeanRequestOptions,
  isReused: boolean,
): Promise<LeanResponse> {
  const response = new Response(socket, url, options, isReused);
  const body = options.body ?? '';
  if (typeof body === 'string')
    socket.write(requestHead(url, options, Buffer.byteLength(body)) + body);
  else {
    socket.write(requestHead(url, options, body.byteLength));
    socket.write(body);
  }
  return response.head;
}

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'close';

class Response implements LeanResponse {
  status = 0;
  headers: Record<string, string> = {};
  readonly head: Promise<LeanResponse>;
  private resolveHead: (response: LeanResponse) => void = () => undefined;
  private rejectHead: (error: Error) => void = () => undefined;
  private state: State = 'head';
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes left of the body (Content-Length) or of the current chunk. */
  private remaining = 0;
  private readonly chunks: Buffer[] = [];
  private isEnded = false;
  private isDone = false;
  private isKeepAlive = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private gotBytes = false;
  /** Bytes arrived since hasHeardFrom() last asked. */
  private isHeard = false;
  /** The head was resolved: ending the body need not build an error for it (a stack per call). */
  private hasHead = false;
  private readonly onAbort: () => void;

  constructor(
    private readonly socket: Socket,
    private readonly url: URL,
    private readonly options: LeanRequestOptions,
    private readonly isReused: boolean,
  ) {
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.onAbort = () => this.destroy(abortError(options.signal));
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    socket.on('data', (data: Buffer) => this.feed(data));
    socket.on('end', () => this.closed());
    socket.on('close', () => this.closed());
    socket.on('error', (error: Error) => this.fail(this.socketError(error)));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        if (this.socket.isPaused() && this.chunks.length < MAX_BUFFERED_CHUNKS / 2)
          this.socket.resume();
        yield chunk;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.isEnded) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  async text(): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of this) parts.push(chunk);
    return Buffer.concat(parts).toString('utf8');
  }

  destroy(error?: Error): void {
    if (this.isDone) return;
    this.finish(false);
    if (error !== undefined) this.fail(error);
    else this.end();
  }

  private socketError(error: Error): Error {
    const mapped = asConnectionError(this.url, error);
    if (this.isReused && !this.gotBytes) return new StaleSocketError(String(error));
    return mapped instanceof Error ? mapped : error;
  }

  private closed(): void {
    if (this.isDone) return;
    if (this.state === 'close') {
      this.finish(false);
      this.end();
      return;
    }
    this.fail(
      this.isReused && !this.gotBytes
        ? new StaleSocketError('closed before answering')
        : new ConnectionError(this.url.host, 'connection closed'),
    );
  }

  private fail(error: Error): void {
    this.finish(false);
    if (this.failure !== undefined || this.isEnded) return;
    this.failure = error;
    this.rejectHead(error);
    this.wakeReader();
  }

  private end(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    if (!this.hasHead) this.rejectHead(new ConnectionError(this.url.host, 'connection closed'));
    this.wakeReader();
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The exchange is over: the socket goes back to the pool or is closed. */
  private finish(isComplete: boolean): void {
    if (this.isDone) return;
    this.isDone = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (isComplete && this.isKeepAlive && this.options.isStream !== true)
      release(this.url.origin, this.socket);
    else this.socket.destroy();
  }

  hasHeardFrom(): boolean {
    const isHeard = this.isHeard || this.socket.isPaused();
    this.isHeard = false;
    return isHeard;
  }

  private feed(data: Buffer): void {
    this.gotBytes = true;
    this.isHeard = true;
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    try {
      while (this.step());
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.chunks.length >= MAX_BUFFERED_CHUNKS) this.socket.pause();
  }

  /** Parses what it can from `pending`; false when it needs more bytes. */
  private step(): boolean {
    switch (this.state) {
      case 'head': {
        const at = this.pending.indexOf('\r\n\r\n');
        if (at < 0) {
          if (this.pending.length > MAX_HEAD_BYTES) throw new Error('answer head too long');
          return false;
        }
        this.parseHead(this.pending.subarray(0, at).toString('latin1'));
        this.pending = this.pending.subarray(at + 4);
        return true;
      }
      case 'length': {
        if (this.pending.length === 0) return false;
        const take = this.pending.subarray(0, this.remaining);
        this.pending = this.pending.subarray(take.length);
        this.remaining -= take.length;
        this.push(take);
        if (this.remaining === 0) this.complete();
        return this.remaining > 0 && this.pending.length > 0;
      }
      case 'chunk-size': {
        const at = this.pending.indexOf('\r\n');
        if (at < 0) return false;
        const size = Number.parseInt(this.pending.subarray(0, at).toString('latin1'), 16);
        if (!Number.isFinite(size) || size < 0) throw new Error('bad chunk size');
        this.pending = this.pending.subarray(at + 2);
        this.remaining = size;
        this.state = size === 0 ? 'trailer' : 'chunk-data';
        return true;
      }
      case 'chunk-data': {
        if (this.pending.length === 0) return false;
        const take = this.pending.subarray(0, this.remaining);
        this.pending = this.pending.subarray(take.length);
        this.remaining -= take.length;
        this.push(take);
        if (this.remaining === 0) this.state = 'chunk-end';
        return true;
      }
      case 'chunk-end': {
        if (this.pending.length < 2) return false;
        this.pending = this.pending.subarray(2);
        this.state = 'chunk-size';
        return true;
      }
      case 'trailer': {
        const at = this.pending.indexOf('\r\n');
        if (at < 0) return false;
        this.pending = this.pending.subarray(at + 2);
        if (at === 0) this.complete();
        return at !== 0;
      }
      case 'close':
        if (this.pending.length > 0) this.push(this.pending);
        this.pending = Buffer.alloc(0);
        return false;
    }
  }

  private parseHead(text: string): void {
    const [statusLine = '', ...lines] = text.split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (match?.[1] === undefined) throw new Error(`not an HTTP answer: '${statusLine}'`);
    this.status = Number(match[1]);
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0)
        this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const connection = (this.headers.connection ?? '').toLowerCase();
    this.isKeepAlive = statusLine.startsWith('HTTP/1.1') && connection !== 'close';
    const length = this.headers['content-length'];
    if (/chunked/i.test(this.headers['transfer-encoding'] ?? '')) this.state = 'chunk-size';
    else if (length !== undefined) {
      this.remaining = Number(length);
      this.state = 'length';
    } else if (this.status === 204 || this.status === 304) this.remaining = 0;
    else {
      this.state = 'close';
      this.isKeepAlive = false;
    }
    this.hasHead = true;
    this.resolveHead(this);
    if ((this.state === 'length' || this.status === 204 || this.status === 304) && !this.remaining)
      this.complete();
  }

  private push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.wakeReader();
  }

  private complete(): void {
    this.finish(true);
    this.end();
  }
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('This operation was aborted');
  error.name = 'AbortError';
  return error;
}
