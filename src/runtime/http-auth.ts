// HTTP basic authentication as Mesos' `basic` HTTP authenticator does it (docs/authentication.md):
// each route belongs to a realm (read-only, read-write, the scheduler API, agent registration),
// a flag per realm says whether it needs credentials, and a caller without good ones gets 401
// with `WWW-Authenticate: Basic realm="…"`.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Credential } from './credentials.js';
import { HttpError } from './http-errors.js';

/**
 * Which realm a route is in. Every route of a daemon is classified in one table next to its
 * router (master/http/route-access.ts, agent/route-access.ts); HttpServer refuses to register a
 * route the table does not name, so a new route cannot slip in unauthenticated.
 * - `public`: never authenticated (health, version, the web UI's static files), as in Mesos.
 * - `readonly` / `readwrite`: --authenticate_http_readonly / --authenticate_http_readwrite.
 * - `framework`: the scheduler API, --authenticate_http_frameworks.
 * - `agent`: an agent registering with the master, --authenticate_agents.
 * - `executor`: the executor API, authenticated by the agent's executor token, not a password.
 */
export type RouteAccess = 'public' | 'readonly' | 'readwrite' | 'framework' | 'agent' | 'executor';

export const ROUTE_ACCESS_KINDS: readonly RouteAccess[] = [
  'public',
  'readonly',
  'readwrite',
  'framework',
  'agent',
  'executor',
];

/** Who made a request, once authenticated. */
export interface Principal {
  readonly value: string;
}

/**
 * The authentication hook every route passes through, with the realm of the route it
 * reached (`undefined` on a server without a route table). It returns the caller's
 * principal, `undefined` for an anonymous caller, or throws an AgoraError with code
 * UNAUTHENTICATED (401). The default lets everyone in anonymously.
 */
export type Authenticator = (
  request: IncomingMessage,
  access: RouteAccess | undefined,
) => Promise<Principal | undefined>;
export const allowAnonymous: Authenticator = async () => undefined;

/** Which realms need credentials; a realm left out does not. */
export type AuthenticationRequired = Readonly<Partial<Record<RouteAccess, boolean>>>;

/** A `Basic` Authorization header's principal and secret, or undefined when it is not one. */
export function parseBasicAuthorization(header: string | undefined): Credential | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { principal: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** The Authorization header value for a credential. */
export function basicAuthorization(credential: Credential): string {
  return `Basic ${Buffer.from(`${credential.principal}:${credential.secret}`).toString('base64')}`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Checks principal/secret pairs in constant time in the secret: secrets are compared as
 * SHA-256 digests (equal length, so timingSafeEqual applies), and an unknown principal is
 * compared against a dummy digest, so a wrong secret and an unknown principal take as long.
 */
export class CredentialStore {
  private readonly secrets = new Map<string, Buffer>();
  private readonly dummy = digest('agora: no such principal');

  constructor(credentials: readonly Credential[]) {
    for (const { principal, secret } of credentials) this.secrets.set(principal, digest(secret));
  }

  get size(): number {
    return this.secrets.size;
  }

  /** Whether `secret` is the principal's secret. */
  verify(principal: string, secret: string): boolean {
    const known = this.secrets.get(principal);
    const isEqual = timingSafeEqual(known ?? this.dummy, digest(secret));
    return known !== undefined && isEqual;
  }
}

export interface BasicAuthenticatorOptions {
  /** `mesos-master` or `mesos-agent`: the realm is `<prefix>-<realm>` as Mesos names it. */
  readonly realmPrefix: string;
  readonly credentials: CredentialStore;
  readonly required: AuthenticationRequired;
  /** Realms authenticated some other way (the executor API's tokens): passed to this. */
  readonly fallback?: Authenticator;
}

const REALM_NAMES: Readonly<Record<RouteAccess, string>> = {
  public: 'public',
  readonly: 'readonly',
  readwrite: 'readwrite',
  framework: 'scheduler',
  agent: 'agent',
  executor: 'executor',
};

/**
 * Basic authentication per realm. Where a realm needs credentials, a missing or wrong
 * Authorization header is a 401; where it does not, good credentials still name the caller
 * (for ACLs) and anything else is anonymous. A route with no realm counts as read-write:
 * an unclassified route fails closed.
 */
export function basicAuthenticator(options: BasicAuthenticatorOptions): Authenticator {
  return async (request, routeAccess) => {
    const access = routeAccess ?? 'readwrite';
    if (access === 'public') return undefined;
    if (access === 'executor' && options.fallback !== undefined)
      return options.fallback(request, access);
    const isRequired = options.required[access] === true;
    const given = parseBasicAuthorization(request.headers.authorization);
    if (given !== undefined && options.credentials.verify(given.principal, given.secret))
      return { value: given.principal };
    if (!isRequired) return undefined;
    const realm = `${options.realmPrefix}-${REALM_NAMES[access]}`;
    throw new HttpError(
      'UNAUTHENTICATED',
      given === undefined
        ? `Authentication required (realm ${realm})`
        : `Authentication failed: wrong principal or secret (realm ${realm})`,
      { 'www-authenticate': `Basic realm="${realm}"` },
    );
  };
}
