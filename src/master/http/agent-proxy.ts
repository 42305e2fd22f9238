// A narrow proxy from the master to its agents, for the web UI (issue #14).
// Sandboxes (`/files/*`) and live container usage (`/monitor/statistics`) live
// on each agent's own port, but the UI is served by the master and its pages
// may only talk to the master's origin (its Content-Security-Policy says so):
// Mesos' UI reaches agents directly, which needs every agent reachable from the
// browser and CORS. Here the master forwards a fixed set of agent routes:
//
//   GET  /master/agents/<agent id>/files/{browse,read,download}?path=&offset=&length=
//   GET  /master/agents/<agent id>/monitor/statistics
//   GET  /master/agents/<agent id>/state                  (the agent's /slave(1)/state)
//   POST /master/agents/<agent id>/api/v1                 (GET_CONTAINERS, KILL_CONTAINER only)
//
// The agent must be known and connected; the query is rebuilt from validated
// parameters, never passed through; the agent's own checks (sandbox confinement)
// still apply. Sandbox browse and read go down the agent's own stream (a
// FILES_REQUEST it answers with a FILES_RESPONSE call, files-tunnel.ts), since
// an agent behind NAT cannot be reached on its port; the rest are forwarded to
// the agent's port. Killing a task's container is how the UI kills a task: Mesos has
// no operator KILL_TASK, and the agent's KILL_CONTAINER ends just that task, which
// the agent then reports as any other exit.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { HttpError, type HttpServer, type Request, readJsonBody } from '../../runtime/index.js';
import { clientTls, isTlsEnabled } from '../../sdk/index.js';
import { BadRequestError, quote } from '../../wire/index.js';
import type { MasterQueries } from '../api.js';
import type { AgentRecord } from '../core/records.js';
import type { TunnelResult } from '../files-tunnel.js';

/** Sends a sandbox request down the agent's own stream and waits for its answer. */
export type FilesRelay = (
  agent: AgentRecord,
  path: string,
  authorization: string | undefined,
  signal: AbortSignal,
) => Promise<TunnelResult>;

/** Linux's PATH_MAX: the longest sandbox path a request may name. */
const MAX_PATH_BYTES = 4096;
/** Agent ids are `<uuid>-S<n>`; anything much longer is not one. */
const MAX_AGENT_ID_BYTES = 256;
/** A KILL_CONTAINER or GET_CONTAINERS call is small. */
const MAX_CALL_BYTES = 64 * 1024;
/** How long the agent has to start answering. */
const AGENT_ANSWER_TIMEOUT_MS = 10_000;
const PROXIED_CALLS = new Set(['GET_CONTAINERS', 'KILL_CONTAINER']);

type Target =
  | { readonly kind: 'files'; readonly action: 'browse' | 'read' | 'download' }
  | { readonly kind: 'statistics' }
  | { readonly kind: 'state' }
  | { readonly kind: 'api' };

function targetOf(rest: string): Target | undefined {
  switch (rest) {
    case 'files/browse':
      return { kind: 'files', action: 'browse' };
    case 'files/read':
      return { kind: 'files', action: 'read' };
    case 'files/download':
      return { kind: 'files', action: 'download' };
    case 'monitor/statistics':
      return { kind: 'statistics' };
    case 'state':
      return { kind: 'state' };
    case 'api/v1':
      return { kind: 'api' };
    default:
      return undefined;
  }
}

/** An integer query parameter the agent takes (`offset`, `length`: -1 or more). */
function integerParam(query: URLSearchParams, name: string): string | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!/^(-1|\d{1,15})$/.test(raw))
    throw new BadRequestError(name, `expected -1 or a non-negative integer, got ${quote(raw)}`);
  return raw;
}

/** The agent-side path and query for a GET target. */
function agentPath(target: Exclude<Target, { kind: 'api' }>, query: URLSearchParams): string {
  switch (target.kind) {
    case 'statistics':
      return '/monitor/statistics';
    case 'state':
      return '/slave(1)/state';
    case 'files': {
      const path = query.get('path');
      if (path === null || path === '') throw new BadRequestError('path', 'is required');
      if (Buffer.byteLength(path) > MAX_PATH_BYTES)
        throw new BadRequestError('path', `longer than ${MAX_PATH_BYTES} bytes`);
      if (path.includes('\0')) throw new BadRequestError('path', 'contains a NUL byte');
      const forwarded = new URLSearchParams({ path });
      if (target.action === 'read')
        for (const name of ['offset', 'length']) {
          const value = integerParam(query, name);
          if (value !== undefined) forwarded.set(name, value);
        }
      return `/files/${target.action}?${forwarded.toString()}`;
    }
    default: {
      const never: never = target;
      throw new Error(`unknown target ${JSON.stringify(never)}`);
    }
  }
}

