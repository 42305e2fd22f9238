// The calls the hostile-input suite mutates: a valid template of each call every JSON route
// takes (the scheduler's with a subscribed framework's real ids), the schema that decides
// whether a mutant is still valid, and the table of every route of both daemons.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BadRequestError,
  newStatusUuid,
  parseAgentCall,
  parseAgentOperatorCall,
  parseCall,
  parseMachineIds,
  parseMaintenanceSchedule,
  parseMasterCall,
  parseQuotaRequest,
  parseWith,
  WeightsBodySchema,
} from '../../../src/wire/index.js';
import { ROOT } from '../harness.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

type Daemon = 'master' | 'agent';

/** Every `.ts` file under `dir`, recursively. */
function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * The values of `name` where a path is written as a template (`/master/${kind}`): the list of
 * the nearest `for (const name of [...])` before `offset`.
 */
function loopValues(text: string, name: string, offset: number): string[] {
  const loops = [...text.slice(0, offset).matchAll(/for \(const (\w+) of \[([^\]]*)\]/g)];
  const loop = loops.reverse().find((m) => m[1] === name);
  if (loop === undefined) throw new Error(`no loop gives \${${name}} before offset ${offset}`);
  return [...(loop[2] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');
}

/** The paths a route registration names: one, or one per value of the loop around it. */
function expandPath(text: string, path: string, offset: number): string[] {
  const hole = /\$\{(\w+)\}/.exec(path);
  if (hole === null) return [path];
  return loopValues(text, hole[1] ?? '', offset).flatMap((value) =>
    expandPath(text, path.replace(hole[0], value), offset),
  );
}

/**
 * The functions of `file` that register routes (`export function serveFiles(http, …)`): a
 * route of src/runtime belongs to each daemon whose sources call one of them.
 */
function registeringFunctions(text: string): string[] {
  return [...text.matchAll(/export function (\w+)\(\s*http: HttpServer/g)].map((m) => m[1] ?? '');
}

/**
 * Every route of both daemons, as registered in src/ (`http.route([methods], 'path', …)`
 * and `http.routePrefix([methods], 'prefix/', …)`, written as `prefix/*`) under src/master,
 * src/agent and src/runtime; the test fails when a route is added without a place in the
 * tables below.
 */
export function registeredRoutes(): { daemon: Daemon; methods: string[]; path: string }[] {
  const routes: { daemon: Daemon; methods: string[]; path: string }[] = [];
  const sources = (folder: string) =>
    sourcesUnder(join(ROOT, 'src', folder)).map((file) => readFileSync(file, 'utf8'));
  const daemonSources: Record<Daemon, string[]> = {
    master: sources('master'),
    agent: sources('agent'),
  };
  const registrations = (text: string) => {
    const pattern = /\.route(Prefix)?\(\s*\[([^\]]*)\],\s*(?:'([^']+)'|`([^`]+)`)/g;
    const found = [...text.matchAll(pattern)].flatMap((match) => {
      const methods = [...(match[2] ?? '').matchAll(/'([A-Z]+)'/g)].map((m) => m[1] ?? '');
      const raw = match[3] ?? match[4] ?? '';
      return expandPath(text, raw, match.index ?? 0).map((path) => ({
        methods,
        path: match[1] === undefined ? path : `${path}*`,
      }));
    });
    // A registration this scan cannot read (a path in a variable) must not go unseen.
    const calls = text.match(/\.route(Prefix)?\(/g)?.length ?? 0;
    const read = text.match(pattern)?.length ?? 0;
    if (calls !== read)
      throw new Error(`${calls - read} route registrations with a path this scan cannot read`);
    return found;
  };
  for (const daemon of ['master', 'agent'] as const)
    for (const text of daemonSources[daemon])
      for (const route of registrations(text)) routes.push({ daemon, ...route });
  for (const text of sources('runtime')) {
    const callers = registeringFunctions(text);
    const found = registrations(text);
    if (found.length > 0 && callers.length === 0)
      throw new Error('a runtime file registers routes outside an exported function of http');
    for (const daemon of ['master', 'agent'] as const)
      if (daemonSources[daemon].some((t) => callers.some((name) => t.includes(`${name}(`))))
        for (const route of found) routes.push({ daemon, ...route });
  }
  return routes;
}

/** A form field of a legacy POST route, and a valid value for it. */
export interface FormField {
  readonly name: string;
  /** A JSON array of Resource, parsed as such. */
  readonly isResources?: boolean;
}

export type RouteKind =
  /** A route whose body is one JSON call (or value) of `call`, checked by that call's schema. */
  | {
      readonly kind: 'call';
      readonly call: CallKind;
      readonly method: 'POST' | 'PUT';
      /** The targets sent to: the route's path, or its delegated forms. */
      readonly targets: readonly string[];
      /** A scheduler call carries its framework's stream id. */
      readonly stream?: boolean;
    }
  /** A libprocess form POST (`a=b&c=d`, WIRE §7.2). */
  | { readonly kind: 'form'; readonly fields: readonly FormField[] }
  /** DELETE `/master/quota/<role>`: the input is the path. */
  | { readonly kind: 'quota-delete' }
  /** 307 to the leader, whatever the request. */
  | { readonly kind: 'redirect' }
  /**
   * A GET. `params` are answered 2xx or 4xx; `invalid` queries (without their `?`) must be
   * refused with a 4xx.
   */
  | {
      readonly kind: 'get';
      readonly params?: readonly (readonly [string, string])[];
      readonly invalid?: readonly string[];
    }
  | { readonly kind: 'files' }
  /**
   * A route probed with fixed requests (`{agent}` is a known agent's id): prefix routes
   * whose input is the path itself.
   */
  | { readonly kind: 'cases'; readonly cases: readonly ProbeCase[] }
  /** Registered by shared code that this daemon calls without it (`/files/debug`): 404. */
  | { readonly kind: 'unserved'; readonly why: string };

export interface ProbeCase {
  readonly method: 'GET' | 'POST';
  readonly target: string;
  readonly body?: string;
  readonly expect: 'ok' | 'reject' | 'ok-or-reject';
}

const RESOURCES_FIELD: FormField = { name: 'resources', isResources: true };

export const MASTER_ROUTES: Readonly<Record<string, RouteKind>> = {
  'POST /master/api/v1/scheduler': {
    kind: 'call',
    call: 'scheduler',
    method: 'POST',
    targets: ['/api/v1/scheduler'],
    stream: true,
  },
  'POST /master/api/v1': { kind: 'call', call: 'operator', method: 'POST', targets: ['/api/v1'] },
  'POST /master/api/v1/agent': {
    kind: 'call',
    call: 'agent-protocol',
    method: 'POST',
    targets: ['/master/api/v1/agent'],
  },
  'PUT /master/weights': {
    kind: 'call',
    call: 'weights',
    method: 'PUT',
    targets: ['/master/weights'],
  },
  'POST /master/maintenance/schedule': {
    kind: 'call',
    call: 'maintenance-schedule',
    method: 'POST',
    targets: ['/master/maintenance/schedule', '/maintenance/schedule'],
  },
  'POST /master/machine/down': {
    kind: 'call',
    call: 'machines',
    method: 'POST',
    targets: ['/master/machine/down'],
  },
  'POST /master/machine/up': {
    kind: 'call',
    call: 'machines',
    method: 'POST',
    targets: ['/machine/up'],
  },
  'POST /master/quota': {
    kind: 'call',
    call: 'quota-request',
    method: 'POST',
    targets: ['/master/quota'],
  },
  'DELETE /master/quota/*': { kind: 'quota-delete' },
  'GET /': { kind: 'get' },
  'GET /index.html': { kind: 'get' },
  'GET /assets/*': {
    kind: 'cases',
    cases: [
      { method: 'GET', target: '/assets/none.js', expect: 'reject' },
      { method: 'GET', target: '/assets/..%2f..%2fpackage.json', expect: 'reject' },
      { method: 'GET', target: '/assets/%00', expect: 'reject' },
      { method: 'GET', target: `/assets/${'a'.repeat(5000)}`, expect: 'reject' },
    ],
  },
  'GET /master/agents/*': {
    kind: 'cases',
    cases: [
      { method: 'GET', target: '/master/agents/{agent}/state', expect: 'ok' },
      { method: 'GET', target: '/master/agents/{agent}/monitor/statistics', expect: 'ok' },
      { method: 'GET', target: '/master/agents/nobody/state', expect: 'reject' },
      { method: 'GET', target: '/master/agents/{agent}/nothing', expect: 'reject' },
      { method: 'GET', target: '/master/agents/{agent}/files/read', expect: 'reject' },
      { method: 'GET', target: '/master/agents/{agent}/files/read?path=%00', expect: 'reject' },
      {
        method: 'GET',
        target: `/master/agents/{agent}/files/read?path=/${'a'.repeat(5000)}`,
        expect: 'reject',
      },
      {
        method: 'GET',
        target: '/master/agents/{agent}/files/read?path=/etc/passwd&offset=-1',
        expect: 'reject',
      },
      { method: 'GET', target: '/master/agents/{agent}/files/browse?path=/etc', expect: 'reject' },
    ],
  },
  'POST /master/agents/*': {
    kind: 'cases',
    cases: [
      {
        method: 'POST',
        target: '/master/agents/{agent}/api/v1',
        body: '{"type":"GET_CONTAINERS"}',
        expect: 'ok',
      },
      {
        method: 'POST',
        target: '/master/agents/{agent}/api/v1',
        body: '{"type":"GET_FLAGS"}',
        expect: 'reject',
      },
      { method: 'POST', target: '/master/agents/{agent}/api/v1', body: '[[[[', expect: 'reject' },
      { method: 'POST', target: '/master/agents/{agent}/api/v1', body: '', expect: 'reject' },
      { method: 'POST', target: '/master/agents/nobody/api/v1', body: '{}', expect: 'reject' },
    ],
  },
  'POST /master/teardown': { kind: 'form', fields: [{ name: 'frameworkId' }] },
  'POST /master/reserve': { kind: 'form', fields: [{ name: 'slaveId' }, RESOURCES_FIELD] },
  'POST /master/unreserve': { kind: 'form', fields: [{ name: 'slaveId' }, RESOURCES_FIELD] },
  'POST /master/create-volumes': {
    kind: 'form',
    fields: [{ name: 'slaveId' }, { name: 'volumes', isResources: true }],
  },
  'POST /master/destroy-volumes': {
    kind: 'form',
    fields: [{ name: 'slaveId' }, { name: 'volumes', isResources: true }],
  },
  'GET /master/redirect': { kind: 'redirect' },
  'POST /master/redirect': { kind: 'redirect' },
  'GET /master/state': { kind: 'get' },
  'GET /master/state.json': { kind: 'get' },
  'GET /master/state-summary': { kind: 'get' },
  'GET /master/frameworks': {
    kind: 'get',
    params: [
      ['framework_id', 'f'.repeat(10_000)],
      ['framework_id', '%00'],
    ],
  },
  'GET /master/slaves': {
    kind: 'get',
    params: [
      ['slave_id', 's'.repeat(10_000)],
      ['slave_id', '..%2F..'],
    ],
  },
  'GET /master/tasks': {
    kind: 'get',
    params: [
      ['task_id', 't'.repeat(10_000)],
      ['framework_id', '%00%ff'],
      // Mesos takes any order but `asc` as descending (readonly_handler.cpp).
      ['order', 'sideways'],
    ],
    invalid: ['limit=-1', 'limit=abc', 'limit=1e309', `offset=${'9'.repeat(400)}`],
  },
  'GET /master/tasks.json': { kind: 'get', invalid: ['limit=-1', 'offset=%00'] },
  'GET /master/roles': { kind: 'get' },
  'GET /master/roles.json': { kind: 'get' },
  'GET /master/weights': { kind: 'get' },
  'GET /master/quota': { kind: 'get' },
  'GET /master/maintenance/schedule': { kind: 'get' },
  'GET /master/maintenance/status': { kind: 'get' },
  'GET /master/health': { kind: 'get' },
  'GET /master/flags': { kind: 'get' },
  'GET /version': { kind: 'get' },
  'GET /metrics/snapshot': { kind: 'get', invalid: ['timeout=-5secs', 'timeout=abc'] },
  'GET /metrics': { kind: 'get' },
  // Only invalid settings: a valid one changes the level for a while.
  'GET /logging/toggle': {
    kind: 'get',
    invalid: [
      'level=1',
      'duration=1secs',
      'level=abc&duration=1secs',
      'level=-1&duration=1secs',
      `level=${'9'.repeat(400)}&duration=1secs`,
      'level=1&duration=forever',
      'level=1&duration=-1secs',
      'level=1&duration=1e309secs',
      `level=1&duration=${'1'.repeat(10_000)}secs`,
    ],
  },
  'GET /files/read': { kind: 'files' },
  'GET /files/browse': { kind: 'files' },
  'GET /files/download': { kind: 'files' },
  'GET /files/debug': { kind: 'get' },
};

export const AGENT_ROUTES: Readonly<Record<string, RouteKind>> = {
  'GET /files/read': { kind: 'files' },
  'GET /files/browse': { kind: 'files' },
  'GET /files/download': { kind: 'files' },
  'GET /files/debug': {
    kind: 'unserved',
    why: 'serveFiles registers it only with a debug table, which the agent does not give',
  },
  'GET /slave(1)/health': { kind: 'get' },
  'GET /slave(1)/state': { kind: 'get' },
  'GET /slave(1)/state.json': { kind: 'get' },
  'GET /slave(1)/flags': { kind: 'get' },
  'GET /version': { kind: 'get' },
  'GET /metrics/snapshot': { kind: 'get' },
  'GET /slave(1)/monitor/statistics': { kind: 'get' },
  'GET /slave(1)/monitor/statistics.json': { kind: 'get' },
  'GET /slave(1)/containers': { kind: 'get' },
  'POST /slave(1)/api/v1': {
    kind: 'call',
    call: 'agent-operator',
    method: 'POST',
    targets: ['/slave(1)/api/v1', '/api/v1'],
  },
  'POST /slave(1)/api/v1/executor': {
    kind: 'cases',
    cases: [
      { method: 'POST', target: '/api/v1/executor', body: '[[[[', expect: 'reject' },
      { method: 'POST', target: '/api/v1/executor', body: '', expect: 'reject' },
      { method: 'POST', target: '/api/v1/executor', body: '{"type":"UPDATE"}', expect: 'reject' },
      {
        method: 'POST',
        target: '/api/v1/executor',
        body: `{"type":"${'X'.repeat(100_000)}"}`,
        expect: 'reject',
      },
      {
        method: 'POST',
        target: '/slave(1)/api/v1/executor',
        body: JSON.stringify({
          type: 'SUBSCRIBE',
          framework_id: { value: 'nobody' },
          executor_id: { value: 'nobody' },
          subscribe: {},
        }),
        expect: 'reject',
      },
      {
        method: 'POST',
        target: '/api/v1/executor',
        body: JSON.stringify({
          type: 'MESSAGE',
          framework_id: { value: 'nobody' },
          executor_id: { value: 'nobody' },
          message: { data: 'aGk=' },
        }),
        expect: 'reject',
      },
    ],
  },
};

/** The kinds of JSON call, one per schema a JSON route parses its body with. */
export type CallKind =
  | 'scheduler'
  | 'operator'
  | 'agent-protocol'
  | 'weights'
  | 'maintenance-schedule'
  | 'machines'
  | 'quota-request'
  | 'agent-operator';

/** The real ids the templates use: a subscribed framework's, its stream's, an offer's, an agent's. */
export interface Ids {
  readonly frameworkId: string;
  readonly streamId: string;
  readonly offerId: string;
  readonly agentId: string;
}

function resource(extra: Record<string, Json> = {}): Json {
  return { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, ...extra };
}

function frameworkInfo(extra: Record<string, Json> = {}): Json {
  return {
    user: 'hostile',
    name: 'hostile-mutant',
    roles: ['r1'],
    capabilities: [{ type: 'MULTI_ROLE' }],
    hostname: 'h',
    principal: 'p',
    webui_url: 'http://h/',
    failover_timeout: 10,
    checkpoint: true,
    labels: { labels: [{ key: 'k', value: 'v' }] },
    ...extra,
  };
}

function taskInfo(ids: Ids): Json {
  return {
    name: 't',
    task_id: { value: 'hostile-task' },
    agent_id: { value: ids.agentId },
    resources: [
      resource({ allocation_info: { role: 'r1' } }),
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31000 }] } },
      { name: 'zones', type: 'SET', set: { item: ['a'] } },
    ],
    command: {
      value: 'true',
      shell: true,
      arguments: ['a'],
      environment: { variables: [{ name: 'A', value: 'b' }] },
      uris: [{ value: 'http://h/f.tgz', extract: false, output_file: 'f' }],
      user: 'u',
    },
    labels: { labels: [{ key: 'k', value: 'v' }] },
    kill_policy: { grace_period: { nanoseconds: 1000 } },
    container: { type: 'MESOS' },
    data: 'AAAA',
  };
}

