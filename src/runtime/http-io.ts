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
  const tooLarge = () =>
    new HttpError(
      'PAYLOAD_TOO_LARGE',
      `Request body exceeds ${limitBytes} bytes (--max_request_body)`,
    );
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limitBytes) return Promise.reject(tooLarge());
  const raw = request.raw;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let isRefused = false;
    const onData = (chunk: Buffer) => {
      if (isRefused) return;
      total += chunk.length;
      if (total > limitBytes) {
        isRefused = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanUp();
      if (!isRefused) resolve(Buffer.concat(chunks, total));
    };
    const onError = (error: Error) => {
      cleanUp();
      reject(error);
    };
    const onClose = () => {
      cleanUp();
      if (!raw.complete) reject(new Error('client went away before sending the whole body'));
    };
    const cleanUp = () => {
      raw.off('end', onEnd);
      raw.off('error', onError);
      raw.off('close', onClose);
      // 'data' stays: a refused body keeps flowing into it and is dropped.
    };
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onError);
    raw.once('close', onClose);
  });
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
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
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
    text = utf8.decode(body);
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

/** True when the client accepts JSON; Accept may repeat or list types (WIRE §1.4). */
export function acceptsJson(request: Request): boolean {
  const header = request.headers.accept;
  if (header === undefined) return true;
  const types = header
    .split(',')
    .map((part) => part.split(';')[0]?.trim().toLowerCase())
    .filter((t) => t !== undefined && t !== '');
  if (types.length === 0) return true;
  return types.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*');
}

export function requireJsonAccepted(request: Request): void {
  if (!acceptsJson(request))
    throw new HttpError('NOT_ACCEPTABLE', "Expecting 'Accept' to allow application/json");
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
