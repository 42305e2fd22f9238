// The answer to a subscription (an agent's or a framework's SUBSCRIBE) read from bytes: its
// head (status, Mesos-Stream-Id), then its body piece by piece as it arrives, de-chunked,
// and the body's end. Unlike a call's answer (http-response-parser.ts) the body of a 200
// never ends while the subscription lives, so it is handed on as it comes, not kept. Pure
// (bytes in, sink calls out), so it is tested without a socket.
import { CRLF, HEADER_END, MAX_HEAD_BYTES, parseResponseHead } from './http-response-parser.js';

export interface StreamHead {
  readonly status: number;
  readonly streamId: string | undefined;
}

/** Where the reader's findings go, in order: head once, body pieces, end at most once. */
export interface StreamSink {
  head(head: StreamHead): void;
  body(bytes: Buffer): void;
  /** The body is complete (its length or its last chunk): nothing more will come. */
  end(): void;
}

/** A chunk's size line is a few hex digits: a longer one is not a master's. */
const MAX_CHUNK_LINE_BYTES = 64;

type ReadState =
  | { readonly kind: 'head' }
  | { readonly kind: 'length'; left: number }
  | { readonly kind: 'chunk-size' }
  | { readonly kind: 'chunk-data'; left: number }
  | { readonly kind: 'chunk-crlf' }
  | { readonly kind: 'trailer' }
  /** Delimited by the connection's end: every byte is body; the caller ends it at close. */
  | { readonly kind: 'to-close' }
  | { readonly kind: 'done' };

/**
 * Feed it the connection's bytes in order. Throws on bytes that are not an HTTP/1.1
 * response (the caller gives the connection up). Bytes after the body's end are ignored:
 * a subscription's connection carries one response.
 */
export class HttpStreamReader {
  private state: ReadState = { kind: 'head' };
  /** Bytes of a head, chunk line or chunk's CRLF not yet complete. */
  private partial: Buffer | undefined;

  get isDone(): boolean {
    return this.state.kind === 'done';
  }

  push(chunk: Buffer, sink: StreamSink): void {
    let data = this.partial === undefined ? chunk : Buffer.concat([this.partial, chunk]);
    this.partial = undefined;
    while (data.length > 0) {
      const state = this.state;
      switch (state.kind) {
        case 'head': {
          const end = data.indexOf(HEADER_END);
          if (end < 0) {
            if (data.length > MAX_HEAD_BYTES) throw new Error('response head too long');
            this.partial = data;
            return;
          }
          const head = parseResponseHead(data.toString('latin1', 0, end));
          data = data.subarray(end + HEADER_END.length);
          // 1xx: an interim answer; the real one follows.
          if (head.status < 200) continue;
          sink.head({ status: head.status, streamId: head.streamId });
          this.state = this.bodyState(head);
          if (this.state.kind === 'done') sink.end();
          continue;
        }
        case 'length': {
          const take = Math.min(state.left, data.length);
          sink.body(data.subarray(0, take));
          data = data.subarray(take);
          state.left -= take;
          if (state.left === 0) this.finish(sink);
          continue;
        }
        case 'chunk-size': {
          const lineEnd = data.indexOf(CRLF);
          if (lineEnd < 0) {
            if (data.length > MAX_CHUNK_LINE_BYTES) throw new Error('bad chunk size line');
            this.partial = data;
            return;
          }
          // A chunk extension (`;name=value`) may follow the size.
          const line = data.toString('latin1', 0, lineEnd).split(';')[0]?.trim() ?? '';
          if (!/^[0-9a-fA-F]{1,8}$/.test(line)) throw new Error('bad chunk size');
          const size = Number.parseInt(line, 16);
          data = data.subarray(lineEnd + CRLF.length);
          this.state = size === 0 ? { kind: 'trailer' } : { kind: 'chunk-data', left: size };
          continue;
        }
        case 'chunk-data': {
          const take = Math.min(state.left, data.length);
          sink.body(data.subarray(0, take));
          data = data.subarray(take);
          state.left -= take;
          if (state.left === 0) this.state = { kind: 'chunk-crlf' };
          continue;
        }
        case 'chunk-crlf': {
          if (data.length < CRLF.length) {
            this.partial = data;
            return;
          }
          if (data[0] !== 0x0d || data[1] !== 0x0a) throw new Error('chunk not ended by CRLF');
          data = data.subarray(CRLF.length);
          this.state = { kind: 'chunk-size' };
          continue;
        }
        case 'trailer': {
          // Trailer lines (none from a master), then an empty line.
          const lineEnd = data.indexOf(CRLF);
          if (lineEnd < 0) {
            if (data.length > MAX_HEAD_BYTES) throw new Error('trailer too long');
            this.partial = data;
            return;
          }
          data = data.subarray(lineEnd + CRLF.length);
          if (lineEnd === 0) this.finish(sink);
          continue;
        }
        case 'to-close':
          sink.body(data);
          return;
        case 'done':
          return;
      }
    }
  }

  private bodyState(head: ReturnType<typeof parseResponseHead>): ReadState {
    if (head.status === 204 || head.status === 304) return { kind: 'done' };
    if (head.isChunked) return { kind: 'chunk-size' };
    if (head.length === undefined) return { kind: 'to-close' };
    if (!Number.isInteger(head.length) || head.length < 0) throw new Error('bad content-length');
    return head.length === 0 ? { kind: 'done' } : { kind: 'length', left: head.length };
  }

  private finish(sink: StreamSink): void {
    this.state = { kind: 'done' };
    sink.end();
  }
}
