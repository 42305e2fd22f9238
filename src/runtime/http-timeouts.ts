// How long a client may take to send a request, so that slow clients cannot hold a
// daemon's sockets and memory (slowloris: headers or a body trickled a byte at a time).
// Node's own requestTimeout (300 s by default) cannot serve here: it covers the whole
// request including its body, so it would also cut ATTACH_CONTAINER_INPUT, whose body is
// an interactive session's input and may idle for hours. Responses are never timed: a
// SUBSCRIBE stream's request is complete at once, and its idle answer may last forever.
import type { IncomingMessage } from 'node:http';

export interface HttpTimeouts {
  /** The request line and headers must be in within this long of their first byte. */
  readonly headersMs: number;
  /** A body may take this long before it must keep up minBodyBytesPerSecond. */
  readonly bodyGraceMs: number;
  /** After the grace, the least average rate a body may arrive at. */
  readonly minBodyBytesPerSecond: number;
  /** However fast it comes, a body (but a streamed one) must be in within this long. */
  readonly bodyMaxMs: number;
}

/**
 * As Apache's mod_reqtimeout would have it (header=20, body=20,MinRate=…), with a rate
 * that a body of --max_request_body's default (8 MiB) still meets over a slow link.
 */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headersMs: 20_000,
  bodyGraceMs: 20_000,
  minBodyBytesPerSecond: 8 * 1024,
  bodyMaxMs: 300_000,
};

/** How often unfinished headers and bodies are checked against their deadlines. */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Why a body that has been arriving for `elapsedMs`, `receivedBytes` of it so far, is cut;
 * undefined while it keeps within `timeouts`. Pure.
 */
export function slowBodyReason(
  elapsedMs: number,
  receivedBytes: number,
  timeouts: HttpTimeouts,
): string | undefined {
  if (elapsedMs > timeouts.bodyMaxMs)
    return `the request body took longer than ${timeouts.bodyMaxMs} ms`;
  if (elapsedMs <= timeouts.bodyGraceMs) return undefined;
  const owedBytes = (timeouts.minBodyBytesPerSecond * (elapsedMs - timeouts.bodyGraceMs)) / 1000;
  return receivedBytes < owedBytes
    ? `the request body arrived slower than ${timeouts.minBodyBytesPerSecond} bytes/s after ${timeouts.bodyGraceMs} ms`
    : undefined;
}

interface Watch {
  startMs: number;
  startBytes: number;
  readonly onTooSlow: (reason: string, request: IncomingMessage) => void;
}

/**
 * Bodies still arriving, checked once a second (one timer for all, not one per request:
 * a busy master answers thousands of calls a second). Progress is read off the socket's
 * byte count, so nothing here reads the body or changes its flow.
 */
const DEADLINES = Symbol('body deadlines');
type Watched = IncomingMessage & { [DEADLINES]?: BodyDeadlines };

function unwatch(this: Watched): void {
  this[DEADLINES]?.exempt(this);
}

export class BodyDeadlines {
  private readonly watched = new Map<IncomingMessage, Watch>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeouts: HttpTimeouts,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Watches `request`'s body until it is in (or the request is gone); `onTooSlow` cuts it. */
  watch(
    request: IncomingMessage,
    onTooSlow: (reason: string, request: IncomingMessage) => void,
  ): void {
    if (request.complete || !hasBody(request)) return;
    this.watched.set(request, {
      startMs: this.nowMs(),
      startBytes: request.socket?.bytesRead ?? 0,
      onTooSlow,
    });
    (request as Watched)[DEADLINES] = this;
    // Module functions on the request rather than a closure per request: every call comes here.
    request.on('end', unwatch);
    request.on('close', unwatch);
    this.timer ??= setInterval(() => this.check(), TIMEOUT_CHECK_INTERVAL_MS).unref();
  }

  /** Takes `request` off the clock: its body is a stream that may idle (ATTACH_CONTAINER_INPUT). */
  exempt(request: IncomingMessage): void {
    this.watched.delete(request);
  }

  get size(): number {
    return this.watched.size;
  }

  check(): void {
    const now = this.nowMs();
    for (const [request, watch] of this.watched) {
      const socket = request.socket;
      if (request.complete || socket === null || socket.destroyed) {
        this.watched.delete(request);
        continue;
      }
      const bytes = socket.bytesRead;
      if (request.readableLength > 0) {
        // The body waits on us (a handler not reading yet), not on the client: its
        // clock starts again when we take it.
        watch.startMs = now;
        watch.startBytes = bytes;
        continue;
      }
      const reason = slowBodyReason(now - watch.startMs, bytes - watch.startBytes, this.timeouts);
      if (reason === undefined) continue;
      this.watched.delete(request);
      watch.onTooSlow(reason, request);
    }
    if (this.watched.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return request.headers['transfer-encoding'] !== undefined;
}

/**
 * node:http options for a server with no streamed request bodies (a standby master, a
 * framework's API): Node's own clocks, which also cut a body that takes longer than
 * `requestMs` in all.
 */
export function plainServerTimeouts(timeouts: HttpTimeouts = DEFAULT_HTTP_TIMEOUTS): {
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly connectionsCheckingInterval: number;
} {
  return {
    headersTimeout: timeouts.headersMs,
    requestTimeout: Math.max(timeouts.headersMs, timeouts.bodyGraceMs) * 2,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
}
