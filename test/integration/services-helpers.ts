// The services framework as integration tests drive it: started as a real
// daemon (`agora services serve`) against a real cluster, spoken to over its
// Marathon API and its DNS port.
import { Resolver } from 'node:dns/promises';
import { freePort } from '../coordination/servers.js';
import { type Daemon, startDaemon, waitFor } from './harness.js';

export interface ServicesDaemon {
  readonly daemon: Daemon;
  readonly url: string;
  readonly dnsPort: number;
}

export async function startServices(
  masterUrl: string,
  workDir: string,
  extra: readonly string[] = [],
  dnsPort?: number,
): Promise<ServicesDaemon> {
  const port = dnsPort ?? (await freePort());
  const daemon = await startDaemon('services', [
    'services',
    'serve',
    '--master',
    masterUrl,
    '--port',
    '0',
    '--dns_port',
    String(port),
    '--work_dir',
    workDir,
    ...extra,
  ]);
  return { daemon, url: daemon.url, dnsPort: port };
}

export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: replies are read field by field in tests
): Promise<{ status: number; body: any }> {
  const response = await fetch(new URL(path, base), {
    method,
    ...(body !== undefined
      ? {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }
      : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain text (ping, metrics).
  }
  return { status: response.status, body: parsed };
}

export interface TaskView {
  id: string;
  host: string;
  ports: number[];
  state: string;
  healthy: boolean;
  slaveId: string;
  version: string;
}

export async function tasksOf(base: string, appId: string): Promise<TaskView[]> {
  const reply = await api(base, 'GET', `/v2/apps${appId}/tasks`);
  if (reply.status !== 200) throw new Error(`tasks of ${appId}: HTTP ${reply.status}`);
  return reply.body.tasks as TaskView[];
}

/** Waits until the app has exactly `count` instances, all healthy; returns them. */
export function healthyTasks(
  base: string,
  appId: string,
  count: number,
  timeoutMs = 60_000,
  accept: (tasks: TaskView[]) => boolean = () => true,
): Promise<TaskView[]> {
  return waitFor(
    `${count} healthy instances of ${appId}`,
    async () => {
      const tasks = await tasksOf(base, appId);
      return tasks.length === count && tasks.every((t) => t.healthy) && accept(tasks)
        ? tasks
        : undefined;
    },
    timeoutMs,
  );
}

export function resolverAt(port: number): Resolver {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver;
}

/** The targets the SRV name lists (each names its instance); [] for NXDOMAIN. */
export async function srvTargets(resolver: Resolver, name: string): Promise<string[]> {
  try {
    return (await resolver.resolveSrv(name)).map((r) => r.name).sort();
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOTFOUND') return [];
    throw error;
  }
}

/** The ports the SRV name lists, sorted; [] for NXDOMAIN. */
export async function srvPorts(resolver: Resolver, name: string): Promise<number[]> {
  try {
    return (await resolver.resolveSrv(name)).map((r) => r.port).sort((a, b) => a - b);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOTFOUND') return [];
    throw error;
  }
}

/** A tiny HTTP server for apps: `/` answers 200 (or 500 with FAIL set), `/pid` its pid. */
export function httpServerCmd(tag: string, healthStatus = 200): string {
  const script = `require('http').createServer((q,s)=>{s.statusCode=q.url==='/pid'?200:${healthStatus};s.end(q.url==='/pid'?String(process.pid):'${tag}')}).listen(process.env.PORT0,'127.0.0.1')`;
  return `exec ${process.execPath} -e "${script}"`;
}
