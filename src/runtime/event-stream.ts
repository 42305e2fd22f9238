import type { ServerResponse } from 'node:http';
import { encodeRecord, toAsciiJson } from '../wire/index.js';

/** A subscriber this far behind (bytes buffered in its socket) is cut off and resubscribes. */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface EventStreamOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxBufferedBytes?: number;
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

  constructor(
    private readonly response: ServerResponse,
    private readonly options: EventStreamOptions = {},
  ) {
    response.writeHead(200, {
      'content-type': 'application/json',
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
    this.response.write(encodeRecord(toAsciiJson(event)));
    if (
      this.response.writableLength > (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)
    ) {
      this.response.destroy(new Error('subscriber fell too far behind'));
      this.markClosed();
      return false;
    }
    return true;
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
