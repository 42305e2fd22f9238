// Marathon's REST API over node:http (docs/docs/rest-api.md): /v2/apps,
// /v2/tasks, /v2/deployments, /v2/groups, /v2/queue, /v2/info, /v2/leader,
// /v2/events, /ping, /metrics. Every body is bounded (size, depth, counts) and
// checked in full before anything changes; a bad one gets 4xx with the field.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AppDefinition,
  appIdError,
  invalid,
  normalizeAppId,
  parseApp,
} from './app-definition.js';
import type { CommandResult, ServiceCore } from './core.js';
import type { EventHub } from './event-hub.js';
import { dependencyCycle, parseAppList, parseGroup } from './groups.js';
import {
  type Answer,
  badRequest,
  HttpError,
  ok,
  readJson,
  send,
  text,
  unprocessable,
} from './http-io.js';
import { appView, deploymentView, groupView, queueView, taskView } from './views.js';

/** Task ids in one POST /v2/tasks/delete. */
const MAX_TASK_IDS = 10_000;

export interface ApiHost {
  readonly core: ServiceCore;
  readonly events: EventHub;
  nowMs(): number;
  /** Persists what a command changed and acts on it (kills, revives) before the answer goes out. */
  commit(): Promise<void>;
  info(): Record<string, unknown>;
  metrics(): string;
}

export async function handleApi(
  host: ApiHost,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://services');
    if (url.pathname.length > 1024) throw badRequest('the path is too long');
    const method = req.method ?? 'GET';
    const answer = await route(host, method, url, req, res);
    if (answer === 'streaming') return;
    send(res, answer.status, answer.body);
  } catch (error) {
    if (error instanceof HttpError) send(res, error.status, error.body);
    else send(res, 500, { message: (error as Error).message });
  }
}

