// The legacy JSON endpoints that Mesos tools read (WIRE §7), plus /health,
// /version and /metrics/snapshot.
import type { ServerResponse } from 'node:http';
import {
  type HttpServer,
  isAuthorized,
  jsonpCallback,
  type Request,
  readJsonBody,
  sendEmpty,
  sendJson,
  streamJson,
} from '../../runtime/index.js';
import {
  AGORA_VERSION,
  BadRequestError,
  parseDuration,
  parseMachineIds,
  parseMaintenanceSchedule,
  parseWith,
  quote,
  WeightsBodySchema,
} from '../../wire/index.js';
import type { MasterQueries, OperatorCommands } from '../api.js';
import { validateWeights } from '../core/quota.js';
import type { TaskRecord } from '../core/records.js';
import { shownMaintenanceStatus, shownQuotas, shownRoles, shownSchedule } from './acl-views.js';
import { authorizeCall } from './call-authorization.js';
import { routeLegacyOperations } from './legacy-operations.js';
import { prometheusText } from './prometheus.js';
import {
  legacyAgentFull,
  legacyFramework,
  legacyRoles,
  legacyState,
  legacyTask,
  legacyTasks,
  type MasterView,
  maintenanceStatus,
  quotaStatus,
  recoveredAgent,
  streamedList,
  versionInfo,
} from './render.js';
import { legacyStateSummary } from './state-summary.js';
import {
  executorCommandUsers,
  filterLegacyFrameworks,
  filterLegacyTasks,
  frameworkUsers,
  type Visibility,
  visibilityFor,
} from './view-filter.js';

