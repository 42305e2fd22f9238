// Small calls to one origin pipelined on a few kept-alive connections (HTTP/1.1 pipelining,
// RFC 9112 §9.3): the requests of a burst go out in one write per connection and their
// answers come back in order, so a burst of thousands of ACKNOWLEDGEs costs a framework a
// few writes and reads per batch instead of a write, a read, a parser and a set of socket
// listeners per call (lean-http.ts's request-at-a-time exchange). Measured in
// bench/RESULTS.md ("Jobs framework, per-process CPU per task").
//
// Two kinds of call, chosen per pipeline (`resend`):
// - 'once', for calls that may be sent twice: a request that was written but never answered
//   (the server closed the connection first, e.g. an idle keep-alive timeout racing a new
//   write) is sent again once on a new connection. ACKNOWLEDGE is such a call: a second one
//   for the same update is forwarded and ignored, or refused, and either is harmless.
// - 'never', for calls that must not be (ACCEPT: a second one would launch its tasks twice
//   if the first was taken): such a request fails with ConnectionError, its fate unknown to
//   the caller, who reconciles. So that an idle keep-alive timeout does not race a write, a
//   connection idle longer than IDLE_REUSE_MS is replaced before it is written to.
import type { Socket } from 'node:net';
import { withClientAuthorization } from './client-credential.js';
import { asConnectionError, ConnectionError } from './http-client.js';
import { openSocket } from './lean-http.js';

/** Connections per pipeline. */
const DEFAULT_CONNECTIONS = 2;
/** Requests written and not yet answered, per connection. */
const DEFAULT_DEPTH = 32;
/** Requests waiting for a connection; past it a call fails at once (QueueFullError). */
export const MAX_PIPELINE_QUEUED = 100_000;
/** A head longer than this is not an answer we can use. */
const MAX_HEAD_BYTES = 64 * 1024;
/** A body longer than this is not an answer to a call (an error's text is a few hundred bytes). */
const MAX_BODY_BYTES = 1024 * 1024;

