// Requests from the UI to the master, which served it: same origin only (the
// master's Content-Security-Policy refuses anything else). Agents are reached
// through the master's /master/agents/<id>/… proxy.

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * The credential the person typed when the master asked for one (401): an Authorization
 * header kept for this tab only (sessionStorage), sent with every request. The master
 * serves the page itself without authentication, so the UI can ask in its own form.
 */
const AUTHORIZATION_KEY = 'agora.authorization';
let authorization: string | undefined = readStored();
let isCredentialNeeded = false;
const credentialListeners = new Set<() => void>();

function readStored(): string | undefined {
  try {
    return sessionStorage.getItem(AUTHORIZATION_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Headers with the credential, when there is one. */
export function withCredential(headers: Record<string, string>): Record<string, string> {
  return authorization === undefined ? headers : { ...headers, authorization };
}

/** Whether the master refused a request for want of (good) credentials. */
export function credentialNeeded(): boolean {
  return isCredentialNeeded;
}

/** Calls `listener` whenever credentialNeeded() may have changed; returns the unsubscribe. */
export function onCredentialChange(listener: () => void): () => void {
  credentialListeners.add(listener);
  return () => credentialListeners.delete(listener);
}

function setCredentialNeeded(isNeeded: boolean): void {
  if (isCredentialNeeded === isNeeded) return;
  isCredentialNeeded = isNeeded;
  for (const listener of credentialListeners) listener();
}

/** A 401 from the master: ask for credentials. */
export function unauthorized(): void {
  setCredentialNeeded(true);
}

/** Keeps the credential typed in the sign-in form and sends it from now on. */
export function signIn(principal: string, secret: string): void {
  const bytes = new TextEncoder().encode(`${principal}:${secret}`);
  authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  try {
    sessionStorage.setItem(AUTHORIZATION_KEY, authorization);
  } catch {
    // Private mode: the credential lasts until the page is closed.
  }
  setCredentialNeeded(false);
}

/** How long a page's request may take before it is given up (the next poll retries). */
const REQUEST_TIMEOUT_MS = 10_000;

async function check(response: Response, what: string): Promise<Response> {
  if (response.ok) return response;
  if (response.status === 401) unauthorized();
  const text = (await response.text().catch(() => '')).slice(0, 300);
  throw new RequestError(response.status, `${what}: ${response.status} ${text}`.trim());
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const response = await fetch(path, {
    headers: withCredential({ accept: 'application/json' }),
    signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
  });
  return (await (await check(response, path)).json()) as T;
}

/** POSTs a JSON call; resolves with the parsed answer, or undefined for an empty one. */
export async function postJson<T>(path: string, body: unknown): Promise<T | undefined> {
  const response = await fetch(path, {
    method: 'POST',
    headers: withCredential({ 'content-type': 'application/json', accept: 'application/json' }),
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await (await check(response, path)).text();
  return text === '' ? undefined : (JSON.parse(text) as T);
}

export const agentPath = (agentId: string, rest: string) =>
  `/master/agents/${encodeURIComponent(agentId)}/${rest}`;