export function routeAgentProxy(http: HttpServer, master: MasterQueries, relay?: FilesRelay): void {
  const prefix = '/master/agents/';
  const handler = async (request: Request, response: ServerResponse) => {
    const rest = request.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    const agentIdValue = slash < 0 ? rest : rest.slice(0, slash);
    if (Buffer.byteLength(agentIdValue) > MAX_AGENT_ID_BYTES)
      throw new BadRequestError('agent_id', `longer than ${MAX_AGENT_ID_BYTES} bytes`);
    const target = slash < 0 ? undefined : targetOf(rest.slice(slash + 1));
    if (target === undefined)
      throw new HttpError(
        'NOT_FOUND',
        `no endpoint at ${request.path}: expected ${prefix}<agent id>/{files/browse,files/read,files/download,monitor/statistics,state,api/v1}`,
      );
    let agentId: string;
    try {
      agentId = decodeURIComponent(agentIdValue);
    } catch (error) {
      throw new BadRequestError('agent_id', 'is not valid percent-encoding', { cause: error });
    }
    const agent = master.books.agents.get(agentId);
    if (agent === undefined) throw new HttpError('NOT_FOUND', `no agent ${quote(agentId)}`);
    if (agent.link.state !== 'connected')
      throw new HttpError('UNAVAILABLE', `agent ${agent.id.value} is ${agent.link.state}`);
    const isPost = target.kind === 'api';
    if (isPost !== (request.method === 'POST'))
      throw new HttpError(
        'METHOD_NOT_ALLOWED',
        `expecting '${isPost ? 'POST' : 'GET'}', but received '${request.method}'`,
        { allow: isPost ? 'POST' : 'GET' },
      );
    let body: string | undefined;
    let path: string;
    if (target.kind === 'api') {
      const call = await readJsonBody(request, MAX_CALL_BYTES);
      const type =
        typeof call === 'object' && call !== null ? (call as { type?: unknown }).type : undefined;
      if (typeof type !== 'string' || !PROXIED_CALLS.has(type))
        throw new BadRequestError(
          'type',
          `the master forwards only ${[...PROXIED_CALLS].join(' and ')} to agents`,
        );
      body = JSON.stringify(call);
      path = '/slave(1)/api/v1';
    } else path = agentPath(target, request.query);
    // The caller's own credential goes on: an agent that authenticates its endpoints judges
    // the caller, not the master.
    const authorization = request.headers.authorization;
    const isRelayed =
      relay !== undefined &&
      target.kind === 'files' &&
      (target.action === 'read' || target.action === 'browse');
    if (isRelayed) {
      const result = await relay(agent, path, authorization, request.signal);
      switch (result.kind) {
        case 'answered': {
          const { status, content_type, body: text } = result.response;
          response.writeHead(status, {
            'cache-control': 'no-store',
            'content-type': content_type ?? 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          response.end(text);
          return;
        }
        case 'busy':
          throw new HttpError('UNAVAILABLE', result.message);
        case 'failed':
          throw new HttpError('UNAVAILABLE', `agent ${agent.id.value}: ${result.message}`);
        default: {
          const never: never = result;
          throw new Error(`unknown relay result ${JSON.stringify(never)}`);
        }
      }
    }
    const answer = await forward(
      agent.ip,
      agent.info.port ?? 5051,
      path,
      body,
      request.signal,
      authorization,
    );
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    for (const name of ['content-type', 'content-length', 'content-disposition'])
      if (typeof answer.headers[name] === 'string') headers[name] = answer.headers[name];
    response.writeHead(answer.statusCode ?? 502, headers);
    await pipeline(answer, response).catch(() => response.destroy());
  };
  http.routePrefix(['GET', 'POST'], '/master/agents/', handler);
}

/** One request to the agent; resolves once its status line is in. */
function forward(
  host: string,
  port: number,
  path: string,
  body: string | undefined,
  signal: AbortSignal,
  authorization: string | undefined,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const timeout = AbortSignal.timeout(AGENT_ANSWER_TIMEOUT_MS);
    // TLS is the cluster's setting (LIBPROCESS_SSL_ENABLED): agents speak it when the master does.
    const isTls = isTlsEnabled();
    const outgoing = (isTls ? httpsRequest : httpRequest)(
      {
        ...(isTls ? clientTls() : {}),
        host,
        port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          accept: 'application/json',
          ...(authorization === undefined ? {} : { authorization }),
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
        signal,
      },
      (incoming) => {
        timeout.removeEventListener('abort', onTimeout);
        resolve(incoming);
      },
    );
    const onTimeout = () =>
      outgoing.destroy(new Error(`no answer within ${AGENT_ANSWER_TIMEOUT_MS} ms`));
    timeout.addEventListener('abort', onTimeout, { once: true });
    outgoing.once('error', (error) => {
      timeout.removeEventListener('abort', onTimeout);
      reject(
        new HttpError(
          'UNAVAILABLE',
          `agent at ${host}:${port} did not answer: ${error.message}`,
          {},
          {
            cause: error,
          },
        ),
      );
    });
    outgoing.end(body);
  });
}
