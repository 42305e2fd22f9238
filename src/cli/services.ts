// `agora services`: `serve` runs the services framework (Marathon's API and a
// DNS server); the other subcommands are its client (apply, list, show,
// scale, restart, delete, deployments), speaking the same REST API any
// Marathon tool speaks.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type AppFileDocument,
  parseAppFile,
  ServicesFramework,
  type ServicesStore,
} from '../frameworks/index.js';
import { PLACEMENT_POLICIES, type PlacementPolicy } from '../placement/index.js';
import { createLogger } from '../runtime/index.js';
import {
  durationFlag,
  numberFlag,
  type ParsedValues,
  STOP_WITH_PARENT_ENV,
  stringFlag,
  UsageError,
} from './command.js';
import { frameworkStateFrom } from './framework-state.js';
import { defaultMaster } from './run.js';

export const DEFAULT_SERVICES_PORT = 8080;
export const DEFAULT_DNS_PORT = 8053;
/** A week: the master keeps the framework's tasks that long while it is down. */
const DEFAULT_FAILOVER_TIMEOUT_MS = 7 * 24 * 3600_000;

export async function services(
  values: ParsedValues,
  positionals: readonly string[],
): Promise<number> {
  const [subcommand, ...rest] = positionals;
  switch (subcommand) {
    case 'serve':
      return serve(values);
    case 'apply':
      return apply(values);
    case 'list':
      return list(values);
    case 'show':
      return show(values, need(rest[0], 'the app id'));
    case 'scale':
      return scale(values, need(rest[0], 'the app id'), need(rest[1], 'the instance count'));
    case 'restart':
      return print(
        await call(values, 'POST', `/v2/apps${appPath(need(rest[0], 'the app id'))}/restart`),
      );
    case 'delete':
      return print(await call(values, 'DELETE', `/v2/apps${appPath(need(rest[0], 'the app id'))}`));
    case 'deployments':
      return deployments(values);
    default:
      throw new UsageError(
        subcommand === undefined
          ? 'missing the subcommand: serve, apply, list, show, scale, restart, delete or deployments'
          : `unknown subcommand '${subcommand}'`,
      );
  }
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`);
  return value;
}

function appPath(id: string): string {
  return id.startsWith('/') ? id : `/${id}`;
}

function servicesUrl(values: ParsedValues): string {
  const url =
    stringFlag(values, 'url') ?? process.env.AGORA_SERVICES ?? `127.0.0.1:${DEFAULT_SERVICES_PORT}`;
  return url.startsWith('http') ? url : `http://${url}`;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

async function call(
  values: ParsedValues,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const url = new URL(path, servicesUrl(values));
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {}),
    });
  } catch (error) {
    throw new UsageError(
      `cannot reach the services framework at ${url.origin} (${(error as Error).message}); set --url or AGORA_SERVICES`,
    );
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: shown as it is.
  }
  return { status: response.status, body: parsed };
}

function print(reply: Reply): number {
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body, null, 2);
  if (reply.status >= 400) {
    process.stderr.write(`agora services: HTTP ${reply.status}\n${text}\n`);
    return 1;
  }
  process.stdout.write(`${text}\n`);
  return 0;
}

async function apply(values: ParsedValues): Promise<number> {
  const file = need(stringFlag(values, 'file'), '-f <app.json|app.yaml>');
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const parsed = parseAppFile(file === '-' ? 'stdin' : file, text);
  if (parsed.kind === 'error') throw new UsageError(parsed.message);
  const force = values.force === true ? '?force=true' : '';
  let status = 0;
  // In file order: a later app may depend on an earlier one.
  for (const doc of parsed.documents) {
    // PUT creates or replaces: apply is idempotent.
    const reply =
      doc.kind === 'group'
        ? await call(values, 'PUT', `/v2/groups${appPath(doc.id)}${force}`, doc.value)
        : await call(
            values,
            'PUT',
            `/v2/apps${appPath(doc.id)}${force}${force === '' ? '?' : '&'}partialUpdate=false`,
            doc.value,
          );
    if (reply.status === 422) {
      process.stderr.write(invalidReport(file, doc, reply.body));
      status = 1;
      continue;
    }
    if (print(reply) !== 0) status = 1;
  }
  return status;
}

