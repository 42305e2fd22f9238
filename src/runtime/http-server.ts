import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { AgoraError, limits } from '../wire/index.js';
import { frontShape } from './front-request.js';
import type { Authenticator, RouteAccess } from './http-auth.js';
import { HttpError, logFailure, sendError } from './http-errors.js';
import {
  FRONT_DEADLINE_MS,
  FRONT_MAX_BODY_BYTES,
  FRONT_MAX_HEAD_BYTES,
  type FrontCall,
  HttpFront,
} from './http-front.js';
import {
  parseTarget,
  type Request,
  RequestLifetime,
  responseOf,
  ServerRequest,
  trackCall,
} from './http-request.js';
import {
  BodyDeadlines,
  DEFAULT_HTTP_TIMEOUTS,
  type HttpTimeouts,
  TIMEOUT_CHECK_INTERVAL_MS,
} from './http-timeouts.js';
import type { Logger } from './logger.js';
import { type ServerTls, tlsServerOptions } from './tls.js';

/**
 * Connections the kernel holds for us until accepted. Node's default, 511, overflows
 * when thousands of agents reconnect at once to a newly elected master: the kernel then
 * drops their SYNs, and each waits 1, 3, 7, 15… s to retry, minutes for the unlucky ones.
 * The kernel takes the smaller of this and net.core.somaxconn (4,096 by default since
 * Linux 5.4), so asking for the most a listen queue holds lets an operator's larger
 * somaxconn take effect for a master of 10,000 agents without a flag of ours.
 */
export const LISTEN_BACKLOG = 65_535;

/** A route as registered: `GET /master/state`, or `GET /master/agents/*` for a prefix. */
export interface RegisteredRoute {
  readonly method: string;
  readonly path: string;
  readonly isPrefix: boolean;
}

/** The key of a route in a route-access table: `GET /master/state`, `GET /files/*`. */
export function routeKey(method: string, path: string, isPrefix: boolean): string {
  return `${method} ${path}${isPrefix ? '*' : ''}`;
}

export type { Request } from './http-request.js';

