// The legacy JSON endpoints that Mesos tools read (WIRE §7), plus /health,
// /version and /metrics/snapshot.
import {
  type HttpServer,
  readFormBody,
  readJsonBody,
  sendEmpty,
  sendJson,
} from '../../runtime/index.js';
import {
  AGORA_VERSION,
  BadRequestError,
  exceedsJsonDepth,
  limits,
  MESOS_API_VERSION,
  parseMachineIds,
  parseMaintenanceSchedule,
  parseResources,
  parseWith,
  quote,
  type Resource,
  WeightsBodySchema,
} from '../../wire/index.js';
import type { MasterQueries, OperatorCommands } from '../api.js';
import { validateWeights } from '../core/quota.js';
import { prometheusText } from './prometheus.js';
import {
  legacyAgent,
  legacyFramework,
  legacyRoles,
  legacyState,
  legacyTask,
  type MasterView,
  maintenanceStatus,
  quotaStatus,
  recoveredAgent,
} from './render.js';

export function routeEndpoints(http: HttpServer, master: MasterQueries & OperatorCommands): void {
  const view = (): MasterView => ({
    id: master.masterInfo().id,
    pid: master.masterInfo().pid ?? '',
    hostname: master.masterInfo().hostname ?? '',
    startTimeSec: master.startTimeSec,
    flags: master.flags,
    ...(master.masterInfo().domain !== undefined ? { domain: master.masterInfo().domain } : {}),
  });
  const { books } = master;

  const state = (
    request: Parameters<Parameters<HttpServer['route']>[2]>[0],
    response: Parameters<Parameters<HttpServer['route']>[2]>[1],
  ) => sendJson(response, 200, legacyState(books, view()), request);
  http.route(['GET'], '/master/state', state);
  http.route(['GET'], '/master/state.json', state);

  http.route(['GET'], '/master/frameworks', (request, response) => {
    const wanted = request.query.get('framework_id');
    const pick = (f: { id: { value: string } }) => wanted === null || f.id.value === wanted;
    sendJson(
      response,
      200,
      {
        frameworks: [...books.frameworks.values()]
          .filter(pick)
          .map((f) => legacyFramework(books, f)),
        completed_frameworks: books.completedFrameworks
          .filter(pick)
          .map((f) => legacyFramework(books, f)),
        unregistered_frameworks: [],
      },
      request,
    );
  });

  http.route(['GET'], '/master/slaves', (request, response) => {
    const wanted = request.query.get('slave_id');
    const agents = [...books.agents.values()].filter(
      (a) =>
        (a.link.state === 'connected' || a.link.state === 'disconnected') &&
        (wanted === null || a.id.value === wanted),
    );
    sendJson(
      response,
      200,
      {
        slaves: agents.map((a) => legacyAgent(books, a)),
        recovered_slaves: [...books.agents.values()]
          .filter((a) => a.link.state === 'recovered')
          .map(recoveredAgent),
      },
      request,
    );
  });

  http.route(['GET'], '/master/tasks', (request, response) => {
    const limit = countParam(request.query, 'limit', 100);
    const offset = countParam(request.query, 'offset', 0);
    const frameworkFilter = request.query.get('framework_id');
    const taskFilter = request.query.get('task_id');
    const all = [...books.frameworks.values(), ...books.completedFrameworks]
      .filter((f) => frameworkFilter === null || f.id.value === frameworkFilter)
      .flatMap((f) => [...f.tasks.values(), ...f.completedTasks])
      .filter((t) => taskFilter === null || t.taskId.value === taskFilter)
      .sort((a, b) => (a.statuses[0]?.timestamp ?? 0) - (b.statuses[0]?.timestamp ?? 0));
    if (request.query.get('order') !== 'asc') all.reverse();
    const page = all.slice(offset, offset + limit);
    sendJson(response, 200, { tasks: page.map(legacyTask) }, request);
  });

  const roles = (
    request: Parameters<Parameters<HttpServer['route']>[2]>[0],
    response: Parameters<Parameters<HttpServer['route']>[2]>[1],
  ) => sendJson(response, 200, legacyRoles(master.roleBreakdowns()), request);
  http.route(['GET'], '/master/roles', roles);
  http.route(['GET'], '/master/roles.json', roles);

  http.route(['GET'], '/master/weights', (request, response) =>
    sendJson(
      response,
      200,
      [...master.weights].map(([role, weight]) => ({ weight, role })),
      request,
    ),
  );
  http.route(['PUT'], '/master/weights', async (request, response) => {
    const infos = parseWith(WeightsBodySchema, await readJsonBody(request));
    await master.updateWeights(validateWeights(infos, ''));
    sendEmpty(response, 200);
  });

  http.route(['GET'], '/master/quota', (request, response) =>
    sendJson(response, 200, quotaStatus(master.quotas), request),
  );

  // The legacy resource endpoints take a form (slaveId=…&resources=<JSON array>), as Mesos'
  // do; they answer 202 once the change is made, 400 or 409 as the v1 calls do.
  http.route(['POST'], '/master/reserve', async (request, response) => {
    const form = await readFormBody(request);
    const resources = resourcesParameter(form, 'resources');
    master.changeReservations(
      requiredParameter(form, 'slaveId'),
      'reserve',
      resources,
      request.principal?.value,
    );
    sendEmpty(response, 202);
  });
  http.route(['POST'], '/master/unreserve', async (request, response) => {
    const form = await readFormBody(request);
    const resources = resourcesParameter(form, 'resources');
    master.changeReservations(
      requiredParameter(form, 'slaveId'),
      'unreserve',
      resources,
      request.principal?.value,
    );
    sendEmpty(response, 202);
  });
  for (const kind of ['create', 'destroy'] as const)
    http.route(['POST'], `/master/${kind}-volumes`, async (request, response) => {
      const form = await readFormBody(request);
      const agentIdValue = requiredParameter(form, 'slaveId');
      const volumes = resourcesParameter(form, 'volumes');
      master.changeVolumes(agentIdValue, { kind, volumes }, request.principal?.value);
      sendEmpty(response, 202);
    });
  // Maintenance (docs/maintenance.md): the schedule, the status, and machines down and up.
  http.route(['GET'], '/master/maintenance/schedule', (request, response) =>
    sendJson(response, 200, books.schedule, request),
  );
  http.route(['POST'], '/master/maintenance/schedule', async (request, response) => {
    await master.updateMaintenanceSchedule(parseMaintenanceSchedule(await readJsonBody(request)));
    sendEmpty(response, 200);
  });
  http.route(['GET'], '/master/maintenance/status', (request, response) =>
    sendJson(response, 200, maintenanceStatus(books), request),
  );
  http.route(['POST'], '/master/machine/down', async (request, response) => {
    await master.startMaintenance(parseMachineIds(await readJsonBody(request)));
    sendEmpty(response, 200);
  });
  http.route(['POST'], '/master/machine/up', async (request, response) => {
    await master.stopMaintenance(parseMachineIds(await readJsonBody(request)));
    sendEmpty(response, 200);
  });

  http.route(['GET'], '/master/health', (_request, response) => sendEmpty(response, 200));
  http.route(['GET'], '/master/flags', (request, response) =>
    sendJson(response, 200, { flags: master.flags }, request),
  );
  http.route(['GET'], '/version', (request, response) =>
    sendJson(
      response,
      200,
      {
        version: MESOS_API_VERSION,
        agora_version: AGORA_VERSION,
        build_date: '',
        build_time: 0,
        build_user: '',
      },
      request,
    ),
  );
  http.route(['GET'], '/metrics/snapshot', (request, response) =>
    sendJson(response, 200, master.snapshotMetrics(), request),
  );
  http.route(['GET'], '/metrics', (_request, response) => {
    const body = prometheusText(master.snapshotMetrics(), master.histograms());
    response.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
}

/** A non-negative integer query parameter (`limit`, `offset`); Mesos answers 400 for anything else. */
function countParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,15}$/.test(raw))
    throw new BadRequestError(name, `expected a non-negative integer, got ${quote(raw)}`);
  return Number(raw);
}

/** A form parameter Mesos requires; its message is Mesos' own. */
function requiredParameter(form: URLSearchParams, name: string): string {
  const value = form.get(name);
  if (value === null)
    throw new BadRequestError('', `Missing '${name}' query parameter in the request body`);
  return value;
}

/** A form parameter holding a JSON array of Resource, parsed and bounded as a body would be. */
function resourcesParameter(form: URLSearchParams, name: string): readonly Resource[] {
  const text = requiredParameter(form, name);
  const problem = (reason: string) =>
    new BadRequestError(
      '',
      `Error in parsing '${name}' query parameter in the request body: ${reason}`,
    );
  if (exceedsJsonDepth(Buffer.from(text), limits.MAX_JSON_DEPTH))
    throw problem(`nested deeper than ${limits.MAX_JSON_DEPTH} levels`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw problem((error as Error).message);
  }
  try {
    return parseResources(json);
  } catch (error) {
    if (error instanceof BadRequestError) throw problem(error.message);
    throw error;
  }
}
