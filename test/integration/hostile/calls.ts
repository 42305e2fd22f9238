// The calls the hostile-input suite mutates: a valid template of each call every JSON route
// takes (the scheduler's with a subscribed framework's real ids), the schema that decides
// whether a mutant is still valid, and the table of every route of both daemons.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BadRequestError,
  newStatusUuid,
  parseAgentCall,
  parseCall,
  parseMasterCall,
  parseWith,
  WeightsBodySchema,
} from '../../../src/wire/index.js';
import { ROOT } from '../harness.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Every route of both daemons, as registered in src/ (`http.route([methods], 'path', …)`);
 * the test fails when a route is added without a place in the table below.
 */
export function registeredRoutes(): {
  daemon: 'master' | 'agent';
  methods: string[];
  path: string;
}[] {
  const routes: { daemon: 'master' | 'agent'; methods: string[]; path: string }[] = [];
  for (const daemon of ['master', 'agent'] as const) {
    const dir = join(ROOT, 'src', daemon);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const match of text.matchAll(/\.route\(\s*\[([^\]]*)\],\s*'([^']+)'/g)) {
        const methods = [...(match[1] ?? '').matchAll(/'([A-Z]+)'/g)].map((m) => m[1] ?? '');
        routes.push({ daemon, methods, path: match[2] ?? '' });
      }
    }
  }
  return routes;
}

export type RouteKind =
  | { readonly kind: 'scheduler' }
  | { readonly kind: 'operator' }
  | { readonly kind: 'agent-protocol' }
  | { readonly kind: 'weights' }
  | { readonly kind: 'get'; readonly params?: readonly (readonly [string, string])[] }
  | { readonly kind: 'files' }
  /** The agent's operator API (agent-operator.ts): probed by its own suite for now. */
  | { readonly kind: 'agent-operator' };

export const MASTER_ROUTES: Readonly<Record<string, RouteKind>> = {
  'POST /master/api/v1/scheduler': { kind: 'scheduler' },
  'POST /master/api/v1': { kind: 'operator' },
  'POST /master/api/v1/agent': { kind: 'agent-protocol' },
  'PUT /master/weights': { kind: 'weights' },
  'GET /master/state': { kind: 'get' },
  'GET /master/state.json': { kind: 'get' },
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
      ['limit', '-1'],
      ['limit', 'abc'],
      ['limit', '1e309'],
      ['offset', '9'.repeat(400)],
      ['order', 'sideways'],
      ['task_id', 't'.repeat(10_000)],
      ['framework_id', '%00%ff'],
    ],
  },
  'GET /master/roles': { kind: 'get' },
  'GET /master/roles.json': { kind: 'get' },
  'GET /master/weights': { kind: 'get' },
  'GET /master/quota': { kind: 'get' },
  'GET /master/health': { kind: 'get' },
  'GET /master/flags': { kind: 'get' },
  'GET /version': { kind: 'get' },
  'GET /metrics/snapshot': { kind: 'get', params: [['timeout', '-5secs']] },
};

export const AGENT_ROUTES: Readonly<Record<string, RouteKind>> = {
  'GET /files/read': { kind: 'files' },
  'GET /files/browse': { kind: 'files' },
  'GET /files/download': { kind: 'files' },
  'GET /slave(1)/health': { kind: 'get' },
  'GET /slave(1)/state': { kind: 'get' },
  'GET /slave(1)/state.json': { kind: 'get' },
  'GET /slave(1)/flags': { kind: 'get' },
  'GET /version': { kind: 'get' },
  'GET /metrics/snapshot': { kind: 'get' },
  'GET /monitor/statistics': { kind: 'get' },
  'GET /monitor/statistics.json': { kind: 'get' },
  'POST /slave(1)/api/v1': { kind: 'agent-operator' },
};

/** The kinds of JSON call, one per JSON route. */
export type CallKind = 'scheduler' | 'operator' | 'agent-protocol' | 'weights';

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
  };
}

/** The schema of each kind of call: what the server parses a body with before anything else. */
const SCHEMAS: Readonly<Record<CallKind, (value: unknown) => unknown>> = {
  scheduler: parseCall,
  operator: parseMasterCall,
  'agent-protocol': parseAgentCall,
  weights: (value) => parseWith(WeightsBodySchema, value),
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
