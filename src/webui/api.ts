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

/** How long a page's request may take before it is given up (the next poll retries). */
const REQUEST_TIMEOUT_MS = 10_000;

async function check(response: Response, what: string): Promise<Response> {
  if (response.ok) return response;
  const text = (await response.text().catch(() => '')).slice(0, 300);
  throw new RequestError(response.status, `${what}: ${response.status} ${text}`.trim());
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const response = await fetch(path, {
    headers: { accept: 'application/json' },
    signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
  });
  return (await (await check(response, path)).json()) as T;
}

/** POSTs a JSON call; resolves with the parsed answer, or undefined for an empty one. */
export async function postJson<T>(path: string, body: unknown): Promise<T | undefined> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await (await check(response, path)).text();
  return text === '' ? undefined : (JSON.parse(text) as T);
}

export const agentPath = (agentId: string, rest: string) =>
  `/master/agents/${encodeURIComponent(agentId)}/${rest}`;