/** A 422's details, each pointed at its line in the file when the file is YAML. */
function invalidReport(file: string, doc: AppFileDocument, body: unknown): string {
  const { message, details } = (body ?? {}) as {
    message?: string;
    details?: { path?: string; errors?: string[] }[];
  };
  const lines = [`agora services: ${doc.id} in ${file}: ${message ?? 'invalid'}`];
  for (const detail of details ?? []) {
    const path = detail.path ?? '/';
    const line = doc.lineOf(path);
    const where = line === undefined ? file : `${file}:${line}`;
    for (const error of detail.errors ?? []) lines.push(`  ${where}: ${path}: ${error}`);
  }
  return `${lines.join('\n')}\n`;
}

interface AppRow {
  id: string;
  instances: number;
  tasksRunning: number;
  tasksHealthy: number;
  healthChecks: unknown[];
  deployments: unknown[];
  waiting?: string;
  cpus: number;
  mem: number;
}

async function list(values: ParsedValues): Promise<number> {
  const reply = await call(values, 'GET', '/v2/apps');
  if (reply.status !== 200 || values.json === true) return print(reply);
  const apps = (reply.body as { apps: AppRow[] }).apps;
  const rows = [['ID', 'INSTANCES', 'RUNNING', 'HEALTHY', 'CPUS', 'MEM', 'DEPLOYING']];
  for (const app of apps)
    rows.push([
      app.id,
      String(app.instances),
      String(app.tasksRunning),
      app.healthChecks.length > 0 ? String(app.tasksHealthy) : '-',
      String(app.cpus),
      String(app.mem),
      app.deployments.length > 0 ? 'yes' : '',
    ]);
  process.stdout.write(table(rows));
  return 0;
}

async function show(values: ParsedValues, id: string): Promise<number> {
  const reply = await call(values, 'GET', `/v2/apps${appPath(id)}?embed=app.tasks`);
  if (reply.status !== 200 || values.json === true) return print(reply);
  const app = (
    reply.body as {
      app: AppRow & {
        tasks: { id: string; host: string; ports: number[]; state: string; healthy: boolean }[];
      };
    }
  ).app;
  process.stdout.write(
    `${app.id}: ${app.tasksRunning}/${app.instances} running${app.healthChecks.length > 0 ? `, ${app.tasksHealthy} healthy` : ''}\n`,
  );
  if (app.waiting !== undefined) process.stdout.write(`waiting for offers: ${app.waiting}\n`);
  const rows = [['TASK', 'HOST', 'PORTS', 'STATE', 'HEALTHY']];
  for (const task of app.tasks)
    rows.push([task.id, task.host, task.ports.join(','), task.state, String(task.healthy)]);
  process.stdout.write(table(rows));
  return 0;
}

async function scale(values: ParsedValues, id: string, count: string): Promise<number> {
  if (!/^\d{1,5}$/.test(count))
    throw new UsageError(`the instance count must be a number, got '${count}'`);
  return print(await call(values, 'PATCH', `/v2/apps${appPath(id)}`, { instances: Number(count) }));
}