export function routeEndpoints(http: HttpServer, master: MasterQueries & OperatorCommands): void {
  // The flags only to a caller view_flags allows, as Mesos writes /state's `flags`.
  const view = (request?: Request): MasterView => ({
    id: master.masterInfo().id,
    pid: master.masterInfo().pid ?? '',
    hostname: master.masterInfo().hostname ?? '',
    startTimeSec: master.startTimeSec,
    flags: master.flags,
    isFlagsShown:
      request === undefined ||
      isAuthorized(master.acls, 'view_flags', request.principal?.value, undefined),
    ...(master.masterInfo().domain !== undefined ? { domain: master.masterInfo().domain } : {}),
  });
  const { books } = master;

  // Frameworks, tasks and executors as the caller's view_* ACLs show them: such an answer
  // is built whole and filtered. Without ACLs on them, the long lists are rendered as they
  // are written, a chunk per loop round, so a 10,000-agent state neither stalls the master
  // nor sits whole in memory. Between chunks the master moves on: a document is of one
  // moment only per chunk.
  const shown = (
    request: Request,
    body: unknown,
    filter: (body: Record<string, unknown>, visibility: Visibility) => unknown,
  ) => {
    const visibility = visibilityFor(master.acls, request.principal?.value);
    return visibility === undefined ? body : filter(body as Record<string, unknown>, visibility);
  };
  const legacyFrameworksShown = (body: Record<string, unknown>, visibility: Visibility) =>
    filterLegacyFrameworks(body, visibility, executorCommandUsers(books));
  const isFiltered = (request: Request) =>
    visibilityFor(master.acls, request.principal?.value) !== undefined;
  const state = (request: Request, response: ServerResponse) =>
    isFiltered(request)
      ? sendJson(
          response,
          200,
          shown(request, legacyState(books, view(request)), legacyFrameworksShown),
          request,
        )
      : streamJson(response, 200, legacyState(books, view(request), streamedList), {
          jsonpCallback: jsonpCallback(request),
        });
  http.route(['GET'], '/master/state', state);
  http.route(['GET'], '/master/state.json', state);
  http.route(['GET'], '/master/state-summary', (request, response) =>
    sendJson(response, 200, legacyStateSummary(books, view()), request),
  );

  http.route(['GET'], '/master/frameworks', (request, response) => {
    const wanted = request.query.get('framework_id');
    const pick = (f: { id: { value: string } }) => wanted === null || f.id.value === wanted;
    if (isFiltered(request)) {
      const body = {
        frameworks: [...books.frameworks.values()]
          .filter(pick)
          .map((f) => legacyFramework(books, f)),
        completed_frameworks: books.completedFrameworks
          .filter(pick)
          .map((f) => legacyFramework(books, f)),
        unregistered_frameworks: [],
      };
      return sendJson(response, 200, shown(request, body, legacyFrameworksShown), request);
    }
    return streamJson(
      response,
      200,
      {
        frameworks: [...books.frameworks.values()]
          .filter(pick)
          .map((f) => legacyFramework(books, f, streamedList)),
        completed_frameworks: books.completedFrameworks
          .filter(pick)
          .map((f) => legacyFramework(books, f, streamedList)),
        unregistered_frameworks: [],
      },
      { jsonpCallback: jsonpCallback(request) },
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
        slaves: agents.map((a) => legacyAgentFull(books, a)),
        recovered_slaves: [...books.agents.values()]
          .filter((a) => a.link.state === 'recovered' && (wanted === null || a.id.value === wanted))
          .map(recoveredAgent),
      },
      request,
    );
  });

  // Mesos' /tasks (readonly_handler.cpp): active, unreachable and completed tasks of active
  // and completed frameworks, by their first status's time, descending unless order=asc;
  // a task with no status yet sorts as the oldest.
  const tasks = (request: Request, response: ServerResponse) => {
    const limit = countParam(request.query, 'limit', 100);
    const offset = countParam(request.query, 'offset', 0);
    const frameworkFilter = request.query.get('framework_id');
    const taskFilter = request.query.get('task_id');
    const firstTime = (t: TaskRecord) => t.statuses[0]?.timestamp ?? Number.NEGATIVE_INFINITY;
    const isAscending = request.query.get('order') === 'asc';
    const all = [...books.frameworks.values(), ...books.completedFrameworks]
      .filter((f) => frameworkFilter === null || f.id.value === frameworkFilter)
      .flatMap((f) => [...f.tasks.values(), ...f.completedTasks])
      .filter((t) => taskFilter === null || t.taskId.value === taskFilter)
      .sort((a, b) => (isAscending ? 1 : -1) * (firstTime(a) - firstTime(b) || 0));
    const page = all.slice(offset, offset + limit);
    if (isFiltered(request)) {
      const userOf = frameworkUsers(books);
      const body = { tasks: page.map(legacyTask) };
      return sendJson(
        response,
        200,
        shown(request, body, (b, v) => filterLegacyTasks(b, v, userOf)),
        request,
      );
    }
    return streamJson(
      response,
      200,
      { tasks: streamedList(page, legacyTask, legacyTasks) },
      { jsonpCallback: jsonpCallback(request) },
    );
  };
  http.route(['GET'], '/master/tasks', tasks);
  http.route(['GET'], '/master/tasks.json', tasks);

  const roles = (request: Request, response: ServerResponse) =>
    sendJson(
      response,
      200,
      legacyRoles(
        shownRoles(master.acls, request.principal?.value, master.roleBreakdowns(), (r) => r.name),
      ),
      request,
    );
  http.route(['GET'], '/master/roles', roles);
  http.route(['GET'], '/master/roles.json', roles);

  http.route(['GET'], '/master/weights', (request, response) =>
    sendJson(
      response,
      200,
      shownRoles(master.acls, request.principal?.value, [...master.weights], ([role]) => role).map(
        ([role, weight]) => ({ weight, role }),
      ),
      request,
    ),
  );
  http.route(['PUT'], '/master/weights', async (request, response) => {
    const infos = parseWith(WeightsBodySchema, await readJsonBody(request));
    authorizeCall(master, request.principal?.value, {
      type: 'UPDATE_WEIGHTS',
      update_weights: { weight_infos: infos },
    });
    await master.updateWeights(validateWeights(infos, ''));
    sendEmpty(response, 200);
  });

  http.route(['GET'], '/master/quota', (request, response) =>
    sendJson(
      response,
      200,
      quotaStatus(shownQuotas(master.acls, request.principal?.value, master.quotas)),
      request,
    ),
  );

  // Maintenance (docs/maintenance.md): the schedule, the status, and machines down and up.
  http.route(['GET'], '/master/maintenance/schedule', (request, response) =>
    sendJson(
      response,
      200,
      shownSchedule(master.acls, request.principal?.value, books.schedule),
      request,
    ),
  );
  http.route(['POST'], '/master/maintenance/schedule', async (request, response) => {
    const schedule = parseMaintenanceSchedule(await readJsonBody(request));
    authorizeCall(master, request.principal?.value, {
      type: 'UPDATE_MAINTENANCE_SCHEDULE',
      update_maintenance_schedule: { schedule },
    });
    await master.updateMaintenanceSchedule(schedule);
    sendEmpty(response, 200);
  });
  http.route(['GET'], '/master/maintenance/status', (request, response) =>
    sendJson(
      response,
      200,
      shownMaintenanceStatus(master.acls, request.principal?.value, maintenanceStatus(books)),
      request,
    ),
  );
  http.route(['POST'], '/master/machine/down', async (request, response) => {
    const machines = parseMachineIds(await readJsonBody(request));
    authorizeCall(master, request.principal?.value, {
      type: 'START_MAINTENANCE',
      start_maintenance: { machines },
    });
    await master.startMaintenance(machines);
    sendEmpty(response, 200);
  });
  http.route(['POST'], '/master/machine/up', async (request, response) => {
    const machines = parseMachineIds(await readJsonBody(request));
    authorizeCall(master, request.principal?.value, {
      type: 'STOP_MAINTENANCE',
      stop_maintenance: { machines },
    });
    await master.stopMaintenance(machines);
    sendEmpty(response, 200);
  });

  http.route(['GET'], '/master/health', (_request, response) => sendEmpty(response, 200));
  http.route(['GET'], '/master/flags', (request, response) => {
    authorizeCall(master, request.principal?.value, { type: 'GET_FLAGS' });
    sendJson(response, 200, { flags: master.flags }, request);
  });
  http.route(['GET'], '/version', (request, response) =>
    sendJson(response, 200, { ...versionInfo(), agora_version: AGORA_VERSION }, request),
  );
  http.route(['GET'], '/metrics/snapshot', (request, response) => {
    // As GET_METRICS' timeout (operator-api.ts), `timeout` bounds nothing here; it is
    // checked so that a bad one gets Mesos' 400.
    const timeout = request.query.get('timeout');
    const parsed = timeout === null ? undefined : parseDuration(timeout);
    if (parsed !== undefined && 'problem' in parsed)
      throw new BadRequestError(
        'timeout',
        `Invalid timeout ${quote(timeout ?? '')}: ${parsed.problem}`,
      );
    sendJson(response, 200, master.snapshotMetrics(), request);
  });
  routeLoggingToggle(http, master);
  routeLegacyOperations(http, master);
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

