import { encodeRecord } from '../wire/index.js';
import { JSON_EVENT_ENCODER, type MessageEncoder } from './codec.js';
import type { StreamResponse } from './stream-response.js';

/** A subscriber this far behind (bytes buffered in its socket) is cut off and resubscribes. */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * Records a stream holds back before writing them out at once, though the loop has not yet
 * come round: what a burst may keep in memory on top of the socket's own buffer.
 */
export const FLUSH_BYTES = 64 * 1024;

/** Streams holding records, written out together once the loop has handled its I/O. */
const withPending = new Set<EventStream<unknown>>();
let isFlushScheduled = false;

function flushAll(): void {
  isFlushScheduled = false;
  for (const stream of withPending) stream.flush();
  withPending.clear();
}

export interface EventStreamOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxBufferedBytes?: number;
  /** How each record is encoded, chosen from the subscriber's Accept (default JSON). */
  readonly encoder?: MessageEncoder;
  /**
   * Told when an event cannot be encoded (a protobuf event missing a required field:
   * Agora's bug). The stream then ends after what was already sent: a subscriber that
   * silently missed an event would be worse off than one that resubscribes.
   */
  readonly onEncodeError?: (error: unknown) => void;
  /**
   * The headers go out with the first record rather than at once: for a stream whose
   * first event follows within the same loop round (an agent's SUBSCRIBED), one write
   * instead of two. A newly elected master opens thousands of these within a second (#10).
   */
  readonly deferHeaders?: boolean;
}

/**
 * A long-lived RecordIO response (WIRE §1.5-1.6): one record per write(), so
 * clients that parse one HTTP chunk at a time see whole records. The master
 * never waits for a slow reader: records queue in the socket up to a bound,
 * past which the stream is closed.
 *
 * Records sent while the loop handles one round of I/O (every call that came in
 * together) are held and written out in one go after it (setImmediate), so the
 * socket sees one writev for all of them rather than one per event: under load a
 * framework's stream gets an update for most calls, and each small write cost more
 * than the work that produced it. Each record is still its own write() and so its
 * own HTTP chunk, in order.
 */
export class EventStream<E> {
  private isClosed = false;
  /**
   * Made only when `closed` is read: a newly elected master opens a stream for each of
   * 10,000 re-registering agents within seconds, and an AbortController (with the Error its
   * abort makes) for each was part of what that storm cost per agent (#10).
   */
  private closedController: AbortController | undefined;
  /** Told once, when the stream ends (onClose): the cheap alternative to `closed`. */
  private closeListeners: (() => void)[] | undefined;
  private readonly encoder: MessageEncoder;
  private pending: (string | Buffer)[] = [];
  private pendingBytes = 0;
  /** Whether the headers are on the wire (node:http's headersSent is true once they are only made). */
  private areHeadersOut: boolean;

  constructor(
    private readonly response: StreamResponse,
    private readonly options: EventStreamOptions = {},
  ) {
    this.encoder = options.encoder ?? JSON_EVENT_ENCODER;
    response.writeHead(200, {
      'content-type': this.encoder.contentType,
      'cache-control': 'no-cache',
      ...options.headers,
    });
    this.areHeadersOut = options.deferHeaders !== true;
    if (this.areHeadersOut) response.flushHeaders();
    response.once('close', () => this.markClosed());
  }

  /** Aborts when the stream ends, for whatever reason. */
  get closed(): AbortSignal {
    if (this.closedController === undefined) {
      this.closedController = new AbortController();
      if (this.isClosed) this.closedController.abort();
    }
    return this.closedController.signal;
  }