/** A compact report's task: its resources are in the report's table, its agent implied. */
function withoutResources(task: Json): Json {
  const { resources: _, agent_id: __, ...rest } = task as Record<string, Json>;
  return rest;
}

/** Valid calls of each kind, to mutate. The scheduler's use the framework's real ids. */
export function templates(ids: Ids): Record<CallKind, Json[]> {
  const framework_id = { value: ids.frameworkId };
  const agent_id = { value: ids.agentId };
  const reserved = resource({
    reservations: [
      { type: 'DYNAMIC', role: 'r1', principal: 'p', labels: { labels: [{ key: 'a' }] } },
    ],
  });
  return {
    scheduler: [
      {
        type: 'SUBSCRIBE',
        subscribe: { framework_info: frameworkInfo(), suppressed_roles: ['r1'] },
      },
      { type: 'TEARDOWN', framework_id },
      {
        type: 'ACCEPT',
        framework_id,
        accept: {
          offer_ids: [{ value: ids.offerId }],
          operations: [
            { type: 'LAUNCH', launch: { task_infos: [taskInfo(ids)] } },
            { type: 'RESERVE', id: { value: 'op' }, reserve: { resources: [reserved] } },
            { type: 'UNRESERVE', unreserve: { resources: [reserved] } },
          ],
          filters: { refuse_seconds: 5 },
        },
      },
      {
        type: 'DECLINE',
        framework_id,
        decline: { offer_ids: [{ value: ids.offerId }], filters: { refuse_seconds: 1 } },
      },
      { type: 'REVIVE', framework_id, revive: { roles: ['r1'] } },
      { type: 'SUPPRESS', framework_id, suppress: { roles: ['r1'] } },
      {
        type: 'KILL',
        framework_id,
        kill: {
          task_id: { value: 'nobody' },
          agent_id,
          kill_policy: { grace_period: { nanoseconds: 5 } },
        },
      },
      {
        type: 'ACKNOWLEDGE',
        framework_id,
        acknowledge: { agent_id, task_id: { value: 'nobody' }, uuid: newStatusUuid() },
      },
      {
        type: 'RECONCILE',
        framework_id,
        reconcile: { tasks: [{ task_id: { value: 'nobody' }, agent_id }] },
      },
      { type: 'SHUTDOWN', framework_id, shutdown: { executor_id: { value: 'e' }, agent_id } },
      {
        type: 'MESSAGE',
        framework_id,
        message: { agent_id, executor_id: { value: 'e' }, data: 'AAAA' },
      },
      {
        type: 'UPDATE_FRAMEWORK',
        framework_id,
        update_framework: {
          framework_info: frameworkInfo({ id: framework_id }),
          suppressed_roles: [],
        },
      },
      { type: 'REQUEST', framework_id, request: { requests: [{ agent_id }] } },
    ],
    operator: [
      { type: 'GET_STATE' },
      { type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'r1', weight: 2 }] } },
      {
        type: 'UPDATE_QUOTA',
        update_quota: {
          force: false,
          quota_configs: [
            { role: 'r1', guarantees: { cpus: { value: 1 } }, limits: { mem: { value: 64 } } },
          ],
        },
      },
      {
        type: 'SET_QUOTA',
        set_quota: { quota_request: { force: true, role: 'r1', guarantee: [resource()] } },
      },
      { type: 'REMOVE_QUOTA', remove_quota: { role: 'r1' } },
      {
        type: 'RESERVE_RESOURCES',
        reserve_resources: { agent_id, source: [resource()], resources: [reserved] },
      },
      { type: 'UNRESERVE_RESOURCES', unreserve_resources: { agent_id, resources: [reserved] } },
      { type: 'TEARDOWN', teardown: { framework_id } },
    ],
    'agent-protocol': [
      {
        type: 'SUBSCRIBE',
        subscribe: {
          agent_info: {
            hostname: 'h',
            port: 5051,
            resources: [resource()],
            attributes: [
              { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
              { name: 'gen', type: 'SCALAR', scalar: { value: 3 } },
            ],
            id: agent_id,
          },
          version: '1.11.0',
          checkpointed_resources: [reserved],
          tasks: [
            {
              framework_id,
              framework_info: { user: 'u', name: 'n' },
              task: taskInfo(ids),
              state: 'TASK_RUNNING',
            },
          ],
        },
      },
      {
        // Each framework listed once, its tasks without framework_info (agent-report.ts).
        type: 'SUBSCRIBE',
        subscribe: {
          agent_info: { hostname: 'h', port: 5051, resources: [resource()], id: agent_id },
          version: '1.11.0',
          frameworks: [{ framework_id, framework_info: frameworkInfo() }],
          tasks: [{ framework_id, task: taskInfo(ids), state: 'TASK_RUNNING' }],
        },
      },
      {
        // Compact: frameworks once, each resources list once, tasks naming theirs by index.
        type: 'SUBSCRIBE',
        subscribe: {
          agent_info: { hostname: 'h', port: 5051, resources: [resource()], id: agent_id },
          version: '1.11.0',
          frameworks: [{ framework_id, framework_info: frameworkInfo() }],
          task_resources: [(taskInfo(ids) as { resources: Json }).resources],
          tasks: [
            {
              framework_id,
              task: withoutResources(taskInfo(ids)),
              resources_index: 0,
              state: 'TASK_RUNNING',
            },
          ],
        },
      },
      {
        type: 'UPDATE',
        agent_id,
        update: {
          framework_id,
          status: {
            task_id: { value: 'nobody' },
            state: 'TASK_RUNNING',
            message: 'm',
            source: 'SOURCE_EXECUTOR',
            reason: 'REASON_COMMAND_EXECUTOR_FAILED',
            data: 'AAAA',
            agent_id,
            executor_id: { value: 'e' },
            timestamp: 1.5,
            uuid: newStatusUuid(),
            healthy: true,
            container_status: { container_id: { value: 'c' }, executor_pid: 1 },
          },
        },
      },
    ],
    weights: [[{ role: 'r1', weight: 2 }]],
    'maintenance-schedule': [
      {
        windows: [
          {
            machine_ids: [{ hostname: 'nowhere', ip: '10.0.0.1' }],
            unavailability: { start: { nanoseconds: 1 }, duration: { nanoseconds: 3600e9 } },
          },
        ],
      },
    ],
    machines: [[{ hostname: 'nowhere', ip: '10.0.0.1' }]],
    'quota-request': [{ force: true, role: 'r1', guarantee: [resource()] }],
    'agent-operator': agentOperatorTemplates(),
  };
}