export interface PipelinedAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * A 'never' pipeline writes only on a connection that was busy this recently: node:http's
 * default keep-alive timeout is 5 s (the master's is 65 s), so a server has not begun closing it.
 */
export const IDLE_REUSE_MS = 2000;

export interface CallPipelineOptions {
  readonly connections?: number;
  readonly depth?: number;
  /** What becomes of a request written on a connection that closed unanswered. Default 'once'. */
  readonly resend?: 'once' | 'never';
  /** Clock for the idle check of 'never' (tests). */
  readonly now?: () => number;
}

interface Pending {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
  readonly resolve: (answer: PipelinedAnswer) => void;
  readonly reject: (error: Error) => void;
  /** Sent again after its connection closed unanswered; a second such loss fails it. */
  isRetry: boolean;
}

export class PipelineQueueFullError extends Error {
  constructor() {
    super(`more than ${MAX_PIPELINE_QUEUED} pipelined calls queued`);
    this.name = 'PipelineQueueFullError';
  }
}

/** First in, first out; shift() of a long array copies it, so the head moves instead. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  unshiftAll(items: readonly T[]): void {
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  drain(): T[] {
    const items = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return items;
  }
}

export class CallPipeline {
  private readonly queue = new Fifo<Pending>();
  private readonly lanes: (Lane | undefined)[];
  private readonly depth: number;
  private readonly resend: 'once' | 'never';
  private readonly now: () => number;
  private isPumpWanted = false;
  private isClosed = false;
  private idleWaiters: (() => void)[] = [];

  readonly origin: string;

  constructor(
    private readonly url: URL,
    options: CallPipelineOptions = {},
  ) {
    this.lanes = new Array(options.connections ?? DEFAULT_CONNECTIONS).fill(undefined);
    this.depth = options.depth ?? DEFAULT_DEPTH;
    this.resend = options.resend ?? 'once';
    this.now = options.now ?? performance.now.bind(performance);
    this.origin = url.origin;
  }

  /**
   * POSTs `body` to `path`; resolves with the answer, whatever its status. Rejects with
   * ConnectionError when no answer came (after one retry with resend 'once', at once with
   * 'never'), PipelineQueueFullError when too many wait, and ConnectionError once the
   * pipeline is closed.
   */
  post(
    path: string,
    headers: Readonly<Record<string, string>>,
    body: string | Uint8Array,
  ): Promise<PipelinedAnswer> {
    if (this.isClosed) return Promise.reject(new ConnectionError(this.url.host, 'pipeline closed'));
    if (this.queue.length >= MAX_PIPELINE_QUEUED)
      return Promise.reject(new PipelineQueueFullError());
    return new Promise((resolve, reject) => {
      this.queue.push({ path, headers, body, resolve, reject, isRetry: false });
      this.schedulePump();
    });
  }

  /** Requests queued or unanswered. */
  get size(): number {
    let size = this.queue.length;
    for (const lane of this.lanes) size += lane?.inFlight ?? 0;
    return size;
  }

  /** Resolves once nothing is queued or unanswered. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Fails whatever is queued or unanswered and closes the connections. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const error = new ConnectionError(this.url.host, 'pipeline closed');
    for (const pending of this.queue.drain()) pending.reject(error);
    for (const lane of this.lanes) lane?.destroy(error);
    this.settled();
  }

  /** Calls made in one turn of the loop go out together, one write per connection. */
  private schedulePump(): void {
    if (this.isPumpWanted) return;
    this.isPumpWanted = true;
    process.nextTick(() => {
      this.isPumpWanted = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.isClosed) return;
    for (let i = 0; i < this.lanes.length && this.queue.length > 0; i++) {
      let lane = this.lanes[i];
      if (lane !== undefined && !lane.isDead && this.resend === 'never' && lane.inFlight === 0) {
        // Idle a while: the server may be closing it as we write; a fresh one is certain.
        if (this.now() - lane.lastBusyMs > IDLE_REUSE_MS) lane.retire();
      }
      if (lane === undefined || lane.isDead) {
        const fresh: Lane = new Lane(
          this.url,
          this.now,
          (unanswered, error) => this.laneClosed(i, fresh, unanswered, error),
          () => {
            this.schedulePump();
            this.settled();
          },
        );
        lane = fresh;
        this.lanes[i] = lane;
      }
      const room = this.depth - lane.inFlight;
      if (room <= 0) continue;
      const batch: Pending[] = [];
      for (let n = 0; n < room; n++) {
        const pending = this.queue.shift();
        if (pending === undefined) break;
        batch.push(pending);
      }
      lane.send(batch);
    }
  }

  /** A connection closed: its unanswered requests are sent again once ('once'), or fail. */
  private laneClosed(
    index: number,
    lane: Lane,
    unanswered: readonly Pending[],
    error: Error | undefined,
  ): void {
    if (this.lanes[index] === lane) this.lanes[index] = undefined;
    const again: Pending[] = [];
    for (const pending of unanswered) {
      if (pending.isRetry || this.isClosed || this.resend === 'never')
        pending.reject(error ?? new ConnectionError(this.url.host, 'connection closed'));
      else {
        pending.isRetry = true;
        again.push(pending);
      }
    }
    if (again.length > 0) {
      this.queue.unshiftAll(again);
      this.schedulePump();
    }
    this.settled();
  }

  private settled(): void {
    if (this.idleWaiters.length === 0 || this.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

type BodyState = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer';

/** One connection: requests written in order, answers parsed in order. */
class Lane {
  private readonly socket: Socket;
  private readonly unanswered = new Fifo<Pending>();
  isDead = false;
  /** When it last wrote or read (the pipeline's clock). */
  lastBusyMs: number;
  private pending: Buffer = Buffer.alloc(0);
  private state: BodyState = 'head';
  private status = 0;
  private isKeepAlive = true;
  private remaining = 0;
  private bodyParts: Buffer[] = [];
  private bodyBytes = 0;

  constructor(
    private readonly origin: URL,
    private readonly now: () => number,
    private readonly onClose: (unanswered: readonly Pending[], error?: Error) => void,
    private readonly onAnswer: () => void,
  ) {
    this.lastBusyMs = now();
    this.socket = openSocket(origin);
    this.socket.on('data', (data: Buffer) => this.feed(data));
    this.socket.on('end', () => this.destroy());
    this.socket.on('close', () => this.destroy());
    this.socket.on('error', (error: Error) => {
      const mapped = asConnectionError(this.origin, error);
      this.destroy(mapped instanceof Error ? mapped : error);
    });
    // Idle, it must not keep a CLI alive; send() refs it while answers are owed.
    this.socket.unref();
  }

  get inFlight(): number {
    return this.unanswered.length;
  }

  send(batch: readonly Pending[]): void {
    if (batch.length === 0) return;
    this.lastBusyMs = this.now();
    if (this.unanswered.length === 0) this.socket.ref();
    this.socket.cork();
    for (const pending of batch) {
      this.unanswered.push(pending);
      const headers = withClientAuthorization(pending.headers);
      let head = `POST ${pending.path} HTTP/1.1\r\nhost: ${this.origin.host}\r\n`;
      for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
      head += `content-length: ${Buffer.byteLength(pending.body)}\r\nconnection: keep-alive\r\n\r\n`;
      if (typeof pending.body === 'string') this.socket.write(head + pending.body);
      else {
        this.socket.write(head);
        this.socket.write(pending.body);
      }
    }
    // One write (writev) for the batch.
    process.nextTick(() => this.socket.uncork());
  }

  /** Closes an idle connection for good; nothing is owed on it. */
  retire(): void {
    this.destroy();
  }

  destroy(error?: Error): void {
    if (this.isDead) return;
    this.isDead = true;
    this.socket.destroy();
    this.onClose(this.unanswered.drain(), error);
  }

  private feed(data: Buffer): void {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    try {
      while (!this.isDead && this.step());
    } catch (error) {
      this.destroy(
        new ConnectionError(this.origin.host, (error as Error).message, { cause: error }),
      );
    }
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
        const hasBody = this.parseHead(this.pending.toString('latin1', 0, at));
        this.pending = this.pending.subarray(at + 4);
        if (!hasBody) this.answered();
        return true;
      }
      case 'length': {
        if (this.pending.length === 0) return false;
        this.take();
        if (this.remaining === 0) this.answered();
        return true;
      }
      case 'chunk-size': {
        const at = this.pending.indexOf('\r\n');
        if (at < 0) return false;
        const size = Number.parseInt(this.pending.toString('latin1', 0, at), 16);
        if (!Number.isFinite(size) || size < 0) throw new Error('bad chunk size');
        this.pending = this.pending.subarray(at + 2);
        this.remaining = size;
        this.state = size === 0 ? 'trailer' : 'chunk-data';
        return true;
      }
      case 'chunk-data': {
        if (this.pending.length === 0) return false;
        this.take();
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
        if (at === 0) this.answered();
        return true;
      }
    }
  }

  private take(): void {
    const part = this.pending.subarray(0, this.remaining);
    this.pending = this.pending.subarray(part.length);
    this.remaining -= part.length;
    this.bodyBytes += part.length;
    if (this.bodyBytes > MAX_BODY_BYTES) throw new Error('answer body too long');
    this.bodyParts.push(part);
  }

  /** Reads an answer's head; false when it has no body to wait for. */
  private parseHead(text: string): boolean {
    if (this.unanswered.length === 0) throw new Error('an answer to no request');
    const match = /^HTTP\/1\.([01]) (\d{3})/.exec(text);
    if (match?.[2] === undefined) throw new Error(`not an HTTP answer: '${text.slice(0, 40)}'`);
    this.status = Number(match[2]);
    let length: number | undefined;
    let isChunked = false;
    let connection = '';
    for (let at = text.indexOf('\r\n'); at >= 0; ) {
      const end = text.indexOf('\r\n', at + 2);
      const line = text.slice(at + 2, end < 0 ? text.length : end);
      at = end;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') isChunked = /chunked/i.test(value);
      else if (name === 'connection') connection = value.toLowerCase();
    }
    this.isKeepAlive = match[1] === '1' && connection !== 'close';
    this.bodyParts = [];
    this.bodyBytes = 0;
    if (isChunked) {
      this.state = 'chunk-size';
      return true;
    }
    if (length !== undefined && Number.isSafeInteger(length) && length >= 0) {
      this.state = 'length';
      this.remaining = length;
      return length > 0;
    }
    if (this.status === 204 || this.status === 304) return false;
    throw new Error('an answer framed by the end of its connection cannot be pipelined');
  }

  private answered(): void {
    this.lastBusyMs = this.now();
    const pending = this.unanswered.shift();
    const body = this.bodyParts.length === 0 ? '' : Buffer.concat(this.bodyParts).toString('utf8');
    this.bodyParts = [];
    this.state = 'head';
    if (this.unanswered.length === 0) this.socket.unref();
    pending?.resolve({ status: this.status, body });
    // The server closes after this answer: what was written behind it is sent again.
    if (!this.isKeepAlive) this.destroy();
    else this.onAnswer();
  }
}
