// The one request shape a connection front (http-front.ts) answers without node:http,
// recognized on the bytes a connection has sent so far. Pure: bytes in, a verdict out.
//
// The shape is what Agora's own agent (agent/master-link.ts through sdk/http-client.ts) and
// the simulator (sim/sim-network.ts) send to SUBSCRIBE: a request line, five header lines
// each at most once, a Content-Length body, `Connection: close`, and nothing after the body.
// The recognizer says 'foreign' the moment the bytes can no longer be that shape, so that
// node:http gets everything else (and every error) with the bytes read handed back.

/** What the front takes; everything about it is exact. */
export interface FrontShape {
  /** The request line, CRLF included: `POST /master/api/v1/agent HTTP/1.1\r\n`. */
  readonly requestLine: Buffer;
  /** What the body starts with (`{"type":"SUBSCRIBE",`): other calls on the path are node:http's. */
  readonly bodyPrefix: Buffer;
  /** A head (request line to the blank line) longer than this is node:http's. */
  readonly maxHeadBytes: number;
  /** A Content-Length over this is node:http's. */
  readonly maxBodyBytes: number;
}

export function frontShape(
  method: string,
  path: string,
  bodyPrefix: string,
  limits: { readonly maxHeadBytes: number; readonly maxBodyBytes: number },
): FrontShape {
  return {
    requestLine: Buffer.from(`${method} ${path} HTTP/1.1\r\n`, 'latin1'),
    bodyPrefix: Buffer.from(bodyPrefix, 'latin1'),
    ...limits,
  };
}

/** Where a head ends and how long its body is. */
export interface FrontHead {
  readonly bodyStart: number;
  readonly contentLength: number;
}

export type HeadVerdict =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'foreign' }
  | ({ readonly kind: 'head' } & FrontHead);

export type BodyVerdict = 'incomplete' | 'foreign' | 'whole';

const INCOMPLETE: HeadVerdict = { kind: 'incomplete' };
const FOREIGN: HeadVerdict = { kind: 'foreign' };
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * The head read so far: incomplete while `bytes` can still become the shape's head, foreign
 * once they cannot (another method, path or version, a header the shape has not, one twice,
 * a value other than the shape's, an oversized head), else where the body starts.
 */
export function readHead(bytes: Buffer, shape: FrontShape): HeadVerdict {
  const { requestLine } = shape;
  const compared = Math.min(bytes.length, requestLine.length);
  if (bytes.compare(requestLine, 0, compared, 0, compared) !== 0) return FOREIGN;
  // The blank line may start where the request line's CRLF does (no headers: foreign below).
  const end = bytes.indexOf(HEAD_END, requestLine.length - 2);
  if (end === -1) return bytes.length > shape.maxHeadBytes ? FOREIGN : INCOMPLETE;
  const bodyStart = end + HEAD_END.length;
  if (bodyStart > shape.maxHeadBytes || end < requestLine.length) return FOREIGN;
  const contentLength = readHeaderLines(bytes.toString('latin1', requestLine.length, end));
  if (contentLength === undefined || contentLength > shape.maxBodyBytes) return FOREIGN;
  return { kind: 'head', bodyStart, contentLength };
}

/**
 * The body read so far after `head`: whole when exactly Content-Length bytes follow it and
 * they start with the shape's prefix, incomplete while they may still, else foreign (a
 * byte past the body, pipelining included, or another call).
 */
export function judgeBody(bytes: Buffer, head: FrontHead, shape: FrontShape): BodyVerdict {
  const { bodyPrefix } = shape;
  const { bodyStart, contentLength } = head;
  const total = bodyStart + contentLength;
  if (bytes.length > total || contentLength < bodyPrefix.length) return 'foreign';
  const compared = Math.min(bytes.length - bodyStart, bodyPrefix.length);
  if (bytes.compare(bodyPrefix, 0, compared, bodyStart, bodyStart + compared) !== 0)
    return 'foreign';
  return bytes.length === total ? 'whole' : 'incomplete';
}

/** Header names the shape has, each at most once; the first four must be there. */
const CONTENT_TYPE = 1;
const CONTENT_LENGTH = 2;
const HOST = 4;
const CONNECTION = 8;
const ACCEPT = 16;
const REQUIRED = CONTENT_TYPE | CONTENT_LENGTH | HOST | CONNECTION;
const HEADER_BITS: Readonly<Record<string, number>> = {
  'content-type': CONTENT_TYPE,
  'content-length': CONTENT_LENGTH,
  host: HOST,
  connection: CONNECTION,
  accept: ACCEPT,
};

/** `Name: value`: a token, one space, visible ASCII with no space at either end. */
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): ([\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)$/;
/** What node:http reads as a length, without its leniencies (a sign, leading zeros). */
const LENGTH = /^[1-9][0-9]{0,9}$/;

/** The Content-Length of header lines that are exactly the shape's; undefined if they are not. */
function readHeaderLines(text: string): number | undefined {
  let seen = 0;
  let contentLength: number | undefined;
  for (const line of text.split('\r\n')) {
    const match = HEADER_LINE.exec(line);
    if (match === null) return undefined;
    const [, name = '', value = ''] = match;
    const lower = name.toLowerCase();
    const bit = HEADER_BITS[lower];
    if (bit === undefined || (seen & bit) !== 0) return undefined;
    seen |= bit;
    switch (bit) {
      case CONTENT_TYPE:
      case ACCEPT:
        if (value !== 'application/json') return undefined;
        break;
      case CONNECTION:
        if (value !== 'close') return undefined;
        break;
      case CONTENT_LENGTH:
        if (!LENGTH.test(value)) return undefined;
        contentLength = Number(value);
        break;
      default: // Host: any value, as node:http takes any
    }
  }
  return (seen & REQUIRED) === REQUIRED ? contentLength : undefined;
}