async function deployments(values: ParsedValues): Promise<number> {
  const reply = await call(values, 'GET', '/v2/deployments');
  if (reply.status !== 200 || values.json === true) return print(reply);
  const list = reply.body as {
    id: string;
    affectedApps: string[];
    currentActions: { action: string }[];
    progress: { healthy: number; target: number };
    stuck?: string;
    waiting?: string;
  }[];
  if (list.length === 0) {
    process.stdout.write('no deployments in progress\n');
    return 0;
  }
  const isTty = process.stdout.isTTY === true;
  for (const d of list) {
    const { healthy, target } = d.progress;
    const width = 20;
    const filled = target === 0 ? width : Math.round((healthy / target) * width);
    const bar = isTty ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    process.stdout.write(
      `${d.id}  ${d.affectedApps.join(',')}  ${d.currentActions[0]?.action ?? ''}  ${bar}${healthy}/${target} healthy${d.stuck !== undefined ? `  STUCK: ${d.stuck}` : ''}${d.waiting !== undefined ? `  (${d.waiting})` : ''}\n`,
    );
  }
  return 0;
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

async function storeFrom(
  values: ParsedValues,
): Promise<{ store: ServicesStore; close: () => Promise<void> }> {
  const workDir = stringFlag(values, 'work_dir') ?? './.agora';
  return frameworkStateFrom(
    stringFlag(values, 'state') ?? 'embedded',
    resolve(workDir, 'services'),
    'services',
  );
}

async function serve(values: ParsedValues): Promise<number> {
  const logger = createLogger('services', { level: stringFlag(values, 'log_level') ?? 'info' });
  const policy = (stringFlag(values, 'placement') ?? 'spread') as PlacementPolicy;
  if (!PLACEMENT_POLICIES.includes(policy))
    throw new UsageError(`--placement: expected ${PLACEMENT_POLICIES.join(', ')}, got '${policy}'`);
  const { store, close } = await storeFrom(values);
  const framework = new ServicesFramework({
    master: defaultMaster(values),
    host: stringFlag(values, 'ip') ?? '127.0.0.1',
    port: numberFlag(values, 'port', DEFAULT_SERVICES_PORT),
    dnsHost: stringFlag(values, 'dns_ip') ?? '127.0.0.1',
    dnsPort: values.no_dns === true ? -1 : numberFlag(values, 'dns_port', DEFAULT_DNS_PORT),
    domain: stringFlag(values, 'domain') ?? 'agora.directory',
    name: stringFlag(values, 'name') ?? 'services',
    role: stringFlag(values, 'role') ?? '*',
    policy,
    stuckAfterMs: durationFlag(values, 'deployment_stuck_timeout', 300_000),
    autoRollback: values.auto_rollback === true,
    failoverTimeoutMs: durationFlag(values, 'failover_timeout', DEFAULT_FAILOVER_TIMEOUT_MS),
    store,
    log: logger,
  });
  let started: { url: string; dnsPort: number };
  try {
    started = await framework.start();
  } catch (error) {
    logger.error({ reason: (error as Error).message }, 'services framework failed to start');
    process.stderr.write(`agora services: could not start: ${(error as Error).message}\n`);
    await framework.stop().catch(() => undefined);
    await close();
    return 1;
  }
  logger.info({ url: started.url, dns_port: started.dnsPort }, 'listening');
  const reason = await new Promise<string>((resolveReason) => {
    process.once('SIGINT', () => resolveReason('SIGINT'));
    process.once('SIGTERM', () => resolveReason('SIGTERM'));
    void framework.storeFailed.then(() => resolveReason('store failed'));
    // Under `agora up`: stop when it goes, even if it was SIGKILLed.
    if (process.env[STOP_WITH_PARENT_ENV] === '1') {
      process.stdin.once('close', () => resolveReason('parent gone'));
      process.stdin.resume();
    }
  });
  if (process.env[STOP_WITH_PARENT_ENV] === '1') process.stdin.destroy();
  logger.info({ reason }, 'stopping');
  await framework.stop();
  await close();
  // Not 0: `agora up` (or any supervisor) starts it again, from what the store holds.
  return reason === 'store failed' ? EXIT_STORE_FAILED : 0;
}

/** The exit status when the store failed, as the master's for a broken invariant. */
const EXIT_STORE_FAILED = 70;