  /** Calls `listener` once when the stream ends, for whatever reason (at once if it has). */
  onClose(listener: () => void): void {
    if (this.isClosed) {
      listener();
      return;
    }
    this.closeListeners ??= [];
    this.closeListeners.push(listener);
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** How this stream's records are encoded: streams with the same encoder can share one payload. */
  get messageEncoder(): MessageEncoder {
    return this.encoder;
  }

  /** Sends one event; returns false if the stream is (now) closed. */
  send(event: E): boolean {
    if (this.isClosed) return false;
    let payload: string | Uint8Array;
    try {
      payload = this.encoder.encode(event);
    } catch (error) {
      this.options.onEncodeError?.(error);
      this.close();
      return false;
    }
    return this.sendEncoded(payload);
  }

  /**
   * Sends an event already encoded by this stream's encoder (one encoding for many
   * subscribers); returns false if the stream is (now) closed.
   */
  sendEncoded(payload: string | Uint8Array): boolean {
    if (this.isClosed) return false;
    const record = recordOf(payload);
    this.pending.push(record);
    this.pendingBytes += record.length;
    if (this.pendingBytes >= FLUSH_BYTES) return this.flush();
    withPending.add(this as EventStream<unknown>);
    if (!isFlushScheduled) {
      isFlushScheduled = true;
      setImmediate(flushAll);
    }
    return true;
  }

  /**
   * Writes the held records out (one write, and chunk, each) and hands them to the kernel
   * now, unless the socket still buffers more than the bound: then the subscriber is cut
   * off. Memory per stream stays under the bound plus FLUSH_BYTES plus one record. Records
   * are otherwise held to the end of the loop round, and node:http corks a response's
   * socket until the next tick: a caller that answers someone else in between (the
   * master's 202 to an ACKNOWLEDGE it forwarded here) flushes first, for a process killed
   * in that gap would have said yes to a message that never left it. Returns false if the
   * stream is (now) closed.
   */
  flush(): boolean {
    if (this.pending.length > 0) {
      const records = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      if (this.isClosed) return false;
      // What the socket still holds from earlier flushes: this batch itself is not yet
      // written, so counting it would cut off a reader for one large burst.
      if (
        this.response.writableLength > (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)
      ) {
        this.response.destroy(new Error('subscriber fell too far behind'));
        this.markClosed();
        return false;
      }
      this.writeRecords(records);
    }
    if (this.isClosed) return false;
    const socket = this.response.socket;
    while (socket !== null && socket.writableCorked > 0) socket.uncork();
    return true;
  }

  /**
   * One write() per record, or, for text records on a chunked response (every JSON stream
   * over HTTP/1.1), the same chunks framed here and written to the socket as one string:
   * the bytes on the wire are the same (each record its own chunk), but node:http's four
   * writes per record (size, CRLF, record, CRLF), each its own entry of the socket's
   * writev, were a good part of a busy master's socket work.
   */
  private writeRecords(records: readonly (string | Buffer)[]): void {
    const { response } = this;
    // Null while the response waits behind an earlier one on its connection (pipelining):
    // node:http then holds what is written until its turn, and so must everything here.
    const socket = response.socket;
    if (socket === null || !response.chunkedEncoding || response.writableEnded) {
      for (const record of records) response.write(record);
      this.areHeadersOut = true;
      return;
    }
    if (!this.areHeadersOut) {
      // Headers held back (deferHeaders): node:http writes them to the socket, corked here so
      // that they and the records framed below leave in one writev of two buffers. Through
      // response.write, an agent's SUBSCRIBED and PING were nine writes into the socket
      // (each record's size, CRLF, record, CRLF) and a writev of eight, at every agent of
      // a re-registration storm (#10). The flush that called this uncorks.
      socket.cork();
      response.flushHeaders();
      this.areHeadersOut = true;
    }
    // ASCII text (a JSON stream's records are: WIRE §1.5) is written as latin1, the same
    // bytes without UTF-8's encoding work; a record is ASCII when its bytes are its length.
    // No closure for the text so far: this runs for every stream on every loop round.
    let text = '';
    let isAscii = true;
    for (const record of records) {
      if (typeof record !== 'string') {
        if (text !== '') socket.write(text, isAscii ? 'latin1' : 'utf8');
        text = '';
        isAscii = true;
        response.write(record);
        continue;
      }
      const bytes = Buffer.byteLength(record, 'utf8');
      if (bytes !== record.length) isAscii = false;
      text += `${bytes.toString(16)}\r\n${record}\r\n`;
    }
    if (text !== '') socket.write(text, isAscii ? 'latin1' : 'utf8');
  }

  /** Ends the stream after what was sent. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.flush();
    if (this.isClosed) return; // cut off by that last flush
    this.response.end();
    this.markClosed();
  }

  private markClosed(): void {
    this.pending = [];
    this.pendingBytes = 0;
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedController?.abort();
    const listeners = this.closeListeners;
    this.closeListeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }
}

/**
 * One RecordIO record. A JSON payload stays a string (written as UTF-8; its length
 * counted in bytes), which saves two buffer copies per event; protobuf is bytes.
 */
function recordOf(payload: string | Uint8Array): string | Buffer {
  if (typeof payload !== 'string') return encodeRecord(payload);
  return `${Buffer.byteLength(payload, 'utf8')}\n${payload}`;
}
