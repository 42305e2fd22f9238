// Hostile input at every route of a real master (#8, "Bad input"): random JSON
// (deep, wide, huge strings, any unicode), real call shapes with one field of
// the wrong type, cut-off JSON, random bytes, random query strings and wrong
// methods, thrown at the scheduler, operator and agent APIs and every legacy
// endpoint. Each must answer 4xx (a read-only GET may answer 200) and never 5xx
// or a reset, and /master/state must be as it was afterwards. Seeded: the seed
// is printed, and AGORA_FUZZ_SEED=<seed> replays a run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type Cluster, getState, isAlive, startCluster } from './harness.js';

/**
 * The whole run stays within this (plus the cluster's start and stop);
 * AGORA_FUZZ_MS=<ms> runs longer, to look for trouble rather than to guard.
 */
const TIME_LIMIT_MS = Number(process.env.AGORA_FUZZ_MS ?? 12_000);
/** Fewer probes than this in the time limit means the machine is too slow to say much. */
const MIN_PROBES = 100;
const MAX_BODY = '1MB';

/** What a probe may be answered with. */
type Expectation =
  /** 4xx only. */
  | 'refused'
  /** 200 or 4xx: a read, or a read-only operator call with junk beside it. */
  | 'read'
  /** /redirect answers every request with 307. */
  | 'redirect'
  /** Another part of #8 serves it (volumes, maintenance): anything but 5xx. */
  | 'other';

interface Probe {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly expect: Expectation;
}

// ------------------------------------------------------------- hostile values

const huge = fc
  .tuple(fc.constantFrom(10_000, 200_000, 2_000_000), fc.constantFrom('x', 'é', '😀', '"', '\\'))
  .map(([length, char]) => char.repeat(Math.ceil(length / char.length)));
const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '/', '*', '\u0000', '\ud800', '\ufeff') },
  { weight: 1, arbitrary: fc.nat(2 ** 16 - 1).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: huge },
);
/** Nested arrays and objects, alternating, up to 300 deep (the master stops at 64). */
const deep = fc.integer({ min: 1, max: 300 }).map((depth) => {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
});
const wide = fc.oneof(
  fc.array(fc.integer(), { maxLength: 5_000 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 500 }),
);
const extremeNumber = fc.constantFrom(1e308, -1e308, 2 ** 64, -(2 ** 63), -0, 0.1, 2 ** 53 + 1, -1);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 5 }) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: wide },
  { weight: 1, arbitrary: extremeNumber },
);

/**
 * A value of another JSON type than `like`, never one the wire would read as
 * `like`'s type (stout takes "5" for a number and "true" for a boolean), so a
 * body with it in one place is refused whatever else it holds.
 */
function wrongTypeFor(like: unknown): fc.Arbitrary<unknown> {
  const text = hostileString.map((s) => `x${s}`);
  const number = fc.oneof(fc.integer(), extremeNumber);
  const array = fc.array(hostileValue, { maxLength: 5 });
  const object = fc.oneof(
    fc.dictionary(fc.string({ maxLength: 8 }), hostileValue, { maxKeys: 5 }),
    deep,
  );
  if (typeof like === 'string') return fc.oneof(number, fc.boolean(), array, object);
  if (typeof like === 'number') return fc.oneof(text, fc.boolean(), array, object);
  if (typeof like === 'boolean') return fc.oneof(text, number, array, object);
  if (Array.isArray(like)) return fc.oneof(text, number, fc.boolean(), object);
  return fc.oneof(text, number, fc.boolean(), array);
}

type Path = readonly (string | number)[];

/** Every place in a template, inner ones included. */
function pathsOf(value: unknown, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [at];
  const children = Array.isArray(value)
    ? value.flatMap((item, i) => pathsOf(item, [...at, i]))
    : Object.entries(value).flatMap(([key, item]) => pathsOf(item, [...at, key]));
  return at.length === 0 ? children : [at, ...children];
}

function valueAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>(
    (node, key) => (node as Record<string | number, unknown> | undefined)?.[key],
    value,
  );
}

function replaced(value: unknown, path: Path, by: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return by;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head] = replaced(copy[head], rest, by);
  return copy;
}

/** A real call shape with one field of the wrong type. */
function mutated(template: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(template);
  return fc
    .constantFrom(...paths)
    .chain((path) =>
      wrongTypeFor(valueAt(template, path)).map((by) => replaced(template, path, by)),
    );
}

// ----------------------------------------------------------------- the routes