/**
 * libprocess' `/logging/toggle` (never delegated): no query reports the
 * verbosity; `level` and `duration` set it for that long. Unlike
 * SET_LOGGING_LEVEL, it refuses a level below the original (libprocess does).
 */
function routeLoggingToggle(http: HttpServer, master: MasterQueries & OperatorCommands): void {
  const original = master.loggingLevel();
  http.route(['GET'], '/logging/toggle', (request, response) => {
    // libprocess asks its authorizer (set_log_level) before it reads the query, reads included.
    authorizeCall(master, request.principal?.value, {
      type: 'SET_LOGGING_LEVEL',
      set_logging_level: { level: 0, duration: { nanoseconds: 0 } },
    });
    const level = request.query.get('level');
    const duration = request.query.get('duration');
    if (level === null && duration === null) {
      const body = `${master.loggingLevel()}\n`;
      response.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      response.end(body);
      return;
    }
    if (duration === null)
      throw new BadRequestError('duration', "Expecting 'duration=value' in query");
    if (level === null) throw new BadRequestError('level', "Expecting 'level=value' in query");
    if (!/^\d{1,9}$/.test(level))
      throw new BadRequestError('level', `Invalid level ${quote(level)}`);
    const verbosity = Number(level);
    if (verbosity < original) throw new BadRequestError('level', `'${verbosity}' < original level`);
    const parsed = parseDuration(duration);
    if ('problem' in parsed)
      throw new BadRequestError(
        'duration',
        `Invalid duration ${quote(duration)}: ${parsed.problem}`,
      );
    master.setLoggingLevel(verbosity, parsed.ms);
    sendEmpty(response, 200);
  });
}
