import { AssertionError } from 'node:assert';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
 *
 * When `request` is still sending a body that will not be read (a 413, or an error found
 * before reading it), the answer goes out at once but the response ends only when the body
 * is in: ending it first lets Node close a `Connection: close` socket under a client still
 * writing, which then sees a reset instead of the answer. The rest of the body is dropped
 * as it arrives; Node's requestTimeout bounds a body that never ends.
 */
export function sendError(res: ServerResponse, error: AgoraError, request?: IncomingMessage): void {
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
  if (request === undefined || request.complete || request.destroyed || request.readableEnded) {
    res.end(body);
    return;
  }
  res.write(body);
  const finish = () => {
    request.off('end', finish);
    request.off('close', finish);
    res.end();
  };
  request.once('end', finish);
  request.once('close', finish);
  request.resume();
}

export function isInvariantFailure(error: unknown): error is AssertionError {
  return error instanceof AssertionError;
}
