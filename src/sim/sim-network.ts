// The simulator's side of the wire: plain node:http to one master on loopback. Calls
// share one keep-alive pool; each event stream (an agent's or a framework's
// subscription) holds a socket of its own for its whole life.
import { Agent, type ClientRequest, type IncomingMessage, request } from 'node:http';
import { RecordIODecoder } from '../wire/index.js';

/** Sockets the call pool may open at once; more calls queue in the pool, first in first out. */
const DEFAULT_MAX_CALL_SOCKETS = 64;

export interface SimNetworkOptions {
  /** The master's base URL, e.g. http://127.0.0.1:5050. */
  readonly master: URL;
  readonly maxCallSockets?: number;
}

/** What a call got back. The body is read only for answers other than 2xx. */
export interface CallResult {
  readonly status: number;
  readonly body: string;
}

/** A subscription: its response (200 or not), the stream id header, and the status. */
export interface OpenedStream {
  readonly response: IncomingMessage;
  readonly status: number;
  readonly streamId: string | undefined;
}

/** Calls made and failed, for the report (each counts once, whatever its outcome). */
export interface SimNetworkStats {
  readonly calls: number;
  /** Calls that failed below HTTP (connection reset or refused). */
  readonly callNetworkErrors: number;
  readonly streamsOpened: number;
}

/**
 * node:http to the master, nothing above it: no SDK, no retries (callers decide).
 * close() destroys every open stream and pooled socket; calls in flight then fail.
 */
export class SimNetwork {
  readonly master: URL;
  private readonly calls: Agent;
  private readonly streams: Agent;
  private readonly openStreams = new Set<IncomingMessage>();
  private readonly openRequests = new Set<ClientRequest>();
  private isClosed = false;
  private callCount = 0;
  private callNetworkErrorCount = 0;
  private streamsOpenedCount = 0;

  constructor(options: SimNetworkOptions) {
    this.master = options.master;
    this.calls = new Agent({
      keepAlive: true,
      maxSockets: options.maxCallSockets ?? DEFAULT_MAX_CALL_SOCKETS,
      scheduling: 'fifo',
    });
    this.streams = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  }

  get stats(): SimNetworkStats {
    return {
      calls: this.callCount,
      callNetworkErrors: this.callNetworkErrorCount,
      streamsOpened: this.streamsOpenedCount,
    };
  }

  /** POSTs a JSON body; resolves with the status, rejects on a network error. */
  post(path: string, body: string, headers: Readonly<Record<string, string>> = {}) {
    this.callCount++;
    return new Promise<CallResult>((resolve, reject) => {
      if (this.isClosed) return reject(new Error('simulated network closed'));
      const req = request(
        {
          agent: this.calls,
          host: this.master.hostname,
          port: this.master.port,
          path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            ...headers,
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          if (status >= 200 && status < 300) res.resume();
          else res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
          res.once('error', reject);
        },
      );
      this.openRequests.add(req);
      req.once('close', () => this.openRequests.delete(req));
      req.once('error', (error) => {
        this.callNetworkErrorCount++;
        reject(error);
      });
      req.end(body);
    });
  }

  /** POSTs a SUBSCRIBE call and resolves with the response once its headers arrive. */
  openStream(path: string, body: string): Promise<OpenedStream> {
    return new Promise<OpenedStream>((resolve, reject) => {
      if (this.isClosed) return reject(new Error('simulated network closed'));
      const req = request(
        {
          agent: this.streams,
          host: this.master.hostname,
          port: this.master.port,
          path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            accept: 'application/json',
          },
        },
        (res) => {
          this.streamsOpenedCount++;
          this.openStreams.add(res);
          res.once('close', () => this.openStreams.delete(res));
          const header = res.headers['mesos-stream-id'];
          resolve({
            response: res,
            status: res.statusCode ?? 0,
            streamId: typeof header === 'string' ? header : undefined,
          });
        },
      );
      req.once('error', reject);
      req.end(body);
    });
  }

  /** Destroys every stream, call and pooled socket. Idempotent. */
  close(): void {
    this.isClosed = true;
    for (const stream of this.openStreams) stream.destroy();
    for (const req of this.openRequests) req.destroy();
    this.calls.destroy();
    this.streams.destroy();
  }
}

/**
 * Feeds a stream's bytes through a RecordIO decoder and hands each event, parsed, to
 * `onEvent`; `onEnd` runs once when the stream ends for any reason (with the error, if
 * one ended it). A malformed record ends the stream; an exception from `onEvent` is
 * not caught.
 */
export function readEvents<E>(
  response: IncomingMessage,
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
  response.on('data', (chunk: Buffer) => {
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
  });
  response.once('error', (error) => end(error));
  response.once('close', () => end(undefined));
}

/** Reads what is left of a response as text (for the message of a refused subscription). */
export async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
