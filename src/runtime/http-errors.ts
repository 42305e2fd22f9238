import { AssertionError } from 'node:assert';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgoraError, clip, type ErrorCode, limits } from '../wire/index.js';
import type { Logger } from './logger.js';

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
 * before reading it: a 401 or 403 on the headers), the answer goes out at once with
 * `Connection: close`, and the connection closes when the body is in or REFUSED_LINGER_MS
 * later, whichever comes first: a lingering close. Closing at once would reset a client
 * still writing, often before it has read the answer; waiting for the whole body would let
 * a refused client hold the connection as long as it likes to trickle.
 */
export function sendError(res: ServerResponse, error: AgoraError, request?: IncomingMessage): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = `${clip(error.message, limits.MAX_ERROR_MESSAGE_LENGTH)}\n`;
  const isBodyPending =
    request !== undefined && !request.complete && !request.destroyed && !request.readableEnded;
  res.writeHead(statusOf(error.code), {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(isBodyPending ? { connection: 'close' } : {}),
    ...(error instanceof HttpError ? error.headers : {}),
  });
  if (!isBodyPending || request === undefined) {
    res.end(body);
    return;
  }
  res.write(body);
  const finish = () => {
    clearTimeout(timer);
    request.off('end', finish);
    request.off('close', finish);
    res.end();
  };
  const timer = setTimeout(() => {
    finish();
    request.socket?.destroy();
  }, REFUSED_LINGER_MS);
  timer.unref();
  request.once('end', finish);
  request.once('close', finish);
  request.resume();
}

/** How long a refused request's connection stays open for its client to read the answer. */
export const REFUSED_LINGER_MS = 2000;

export function isInvariantFailure(error: unknown): error is AssertionError {
  return error instanceof AssertionError;
}

/**
 * Logs what a request's handler (or the connection front's taker) threw that is not an
 * AgoraError: a broken invariant as fatal, anything else as an error. True for the former.
 */
export function logFailure(logger: Logger, error: unknown, path: string): error is AssertionError {
  if (isInvariantFailure(error)) {
    logger.fatal({ err: error, path }, 'invariant broken');
    return true;
  }
  logger.error({ err: error, path }, 'request failed');
  return false;
}
