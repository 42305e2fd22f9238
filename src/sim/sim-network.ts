// The simulator's side of the wire: plain HTTP/1.1 to one master on loopback. Calls
// share a few keep-alive connections (call-connection.ts: our own requests, pipelined up to
// a depth) and wait their turn in our own queue; each event stream (an agent's or a
// framework's subscription) holds a socket of its own for its whole life (sim-stream.ts:
// the request a real agent's node:http client sends, written as bytes).
import { RecordIODecoder } from '../wire/index.js';
import { CallConnection, type CallResult, type ConnectionCall } from './call-connection.js';
import { SimStream, type SubscribeRequest } from './sim-stream.js';

export type { CallResult } from './call-connection.js';

/** Connections for calls (one keep-alive socket each); more calls wait in the queue, in order. */
const DEFAULT_MAX_CALL_SOCKETS = 64;
/** Compact the queue's array once this many taken entries sit at its front. */
const QUEUE_COMPACT_AT = 4096;

export interface SimNetworkOptions {
  /** The master's base URL, e.g. http://127.0.0.1:5050. */
  readonly master: URL;
  readonly maxCallSockets?: number;
  /**
   * Calls a connection may have sent and not had answered (HTTP/1.1 pipelining); 1 (the
   * default) waits for each answer before the next call on that connection, as node:http's
   * client does.
   */
  readonly pipelineDepth?: number;
}

/** A subscription: its response (200 or not), the stream id header, and the status. */
export interface OpenedStream {
  readonly response: SimStream;
  readonly status: number;
  readonly streamId: string | undefined;
}

/** Counters over the network's life. */
export interface SimNetworkStats {
  /** Calls asked for (each counts once, whatever its outcome). */
  readonly calls: number;
  /** Calls waiting for a socket now: the backlog in front of the master. */
  readonly callsQueued: number;
  /** Calls that failed below HTTP (connection reset or refused). */
  readonly callNetworkErrors: number;
  readonly streamsOpened: number;
}

type QueuedCall = ConnectionCall;

/**
 * HTTP/1.1 to the master, nothing above it: no SDK, no retries (callers decide). The
 * queue is ours (http.Agent's is an array it shift()s, which costs O(n) per call with
 * 100,000 waiting). close() rejects what waits, destroys what is in flight and every
 * stream.
 */
export class SimNetwork {
  private masterUrl: URL;
  private readonly maxConnections: number;
  private readonly depth: number;
  private connections: CallConnection[] = [];
  /** Connections to a master no longer targeted: closed once their calls are answered. */
  private readonly retired = new Set<CallConnection>();
  /** Where the round-robin over connections starts next. */
  private nextConnection = 0;
  private readonly queue: (QueuedCall | undefined)[] = [];
  private queueHead = 0;
  /**
   * Calls that go before everything in `queue` (PONGs): a real agent answers a PING on a
   * connection of its own, not behind every other agent's updates. Short, so a plain array.
   */
  private urgent: QueuedCall[] = [];
  private readonly openStreams = new Set<SimStream>();
  private isClosed = false;
  private callCount = 0;
  private callNetworkErrorCount = 0;
  private streamsOpenedCount = 0;

  constructor(options: SimNetworkOptions) {
    this.masterUrl = options.master;
    this.maxConnections = options.maxCallSockets ?? DEFAULT_MAX_CALL_SOCKETS;
    this.depth = Math.max(1, options.pipelineDepth ?? 1);
  }

  /** The master every new call and stream goes to. */
  get master(): URL {
    return this.masterUrl;
  }

  /**
   * Sends new calls and streams to `master` from now on (another master was elected);
   * what is in flight stays where it went. Calls still waiting that carry a stream id
   * carry the old master's: they fail here, as on the old master's connection, and their
   * senders send again once subscribed (the new master refused each of them, and paid
   * for it in the middle of its re-registration storm). The rest go to the new master.
   */
  retarget(master: URL): void {
    this.masterUrl = master;
    const elected = new Error('another master was elected');
    const isFresh = (call: QueuedCall | undefined): call is QueuedCall => {
      if (call === undefined) return false;
      if (call.headers['mesos-stream-id'] === undefined) return true;
      call.reject(elected);
      return false;
    };
    this.urgent = this.urgent.filter(isFresh);
    const waiting = this.queue.slice(this.queueHead).filter(isFresh);
    this.queue.length = 0;
    this.queueHead = 0;
    for (const call of waiting) this.queue.push(call);
    // Connections to the old master finish what they carry and take nothing new.
    for (const connection of this.connections) {
      if (connection.inFlight === 0) connection.destroy(new Error('another master was elected'));
      else this.retired.add(connection);
    }
    this.connections = [];
    this.pump();
  }

  get stats(): SimNetworkStats {
    return {
      calls: this.callCount,
      callsQueued: this.queue.length - this.queueHead + this.urgent.length,
      callNetworkErrors: this.callNetworkErrorCount,
      streamsOpened: this.streamsOpenedCount,
    };
  }

  /**
   * POSTs a JSON body in turn (`isUrgent`: before every call that waits); resolves with
   * the status, rejects on a network error or close().
   */
  post(
    path: string,
    body: string,
    headers: Readonly<Record<string, string>> = {},
    options: { readonly isUrgent?: boolean } = {},
  ): Promise<CallResult> {
    this.callCount++;
    return new Promise<CallResult>((resolve, reject) => {
      if (this.isClosed) return reject(new Error('simulated network closed'));
      (options.isUrgent === true ? this.urgent : this.queue).push({
        path,
        body,
        headers,
        resolve,
        reject,
      });
      this.pump();
    });
  }

