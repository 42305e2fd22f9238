// What a master that does not lead serves (WIRE §1.8, §8): API calls and most
// endpoints answer 307 to the leader (503 while none is elected); /health,
// /metrics/snapshot, /version, /master/flags and /master/state answer here,
// the state saying who leads.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { masterHostPort } from '../coordination/index.js';
import {
  LISTEN_BACKLOG,
  type Logger,
  plainServerTimeouts,
  type ServerTls,
  tlsServerOptions,
} from '../runtime/index.js';
import type { MasterInfo } from '../wire/index.js';
import { versionInfo } from './http/render.js';

export interface StandbyOptions {
  readonly logger: Logger;
  readonly flags: Readonly<Record<string, string>>;
  readonly startTimeSec: number;
  /** Given, the standby speaks only HTTPS, as the leader does. */
  readonly tls?: ServerTls;
}

const LOCAL_PATHS = new Set(['/health', '/metrics/snapshot', '/version', '/flags']);
const STATE_PATHS = new Set(['/state', '/state.json']);

/** The HTTP face of a standby master; closed when it is elected (the Master takes the port). */
export class StandbyServer {
  private readonly server: Server | TlsServer;
  private self: MasterInfo | undefined;
  leader: MasterInfo | undefined;

  constructor(private readonly options: StandbyOptions) {
    const onRequest = (request: IncomingMessage, response: ServerResponse) =>
      this.answer(request, response);
    this.server =
      options.tls === undefined
        ? createServer(plainServerTimeouts(), onRequest)
        : createTlsServer(
            { ...plainServerTimeouts(), ...tlsServerOptions(options.tls) },
            onRequest,
          );
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    this.server.listen({ port, host, backlog: LISTEN_BACKLOG });
    await new Promise<void>((resolve, reject) => {
      this.server.once('listening', resolve);
      this.server.once('error', reject);
    });
    return this.server.address() as AddressInfo;
  }

  /** This master's own info, once it is known (after listen). */
  setSelf(info: MasterInfo): void {
    this.self = info;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise((resolve) => this.server.once('close', resolve));
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    request.resume();
    const reply = this.reply(
      request.method ?? 'GET',
      new URL(request.url ?? '/', 'http://standby'),
    );
    switch (reply.kind) {
      case 'json':
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(reply.body));
        break;
      case 'text':
        response.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(reply.body);
        break;
      case 'redirect':
        response.writeHead(307, { location: reply.location });
        response.end();
        break;
    }
  }

  private reply(method: string, url: URL): Reply {
    // Every path is taken with and without the /master prefix, as the master delegates.
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const local = path.startsWith('/master/') ? path.slice('/master'.length) : path;
    if (method === 'GET' && local === '/health') return { kind: 'text', status: 200, body: '' };
    if (method === 'GET' && local === '/metrics/snapshot')
      return { kind: 'json', body: this.metrics() };
    if (method === 'GET' && local === '/version') return { kind: 'json', body: versionInfo() };
    if (method === 'GET' && local === '/flags')
      return { kind: 'json', body: { flags: this.options.flags } };
    if (method === 'GET' && STATE_PATHS.has(local)) return { kind: 'json', body: this.state() };
    if (LOCAL_PATHS.has(local))
      return { kind: 'text', status: 405, body: `${method} is not allowed` };
    const leader = this.leader;
    if (leader === undefined) return { kind: 'text', status: 503, body: 'No leader elected' };
    if (local === '/redirect') return { kind: 'redirect', location: `//${masterHostPort(leader)}` };
    const delegated =
      path.startsWith('/master/') || path.startsWith('/files/') ? path : `/master${path}`;
    return { kind: 'redirect', location: `//${masterHostPort(leader)}${delegated}${url.search}` };
  }

  private metrics(): Record<string, number> {
    return {
      'master/elected': 0,
      'master/uptime_secs': Date.now() / 1000 - this.options.startTimeSec,
    };
  }

  private state(): Record<string, unknown> {
    const self = this.self;
    const leader = this.leader;
    return {
      ...versionInfo(),
      start_time: this.options.startTimeSec,
      id: self?.id,
      pid: self?.pid,
      hostname: self?.hostname,
      capabilities: (self?.capabilities ?? []).map((c) => c.type),
      activated_slaves: 0,
      deactivated_slaves: 0,
      unreachable_slaves: 0,
      ...(leader !== undefined
        ? {
            leader: leader.pid,
            leader_info: {
              id: leader.id,
              pid: leader.pid,
              port: leader.port,
              hostname: leader.hostname,
              ...(leader.domain !== undefined ? { domain: leader.domain } : {}),
            },
          }
        : {}),
      flags: this.options.flags,
      slaves: [],
      recovered_slaves: [],
      frameworks: [],
      completed_frameworks: [],
      orphan_tasks: [],
      unregistered_frameworks: [],
    };
  }
}

type Reply =
  | { readonly kind: 'json'; readonly body: unknown }
  | { readonly kind: 'text'; readonly status: number; readonly body: string }
  | { readonly kind: 'redirect'; readonly location: string };
