/**
 * Stable error codes that callers branch on; exactly one table (in src/http)
 * maps them to HTTP statuses. See STYLE.md, "Errors".
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'NOT_LEADER'
  | 'UNAVAILABLE'
  | 'CONFLICT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_ACCEPTABLE'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_IMPLEMENTED';

export class AgoraError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input: `field` is the dotted path of the offending field ('' for the whole body). */
export class BadRequestError extends AgoraError {
  constructor(
    readonly field: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super('BAD_REQUEST', field === '' ? reason : `${field}: ${reason}`, options);
  }
}
