import type { ServerResponse } from 'node:http';
import { BadRequestError, stringifyJson } from '../wire/index.js';
import { HttpError } from './http-errors.js';
import type { Request } from './http-server.js';

/** Calls are small; a larger body is a mistake or an attack (413). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function readBody(request: Request, limitBytes = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limitBytes)
    throw new HttpError('PAYLOAD_TOO_LARGE', `body exceeds ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request.raw) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > limitBytes)
      throw new HttpError('PAYLOAD_TOO_LARGE', `body exceeds ${limitBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a JSON call body. Mesos compares Content-Type as a whole string; Agora
 * also takes a charset parameter (WIRE §1.4). Protobuf bodies are not served yet.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const contentType = request.headers['content-type'];
  if (contentType === undefined)
    throw new BadRequestError('', "Expecting 'Content-Type' to be present");
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json')
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Expecting 'Content-Type' of application/json; received '${contentType}'`,
    );
  const body = await readBody(request);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BadRequestError('', `Failed to parse body into JSON: ${(error as Error).message}`, {
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
  const callback = request?.query.get('jsonp');
  const isJsonp =
    callback !== null && callback !== undefined && /^[A-Za-z_$][\w$.]*$/.test(callback);
  const body = isJsonp ? `${callback}(${json});` : json;
  response.writeHead(status, {
    'content-type': isJsonp ? 'text/javascript' : 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

export function sendEmpty(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'content-length': 0 });
  response.end();
}
