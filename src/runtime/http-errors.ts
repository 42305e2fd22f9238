import { AssertionError } from 'node:assert';
import type { ServerResponse } from 'node:http';
import { AgoraError, clip, type ErrorCode, limits } from '../wire/index.js';

// The only place that knows which status each error code gets (STYLE.md, "Errors").
const STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_IMPLEMENTED: 501,
  NOT_LEADER: 307,
  UNAVAILABLE: 503,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

/** Extra headers an error needs: Allow for 405, Location for 307, the realm for 401. */
export class HttpError extends AgoraError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/**
 * Writes an error as Mesos does: the status and a plain-text message. The message is cut
 * to MAX_ERROR_MESSAGE_LENGTH: messages quote input, and none may echo a huge field back.
 */
export function sendError(res: ServerResponse, error: AgoraError): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = `${clip(error.message, limits.MAX_ERROR_MESSAGE_LENGTH)}\n`;
  res.writeHead(statusOf(error.code), {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(error instanceof HttpError ? error.headers : {}),
  });
  res.end(body);
}

export function isInvariantFailure(error: unknown): error is AssertionError {
  return error instanceof AssertionError;
}
