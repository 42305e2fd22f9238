// A small HTTP/1.1 client on node:http. DEPS.md names undici, but importing it
// costs ~70 ms here against ~5 ms for node:http, and `agora run` must start a
// task in under 75 ms from its own launch (#3); the SDK's needs (JSON calls and
// one long-lived RecordIO stream) are few.
import {
  Agent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';

/** Shared keep-alive pool for short calls; streams get their own sockets. */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Text (sent as UTF-8) or bytes (a protobuf body). */
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
}

/** Thrown when a server answers with something other than what was expected. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly url: string,
  ) {
    super(`${url} answered ${status}: ${body.trim() || '(no body)'}`);
    this.name = 'HttpStatusError';
  }
}

function send(url: URL, options: RequestOptions, isStream: boolean): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined)
      headers['content-length'] = String(Buffer.byteLength(options.body));
    const req = httpRequest(url, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      agent: isStream ? false : keepAlive,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(options.body);
  });
}

/** One request, whole body read. Never throws on a status; the caller decides. */
export async function request(
  url: URL | string,
  options: RequestOptions = {},
): Promise<HttpResult> {
  const response = await send(new URL(url), options, false);
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    body: Buffer.concat(chunks),
  };
}

/** POSTs JSON; throws HttpStatusError unless 2xx. */
export function postJson(
  url: URL | string,
  body: unknown,
  options: Omit<RequestOptions, 'body' | 'method'> = {},
): Promise<HttpResult> {
  return postBody(url, JSON.stringify(body), 'application/json', options);
}

/**
 * POSTs a body already encoded as `mediaType` (JSON or protobuf), asking for answers in
 * the same type; throws HttpStatusError unless 2xx.
 */
export async function postBody(
  url: URL | string,
  body: string | Uint8Array,
  mediaType: string,
  options: Omit<RequestOptions, 'body' | 'method'> = {},
): Promise<HttpResult> {
  const result = await request(url, {
    ...options,
    method: 'POST',
    body,
    headers: { 'content-type': mediaType, accept: mediaType, ...options.headers },
  });
  if (result.status < 200 || result.status >= 300)
    throw new HttpStatusError(result.status, result.body.toString('utf8'), String(url));
  return result;
}

/** GETs JSON; throws HttpStatusError unless 200. */
export async function getJson<T>(
  url: URL | string,
  options: Omit<RequestOptions, 'body'> = {},
): Promise<T> {
  const result = await request(url, { ...options, method: 'GET' });
  if (result.status !== 200)
    throw new HttpStatusError(result.status, result.body.toString('utf8'), String(url));
  return JSON.parse(result.body.toString('utf8')) as T;
}

/**
 * Opens a long-lived response (a RecordIO stream). The response is returned as
 * soon as its headers arrive; the caller reads the body and must destroy it.
 */
export function openStream(url: URL | string, options: RequestOptions): Promise<IncomingMessage> {
  return send(new URL(url), options, true);
}

/** `host:port`, `http://host:port` or `http://host:port/` as a base URL with no path. */
export function baseUrl(address: string): URL {
  const withScheme = /^[a-z]+:\/\//i.test(address) ? address : `http://${address}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:')
    throw new Error(`unsupported scheme in '${address}': only http is supported`);
  return new URL(`${url.protocol}//${url.host}`);
}