// Templates whose every id names nothing (so even a valid one is refused), or whose
// mutation is refused by construction (one field of the wrong type).
const UNKNOWN = { value: 'fuzz-nobody' };
const cpus = [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }];
const SCHEDULER_TEMPLATES = [
  {
    type: 'SUBSCRIBE',
    subscribe: { framework_info: { user: 'fuzz', name: 'fuzz', failover_timeout: 0 } },
  },
  {
    type: 'ACCEPT',
    framework_id: UNKNOWN,
    accept: {
      offer_ids: [UNKNOWN],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: 't',
                task_id: UNKNOWN,
                agent_id: UNKNOWN,
                resources: cpus,
                command: { value: 'true' },
              },
            ],
          },
        },
      ],
    },
  },
  {
    type: 'DECLINE',
    framework_id: UNKNOWN,
    decline: { offer_ids: [UNKNOWN], filters: { refuse_seconds: 5 } },
  },
  { type: 'KILL', framework_id: UNKNOWN, kill: { task_id: UNKNOWN, agent_id: UNKNOWN } },
  {
    type: 'ACKNOWLEDGE',
    framework_id: UNKNOWN,
    acknowledge: { agent_id: UNKNOWN, task_id: UNKNOWN, uuid: 'AAAAAAAAAAAAAAAAAAAAAA==' },
  },
  { type: 'RECONCILE', framework_id: UNKNOWN, reconcile: { tasks: [{ task_id: UNKNOWN }] } },
  { type: 'REVIVE', framework_id: UNKNOWN, revive: { roles: ['*'] } },
  { type: 'TEARDOWN', framework_id: UNKNOWN },
];
/** Operator calls that only read: with junk beside them they may still answer 200. */
const READ_ONLY_CALLS = [
  'GET_HEALTH',
  'GET_FLAGS',
  'GET_VERSION',
  'GET_METRICS',
  'GET_LOGGING_LEVEL',
  'GET_STATE',
  'GET_AGENTS',
  'GET_FRAMEWORKS',
  'GET_EXECUTORS',
  'GET_OPERATIONS',
  'GET_TASKS',
  'GET_ROLES',
  'GET_WEIGHTS',
  'GET_MASTER',
  'GET_QUOTA',
];
const OPERATOR_TEMPLATES = [
  { type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'fuzz', weight: 2 }] } },
  {
    type: 'UPDATE_QUOTA',
    update_quota: {
      force: true,
      quota_configs: [{ role: 'fuzz', guarantees: { cpus: { value: 1 } } }],
    },
  },
  { type: 'SET_QUOTA', set_quota: { quota_request: { role: 'fuzz', guarantee: cpus } } },
  { type: 'SET_LOGGING_LEVEL', set_logging_level: { level: 1, duration: { nanoseconds: 1e9 } } },
  { type: 'READ_FILE', read_file: { path: '/master/log', offset: 0, length: 10 } },
  { type: 'TEARDOWN', teardown: { framework_id: UNKNOWN } },
  { type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: UNKNOWN, resources: cpus } },
  { type: 'UNRESERVE_RESOURCES', unreserve_resources: { agent_id: UNKNOWN, resources: cpus } },
];
const AGENT_TEMPLATES = [
  {
    type: 'UPDATE',
    agent_id: UNKNOWN,
    update: { framework_id: UNKNOWN, status: { task_id: UNKNOWN, state: 'TASK_RUNNING' } },
  },
];

interface WriteRoute {
  readonly method: 'POST' | 'PUT';
  readonly path: string;
  readonly templates: readonly unknown[];
  readonly expect: Expectation;
  /** Form fields, for the endpoints that take `a=1&b=2`. */
  readonly form?: readonly string[];
}

const WRITE_ROUTES: readonly WriteRoute[] = [
  { method: 'POST', path: '/api/v1/scheduler', templates: SCHEDULER_TEMPLATES, expect: 'refused' },
  {
    method: 'POST',
    path: '/master/api/v1/scheduler',
    templates: SCHEDULER_TEMPLATES,
    expect: 'refused',
  },
  { method: 'POST', path: '/api/v1', templates: OPERATOR_TEMPLATES, expect: 'refused' },
  { method: 'POST', path: '/master/api/v1/agent', templates: AGENT_TEMPLATES, expect: 'refused' },
  {
    method: 'POST',
    path: '/master/teardown',
    templates: [],
    form: ['frameworkId'],
    expect: 'refused',
  },
  {
    method: 'POST',
    path: '/master/reserve',
    templates: [],
    form: ['slaveId', 'resources', 'source'],
    expect: 'refused',
  },
  {
    method: 'POST',
    path: '/master/unreserve',
    templates: [],
    form: ['slaveId', 'resources'],
    expect: 'refused',
  },
  {
    method: 'POST',
    path: '/master/quota',
    templates: [{ role: 'fuzz', guarantee: cpus }],
    expect: 'refused',
  },
  {
    method: 'PUT',
    path: '/master/weights',
    templates: [[{ role: 'fuzz', weight: 2 }]],
    expect: 'refused',
  },
  { method: 'POST', path: '/master/redirect', templates: [], expect: 'redirect' },
  {
    method: 'POST',
    path: '/master/create-volumes',
    templates: [],
    form: ['slaveId', 'volumes'],
    expect: 'other',
  },
  {
    method: 'POST',
    path: '/master/destroy-volumes',
    templates: [],
    form: ['slaveId', 'volumes'],
    expect: 'other',
  },
  { method: 'POST', path: '/master/maintenance/schedule', templates: [], expect: 'other' },
  { method: 'POST', path: '/master/machine/down', templates: [], expect: 'other' },
  { method: 'POST', path: '/master/machine/up', templates: [], expect: 'other' },
];