/** Valid calls of the agent's operator API (WIRE §6.3), on containers that do not exist. */
function agentOperatorTemplates(): Json[] {
  const container_id = { value: 'nobody', parent: { value: 'no-parent' } };
  return [
    { type: 'GET_HEALTH' },
    { type: 'GET_METRICS', get_metrics: {} },
    { type: 'SET_LOGGING_LEVEL', set_logging_level: { level: 1, duration: { nanoseconds: 1e9 } } },
    { type: 'LIST_FILES', list_files: { path: '/slave/log' } },
    { type: 'READ_FILE', read_file: { path: '/slave/log', offset: 0, length: 10 } },
    { type: 'GET_CONTAINERS', get_containers: { show_nested: true, show_standalone: false } },
    {
      type: 'LAUNCH_NESTED_CONTAINER_SESSION',
      launch_nested_container_session: {
        container_id,
        command: { value: 'true', shell: true, arguments: ['a'] },
      },
    },
    { type: 'ATTACH_CONTAINER_OUTPUT', attach_container_output: { container_id } },
    {
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id, command: { value: 'true', shell: true } },
    },
    { type: 'WAIT_CONTAINER', wait_container: { container_id } },
    { type: 'KILL_CONTAINER', kill_container: { container_id, signal: 15 } },
    { type: 'REMOVE_CONTAINER', remove_container: { container_id } },
    {
      type: 'LAUNCH_NESTED_CONTAINER',
      launch_nested_container: { container_id, command: { value: 'true', shell: true } },
    },
    { type: 'WAIT_NESTED_CONTAINER', wait_nested_container: { container_id } },
    { type: 'KILL_NESTED_CONTAINER', kill_nested_container: { container_id, signal: 15 } },
    { type: 'REMOVE_NESTED_CONTAINER', remove_nested_container: { container_id } },
  ];
}

/** The schema of each kind of call: what the server parses a body with before anything else. */
const SCHEMAS: Readonly<Record<CallKind, (value: unknown) => unknown>> = {
  scheduler: parseCall,
  operator: parseMasterCall,
  'agent-protocol': parseAgentCall,
  weights: (value) => parseWith(WeightsBodySchema, value),
  'maintenance-schedule': parseMaintenanceSchedule,
  machines: parseMachineIds,
  'quota-request': parseQuotaRequest,
  'agent-operator': parseAgentOperatorCall,
};

/** Whether the schema of `kind` refuses `value`: the server answers those with 400, unexecuted. */
export function isRefused(kind: CallKind, value: unknown): boolean {
  try {
    SCHEMAS[kind](value);
    return false;
  } catch (error) {
    if (error instanceof BadRequestError) return true;
    throw error;
  }
}