export type Handler = (request: Request, response: ServerResponse) => Promise<void> | void;

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly authenticate?: Authenticator;
  /**
   * The realm of every route, keyed by routeKey(): given, a route it does not name cannot be
   * registered (route() throws), so no route reaches a client unclassified.
   */
  readonly routeAccess?: Readonly<Record<string, RouteAccess>>;
  /**
   * Checked after authentication on every route but public ones and the executor API: throws
   * FORBIDDEN (403) when `principal` may not use `path` (ACL get_endpoints).
   */
  readonly authorizeRoute?: (principal: string | undefined, path: string) => void;
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
  /** Given, the server speaks only HTTPS: a plain HTTP request is cut at the handshake. */
  readonly tls?: ServerTls;
  /**
   * Asked before every request, with its path; a reason answers 503 with it, without
   * running any handler (a master still recovering its registry, or one that can no
   * longer be sure it leads and must not answer as leader).
   */
  readonly unavailable?: (path: string) => string | undefined;
  /** How long a client may take over its headers and body (DEFAULT_HTTP_TIMEOUTS). */
  readonly timeouts?: HttpTimeouts;
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
  private readonly server: Server | TlsServer;
  private readonly lifetimes = new Set<RequestLifetime>();
  /** Responses whose status line has not been written yet: requests still waiting for an answer. */
  private readonly unanswered = new Set<ServerResponse>();
  private closing: Promise<void> | undefined;
  private readonly bodyDeadlines: BodyDeadlines;
  private httpFront: HttpFront | undefined;

  /** One function for every watched body (no closure per request): finds its response on it. */
  private readonly onSlowBody = (reason: string, raw: IncomingMessage) => {
    const res = responseOf(raw);
    if (res !== undefined) this.cutSlowBody(raw, res, reason);
  };

  constructor(private readonly options: HttpServerOptions) {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      void this.dispatch(req, res);
    };
    const timeouts = options.timeouts ?? DEFAULT_HTTP_TIMEOUTS;
    this.bodyDeadlines = new BodyDeadlines(timeouts);
    // Node times the headers; bodies are timed by bodyDeadlines, which can spare a streamed
    // one (Node's requestTimeout cannot), so Node's is off.
    const serverOptions = {
      keepAliveTimeout: 65_000,
      headersTimeout: timeouts.headersMs,
      requestTimeout: 0,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    };
    this.server =
      options.tls === undefined
        ? createServer(serverOptions, onRequest)
        : createTlsServer({ ...serverOptions, ...tlsServerOptions(options.tls) }, onRequest);
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
    if (isTlsFailure(error)) {
      // No TLS session to answer in: plain HTTP, a client certificate missing or not
      // signed by our CA. Cut, as libprocess does without downgrade.
      this.options.logger.debug(
        { code: error.code, reason: error.message },
        'TLS handshake refused',
      );
      socket.destroy();
      return;
    }
    this.options.logger.debug({ code: error.code }, 'unparsable request');
    if (!socket.writable || error.code === 'ECONNRESET' || error.code === 'EPIPE') {
      socket.destroy();
      return;
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // Headers too slow (a slowloris): answered and cut, with no time to linger.
      socket.end(
        'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
        () => socket.destroy(),
      );
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
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
    for (const method of methods) this.classify(method, path, false);
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
    for (const method of methods) this.classify(method, prefix, true);
    let entry = this.prefixRoutes.find((r) => r.prefix === prefix);
    if (entry === undefined) {
      entry = { prefix, byMethod: new Map() };
      this.prefixRoutes.push(entry);
    }
    for (const method of methods) entry.byMethod.set(method, handler);
    return this;
  }

  /**
   * Has a connection front (http-front.ts) take `method path` requests of exactly the shape
   * Agora's agent sends (front-request.ts) whose body starts with `bodyPrefix`, for `take`
   * to answer with the front's own writer or hand back to node:http (and so to the route
   * registered for them). Not on a server that authenticates, authorizes routes or speaks
   * TLS: those checks live on node:http's path only, so the front steps aside. Returns
   * whether it is on. One front per server.
   */
  front(
    method: string,
    path: string,
    bodyPrefix: string,
    take: (call: FrontCall) => unknown,
  ): boolean {
    const { options } = this;
    if (
      options.tls !== undefined ||
      options.authenticate !== undefined ||
      options.authorizeRoute !== undefined
    )
      return false;
    if (this.httpFront !== undefined) throw new Error('a server has one front');
    if (this.routeFor(path)?.byMethod.has(method) !== true)
      throw new Error(`a front for ${method} ${path} needs its route registered first`);
    this.httpFront = new HttpFront(this.server as Server, {
      shape: frontShape(method, path, bodyPrefix, {
        maxHeadBytes: FRONT_MAX_HEAD_BYTES,
        maxBodyBytes: FRONT_MAX_BODY_BYTES,
      }),
      deadlineMs: FRONT_DEADLINE_MS,
      take: (call) => {
        // What dispatch() checks before any handler: the master not leading, or recovering.
        if (options.unavailable?.(path) !== undefined) {
          call.handOff();
          return;
        }
        let taken: unknown;
        try {
          taken = take(call);
        } catch (error) {
          this.failTaken(call, error, path);
          return;
        }
        if (taken instanceof Promise) taken.catch((error) => this.failTaken(call, error, path));
      },
    });
    return true;
  }

  /**
   * A front's taker that threw: a bug, as for a handler (dispatch's fail), but node:http's
   * 500 cannot be written on a connection node:http never saw, so the connection is cut.
   */
  private failTaken(call: FrontCall, error: unknown, path: string): void {
    if (logFailure(this.options.logger, error, path)) this.options.onInvariantFailure?.(error);
    call.destroy();
  }

  /** The realm of a route; throws for one the route-access table leaves out. */
  private classify(method: string, path: string, isPrefix: boolean): RouteAccess | undefined {
    const table = this.options.routeAccess;
    if (table === undefined) return undefined;
    const key = routeKey(method, path, isPrefix);
    const access = table[key];
    if (access === undefined)
      throw new Error(`route ${key} has no entry in the route-access table: classify it there`);
    return access;
  }

  /** Every route registered, one entry per method. */
  registeredRoutes(): RegisteredRoute[] {
    const routes: RegisteredRoute[] = [];
    for (const [path, byMethod] of this.routes)
      for (const method of byMethod.keys()) routes.push({ method, path, isPrefix: false });
    for (const { prefix, byMethod } of this.prefixRoutes)
      for (const method of byMethod.keys()) routes.push({ method, path: prefix, isPrefix: true });
    return routes;
  }

  /**
   * Requests received and not answered yet (no status line written). A stream counts until
   * it starts, so long-lived streams do not inflate it.
   */
  get pendingRequests(): number {
    let pending = this.httpFront?.waiting ?? 0;
    for (const response of this.unanswered) if (!response.headersSent) pending += 1;
    return pending;
  }

  /** Requests the connection front answered itself (0 without one): for tests and benches. */
  get frontAnswered(): number {
    return this.httpFront?.answered ?? 0;
  }

  /** Listens on host:port (0 for an ephemeral port) and resolves with the bound address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    this.server.listen({ port, host, backlog: LISTEN_BACKLOG });
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
    this.bodyDeadlines.stop();
    this.httpFront?.stop();
    for (const lifetime of this.lifetimes) lifetime.end('server stopping');
    this.server.closeIdleConnections();
    // Streams were ended by their owners on abort; anything still open now is cut.
    setImmediate(() => {
      this.server.closeAllConnections();
      this.httpFront?.cutAll();
    });
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
  private routeFor(
    path: string,
  ):
    | { readonly byMethod: Map<string, Handler>; readonly key: string; readonly isPrefix: boolean }
    | undefined {
    const exact = this.routes.get(path);
    if (exact !== undefined) return { byMethod: exact, key: path, isPrefix: false };
    for (const { prefix, byMethod } of this.prefixRoutes)
      if (path.length > prefix.length && path.startsWith(prefix))
        return { byMethod, key: prefix, isPrefix: true };
    return undefined;
  }

  private async dispatch(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const lifetime = new RequestLifetime();
    this.lifetimes.add(lifetime);
    this.unanswered.add(res);
    // Module functions that find their state on the request and response: these run for
    // every call, and closures made per call are garbage at thousands of calls a second.
    trackCall(raw, res, lifetime);
    this.bodyDeadlines.watch(raw, this.onSlowBody);
    const started = performance.now();
    let path = raw.url ?? '/';
    try {
      const url = parseTarget(raw.url ?? '/');
      path = this.resolve(url.pathname);
      const unavailable = this.options.unavailable?.(path);
      if (unavailable !== undefined) throw new HttpError('UNAVAILABLE', unavailable);
      const found = this.routeFor(path);
      if (found === undefined) throw new HttpError('NOT_FOUND', `no endpoint at ${url.pathname}`);
      const { byMethod } = found;
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
      const access = this.classify(
        byMethod.has(method) ? method : 'GET',
        found.key,
        found.isPrefix,
      );
      // Without an authenticator (allowAnonymous), no promise to wait for: a turn per call.
      const authenticate = this.options.authenticate;
      const principal = authenticate === undefined ? undefined : await authenticate(raw, access);
      if (access !== 'public' && access !== 'executor')
        this.options.authorizeRoute?.(principal?.value, path);
      await handler(
        new ServerRequest(
          method,
          path,
          url,
          principal,
          access,
          raw,
          lifetime,
          this.options.maxRequestBodyBytes ?? limits.DEFAULT_MAX_REQUEST_BODY_BYTES,
          this.bodyDeadlines,
        ),
        res,
      );
    } catch (error) {
      this.fail(raw, res, error, path);
    } finally {
      this.lifetimes.delete(lifetime);
      this.unanswered.delete(res);
      const { logger } = this.options;
      // The line's object only when it is written: this runs for every call.
      if (logger.isLevelEnabled('debug'))
        logger.debug(
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

  /**
   * A body that did not keep to its deadline: answered 408 when nothing was answered yet,
   * and its connection closed (a handler still reading it sees the client gone).
   */
  private cutSlowBody(raw: IncomingMessage, res: ServerResponse, reason: string): void {
    this.options.logger.info(
      { method: raw.method, path: raw.url, remote: raw.socket?.remoteAddress, reason },
      'request body too slow: connection closed',
    );
    const socket = raw.socket;
    if (res.headersSent || res.writableEnded) {
      socket?.destroy();
      return;
    }
    const body = `${reason}\n`;
    res.writeHead(408, {
      connection: 'close',
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body, () => socket?.destroy());
  }

  private fail(raw: IncomingMessage, res: ServerResponse, error: unknown, path: string): void {
    if (error instanceof AgoraError) {
      sendError(res, error, raw);
      return;
    }
    if (logFailure(this.options.logger, error, path)) {
      sendError(res, new HttpError('UNAVAILABLE', 'internal error'));
      this.options.onInvariantFailure?.(error);
      return;
    }
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    } else res.destroy();
  }
}

/** A handshake failure from node:tls or OpenSSL, reported through https' clientError. */
function isTlsFailure(error: NodeJS.ErrnoException): boolean {
  return (
    'library' in error ||
    (typeof error.code === 'string' && /^ERR_SSL_|^ERR_TLS_|CERT/.test(error.code))
  );
}
