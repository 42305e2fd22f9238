import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { AgoraError, limits } from '../wire/index.js';
import { HttpError, isInvariantFailure, sendError } from './http-errors.js';
import type { Logger } from './logger.js';

/** Who made a request, once authenticated. */
export interface Principal {
  readonly value: string;
}

/**
 * The authentication hook every route passes through. It returns the caller's
 * principal, `undefined` for an anonymous caller, or throws an AgoraError with
 * code UNAUTHENTICATED (401). Authentication itself is a later issue; the
 * default lets everyone in anonymously.
 */
export type Authenticator = (request: IncomingMessage) => Promise<Principal | undefined>;
export const allowAnonymous: Authenticator = async () => undefined;

export interface Request {
  readonly method: string;
  /** The path after delegation and with any trailing '/' removed. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly principal: Principal | undefined;
  readonly raw: IncomingMessage;
  /** Aborts when the client goes away or the server stops. */
  readonly signal: AbortSignal;
  /** The most a body may hold (`--max_request_body`); readBody refuses more with 413. */
  readonly maxBodyBytes: number;
}

export type Handler = (request: Request, response: ServerResponse) => Promise<void> | void;

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly authenticate?: Authenticator;
  /**
   * The process that gets paths whose first segment names no other: '/master'
   * makes `/state` and `/api/v1` mean `/master/state` and `/master/api/v1`,
   * as libprocess delegation does in Mesos (WIRE §1.1).
   */
  readonly delegate?: string;
  /** Called when a handler broke an invariant; the daemon exits, as Mesos' CHECK does. */
  readonly onInvariantFailure?: (error: Error) => void;
  /** `--max_request_body`: the largest body a handler reads (default 8 MiB). */
  readonly maxRequestBodyBytes?: number;
  /**
   * Asked before every request; false answers 503 without running any handler
   * (a master that can no longer be sure it leads must not answer as leader).
   */
  readonly isServing?: () => boolean;
}

/** How long a connection refused before its request was parsed may keep sending. */
const LINGER_MS = 5000;
/** Sockets already answered for a request Node could not parse. */
const lingering = new WeakSet<Duplex>();

/**
 * node:http with a small route table: exact paths, per-method handlers, one
 * error mapping, an authentication hook on every route, and a close() that also
 * ends long-lived streams.
 */
