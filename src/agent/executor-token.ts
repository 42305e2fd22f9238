// Executor authentication (docs/authentication.md, "Executor authentication"): with
// --executor_secret_key the agent gives each executor (and each task it runs itself) an
// HS256 JSON Web Token naming its container, in MESOS_EXECUTOR_AUTHENTICATION_TOKEN, with
// Mesos' claims: `cid` the container, `fid` the framework, `eid` the executor. The executor
// API then serves only calls bearing a token this agent signed for that very container, so
// another process on the host cannot pose as an executor. node:crypto only: no JWT library
// for a format this small, and no algorithm taken from the token (`alg: none` is refused).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ExecutorClaims {
  /** ContainerID value. */
  readonly cid: string;
  /** FrameworkID value. */
  readonly fid: string;
  /** ExecutorID value. */
  readonly eid: string;
}

/** The most a token may hold: three claims of bounded ids fit in far less. */
const MAX_TOKEN_CHARS = 4096;

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function base64url(text: string | Buffer): string {
  return Buffer.from(text).toString('base64url');
}

function sign(input: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(input).digest();
}

/** A token for `claims`, signed with `key`. */
export function signExecutorToken(claims: ExecutorClaims, key: Buffer): string {
  const payload = base64url(JSON.stringify({ cid: claims.cid, fid: claims.fid, eid: claims.eid }));
  const input = `${HEADER}.${payload}`;
  return `${input}.${sign(input, key).toString('base64url')}`;
}

export type TokenCheck =
  | { readonly kind: 'valid'; readonly claims: ExecutorClaims }
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Checks `token`'s form, algorithm (HS256 only) and signature against `key`, in constant
 * time for the signature, and returns its claims. Never throws.
 */
export function verifyExecutorToken(token: string, key: Buffer): TokenCheck {
  if (token.length > MAX_TOKEN_CHARS) return { kind: 'invalid', reason: 'token too long' };
  const parts = token.split('.');
  if (parts.length !== 3) return { kind: 'invalid', reason: 'not a JSON Web Token' };
  const [header = '', payload = '', signature = ''] = parts;
  let alg: unknown;
  let claims: Record<string, unknown>;
  try {
    alg = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown }).alg;
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return { kind: 'invalid', reason: 'not a JSON Web Token' };
  }
  if (alg !== 'HS256') return { kind: 'invalid', reason: `unsupported algorithm '${String(alg)}'` };
  const expected = sign(`${header}.${payload}`, key);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { kind: 'invalid', reason: 'bad signature' };
  const { cid, fid, eid } = claims ?? {};
  if (typeof cid !== 'string' || typeof fid !== 'string' || typeof eid !== 'string')
    return { kind: 'invalid', reason: "claims 'cid', 'fid' and 'eid' are required" };
  return { kind: 'valid', claims: { cid, fid, eid } };
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
