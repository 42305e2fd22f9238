// The services API's HTTP plumbing: errors carried as exceptions, JSON answers, and request
// bodies read bounded (size, then depth) before anything looks at them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalid, jsonDepth, LIMITS, type ValidationFailure } from './app-definition.js';

/** A request body larger than this is refused with 413 before it is parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export const unprocessable = (failure: ValidationFailure) => new HttpError(422, failure);
export const badRequest = (message: string) => new HttpError(400, { message });

export type Answer = { status: number; body: unknown } | 'streaming';

export const ok = (body: unknown) => ({ status: 200, body });

export function text(res: ServerResponse, body: string): Answer {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
  return 'streaming';
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (status === 204) {
    res.writeHead(204);
    res.end();
    return;
  }
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length });
  res.end(bytes);
}

/** The body as JSON: at most MAX_BODY_BYTES (413), valid JSON (400), nested at most LIMITS.jsonDepth (422). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw new HttpError(413, { message: `the body is larger than ${MAX_BODY_BYTES} bytes` });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, { message: `the body is larger than ${MAX_BODY_BYTES} bytes` });
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw badRequest(`Invalid JSON: ${(error as Error).message}`);
  }
  if (jsonDepth(value) > LIMITS.jsonDepth)
    throw unprocessable(invalid('/', `nested deeper than ${LIMITS.jsonDepth} levels`));
  return value;
}
