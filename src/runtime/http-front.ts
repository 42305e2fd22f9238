// A connection front on a node:http server: it reads each new connection's first bytes
// itself, and a request of exactly one shape (front-request.ts: an agent's SUBSCRIBE) it
// hands to its taker and answers with its own writer (FrontResponse) of the bytes node:http
// would have sent. Everything else, and any such request the taker declines before writing
// a byte, goes to node:http with every byte read handed back (node:http's own 'connection'
// listener, then the bytes as its 'data' event), so node:http and its handlers answer it as
// if the front were not there. Why: node:http's accept, parse and above all its
// ServerResponse cost a newly elected master ~25-35 µs per re-registering agent over a raw
// socket's floor, 10,000 agents at once (bench/RESULTS.md, "Failover, twelfth pass (the
// leader's HTTP front)"; #10).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { type FrontHead, type FrontShape, judgeBody, readHead } from './front-request.js';
import type { StreamResponse } from './stream-response.js';

/** A request the front read whole; its taker answers it or hands it to node:http. */
export interface FrontCall {
  readonly body: Buffer;
  /** The peer's address, as node:http's request.socket.remoteAddress gives it. */
  readonly remoteAddress: string | undefined;
  /** Aborts when the connection closes; made only when read. */
  readonly signal: AbortSignal;
  /**
   * Whether the call is still the taker's to answer or hand off: not once the front gave it
   * to node:http itself (the client sent more, or half-closed, while it waited).
   */
  readonly isWaiting: boolean;
  /** To node:http, as if never read: only before respond(). */
  handOff(): void;
  /** The answer's writer; the call is the front's from here on. */
  respond(): StreamResponse;
  /** Cuts the connection (a taker that failed). */
  destroy(): void;
}

export interface HttpFrontOptions {
  readonly shape: FrontShape;
  /** Told every request of the shape; answers it (respond()) or hands it off, maybe later. */
  readonly take: (call: FrontCall) => void;
  /** A connection still short of a whole request this long after it came is node:http's. */
  readonly deadlineMs: number;
}

/**
 * A front's request: a head of the few header lines an agent sends, and a body of a
 * SUBSCRIBE of some hundreds of tasks (a larger one is node:http's, under its route's limit).
 */
export const FRONT_MAX_HEAD_BYTES = 4 * 1024;
export const FRONT_MAX_BODY_BYTES = 1024 * 1024;
/** A connection short of a whole request after this long is node:http's (a slow sender). */
export const FRONT_DEADLINE_MS = 3000;

/** How often connections still being read are checked against the deadline. */
const SWEEP_MS = 500;

interface Reading {
  chunks: Buffer[];
  length: number;
  head: FrontHead | undefined;
  readonly startedMs: number;
}

const EMPTY = Buffer.alloc(0);

/** Errors end the connection ('close' follows); without a listener they would throw. */
function ignoreError(): void {}

export class HttpFront {
  /** Connections whose request is still coming in. */
  private readonly reading = new Map<Socket, Reading>();
  /** Connections whose request a taker holds, with its call (answering it, or about to hand it off). */
  private readonly held = new Map<Socket, TakenCall>();
  /** Requests answered by the front's writer since it started. */
  answered = 0;
  private readonly nodeListeners: ((socket: Socket) => void)[];
  private readonly sweep: NodeJS.Timeout;
  private isStopped = false;
  // Listeners shared by every connection (no closure per connection): `this` is the socket.
  private readonly onData: (this: Socket, chunk: Buffer) => void;
  private readonly onEnd: (this: Socket) => void;
  private readonly onClose: (this: Socket) => void;
  private readonly onMoreData: (this: Socket, chunk: Buffer) => void;
  private readonly onLateEnd: (this: Socket) => void;

