// The simulator's own reading of HTTP/1.1 responses to its calls: status, and the body by
// Content-Length or chunked. Pure (bytes in, responses out), so it is tested without a
// socket. It knows only what a master sends a call's caller; a stream's endless body is
// read by http-stream-reader.ts, which shares the head's reading (parseResponseHead).

/** One whole response: its status, the body's bytes, and whether the server closes after it. */
export interface ParsedResponse {
  readonly status: number;
  readonly body: Buffer;
  readonly isLast: boolean;
}

export const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
export const CRLF = Buffer.from('\r\n', 'latin1');
/** A response head longer than this is not a master's: the connection is given up. */
export const MAX_HEAD_BYTES = 64 * 1024;

/** What a response's head says about it (the header block, without its blank line). */
export interface ResponseHead {
  readonly status: number;
  /** Content-Length, if sent (checked by the reader of the body). */
  readonly length: number | undefined;
  readonly isChunked: boolean;
  /** Whether the server closes the connection after this response. */
  readonly isLast: boolean;
  /** The Mesos-Stream-Id header of a subscription's answer. */
  readonly streamId: string | undefined;
}

/** Reads a response head; throws on one that is not HTTP/1.x. */
export function parseResponseHead(head: string): ResponseHead {
  if (!head.startsWith('HTTP/1.')) throw new Error(`not an HTTP response: ${head.slice(0, 40)}`);
  const status = Number(head.slice(9, 12));
  if (!Number.isInteger(status) || status < 100) throw new Error('bad status line');
  let length: number | undefined;
  let isChunked = false;
  let isLast = head.startsWith('HTTP/1.0');
  let streamId: string | undefined;
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const raw = line.slice(colon + 1).trim();
    const value = raw.toLowerCase();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding') isChunked = value.includes('chunked');
    else if (name === 'connection')
      isLast = value.includes('close') ? true : value.includes('keep-alive') ? false : isLast;
    // The id is case-sensitive: only the name is lowered.
    else if (name === 'mesos-stream-id') streamId = raw;
  }
  return { status, length, isChunked, isLast, streamId };
}

type BodyState =
  | { readonly kind: 'head' }
  | { readonly kind: 'length'; readonly status: number; readonly isLast: boolean; left: number }
  | { readonly kind: 'chunked'; readonly status: number; readonly isLast: boolean };

/**
 * Feed it the socket's bytes in order; each call returns the responses completed by them,
 * in order (HTTP/1.1 answers pipelined requests in the order they were sent). Throws on
 * bytes that are not an HTTP/1.1 response: the caller gives the connection up.
 */
export class HttpResponseParser {
  private buffered: Buffer = Buffer.alloc(0);
  private state: BodyState = { kind: 'head' };
  private body: Buffer[] = [];

  push(chunk: Buffer): ParsedResponse[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const done: ParsedResponse[] = [];
    for (;;) {
      const response = this.step();
      if (response === 'more') break;
      if (response !== undefined) done.push(response);
    }
    return done;
  }

  /** Whether part of a response has arrived but not all of it. */
  get isMidResponse(): boolean {
    return this.state.kind !== 'head' || this.buffered.length > 0;
  }

  /** One step of the state machine: a response, undefined (progress, go on) or 'more' bytes needed. */
  private step(): ParsedResponse | undefined | 'more' {
    const state = this.state;
    switch (state.kind) {
      case 'head':
        return this.readHead();
      case 'length': {
        if (state.left > 0) {
          if (this.buffered.length === 0) return 'more';
          const take = Math.min(state.left, this.buffered.length);
          this.body.push(this.buffered.subarray(0, take));
          this.buffered = this.buffered.subarray(take);
          state.left -= take;
          if (state.left > 0) return 'more';
        }
        return this.finish(state.status, state.isLast);
      }
      case 'chunked':
        return this.readChunk(state.status, state.isLast);
    }
  }

  private readHead(): ParsedResponse | undefined | 'more' {
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) {
      if (this.buffered.length > MAX_HEAD_BYTES) throw new Error('response head too long');
      return 'more';
    }
    const head = this.buffered.toString('latin1', 0, end);
    this.buffered = this.buffered.subarray(end + HEADER_END.length);
    const { status, length, isChunked, isLast } = parseResponseHead(head);
    // 1xx: an interim answer; the real one follows.
    if (status < 200) return undefined;
    if (status === 204 || status === 304) return this.finish(status, isLast);
    if (isChunked) {
      this.state = { kind: 'chunked', status, isLast };
      return undefined;
    }
    if (length === undefined || !Number.isInteger(length) || length < 0) {
      // A body delimited by the connection's end: never sent to the simulator's calls.
      if (length === undefined && isLast)
        throw new Error('a body read to the end is not supported');
      if (length !== undefined) throw new Error('bad content-length');
      return this.finish(status, isLast);
    }
    this.state = { kind: 'length', status, isLast, left: length };
    return undefined;
  }

  /** One chunk (size line, data, CRLF); the zero-size one (and its empty trailer) ends the body. */
  private readChunk(status: number, isLast: boolean): ParsedResponse | undefined | 'more' {
    const lineEnd = this.buffered.indexOf(CRLF);
    if (lineEnd < 0) return 'more';
    const size = Number.parseInt(this.buffered.toString('latin1', 0, lineEnd), 16);
    if (!Number.isInteger(size) || size < 0) throw new Error('bad chunk size');
    if (size === 0) {
      // No trailers from a master: the last chunk's line, then an empty line.
      const trailerEnd = this.buffered.indexOf(CRLF, lineEnd + CRLF.length);
      if (trailerEnd < 0) return 'more';
      this.buffered = this.buffered.subarray(trailerEnd + CRLF.length);
      return this.finish(status, isLast);
    }
    const dataStart = lineEnd + CRLF.length;
    if (this.buffered.length < dataStart + size + CRLF.length) return 'more';
    this.body.push(this.buffered.subarray(dataStart, dataStart + size));
    this.buffered = this.buffered.subarray(dataStart + size + CRLF.length);
    return undefined;
  }

  private finish(status: number, isLast: boolean): ParsedResponse {
    const body = this.body.length === 1 ? (this.body[0] as Buffer) : Buffer.concat(this.body);
    this.body = [];
    this.state = { kind: 'head' };
    return { status, body, isLast };
  }
}