export class HttpServer {
  private readonly routes = new Map<string, Map<string, Handler>>();
  /** Routes for every path under a prefix (`/master/quota/` + a role), tried after exact ones. */
  private readonly prefixRoutes: {
    readonly prefix: string;
    readonly byMethod: Map<string, Handler>;
  }[] = [];
  private readonly server: Server;
  private readonly aborts = new Set<AbortController>();
  /** Responses whose status line has not been written yet: requests still waiting for an answer. */
  private readonly unanswered = new Set<ServerResponse>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: HttpServerOptions) {
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      void this.dispatch(req, res);
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
      this.answerClientError(error, socket),
    );
  }

  /**
   * A request Node could not parse (a request line or headers over its 16 KiB limit, bad
   * syntax). Node's own answer writes the status and destroys the socket at once, and the
   * rest of what the client is still sending then meets a reset, often before the client has
   * read the status. Here the socket is half-closed after the status and the rest is read
   * and dropped until the client closes (or LINGER_MS passes): a lingering close.
   */
  private answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    if (lingering.has(socket)) return; // a parser that failed once fails on every later chunk
    lingering.add(socket);
    this.options.logger.debug({ code: error.code }, 'unparsable request');
    if (!socket.writable || error.code === 'ECONNRESET' || error.code === 'EPIPE') {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.on('data', () => undefined);
    socket.once('end', () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /** Registers `handler` for `methods` on the exact `path` (after delegation). */
  route(methods: readonly string[], path: string, handler: Handler): this {
    let byMethod = this.routes.get(path);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.routes.set(path, byMethod);
    }
    for (const method of methods) byMethod.set(method, handler);
    return this;
  }

  /**
   * Registers `handler` for `methods` on every path that starts with `prefix` (which ends
   * in '/') and is longer than it, after delegation: `/master/quota/` serves
   * `/master/quota/eng` and `/quota/eng/dev`. Exact routes win.
   */
  routePrefix(methods: readonly string[], prefix: string, handler: Handler): this {
    if (!prefix.endsWith('/')) throw new Error(`a route prefix ends in '/': ${prefix}`);
    let entry = this.prefixRoutes.find((r) => r.prefix === prefix);
    if (entry === undefined) {
      entry = { prefix, byMethod: new Map() };
      this.prefixRoutes.push(entry);
    }
    for (const method of methods) entry.byMethod.set(method, handler);
    return this;
  }

  /**
   * Requests received and not answered yet (no status line written). A stream counts until
   * it starts, so long-lived streams do not inflate it.
   */
  get pendingRequests(): number {
    let pending = 0;
    for (const response of this.unanswered) if (!response.headersSent) pending += 1;
    return pending;
  }

  /** Listens on host:port (0 for an ephemeral port) and resolves with the bound address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    const address = this.server.address();
    if (address === null || typeof address === 'string')
      throw new Error('server has no TCP address');
    return address;
  }

  /** Stops accepting, aborts open streams and waits for every connection to close. Every call gets the same promise. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    for (const abort of this.aborts) abort.abort(new Error('server stopping'));
    this.server.closeIdleConnections();
    // Streams were ended by their owners on abort; anything still open now is cut.
    setImmediate(() => this.server.closeAllConnections());
    await closed;
  }

  private resolve(pathname: string): string {
    const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
    if (this.routes.has(path)) return path;
    // A prefix route outside the delegate's tree (the web UI's `/assets/`) is served as is.
    if (this.prefixRoutes.some((r) => path.startsWith(r.prefix) && path.length > r.prefix.length))
      return path;
    const delegate = this.options.delegate;
    if (delegate !== undefined && !path.startsWith(`${delegate}/`) && path !== delegate)
      return `${delegate}${path === '/' ? '' : path}`;
    return path;
  }

  /** The handlers by method for a resolved path: its exact route, else the first prefix route. */
  private routeFor(path: string): Map<string, Handler> | undefined {
    const exact = this.routes.get(path);
    if (exact !== undefined) return exact;
    for (const { prefix, byMethod } of this.prefixRoutes)
      if (path.length > prefix.length && path.startsWith(prefix)) return byMethod;
    return undefined;
  }

  private async dispatch(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    this.aborts.add(abort);
    this.unanswered.add(res);
    const onClose = () => abort.abort(new Error('client disconnected'));
    res.once('close', onClose);
    const started = performance.now();
    let path = raw.url ?? '/';
    try {
      if (this.options.isServing?.() === false)
        throw new HttpError('UNAVAILABLE', 'this master is stopping: it may no longer lead');
      const url = parseTarget(raw.url ?? '/');
      path = this.resolve(url.pathname);
      const byMethod = this.routeFor(path);
      if (byMethod === undefined)
        throw new HttpError('NOT_FOUND', `no endpoint at ${url.pathname}`);
      const method = raw.method ?? 'GET';
      const handler = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined);
      if (handler === undefined) {
        const allow = [...byMethod.keys()].join(', ');
        throw new HttpError(
          'METHOD_NOT_ALLOWED',
          `expecting one of { ${allow} }, but received '${method}'`,
          { allow },
        );
      }
      const principal = await (this.options.authenticate ?? allowAnonymous)(raw);
      await handler(
        {
          method,
          path,
          query: url.searchParams,
          headers: raw.headers,
          principal,
          raw,
          signal: abort.signal,
          maxBodyBytes: this.options.maxRequestBodyBytes ?? limits.DEFAULT_MAX_REQUEST_BODY_BYTES,
        },
        res,
      );
    } catch (error) {
      this.fail(raw, res, error, path);
    } finally {
      this.aborts.delete(abort);
      this.unanswered.delete(res);
      this.options.logger.debug(
        {
          method: raw.method,
          path,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request handled',
      );
    }
  }

  private fail(raw: IncomingMessage, res: ServerResponse, error: unknown, path: string): void {
    if (error instanceof AgoraError) {
      sendError(res, error, raw);
      return;
    }
    if (isInvariantFailure(error)) {
      this.options.logger.fatal({ err: error, path }, 'invariant broken');
      sendError(res, new HttpError('UNAVAILABLE', 'internal error'));
      this.options.onInvariantFailure?.(error);
      return;
    }
    this.options.logger.error({ err: error, path }, 'request failed');
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    } else res.destroy();
  }
}

/**
 * The request target as a URL. Node passes on targets the URL parser refuses (`//a:b`
 * reads as a host with a bad port): that is the client's mistake, a 400, not a 500.
 */
function parseTarget(target: string): URL {
  try {
    return new URL(target, 'http://localhost');
  } catch (error) {
    throw new HttpError('BAD_REQUEST', 'Malformed request target', {}, { cause: error });
  }
}
