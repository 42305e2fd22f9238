import { isAscii } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import { BadRequestError, exceedsJsonDepth, limits, quote, stringifyJson } from '../wire/index.js';
import { HttpError } from './http-errors.js';
import type { Request } from './http-server.js';

/**
 * Reads the whole body, refusing (413) one over `limitBytes`: at once when Content-Length
 * says so, else as soon as the bytes read pass it, so an oversized body is never held.
 * After a refusal the rest of the body is read and dropped rather than the connection cut,
 * so the client, still sending, gets the 413 instead of a reset.
 */
export function readBody(request: Request, limitBytes = request.maxBodyBytes): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limitBytes) return Promise.reject(bodyTooLarge(limitBytes));
  return new Promise((resolve, reject) => {
    startReading(request.raw, {
      chunks: [],
      total: 0,
      isRefused: false,
      limitBytes,
      resolve,
      reject,
    });
  });
}

function bodyTooLarge(limitBytes: number): HttpError {
  return new HttpError(
    'PAYLOAD_TOO_LARGE',
    `Request body exceeds ${limitBytes} bytes (--max_request_body)`,
  );
}

/** A body being read, kept on its request under READER while readBody waits for it. */
interface BodyReading {
  readonly chunks: Buffer[];
  total: number;
  isRefused: boolean;
  readonly limitBytes: number;
  readonly resolve: (body: Buffer) => void;
  readonly reject: (error: Error) => void;
}

const READER = Symbol('body reading');
type ReadMessage = Request['raw'] & { [READER]?: BodyReading };

/**
 * readBody's listeners are these module functions, which find their reading on the request
 * (`this`): every call reads a body, and six closures made (and, in the bundle, named) per
 * call were a measurable part of a busy master's CPU and garbage.
 */
function startReading(raw: ReadMessage, reading: BodyReading): void {
  raw[READER] = reading;
  raw.on('data', onBodyData);
  raw.on('end', onBodyEnd);
  raw.on('error', onBodyError);
  raw.on('close', onBodyClose);
}

function onBodyData(this: ReadMessage, chunk: Buffer): void {
  const reading = this[READER];
  if (reading === undefined || reading.isRefused) return;
  reading.total += chunk.length;
  if (reading.total > reading.limitBytes) {
    reading.isRefused = true;
    reading.chunks.length = 0;
    reading.reject(bodyTooLarge(reading.limitBytes));
    return;
  }
  reading.chunks.push(chunk);
}

function onBodyEnd(this: ReadMessage): void {
  const reading = stopReading(this);
  if (reading === undefined || reading.isRefused) return;
  const { chunks } = reading;
  const [only] = chunks;
  reading.resolve(
    chunks.length === 1 && only !== undefined ? only : Buffer.concat(chunks, reading.total),
  );
}

function onBodyError(this: ReadMessage, error: Error): void {
  stopReading(this)?.reject(error);
}

function onBodyClose(this: ReadMessage): void {
  const reading = stopReading(this);
  if (reading !== undefined && !this.complete)
    reading.reject(new Error('client went away before sending the whole body'));
}

function stopReading(raw: ReadMessage): BodyReading | undefined {
  raw.off('end', onBodyEnd);
  raw.off('error', onBodyError);
  raw.off('close', onBodyClose);
  // 'data' stays: a refused body keeps flowing into it and is dropped (the reading stays
  // on the request, marked refused, for it).
  const reading = raw[READER];
  if (reading !== undefined && !reading.isRefused) raw[READER] = undefined;
  return reading;
}

// Fatal: invalid UTF-8 is refused rather than silently replaced with U+FFFD. ignoreBOM keeps
// a byte order mark in the text, so JSON.parse refuses it, as Mesos' parser does.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads a JSON body, for endpoints that take nothing else (Agora's agent protocol, PUT
 * /master/weights); the v1 APIs read JSON or protobuf through codec.ts. Mesos compares
 * Content-Type as a whole string; Agora also takes a charset parameter (WIRE §1.4).
 */
export async function readJsonBody(
  request: Request,
  limitBytes = request.maxBodyBytes,
): Promise<unknown> {
  return parseJsonBody(await readJsonBytes(request, limitBytes));
}

/**
 * readJsonBody without the parse: the Content-Type checked and the bytes read, for a
 * handler that parses later (the master's agent API parses in a budgeted queue).
 */
export async function readJsonBytes(
  request: Request,
  limitBytes = request.maxBodyBytes,
): Promise<Buffer> {
  const contentType = request.headers['content-type'];
  if (contentType === undefined)
    throw new BadRequestError('', "Expecting 'Content-Type' to be present");
  // The plain header first: every agent call (10,000 SUBSCRIBEs in a failover) sends it so.
  const mediaType =
    contentType === 'application/json'
      ? contentType
      : contentType.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json')
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Expecting 'Content-Type' of application/json; received ${quote(contentType)}`,
    );
  return readBody(request, limitBytes);
}

/**
 * Parses a JSON body. Refuses, before parsing, one nested deeper than MAX_JSON_DEPTH and
 * one that is not UTF-8 (400), so that nothing downstream (the parser, validation, error
 * formatting) can be made to recurse without bound.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (exceedsJsonDepth(body, limits.MAX_JSON_DEPTH))
    throw new BadRequestError(
      '',
      `Failed to parse body into JSON: nested deeper than ${limits.MAX_JSON_DEPTH} levels`,
    );
  let text: string;
  try {
    // ASCII (nearly every call) is valid UTF-8 and reads the same as latin1, which is a copy
    // without the checking decoder's work.
    text = isAscii(body) ? body.toString('latin1') : utf8.decode(body);
  } catch (error) {
    throw new BadRequestError('', 'Failed to parse body into JSON: not valid UTF-8', {
      cause: error,
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError('', `Failed to parse body into JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Reads a form body (`a=1&b=2`, as Mesos' legacy POST endpoints take: /teardown, /reserve),
 * whatever its Content-Type, as libprocess decodes it. Bounded like any body; not UTF-8 is 400.
 */
export async function readFormBody(request: Request): Promise<URLSearchParams> {
  const body = await readBody(request);
  try {
    return new URLSearchParams(utf8.decode(body));
  } catch (error) {
    throw new BadRequestError('', 'Unable to decode query string: not valid UTF-8', {
      cause: error,
    });
  }
}

/** Sends JSON; `?jsonp=fn` wraps it for the legacy endpoints' old browser clients. */
export function sendJson(
  response: ServerResponse,
  status: number,
  value: unknown,
  request?: Request,
): void {
  const json = stringifyJson(value);
  const callback = jsonpCallback(request);
  const isJsonp = callback !== undefined;
  const body = isJsonp ? `${callback}(${json});` : json;
  response.writeHead(status, {
    'content-type': isJsonp ? 'text/javascript' : 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** The request's `?jsonp=` function name, when it is a valid JavaScript name path. */
export function jsonpCallback(request: Request | undefined): string | undefined {
  const callback = request?.query.get('jsonp');
  return callback !== null && callback !== undefined && /^[A-Za-z_$][\w$.]*$/.test(callback)
    ? callback
    : undefined;
}

export function sendEmpty(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'content-length': 0 });
  response.end();
}