/** Read-only GET routes and the query parameters each reads. */
const READ_ROUTES: readonly (readonly [path: string, params: readonly string[]])[] = [
  ['/master/state', ['jsonp']],
  ['/master/state.json', []],
  ['/state', []],
  ['/master/state-summary', ['jsonp']],
  ['/master/frameworks', ['framework_id', 'jsonp']],
  ['/master/slaves', ['slave_id']],
  ['/master/tasks', ['limit', 'offset', 'order', 'framework_id', 'task_id']],
  ['/master/tasks.json', ['limit', 'order']],
  ['/master/roles', []],
  ['/master/roles.json', []],
  ['/master/weights', []],
  ['/master/quota', []],
  ['/master/flags', []],
  ['/master/health', []],
  ['/health', []],
  ['/version', []],
  ['/metrics/snapshot', ['timeout']],
  ['/metrics', []],
  ['/files/read', ['path', 'offset', 'length']],
  ['/files/browse', ['path']],
  ['/files/download', ['path']],
  ['/files/debug', []],
  ['/logging/toggle', ['level', 'duration']],
  ['/master/maintenance/schedule', []],
  ['/master/maintenance/status', []],
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/x-protobuf',
  'application/x-www-form-urlencoded',
  'text/plain',
  undefined,
] as const;
const ACCEPTS = [
  'application/json',
  '*/*',
  'application/x-protobuf',
  'text/html',
  undefined,
] as const;

const headersArb = fc
  .record({ type: fc.constantFrom(...CONTENT_TYPES), accept: fc.constantFrom(...ACCEPTS) })
  .map(({ type, accept }) => ({
    ...(type !== undefined ? { 'content-type': type } : {}),
    ...(accept !== undefined ? { accept } : {}),
  }));

/** A query value: short and hostile, with room for numbers and Mesos' own words. */
const queryValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    '-1',
    '0',
    '1e309',
    'asc',
    'des',
    '/master/log',
    '/etc/passwd',
    '../..',
    '5secs',
    'NaN',
  ),
  fc.integer().map(String),
);

function bodyFor(route: WriteRoute): fc.Arbitrary<string | Uint8Array> {
  const json = hostileValue
    // An empty list is a valid no-op weights update, not bad input.
    .filter(
      (value) => !(route.path === '/master/weights' && Array.isArray(value) && value.length === 0),
    )
    .map((value) => JSON.stringify(value) ?? 'null');
  const options: fc.Arbitrary<string | Uint8Array>[] = [
    json,
    fc.uint8Array({ maxLength: 4_096 }),
    huge,
  ];
  if (route.templates.length > 0) {
    const template = fc.constantFrom(...route.templates);
    options.push(template.chain(mutated).map((value) => JSON.stringify(value)));
    // Cut off part way: never valid JSON.
    options.push(
      fc.tuple(template, fc.nat()).map(([value, at]) => {
        const text = JSON.stringify(value);
        return text.slice(0, at % text.length);
      }),
    );
  }
  if (route.form !== undefined) {
    const fields = route.form;
    options.push(
      fc
        .array(fc.tuple(fc.constantFrom(...fields), hostileValue), { maxLength: 4 })
        .map((pairs) =>
          new URLSearchParams(
            pairs.map(([key, value]): [string, string] => [
              key,
              typeof value === 'string' ? value : (JSON.stringify(value) ?? ''),
            ]),
          ).toString(),
        ),
    );
  }
  return fc.oneof(...options);
}

const writeProbe = fc.constantFrom(...WRITE_ROUTES).chain((route) =>
  fc.record({ body: bodyFor(route), headers: headersArb }).map(
    ({ body, headers }): Probe => ({
      method: route.method,
      path: route.path,
      headers,
      body,
      expect: route.expect,
    }),
  ),
);