async function route(
  host: ApiHost,
  method: string,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Answer> {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const core = host.core;
  const force = url.searchParams.get('force') === 'true';
  if (path === '/ping') return text(res, 'pong');
  if (path === '/metrics') return text(res, host.metrics());
  if (path === '/v2/info' && method === 'GET') return ok(host.info());
  if (path === '/v2/leader' && method === 'GET') return ok({ leader: host.info().leader });
  if (path === '/v2/events' && method === 'GET') {
    host.events.subscribe(req, res, url.searchParams.getAll('event_type'));
    return 'streaming';
  }
  if (path === '/v2/queue' && method === 'GET') return ok(queueView(core, host.nowMs()));
  const delayOf = /^\/v2\/queue\/(.+)\/delay$/.exec(path);
  if (delayOf !== null && method === 'DELETE') {
    const appId = normalizeAppId(delayOf[1] ?? '');
    if (!core.resetDelay(appId))
      throw new HttpError(404, { message: `App '${appId}' does not exist` });
    await host.commit();
    return { status: 204, body: undefined };
  }
  if (path === '/v2/deployments' && method === 'GET')
    return ok([...core.deployments.values()].map((d) => deploymentView(core, d)));
  if (path.startsWith('/v2/deployments/') && method === 'DELETE') {
    const result = core.cancelDeployment(
      path.slice('/v2/deployments/'.length),
      force,
      host.nowMs(),
    );
    await host.commit();
    return force && result.ok ? { status: 202, body: {} } : commandAnswer(result, 200);
  }
  if (path === '/v2/tasks' && method === 'GET') {
    // Marathon's ?status=running|staging|killing…: only the tasks shown in those states.
    const states = new Set(url.searchParams.getAll('status').map((s) => `TASK_${s.toUpperCase()}`));
    const tasks = [...core.instances.values()].map(taskView);
    return ok({ tasks: tasks.filter((t) => states.size === 0 || states.has(String(t.state))) });
  }
  if (path === '/v2/tasks/delete' && method === 'POST') {
    const body = await readJson(req);
    const ids =
      typeof body === 'object' && body !== null ? (body as { ids?: unknown }).ids : undefined;
    if (
      !Array.isArray(ids) ||
      ids.length > MAX_TASK_IDS ||
      !ids.every((id) => typeof id === 'string' && id.length <= 512)
    )
      throw unprocessable(invalid('/ids', `a list of at most ${MAX_TASK_IDS} task ids`));
    const killed = core.killInstances(
      ids as string[],
      url.searchParams.get('scale') === 'true',
      host.nowMs(),
    );
    await host.commit();
    return ok({ tasks: killed.map(taskView) });
  }
  if (path === '/v2/groups' || path.startsWith('/v2/groups/')) {
    const id = normalizeAppId(path.slice('/v2/groups'.length) || '/');
    if (method === 'GET') {
      const group = groupView(core, id);
      if (group === undefined)
        throw new HttpError(404, { message: `Group '${id}' does not exist` });
      return ok(group);
    }
    return groupRoute(host, method, path === '/v2/groups' ? undefined : id, req, force);
  }
  if (path === '/v2/apps') {
    if (method === 'GET') {
      const embed = url.searchParams
        .getAll('embed')
        .some((e) => e === 'apps.tasks' || e === 'app.tasks');
      const filter = url.searchParams.get('id');
      const apps = [...core.apps.values()].filter(
        (a) => filter === null || a.def.id.includes(filter),
      );
      return ok({ apps: apps.map((a) => appView(core, a, embed)) });
    }
    if (method === 'POST') {
      const parsed = parseApp(await readJson(req));
      if (!parsed.ok) throw unprocessable(parsed.failure);
      if (core.apps.has(parsed.value.id))
        throw new HttpError(409, {
          message: `An app with id [${parsed.value.id}] already exists.`,
        });
      checkDependencies(core, parsed.value);
      const result = core.putApp(parsed.value, host.nowMs(), force);
      await host.commit();
      if (!result.ok) return commandAnswer(result, 201);
      host.events.publish({
        eventType: 'api_post_event',
        timestamp: new Date(host.nowMs()).toISOString(),
        uri: '/v2/apps',
        appDefinition: parsed.value,
      });
      const app = core.apps.get(parsed.value.id);
      return { status: 201, body: app === undefined ? {} : appView(core, app, false) };
    }
    if (method === 'PUT' || method === 'PATCH') {
      // Marathon's bulk update: several apps changed (or created) at once, all checked first.
      const isPartial = method === 'PATCH' || url.searchParams.get('partialUpdate') !== 'false';
      const parsed = parseAppList(
        await readJson(req),
        (appId) => core.apps.get(appId)?.def,
        isPartial,
      );
      if (!parsed.ok) throw unprocessable(parsed.failure);
      for (const [k, def] of parsed.value.entries())
        for (const [i, dependency] of def.dependencies.entries())
          if (dependency === def.id)
            throw unprocessable(
              invalid(`/(${k})/dependencies(${i})`, 'an app cannot depend on itself'),
            );
      return applyChanges(host, parsed.value, [], force, 200);
    }
    throw new HttpError(405, { message: `${method} is not allowed on /v2/apps` });
  }
  if (path.startsWith('/v2/apps/'))
    return appRoute(host, method, path.slice('/v2/apps'.length), url, req, force);
  throw new HttpError(404, { message: `no route ${method} ${path}` });
}

/** One task of an app (GET, DELETE with ?scale=) or one of its kept versions (GET). */
async function oneOfApp(
  host: ApiHost,
  method: string,
  idPart: string,
  kind: 'tasks' | 'versions',
  name: string,
  url: URL,
): Promise<Answer> {
  const core = host.core;
  const appId = normalizeAppId(idPart);
  const idError = appIdError(appId);
  if (idError !== undefined) throw unprocessable(invalid('/id', idError));
  const app = core.apps.get(appId);
  if (app === undefined) throw new HttpError(404, { message: `App '${appId}' does not exist` });
  if (kind === 'versions') {
    if (method !== 'GET')
      throw new HttpError(405, { message: `${method} is not allowed on a version` });
    const kept = [
      { def: app.def, version: app.version },
      ...(app.previous !== undefined ? [app.previous] : []),
    ].find((v) => v.version === name);
    if (kept === undefined)
      throw new HttpError(404, { message: `App '${appId}' has no version '${name}'` });
    return ok({ ...kept.def, version: kept.version });
  }
  const instance = core.instancesOf(appId).find((i) => i.id === name);
  if (instance === undefined)
    throw new HttpError(404, { message: `Task '${name}' of app '${appId}' does not exist` });
  if (method === 'GET') return ok({ task: taskView(instance) });
  if (method !== 'DELETE')
    throw new HttpError(405, { message: `${method} is not allowed on a task` });
  const [killed] = core.killInstances(
    [name],
    url.searchParams.get('scale') === 'true',
    host.nowMs(),
  );
  await host.commit();
  return ok({ task: taskView(killed ?? instance) });
}

async function appRoute(
  host: ApiHost,
  method: string,
  rest: string,
  url: URL,
  req: IncomingMessage,
  force: boolean,
): Promise<Answer> {
  const core = host.core;
  let suffix: 'restart' | 'tasks' | 'versions' | undefined;
  let idPart = rest;
  // Marathon's /v2/apps/{appId}/tasks/{taskId} and /v2/apps/{appId}/versions/{version}: the
  // last segment names one task or one version (so no app can be called …/tasks/x).
  const one = /^(.+)\/(tasks|versions)\/([^/]+)$/.exec(rest);
  if (one !== null)
    return oneOfApp(host, method, one[1] ?? '', one[2] as 'tasks' | 'versions', one[3] ?? '', url);
  for (const candidate of ['restart', 'tasks', 'versions'] as const)
    if (rest.endsWith(`/${candidate}`)) {
      suffix = candidate;
      idPart = rest.slice(0, -candidate.length - 1);
    }
  const appId = normalizeAppId(idPart);
  const idError = appIdError(appId);
  if (idError !== undefined) throw unprocessable(invalid('/id', idError));
  const app = core.apps.get(appId);
  const missing = () => new HttpError(404, { message: `App '${appId}' does not exist` });
  if (suffix === 'restart') {
    if (method !== 'POST') throw new HttpError(405, { message: 'POST to restart' });
    const result = core.restartApp(appId, host.nowMs(), force);
    await host.commit();
    return commandAnswer(result, 200);
  }
  if (suffix === 'tasks') {
    if (app === undefined) throw missing();
    if (method === 'GET') return ok({ tasks: core.instancesOf(appId).map(taskView) });
    if (method === 'DELETE') {
      // Marathon's ?host= kills only the tasks on that agent (draining one node), not all.
      const onHost = url.searchParams.get('host');
      const ids = core
        .instancesOf(appId)
        .filter((i) => onHost === null || i.hostname === onHost)
        .map((i) => i.id);
      const killed = core.killInstances(
        ids,
        url.searchParams.get('scale') === 'true',
        host.nowMs(),
      );
      await host.commit();
      return ok({ tasks: killed.map(taskView) });
    }
    throw new HttpError(405, { message: `${method} is not allowed on tasks` });
  }
  if (suffix === 'versions') {
    if (app === undefined) throw missing();
    return ok({
      versions: [app.version, ...(app.previous !== undefined ? [app.previous.version] : [])],
    });
  }
  switch (method) {
    case 'GET': {
      if (app === undefined) throw missing();
      const embed = url.searchParams.getAll('embed').some((e) => e.endsWith('tasks'));
      return ok({ app: appView(core, app, embed) });
    }
    case 'PUT':
    case 'PATCH': {
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw unprocessable(invalid('/', 'an app definition is a JSON object'));
      // PATCH, and PUT by default (Marathon's partialUpdate=true), change only the fields sent.
      const isPartial = method === 'PATCH' || url.searchParams.get('partialUpdate') !== 'false';
      const base =
        isPartial && app !== undefined ? (app.def as unknown as Record<string, unknown>) : {};
      const parsed = parseApp({ ...base, ...(body as Record<string, unknown>) }, appId);
      if (!parsed.ok) throw unprocessable(parsed.failure);
      checkDependencies(core, parsed.value);
      const result = core.putApp(parsed.value, host.nowMs(), force);
      await host.commit();
      return commandAnswer(result, app === undefined ? 201 : 200);
    }
    case 'DELETE': {
      const result = core.deleteApp(appId, host.nowMs());
      await host.commit();
      return commandAnswer(result, 200);
    }
    default:
      throw new HttpError(405, { message: `${method} is not allowed on an app` });
  }
}

/**
 * POST /v2/groups creates a group's apps (409 if any is there); PUT
 * /v2/groups[/<id>] makes the group hold exactly the body's apps: new ones
 * start, changed ones deploy, unchanged ones stay, those left out stop;
 * DELETE /v2/groups/<id> stops all its apps. Everything is checked (422, 409)
 * before anything changes.
 */
async function groupRoute(
  host: ApiHost,
  method: string,
  idFromUrl: string | undefined,
  req: IncomingMessage,
  force: boolean,
): Promise<Answer> {
  const core = host.core;
  const nowMs = host.nowMs();
  if (method === 'DELETE') {
    if (idFromUrl === undefined || idFromUrl === '/')
      throw badRequest('name the group to delete: DELETE /v2/groups/<id>');
    const doomed = appsUnder(core, idFromUrl);
    if (doomed.length === 0)
      throw new HttpError(404, { message: `Group '${idFromUrl}' does not exist` });
    const results = doomed.map((appId) => core.deleteApp(appId, nowMs));
    await host.commit();
    return groupAnswer(results, 200);
  }
  if (method !== 'PUT' && method !== 'POST')
    throw new HttpError(405, { message: `${method} is not allowed on a group` });
  const parsed = parseGroup(await readJson(req), idFromUrl);
  if (!parsed.ok) throw unprocessable(parsed.failure);
  const plan = parsed.value;
  const existing = appsUnder(core, plan.id);
  if (method === 'POST' && existing.length > 0)
    throw new HttpError(409, {
      message: `Group ${plan.id} is already created. Use PUT to change this group.`,
    });
  const wanted = new Set(plan.apps.map((a) => a.id));
  const doomed = existing.filter((id) => !wanted.has(id));
  return applyChanges(host, plan.apps, doomed, force, method === 'POST' ? 201 : 200);
}

/**
 * Puts `apps` (those that differ from what runs) and deletes `doomed`, after
 * checking, before anything changes, that no dependency cycle results and that
 * no deployment holds an app touched (409 unless `force`).
 */
async function applyChanges(
  host: ApiHost,
  apps: readonly AppDefinition[],
  doomed: readonly string[],
  force: boolean,
  status: number,
): Promise<Answer> {
  const core = host.core;
  const nowMs = host.nowMs();
  const wanted = new Set(apps.map((a) => a.id));
  const changed = apps.filter((def) => {
    const app = core.apps.get(def.id);
    return app === undefined || app.isDeleting || JSON.stringify(app.def) !== JSON.stringify(def);
  });
  const graph = new Map<string, readonly string[]>();
  for (const app of core.apps.values())
    if (!wanted.has(app.def.id) && !doomed.includes(app.def.id))
      graph.set(app.def.id, app.def.dependencies);
  for (const def of apps) graph.set(def.id, def.dependencies);
  const cycle = dependencyCycle(graph);
  if (cycle !== undefined)
    throw unprocessable(invalid('/dependencies', `a dependency cycle: ${cycle.join(' -> ')}`));
  const locked = [...changed.map((d) => d.id), ...doomed].flatMap((id) => {
    const running = core.deploymentOf(id);
    return running === undefined ? [] : [running.id];
  });
  if (locked.length > 0 && !force)
    throw new HttpError(409, {
      message: `App is locked by one or more deployments. Override with the option '?force=true'.`,
      deployments: locked.map((id) => ({ id })),
    });
  const results = [
    ...changed.map((def) => core.putApp(def, nowMs, force)),
    ...doomed.map((appId) => core.deleteApp(appId, nowMs)),
  ];
  await host.commit();
  return groupAnswer(results, status);
}

function appsUnder(core: ServiceCore, groupId: string): string[] {
  const prefix = groupId === '/' ? '/' : `${groupId}/`;
  return [...core.apps.values()]
    .filter((a) => !a.isDeleting && a.def.id.startsWith(prefix))
    .map((a) => a.def.id);
}

/** Marathon answers one deployment per group change; here each app has its own, all listed. */
function groupAnswer(
  results: readonly CommandResult[],
  status: number,
): { status: number; body: unknown } {
  const failed = results.find((r) => !r.ok);
  if (failed !== undefined) return commandAnswer(failed, status);
  const done = results.filter((r): r is Extract<CommandResult, { ok: true }> => r.ok);
  return {
    status,
    body: {
      version:
        done
          .map((r) => r.version)
          .sort()
          .at(-1) ?? new Date(0).toISOString(),
      deploymentId: done[0]?.deploymentId ?? null,
      deploymentIds: done.map((r) => r.deploymentId),
    },
  };
}

function checkDependencies(core: ServiceCore, app: AppDefinition): void {
  for (const [i, dependency] of app.dependencies.entries())
    if (dependency === app.id)
      throw unprocessable(invalid(`/dependencies(${i})`, 'an app cannot depend on itself'));
  const graph = new Map<string, readonly string[]>();
  for (const other of core.apps.values()) graph.set(other.def.id, other.def.dependencies);
  graph.set(app.id, app.dependencies);
  const cycle = dependencyCycle(graph);
  if (cycle !== undefined)
    throw unprocessable(invalid('/dependencies', `a dependency cycle: ${cycle.join(' -> ')}`));
}

function commandAnswer(result: CommandResult, status: number): { status: number; body: unknown } {
  if (result.ok)
    return { status, body: { version: result.version, deploymentId: result.deploymentId } };
  return {
    status: result.status,
    body: {
      message: result.message,
      ...(result.deployments !== undefined
        ? { deployments: result.deployments.map((id) => ({ id })) }
        : {}),
    },
  };
}
