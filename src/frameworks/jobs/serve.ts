// The jobs framework as a daemon: the framework, its store and its REST server, logging one JSON
// line per event (pino's shape, so `agora up` shows it like the master's). A SIGKILL loses
// nothing: the store is written before anything is acted on. The caller builds the store (the
// shared framework store: embedded, ZooKeeper or etcd) and this closes it.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { JobsFramework } from './framework.js';
import { createJobsServer } from './http.js';
import type { JobsStore } from './store.js';

export interface ServeJobsOptions {
  readonly master: string;
  readonly ip: string;
  readonly port: number;
  readonly store: JobsStore;
  /** Where the framework's older log (`jobs.log`) may be, to import once. */
  readonly legacyDir?: string;
  readonly agingMs: number;
  readonly role?: string;
  readonly name?: string;
  /** Log each status update and acknowledgement too (`--log_level debug`). */
  readonly debug?: boolean;
}

/** How long stop() lets requests in flight finish before it cuts their connections. */
const STOP_ANSWERS_MS = 2000;

export interface JobsDaemon {
  readonly url: string;
  readonly framework: JobsFramework;
  /** Resolves when the framework's store failed: stop the daemon (see JobsFramework). */
  readonly storeFailed: Promise<Error>;
  stop(): Promise<void>;
}

export function jsonLog(msg: string, fields: Record<string, unknown> = {}): void {
  writeLine(30, msg, fields);
}

function writeLine(level: number, msg: string, fields: Record<string, unknown>): void {
  process.stdout.write(
    `${JSON.stringify({ level, time: Date.now(), pid: process.pid, component: 'jobs', msg, ...fields })}\n`,
  );
}

/** Subscribes, then serves the REST API; logs `listening` with the URL. */
export async function serveJobs(options: ServeJobsOptions): Promise<JobsDaemon> {
  const framework = new JobsFramework({
    master: options.master,
    store: options.store,
    ...(options.legacyDir !== undefined ? { legacyDir: options.legacyDir } : {}),
    agingMs: options.agingMs,
    log: jsonLog,
    ...(options.debug === true ? { debug: (msg, fields = {}) => writeLine(20, msg, fields) } : {}),
    ...(options.role !== undefined ? { role: options.role } : {}),
    ...(options.name !== undefined ? { name: options.name } : {}),
  });
  await framework.start();
  const server = createJobsServer(framework);
  server.listen(options.port, options.ip);
  try {
    await once(server, 'listening');
  } catch (error) {
    await framework.stop();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  jsonLog('listening', { url, framework_id: framework.id });
  return {
    url,
    framework,
    storeFailed: framework.storeFailed,
    async stop() {
      // Answers being written go out first (the 503 of the call whose write failed the
      // store), within a bound; idle keep-alive connections close at once.
      server.close();
      server.closeIdleConnections();
      const bound = new AbortController();
      await Promise.race([
        once(server, 'close'),
        delay(STOP_ANSWERS_MS, undefined, { signal: bound.signal }).catch(() => undefined),
      ]);
      bound.abort();
      server.closeAllConnections();
      await framework.stop();
    },
  };
}