/** An operator call that only reads, with junk where its body would go. */
const readOnlyCallProbe = fc
  .tuple(fc.constantFrom(...READ_ONLY_CALLS), hostileValue, headersArb)
  .map(
    ([type, junk, headers]): Probe => ({
      method: 'POST',
      path: '/api/v1',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ type, [type.toLowerCase()]: junk }),
      expect: 'read',
    }),
  );

const readProbe = fc.constantFrom(...READ_ROUTES).chain(([path, params]) =>
  fc
    .array(
      fc.tuple(
        params.length > 0 ? fc.constantFrom(...params) : fc.string({ maxLength: 8 }),
        queryValue,
      ),
      {
        maxLength: 4,
      },
    )
    .map((pairs): Probe => {
      const query = new URLSearchParams(pairs).toString();
      return {
        method: 'GET',
        path: query === '' ? path : `${path}?${query}`,
        headers: {},
        expect: 'read',
      };
    }),
);

/** A method a route does not take: 405 (or 404 where there is no route). */
const wrongMethodProbe = fc
  .tuple(
    fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    fc.constantFrom(...READ_ROUTES.map(([path]) => path), '/api/v1', '/api/v1/scheduler'),
  )
  .map(([method, path]): Probe => ({ method, path, headers: {}, expect: 'refused' }));

/** DELETE /master/quota/<role> of roles that have no quota. */
const deleteQuotaProbe = hostileString
  .filter((role) => role.length > 0 && role.length < 2_000)
  .map(
    (role): Probe => ({
      method: 'DELETE',
      // Every byte escaped (encodeURIComponent refuses a lone surrogate).
      path: `/master/quota/${[...Buffer.from(role)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`,
      headers: {},
      expect: 'refused',
    }),
  );

const probe = fc.oneof(
  { weight: 6, arbitrary: writeProbe },
  { weight: 3, arbitrary: readProbe },
  { weight: 1, arbitrary: readOnlyCallProbe },
  { weight: 1, arbitrary: wrongMethodProbe },
  { weight: 1, arbitrary: deleteQuotaProbe },
);

function isExpected(expect: Expectation, status: number): boolean {
  const isClientError = status >= 400 && status < 500;
  switch (expect) {
    case 'refused':
      return isClientError;
    case 'read':
      return status === 200 || isClientError;
    case 'redirect':
      return status === 307;
    case 'other':
      return status < 500;
  }
}

/** /master/state without what moves by itself (times). */
function normalized(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalized);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !/time|uptime/.test(key))
      .map(([key, item]) => [key, normalized(item)]),
  );
}

describe('a master under hostile input', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ agents: 1, masterArgs: ['--max_request_body', MAX_BODY] });
  });
  after(() => cluster?.stop());

  test('every route answers 4xx (or 200 for a read), never 5xx or a reset, and state is unchanged', async (t) => {
    const seed = Number(process.env.AGORA_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    t.diagnostic(`seed ${seed} (replay with AGORA_FUZZ_SEED=${seed})`);
    const before = normalized(await getState(cluster.masterUrl));
    const statuses = new Map<number, number>();

    const details = await fc.check(
      fc.asyncProperty(probe, async (p) => {
        const response = await fetch(new URL(p.path, cluster.masterUrl), {
          method: p.method,
          headers: p.headers,
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
          ...(p.body !== undefined ? { body: p.body } : {}),
        });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (!isExpected(p.expect, response.status))
          throw new Error(
            `${p.method} ${p.path.slice(0, 200)} answered ${response.status} (${text.slice(0, 200)}); expected ${p.expect}`,
          );
      }),
      {
        seed,
        numRuns: 100_000,
        interruptAfterTimeLimit: TIME_LIMIT_MS,
        markInterruptAsFailure: false,
      },
    );
    t.diagnostic(
      `${details.numRuns} probes; answers by status: ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    if (details.failed) assert.fail(fc.defaultReportMessage(details) ?? 'property failed');
    assert.ok(details.numRuns >= MIN_PROBES, `only ${details.numRuns} probes ran`);

    assert.ok(isAlive(cluster.master.pid), 'the master is alive');
    assert.equal((await fetch(new URL('/health', cluster.masterUrl))).status, 200);
    assert.deepEqual(
      normalized(await getState(cluster.masterUrl)),
      before,
      '/master/state is unchanged',
    );
    const errors = cluster.master.lines.filter((line) => Number(line.level) >= 50);
    assert.deepEqual(errors, [], 'the master logged no error');
  });
});
