import type { ServerResponse } from 'node:http';
import { encodeRecord } from '../wire/index.js';
import { JSON_EVENT_ENCODER, type MessageEncoder } from './codec.js';

/** A subscriber this far behind (bytes buffered in its socket) is cut off and resubscribes. */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

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
}

/**
 * A long-lived RecordIO response (WIRE §1.5-1.6): one record per write(), so
 * clients that parse one HTTP chunk at a time see whole records. The master
 * never waits for a slow reader: records queue in the socket up to a bound,
 * past which the stream is closed.
 */
export class EventStream<E> {
  private isClosed = false;
  private readonly closedController = new AbortController();
  private readonly encoder: MessageEncoder;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: EventStreamOptions = {},
  ) {
    this.encoder = options.encoder ?? JSON_EVENT_ENCODER;
    response.writeHead(200, {
      'content-type': this.encoder.contentType,
      'cache-control': 'no-cache',
      ...options.headers,
    });
    response.flushHeaders();
    response.once('close', () => this.markClosed());
  }

  /** Aborts when the stream ends, for whatever reason. */
  get closed(): AbortSignal {
    return this.closedController.signal;
  }

  get isOpen(): boolean {
    return !this.isClosed;
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
    this.response.write(encodeRecord(payload));
    if (
      this.response.writableLength > (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)
    ) {
      this.response.destroy(new Error('subscriber fell too far behind'));
      this.markClosed();
      return false;
    }
    return true;
  }

  /**
   * Hands what was sent so far to the kernel now. node:http corks a response's
   * socket on write and uncorks it on the next tick; a caller that answers
   * someone else in between (the master's 202 to an ACKNOWLEDGE it forwarded
   * here) must not let that answer leave first: a process killed in that gap
   * said yes to a message that never left it.
   */
  flush(): void {
    const socket = this.response.socket;
    while (socket !== null && socket.writableCorked > 0) socket.uncork();
  }

  /** Ends the stream after what was sent. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.response.end();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.isClosed && this.closedController.signal.aborted) return;
    this.isClosed = true;
    this.closedController.abort();
  }
}