  /**
   * POSTs a SUBSCRIBE call and resolves with the response once its headers arrive. The
   * body may be bytes rendered before (an agent's, kept until its tasks change).
   */
  openStream(path: string, body: string | Buffer): Promise<OpenedStream> {
    return new Promise<OpenedStream>((resolve, reject) => {
      if (this.isClosed) return reject(new Error('simulated network closed'));
      const stream = new SimStream(
        this.master,
        subscribeRequest(path, this.master.host, body),
        (opened) => {
          this.streamsOpenedCount++;
          resolve({ response: opened, status: opened.status, streamId: opened.streamId });
        },
        reject,
        (closed) => this.openStreams.delete(closed),
      );
      this.openStreams.add(stream);
    });
  }

  /** Rejects every waiting call, destroys every call in flight, stream and socket. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const waiting = [...this.urgent, ...this.queue.slice(this.queueHead)];
    this.urgent = [];
    this.queue.length = 0;
    this.queueHead = 0;
    const closed = new Error('simulated network closed');
    for (const call of waiting) call?.reject(closed);
    for (const connection of [...this.connections, ...this.retired]) connection.destroy(closed);
    this.connections = [];
    this.retired.clear();
    for (const stream of this.openStreams) stream.destroy();
  }

  /** Hands waiting calls to connections with room, opening connections up to the bound. */
  private pump(): void {
    for (;;) {
      const hasUrgent = this.urgent.length > 0;
      if (!hasUrgent && this.queueHead >= this.queue.length) break;
      const connection = this.connectionWithRoom();
      if (connection === undefined) break;
      let call: QueuedCall | undefined;
      if (hasUrgent) call = this.urgent.shift();
      else {
        call = this.queue[this.queueHead];
        this.queue[this.queueHead++] = undefined;
      }
      if (call !== undefined) connection.send(call);
    }
    if (this.queueHead >= QUEUE_COMPACT_AT && this.queueHead * 2 >= this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /**
   * An open connection with fewer than `depth` calls in flight, the least loaded first
   * found round-robin; a new one while under the bound and every open one is busy.
   */
  private connectionWithRoom(): CallConnection | undefined {
    const count = this.connections.length;
    let best: CallConnection | undefined;
    for (let i = 0; i < count; i++) {
      const connection = this.connections[(this.nextConnection + i) % count];
      if (connection === undefined || connection.inFlight >= this.depth) continue;
      if (connection.inFlight === 0) {
        best = connection;
        break;
      }
      if (best === undefined || connection.inFlight < best.inFlight) best = connection;
    }
    if (best !== undefined && best.inFlight > 0 && count < this.maxConnections) best = undefined;
    if (best === undefined && count < this.maxConnections) {
      best = new CallConnection(
        this.masterUrl,
        (settled) => {
          if (this.retired.has(settled)) {
            if (settled.inFlight === 0) settled.destroy(new Error('another master was elected'));
            return;
          }
          if (!this.isClosed) this.pump();
        },
        (closed) => this.connectionClosed(closed),
        (calls) => {
          this.callNetworkErrorCount += calls;
        },
      );
      this.connections.push(best);
    }
    this.nextConnection = count === 0 ? 0 : (this.nextConnection + 1) % Math.max(1, count);
    return best;
  }

  private connectionClosed(connection: CallConnection): void {
    this.retired.delete(connection);
    const index = this.connections.indexOf(connection);
    if (index >= 0) this.connections.splice(index, 1);
    if (!this.isClosed) this.pump();
  }
}

/**
 * Feeds a stream's bytes through a RecordIO decoder and hands each event, parsed, to
 * `onEvent`; `onEnd` runs once when the stream ends for any reason (with the error, if
 * one ended it). A malformed record ends the stream; an exception from `onEvent` is
 * not caught.
 */
export function readEvents<E>(
  response: SimStream,
  onEvent: (event: E) => void,
  onEnd: (error: Error | undefined) => void,
): void {
  const decoder = new RecordIODecoder();
  let isEnded = false;
  const end = (error: Error | undefined) => {
    if (isEnded) return;
    isEnded = true;
    onEnd(error);
  };
  response.read((chunk) => {
    if (isEnded) return;
    let events: E[];
    try {
      events = decoder.decode(chunk).map((record) => JSON.parse(record.toString('utf8')) as E);
    } catch (error) {
      end(error instanceof Error ? error : new Error(String(error)));
      response.destroy();
      return;
    }
    // Outside the try: a bug in a handler must surface, not pass for a broken stream.
    for (const event of events) onEvent(event);
  }, end);
}

/** Reads what is left of a response as text (for the message of a refused subscription). */
export function readText(response: SimStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    response.read(
      (chunk) => chunks.push(chunk),
      () => resolve(Buffer.concat(chunks).toString('utf8')),
    );
  });
}

/**
 * A SUBSCRIBE's request as a real agent's node:http client writes it (agent/master-link.ts
 * through sdk/http-client.ts, no keep-alive pool for a stream): the same header lines in
 * the same order, then the body.
 */
export function subscribeRequest(
  path: string,
  host: string,
  body: string | Buffer,
): SubscribeRequest {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    head: `POST ${path} HTTP/1.1\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: ${bytes.length}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    body: bytes,
  };
}