  constructor(
    private readonly server: Server,
    private readonly options: HttpFrontOptions,
  ) {
    const front = this;
    this.onData = function (this: Socket, chunk: Buffer) {
      front.read(this, chunk);
    };
    this.onEnd = function (this: Socket) {
      // The client's FIN before a whole request: node:http judges what came (a 400, or a quiet close).
      const reading = front.reading.get(this);
      if (reading !== undefined) front.handOff(this, bytesOf(reading));
    };
    this.onClose = function (this: Socket) {
      front.reading.delete(this);
      front.held.delete(this);
    };
    this.onMoreData = function (this: Socket, chunk: Buffer) {
      front.more(this, chunk);
    };
    this.onLateEnd = function (this: Socket) {
      front.more(this, undefined);
    };
    this.nodeListeners = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => this.accept(socket));
    this.sweep = setInterval(() => this.handOffLate(), SWEEP_MS);
    this.sweep.unref();
  }

  /** Connections the front holds (reading or answering): for tests and close(). */
  get connections(): number {
    return this.reading.size + this.held.size;
  }

  /** Requests read whole and not yet answered (waiting for their turn): node:http's pendingRequests. */
  get waiting(): number {
    let waiting = 0;
    for (const call of this.held.values()) if (call.isWaiting) waiting += 1;
    return waiting;
  }

  /**
   * Stops reading: connections still being read are cut (the server is closing, as
   * node:http cuts its idle ones); answered ones stay until cutAll(), so that their
   * streams can end first.
   */
  stop(): void {
    if (this.isStopped) return;
    this.isStopped = true;
    clearInterval(this.sweep);
    for (const socket of this.reading.keys()) socket.destroy();
    this.reading.clear();
  }

  /** Cuts every connection still held. */
  cutAll(): void {
    this.stop();
    for (const socket of this.held.keys()) socket.destroy();
    this.held.clear();
  }

  private accept(socket: Socket): void {
    if (this.isStopped) {
      socket.destroy();
      return;
    }
    this.reading.set(socket, {
      chunks: [],
      length: 0,
      head: undefined,
      startedMs: performance.now(),
    });
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', ignoreError);
    socket.on('close', this.onClose);
  }

  private read(socket: Socket, chunk: Buffer): void {
    const reading = this.reading.get(socket);
    if (reading === undefined) return;
    reading.chunks.push(chunk);
    reading.length += chunk.length;
    const bytes = bytesOf(reading);
    const { shape } = this.options;
    if (reading.head === undefined) {
      const verdict = readHead(bytes, shape);
      if (verdict.kind === 'incomplete') return;
      if (verdict.kind === 'foreign') {
        this.handOff(socket, bytes);
        return;
      }
      reading.head = verdict;
    }
    const verdict = judgeBody(bytes, reading.head, shape);
    if (verdict === 'foreign') this.handOff(socket, bytes);
    else if (verdict === 'whole') this.take(socket, bytes, reading.head.bodyStart);
  }

  private take(socket: Socket, bytes: Buffer, bodyStart: number): void {
    this.reading.delete(socket);
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    socket.on('data', this.onMoreData);
    socket.on('end', this.onLateEnd);
    const call = new TakenCall(this, socket, bytes, bodyStart);
    this.held.set(socket, call);
    this.options.take(call);
  }

  /**
   * Bytes past a taken request, or the client's FIN. Still unanswered, the request and what
   * followed are node:http's, which judges them together (data after a `Connection: close`
   * request is a 400; a FIN aborts the request). Answered, the stream is cut: node:http would
   * write its 400 into the middle of the stream, which no client can read either.
   */
  private more(socket: Socket, chunk: Buffer | undefined): void {
    const call = this.held.get(socket);
    if (call === undefined) return;
    if (!call.isWaiting) {
      socket.destroy();
      return;
    }
    call.withdraw();
    if (chunk !== undefined) call.bytes = Buffer.concat([call.bytes, chunk]);
    this.handBack(socket, call.bytes);
  }

  /** A taken call declined by its taker, or withdrawn (more()): node:http's now. */
  handBack(socket: Socket, bytes: Buffer): void {
    if (!this.held.delete(socket)) return; // cut meanwhile (closed, or the server stopped)
    socket.removeListener('data', this.onMoreData);
    socket.removeListener('end', this.onLateEnd);
    this.toNode(socket, bytes);
  }

  private handOff(socket: Socket, bytes: Buffer): void {
    this.reading.delete(socket);
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    this.toNode(socket, bytes);
  }

  /**
   * node:http's 'connection' listener, then the bytes read given to it as the 'data' event
   * it listens to (and the FIN, if it came): node:http parses them at once, before anything
   * the kernel delivers later (that reaches its parser in a later I/O phase). An event
   * emitted here reaches node:http's listener only: one being emitted when it was added (the
   * front's own 'data', which may be what called this) does not call it, as EventEmitter
   * calls the listeners an event had when it was emitted. Unshifting the bytes, pausing and
   * resuming the socket (the stream API's own way) cost ~7 µs more per connection handed
   * over, every connection to the master but the agents' SUBSCRIBEs.
   */
  private toNode(socket: Socket, bytes: Buffer): void {
    socket.removeListener('error', ignoreError);
    socket.removeListener('close', this.onClose);
    if (socket.destroyed) return;
    if (this.isStopped) {
      socket.destroy();
      return;
    }
    this.callNode(socket);
    if (bytes.length > 0) socket.emit('data', bytes);
    if (socket.readableEnded && !socket.destroyed) socket.emit('end');
  }

  private callNode(socket: Socket): void {
    for (const listener of this.nodeListeners) listener.call(this.server, socket);
  }

  /** Connections too slow to send a whole request: node:http's (its own header clock then runs). */
  private handOffLate(): void {
    const deadline = performance.now() - this.options.deadlineMs;
    for (const [socket, reading] of this.reading)
      if (reading.startedMs < deadline) this.handOff(socket, bytesOf(reading));
  }
}

