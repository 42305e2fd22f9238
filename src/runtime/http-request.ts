// The Request handlers are given, made for every call: its lifetime (the signal, made only
// when asked for), its target, and where dispatch's listeners find them without a closure
// per call.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Principal, RouteAccess } from './http-auth.js';
import { HttpError } from './http-errors.js';
import type { BodyDeadlines } from './http-timeouts.js';

export interface Request {
  readonly method: string;
  /** The path after delegation and with any trailing '/' removed. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly principal: Principal | undefined;
  /** The realm of the route reached, when the server has a route-access table. */
  readonly access: RouteAccess | undefined;
  readonly raw: IncomingMessage;
  /** Aborts when the client goes away or the server stops. */
  readonly signal: AbortSignal;
  /** The most a body may hold (`--max_request_body`); readBody refuses more with 413. */
  readonly maxBodyBytes: number;
  /**
   * Takes the body off its deadline (http-timeouts.ts): for a body that is a stream and
   * may idle, such as ATTACH_CONTAINER_INPUT's.
   */
  readonly streamBody: () => void;
}

/** Where dispatch's module-level listeners find a call's state. */
const LIFETIME = Symbol('request lifetime');
const RESPONSE = Symbol('response');
type Tracked = ServerResponse & { [LIFETIME]?: RequestLifetime };
type Dispatched = IncomingMessage & { [RESPONSE]?: ServerResponse };

function endLifetime(this: Tracked): void {
  this[LIFETIME]?.end('client disconnected');
}

/**
 * Ties a call's lifetime to its response's close, and its response to its request (for
 * the slow-body cut, which is given the request).
 */
export function trackCall(
  raw: IncomingMessage,
  res: ServerResponse,
  lifetime: RequestLifetime,
): void {
  (res as Tracked)[LIFETIME] = lifetime;
  res.on('close', endLifetime);
  (raw as Dispatched)[RESPONSE] = res;
}

/** The response trackCall tied to `raw`. */
export function responseOf(raw: IncomingMessage): ServerResponse | undefined {
  return (raw as Dispatched)[RESPONSE];
}

/** A Request as handlers see it: a class, so its getters are not made per call. */
export class ServerRequest implements Request {
  constructor(
    readonly method: string,
    readonly path: string,
    private readonly target: Target,
    readonly principal: Principal | undefined,
    readonly access: RouteAccess | undefined,
    readonly raw: IncomingMessage,
    private readonly lifetime: RequestLifetime,
    readonly maxBodyBytes: number,
    private readonly deadlines: BodyDeadlines,
  ) {}

  get headers(): IncomingHttpHeaders {
    return this.raw.headers;
  }

  get query(): URLSearchParams {
    return this.target.searchParams;
  }

  get signal(): AbortSignal {
    return this.lifetime.signal;
  }

  streamBody(): void {
    this.deadlines.exempt(this.raw);
  }
}

/**
 * A request's `signal`, made only when a handler asks for it: most calls are answered
 * without one, and an AbortController plus an Error (its stack captured) for each of
 * thousands of calls a second was a tenth of a busy master's CPU.
 */
export class RequestLifetime {
  private controller: AbortController | undefined;
  private endedBy: string | undefined;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.endedBy !== undefined) this.controller.abort(new Error(this.endedBy));
    }
    return this.controller.signal;
  }

  /** Aborts the signal if one was made; one made later is born aborted. */
  end(reason: string): void {
    if (this.endedBy !== undefined) return;
    this.endedBy = reason;
    this.controller?.abort(new Error(reason));
  }
}

/**
 * The request target as a URL. Node passes on targets the URL parser refuses (`//a:b`
 * reads as a host with a bad port): that is the client's mistake, a 400, not a 500.
 */
export function parseTarget(target: string): Target {
  // A plain absolute path (every API call's) is its own pathname: no URL parsed per call.
  if (PLAIN_PATH.test(target)) return new PlainTarget(target);
  try {
    return new URL(target, 'http://localhost');
  } catch (error) {
    throw new HttpError('BAD_REQUEST', 'Malformed request target', {}, { cause: error });
  }
}

/** What dispatch reads of a request target. */
export interface Target {
  readonly pathname: string;
  readonly searchParams: URLSearchParams;
}

/**
 * Letters, digits, '_', '-' and '/' after a leading '/', never '//' at the start (a URL
 * parser reads that as a host): nothing the URL parser would resolve, decode or escape.
 */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9_\-/]*$/;

/** A plain path's target: no query, so its parameters are made (empty) only if read. */
class PlainTarget implements Target {
  private params: URLSearchParams | undefined;
  constructor(readonly pathname: string) {}
  get searchParams(): URLSearchParams {
    this.params ??= new URLSearchParams();
    return this.params;
  }
}