/** The bytes read so far, as one buffer (kept so: the next chunk appends to it). */
function bytesOf(reading: Reading): Buffer {
  if (reading.chunks.length === 1) return reading.chunks[0] as Buffer;
  const bytes = Buffer.concat(reading.chunks, reading.length);
  reading.chunks = [bytes];
  return bytes;
}

class TakenCall implements FrontCall {
  /** withdrawn: handed to node:http by the front itself (more()), the taker not told. */
  private state: 'taken' | 'handedOff' | 'withdrawn' | 'answered' = 'taken';
  private controller: AbortController | undefined;

  constructor(
    private readonly front: HttpFront,
    private readonly socket: Socket,
    /** The request as read (and what followed it, once withdrawn). */
    public bytes: Buffer,
    private readonly bodyStart: number,
  ) {}

  withdraw(): void {
    this.state = 'withdrawn';
  }

  get body(): Buffer {
    return this.bytes.subarray(this.bodyStart);
  }

  get isWaiting(): boolean {
    return this.state === 'taken';
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.socket.destroyed) controller.abort();
      else this.socket.once('close', () => controller.abort());
    }
    return this.controller.signal;
  }

  handOff(): void {
    if (this.state === 'withdrawn') return;
    if (this.state !== 'taken') throw new Error(`a front call ${this.state} cannot be handed off`);
    this.state = 'handedOff';
    this.front.handBack(this.socket, this.bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  respond(): StreamResponse {
    if (this.state !== 'taken') throw new Error(`a front call ${this.state} cannot be answered`);
    this.state = 'answered';
    this.front.answered += 1;
    // The call stays in the front's books as long as its stream (for close()): not the
    // request's bytes, read by now, some KB for each of 10,000 agents' streams.
    this.bytes = EMPTY;
    return new FrontResponse(this.socket);
  }
}

/**
 * A 200 streamed with chunked framing on a connection the client asked closed, written
 * byte for byte as node:http's ServerResponse writes it: the status line, the headers in
 * the order given, then `Date`, `Connection: close` and `Transfer-Encoding: chunked`; one
 * chunk per write; `0\r\n\r\n` at the end, and the socket closed once that is out.
 */
export class FrontResponse implements StreamResponse {
  readonly chunkedEncoding = true;
  private head: string | undefined;
  private isHeadOut = false;
  private isEnded = false;

  constructor(readonly socket: Socket) {}

  writeHead(statusCode: number, headers: Readonly<Record<string, string>>): this {
    if (statusCode !== 200) throw new Error(`a front answers 200 only, not ${statusCode}`);
    let head = 'HTTP/1.1 200 OK\r\n';
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    this.head = `${head}Date: ${utcDate()}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n`;
    return this;
  }

  flushHeaders(): void {
    if (this.isHeadOut || this.head === undefined) return;
    this.isHeadOut = true;
    this.socket.write(this.head, 'latin1');
  }

  once(event: 'close', listener: () => void): this {
    this.socket.once(event, listener);
    return this;
  }

  get writableEnded(): boolean {
    return this.isEnded;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  write(chunk: string | Buffer): boolean {
    if (this.isEnded) throw new Error('write after end');
    this.flushHeaders();
    const length = typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.length;
    if (length === 0) return true;
    this.socket.write(`${length.toString(16)}\r\n`, 'latin1');
    this.socket.write(chunk);
    return this.socket.write('\r\n', 'latin1');
  }

  end(): this {
    if (this.isEnded) return this;
    this.isEnded = true;
    this.flushHeaders();
    const { socket } = this;
    // node:http's destroySoon: the last bytes and a FIN, then the socket closed.
    socket.end('0\r\n\r\n', 'latin1');
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
    return this;
  }

  destroy(error?: Error): this {
    this.socket.destroy(error);
    return this;
  }
}

/** The Date header's value, made once a second as node:http does. */
let dateCache = '';
let dateCacheSecond = -1;
function utcDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateCacheSecond) {
    dateCacheSecond = second;
    dateCache = new Date(second * 1000).toUTCString();
  }
  return dateCache;
}
