// The requests of the hostile-input suite, made from a seeded PRNG: mutants of valid calls
// (wrong types, nulls, dropped fields, long strings, long lists, deep nesting, random JSON in
// the calls' words), bodies that are not JSON or not UTF-8, oversized bodies, hostile query
// strings and request targets, for every route of the master and the agent.
import { join } from 'node:path';
import type { Random } from '../../../src/sim/index.js';
import {
  AGENT_ROUTES,
  type CallKind,
  type FormField,
  type Ids,
  isRefused,
  type Json,
  MASTER_ROUTES,
  type RouteKind,
  templates,
} from './calls.js';
import {
  getAt,
  kindOf,
  nested,
  OTHER_KINDS,
  pathsOf,
  pick,
  randomJson,
  vocabularyOf,
  withAt,
} from './mutate.js';

export { getAt, pathsOf, takesAnyString, withAt } from './mutate.js';

/** Above every string bound but `data` (limits.ts: 128 KiB at most). */
export const LONG_STRING_LENGTH = 140_000;
/** Above every list bound (limits.ts: 100,000 at most); only checked in-process. */
export const LONG_LIST_LENGTH = 100_001;
/** Sent: above every list bound but MAX_TASKS and MAX_RANGES, cheap enough to send per list. */
const SENT_LIST_LENGTH = 20_000;
/** Deeper than MAX_JSON_DEPTH (64). */
const TOO_DEEP = 70;

// Shared, never written: the big bodies are made once.
export const LONG_STRING = 'l'.repeat(LONG_STRING_LENGTH);
const ID_LENGTH_STRING = 'i'.repeat(10_000);
const NINE_MIB = Buffer.alloc(9 * 1024 * 1024, 0x20);
const SMALL_BODY = Buffer.alloc(64 * 1024, 0x20);
const DEEP_TYPE = Buffer.from(`{"type":${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
const OPEN_BRACKETS = Buffer.from('['.repeat(1_000_000));
const DEEP_OBJECTS = Buffer.from(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`);
const FIVE_MB_TYPE = Buffer.from(JSON.stringify({ type: 'x'.repeat(5_000_000) }));

/**
 * A body over the limit, not held in memory: `declaredBytes` sends only the Content-Length
 * (the server must refuse before reading) and hangs up after the answer; `chunkedBytes`
 * streams that many bytes with no length declared (the server must count as it reads).
 */
export type OversizedBody = { readonly declaredBytes: number } | { readonly chunkedBytes: number };

/** What a probe must get: a 4xx, a 2xx, or either; never a 5xx or a reset. */
export type Expect = 'reject' | 'ok' | 'ok-or-reject' | 'redirect';

type Daemon = 'master' | 'agent';

export interface Probe {
  readonly daemon: Daemon;
  readonly route: string;
  readonly label: string;
  readonly method: string;
  /** Path and query as sent. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer | OversizedBody;
  readonly expect: Expect;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function jsonBody(value: Json): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export interface Counts {
  generated: number;
  skippedValid: number;
}

/** Where a JSON route's probes go: the daemon, the route's name, method, target and headers. */
interface JsonRoute {
  readonly daemon: Daemon;
  readonly route: string;
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Mutants of each template of a JSON route: the schema-refused ones, as probes. */
function mutantProbes(
  random: Random,
  kind: CallKind,
  { daemon, route, method, target, headers }: JsonRoute,
  values: readonly Json[],
  counts: Counts,
): Probe[] {
  const probes: Probe[] = [];
  const offer = (label: string, value: Json) => {
    counts.generated++;
    if (!isRefused(kind, value)) {
      counts.skippedValid++;
      return;
    }
    probes.push({
      daemon,
      route,
      label,
      method,
      target,
      headers: { ...JSON_TYPE, ...headers },
      body: jsonBody(value),
      expect: 'reject',
    });
  };
  for (const template of values) {
    const type = Array.isArray(template) ? undefined : getAt(template, ['type']);
    const name = typeof type === 'string' ? type : kind;
    for (const path of pathsOf(template)) {
      const at = `${name} ${path.join('.')}`;
      const original = getAt(template, path);
      const kindHere = kindOf(original);
      // A wrong type: one of the kinds it is not, chosen by the seed.
      const other = pick(random, OTHER_KINDS[kindHere]);
      offer(`${at} as ${kindOf(other)}`, withAt(template, path, other));
      offer(`${at} as null`, withAt(template, path, null));
      if (typeof path[path.length - 1] === 'string')
        offer(`${at} dropped`, withAt(template, path, undefined));
      // Length: every string field, and an id's worth of characters.
      if (kindHere === 'string') {
        offer(`${at} 10,000 characters`, withAt(template, path, ID_LENGTH_STRING));
        offer(`${at} ${LONG_STRING_LENGTH} characters`, withAt(template, path, LONG_STRING));
        if (random() < 0.5)
          offer(`${at} with NUL and escapes`, withAt(template, path, 'a\u0000b\u001b[2J\u2028'));
      }
      // Count: a list far longer than any real one, of small entries (the count is the point).
      if (kindHere === 'array' && Array.isArray(original)) {
        const first = original[0] ?? 'x';
        const small: Json = typeof first === 'object' && first !== null ? {} : first;
        offer(
          `${at} of ${SENT_LIST_LENGTH}`,
          withAt(template, path, new Array<Json>(SENT_LIST_LENGTH).fill(small)),
        );
      }
      // Depth: one in four paths, as the scan before parsing treats them all alike.
      if (random() < 0.25) {
        counts.generated++;
        probes.push({
          daemon,
          route,
          label: `${at} nested ${TOO_DEEP} deep`,
          method,
          target,
          headers: { ...JSON_TYPE, ...headers },
          body: jsonBody(withAt(template, path, nested(TOO_DEEP))),
          expect: 'reject',
        });
      }
    }
  }
  // Random JSON in the calls' own words.
  const vocabulary = vocabularyOf(values);
  for (let i = 0; i < 40; i++) offer(`random JSON ${i}`, randomJson(random, vocabulary, 5));
  return probes;
}

/** Bodies that are not JSON, or not the JSON of a call, for a JSON route. */
function encodingProbes(
  random: Random,
  { daemon, route, method, target, headers }: JsonRoute,
  template: Json,
  kind: CallKind,
): Probe[] {
  const text = JSON.stringify(template);
  const probe = (
    label: string,
    body: Buffer | OversizedBody,
    extra: Record<string, string> = JSON_TYPE,
  ): Probe => ({
    daemon,
    route,
    label,
    method,
    target,
    headers: { ...extra, ...headers },
    body,
    expect: 'reject',
  });
  const inString = (bytes: readonly number[]) =>
    Buffer.concat([Buffer.from('{"type":"'), Buffer.from(bytes), Buffer.from('"}')]);
  const probes: Probe[] = [
    probe('invalid UTF-8 byte', inString([0xff, 0x41])),
    probe('truncated two-byte character', inString([0xc3])),
    probe('overlong encoding of /', inString([0xc0, 0xaf])),
    probe('encoded surrogate', inString([0xed, 0xa0, 0x80])),
    probe('code point above U+10FFFF', inString([0xf5, 0x80, 0x80, 0x80])),
    probe('byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])),
    probe('UTF-16LE', Buffer.from(text, 'utf16le')),
    probe(
      'UTF-16 with its BOM',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
    ),
    probe('raw NUL in a string', inString([0x47, 0x00, 0x48])),
    probe('raw NUL between tokens', Buffer.from(`\u0000${text}`)),
    probe('empty body', Buffer.alloc(0)),
    probe('no Content-Type', Buffer.from(text), {}),
    probe('text/plain', Buffer.from(text), { 'content-type': 'text/plain' }),
    probe('application/jsonx', Buffer.from(text), { 'content-type': 'application/jsonx' }),
    probe('a 8 KB Content-Type', Buffer.from(text), {
      'content-type': `application/${'x'.repeat(8000)}`,
    }),
    probe(
      'protobuf-looking garbage',
      Buffer.from([0x08, 0x01, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x1a]),
      {
        'content-type': 'application/x-protobuf',
      },
    ),
    probe('10,000-deep arrays in type', DEEP_TYPE),
    probe('1,000,000 open brackets', OPEN_BRACKETS),
    probe('deep objects', DEEP_OBJECTS),
    // Past the route's limit (an agent's SUBSCRIBE may carry 128 MiB of tasks).
    probe('declared past the limit', {
      declaredBytes: (kind === 'agent-protocol' ? 129 : 9) * 1024 * 1024,
    }),
  ];
  // A 5 MB `type`: refused where `type` means something (a call); elsewhere an unknown field,
  // which proto2 semantics ignore (a valid body: not sent).
  if (isRefused(kind, { type: 'x' })) probes.push(probe('a 5 MB string', FIVE_MB_TYPE));
  for (let i = 0; i < 4; i++) {
    const cut = 1 + Math.floor(random() * (text.length - 2));
    probes.push(probe(`cut at byte ${cut}`, Buffer.from(text.slice(0, cut))));
  }
  for (let i = 0; i < 12; i++) {
    const bytes = Buffer.alloc(1 + Math.floor(random() * 2048));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    probes.push(probe(`random bytes ${i}`, bytes));
    probes.push(
      probe(`random protobuf bytes ${i}`, bytes, { 'content-type': 'application/x-protobuf' }),
    );
  }
  // JSON that is not an object of a call; through the schema, as `[]` is a valid weights body.
  for (const literal of ['null', '[]', '"GET_HEALTH"', '1e999', 'true', '{}', '[{}]'])
    if (isRefused(kind, JSON.parse(literal)))
      probes.push(probe(`the body ${literal}`, Buffer.from(literal)));
  return probes;
}

/** Hostile query strings, each appended to a request that is otherwise `base`. */
const HOSTILE_QUERIES: readonly (readonly [label: string, query: string, tooLong: boolean])[] = [
  ['NUL', '?%00=%00&a=%00', false],
  ['bad escapes', '?%zz=%&%=%e2%82', false],
  ['invalid UTF-8 escapes', '?a=%ff%fe%c0%af', false],
  ['1,000 repeats', `?${'a=1&'.repeat(1000)}`, false],
  ['14 KB value', `?q=${'v'.repeat(14_000)}`, false],
  ['jsonp script', '?jsonp=alert(1)%3B//', false],
  ['long jsonp', `?jsonp=${'f'.repeat(10_000)}`, false],
  ['20 KB URL', `?q=${'v'.repeat(20_000)}`, true],
];

function getProbes(daemon: Daemon, path: string, route: RouteKind): Probe[] {
  const name = `GET ${path}`;
  const takesInput = route.kind === 'get' && (route.params?.length ?? 0) > 0;
  const probes: Probe[] = [
    { daemon, route: name, label: 'plain', method: 'GET', target: path, headers: {}, expect: 'ok' },
    { daemon, route: name, label: 'HEAD', method: 'HEAD', target: path, headers: {}, expect: 'ok' },
    {
      daemon,
      route: name,
      label: 'with a body',
      method: 'GET',
      target: path,
      headers: { 'content-type': 'application/json' },
      body: SMALL_BODY,
      expect: 'ok',
    },
  ];
  for (const method of ['POST', 'DELETE', 'PATCH'])
    probes.push({
      daemon,
      route: name,
      label: `${method} with a body`,
      method,
      target: path,
      headers: JSON_TYPE,
      body: SMALL_BODY,
      expect: 'reject',
    });
  for (const [label, query, tooLong] of HOSTILE_QUERIES)
    probes.push({
      daemon,
      route: name,
      label,
      method: 'GET',
      target: `${path}${query}`,
      headers: {},
      expect: tooLong ? 'reject' : takesInput ? 'ok-or-reject' : 'ok',
    });
  if (route.kind === 'get') {
    for (const [key, value] of route.params ?? [])
      probes.push({
        daemon,
        route: name,
        label: `${key}=${value.slice(0, 12)}`,
        method: 'GET',
        target: `${path}?${key}=${value}`,
        headers: {},
        expect: 'ok-or-reject',
      });
    for (const query of route.invalid ?? [])
      probes.push({
        daemon,
        route: name,
        label: query.slice(0, 40),
        method: 'GET',
        target: `${path}?${query}`,
        headers: {},
        expect: 'reject',
      });
  }
  return probes;
}

function filesProbes(daemon: Daemon, path: string, agentWorkDir: string): Probe[] {
  const name = `GET ${path}`;
  const paths = [
    undefined,
    '',
    '%00',
    '/etc/passwd',
    '/',
    '../../../../../../etc/passwd',
    '/frameworks/x/executors/y/runs/latest/../../../../../../../etc/passwd',
    encodeURIComponent(`/frameworks/${'a'.repeat(5000)}`),
    'p'.repeat(10_000),
    encodeURIComponent(join(agentWorkDir, 'slaves')),
    encodeURIComponent(`${join(agentWorkDir, 'slaves')}/%00/..`),
    '%ff%fe',
    '/master/log',
    '/master/log/../../../etc/passwd',
  ];
  const params = [
    '',
    '&offset=-2',
    '&offset=abc&length=-5',
    '&offset=1e309',
    '&offset=0&length=9007199254740993',
  ];
  const probes: Probe[] = [];
  for (const p of paths)
    for (const extra of params)
      probes.push({
        daemon,
        route: name,
        label: `path=${(p ?? '(none)').slice(0, 24)}${extra}`,
        method: 'GET',
        target: `${path}?${p === undefined ? '' : `path=${p}`}${extra}`,
        headers: {},
        expect: 'ok-or-reject',
      });
  return probes;
}

const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };

/** A form body: each pair encoded as a browser would. */
function formBody(pairs: readonly (readonly [string, string])[]): Buffer {
  return Buffer.from(
    new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, v])).toString(),
  );
}

/**
 * A libprocess form POST (/master/teardown, /reserve, …): missing, repeated, oversized and
 * hostile fields, a resources field that is not JSON, too deep, too long or not Resources, an
 * unknown id, and a valid request for what does not exist (409). None is valid: a valid one
 * would tear down or reserve.
 */
function formProbes(
  random: Random,
  path: string,
  fields: readonly FormField[],
  ids: Ids,
  counts: Counts,
): Probe[] {
  const name = `POST ${path}`;
  const probes: Probe[] = [];
  const unknownId = 'no-such-id';
  const realId = (field: FormField) => (field.name === 'slaveId' ? ids.agentId : unknownId);
  // More than the agent has: (un)reserving or making volumes of it is 409, never done.
  const tooMuch: Json = [
    {
      name: path.endsWith('volumes') ? 'disk' : 'cpus',
      type: 'SCALAR',
      scalar: { value: 100_000 },
      reservations: [{ type: 'DYNAMIC', role: 'r1', principal: 'p' }],
      ...(path.endsWith('volumes')
        ? {
            disk: {
              persistence: { id: 'v', principal: 'p' },
              volume: { mode: 'RW', container_path: 'v' },
            },
          }
        : {}),
    },
  ];
  const valid = (field: FormField): string =>
    field.isResources === true ? JSON.stringify(tooMuch) : realId(field);
  const pairsWith = (name: string, value: string | undefined) =>
    fields.flatMap((f): [string, string][] =>
      f.name === name ? (value === undefined ? [] : [[f.name, value]]) : [[f.name, valid(f)]],
    );
  const send = (
    label: string,
    body: Buffer | OversizedBody,
    headers: Readonly<Record<string, string>> = FORM_TYPE,
  ) => {
    counts.generated++;
    probes.push({
      daemon: 'master',
      route: name,
      label,
      method: 'POST',
      target: path,
      headers,
      body,
      expect: 'reject',
    });
  };
  send('empty body', Buffer.alloc(0));
  send('no Content-Type, empty body', Buffer.alloc(0), {});
  send('invalid UTF-8', Buffer.from([0x61, 0x3d, 0xff, 0xfe]));
  send('invalid UTF-8 escape', Buffer.from('frameworkId=%ff%fe&slaveId=%c0%af'));
  send('bad escapes', Buffer.from('%zz=%&%=%e2%82'));
  send('10,000 empty fields', Buffer.from('&'.repeat(10_000)));
  send('1,000 repeats', Buffer.from(`${fields[0]?.name ?? 'a'}=x&`.repeat(1000)));
  send(
    'JSON instead of a form',
    Buffer.from(JSON.stringify({ frameworkId: unknownId })),
    JSON_TYPE,
  );
  send('declared past the limit', { declaredBytes: 9 * 1024 * 1024 });
  send('9 MiB chunked', { chunkedBytes: 9 * 1024 * 1024 });
  for (const field of fields) {
    const with_ = (label: string, value: string | undefined) =>
      send(`${field.name} ${label}`, formBody(pairsWith(field.name, value)));
    with_('missing', undefined);
    with_('empty', '');
    with_('unknown', field.isResources === true ? '[]' : unknownId);
    with_('10,000 characters', ID_LENGTH_STRING);
    with_(`${LONG_STRING_LENGTH} characters`, LONG_STRING);
    with_('with NUL and escapes', 'a\u0000b\u001b[2J\u2028');
    if (field.isResources !== true) continue;
    with_('not JSON', '[{');
    with_('a JSON object', '{}');
    with_(`nested ${TOO_DEEP} deep`, JSON.stringify([nested(TOO_DEEP)]));
    with_('10,000-deep arrays', `${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    with_(
      `a list of ${SENT_LIST_LENGTH}`,
      JSON.stringify(new Array<Json>(SENT_LIST_LENGTH).fill(tooMuch[0] ?? null)),
    );
    // Mutants of a Resource that the schema refuses; valid ones are 409 (too much) or not sent.
    const template = (tooMuch as Json[])[0] ?? null;
    for (const p of pathsOf(template)) {
      const other = pick(random, OTHER_KINDS[kindOf(getAt(template, p))]);
      with_(`${p.join('.')} as ${kindOf(other)}`, JSON.stringify([withAt(template, p, other)]));
      if (typeof getAt(template, p) === 'string')
        with_(`${p.join('.')} long`, JSON.stringify([withAt(template, p, LONG_STRING)]));
    }
  }
  // Well-formed, for what is not there: the master refuses without changing anything.
  send('valid, for what is not there', formBody(fields.map((f) => [f.name, valid(f)])));
  return probes;
}

/** DELETE /master/quota/<role>: hostile roles in the path, and a role with no quota. */
function quotaDeleteProbes(): Probe[] {
  const roles = [
    'r1', // no quota is set: 400, as Mesos' "Failed to remove quota: Non-existent quota"
    'no-quota/child',
    '.',
    '..',
    '%00',
    '%zz',
    '%ff%fe',
    'a%20b',
    '-leading-dash',
    'r'.repeat(256),
    'r'.repeat(10_000),
    `${'a/'.repeat(100)}a`,
    '*',
  ];
  return roles.map((role) => ({
    daemon: 'master',
    route: 'DELETE /master/quota/*',
    label: `role ${role.slice(0, 24)}`,
    method: 'DELETE',
    target: `/master/quota/${role}`,
    headers: {},
    expect: 'reject',
  }));
}

/** /master/redirect: 307 to the leader whatever comes with it; `/redirect/x` is 404. */
function redirectProbes(method: string): Probe[] {
  const route = `${method} /master/redirect`;
  const probe = (label: string, target: string, expect: Expect, body?: Buffer): Probe => ({
    daemon: 'master',
    route,
    label,
    method,
    target,
    headers: body === undefined ? {} : JSON_TYPE,
    ...(body === undefined ? {} : { body }),
    expect,
  });
  return [
    probe('plain', '/master/redirect', 'redirect'),
    probe('delegated', '/redirect', 'redirect'),
    probe('with a body', '/master/redirect', 'redirect', SMALL_BODY),
    probe('hostile query', `/master/redirect?${'a=%00&'.repeat(100)}`, 'redirect'),
    probe('a path under it', '/master/redirect/x', 'reject'),
  ];
}

/**
 * ATTACH_CONTAINER_INPUT's RecordIO request stream on the agent: broken framing, records
 * that are not calls, and a call for a container that does not exist.
 */
function recordIoProbes(target: string): Probe[] {
  const route = 'POST /slave(1)/api/v1';
  const record = (text: string) => `${Buffer.byteLength(text)}\n${text}`;
  const attach = JSON.stringify({
    type: 'ATTACH_CONTAINER_INPUT',
    attach_container_input: { type: 'CONTAINER_ID', container_id: { value: 'nobody' } },
  });
  const bodies: [string, Buffer | OversizedBody][] = [
    ['empty stream', Buffer.alloc(0)],
    ['a length that is not a number', Buffer.from('abc\n{}')],
    ['a record longer than its stream', Buffer.from('1000\n{}')],
    ['a 1 GiB record length', Buffer.from(`${2 ** 30}\n{}`)],
    ['a 400-digit length', Buffer.from(`${'9'.repeat(400)}\n{}`)],
    ['no newline in 64 KiB', SMALL_BODY],
    ['a record that is not JSON', Buffer.from(record('{'))],
    ['a first record of another type', Buffer.from(record('{"type":"GET_HEALTH"}'))],
    ['a record nested too deep', Buffer.from(record(JSON.stringify(nested(TOO_DEEP))))],
    ['an unknown container', Buffer.from(record(attach))],
    ['9 MiB chunked', { chunkedBytes: 9 * 1024 * 1024 }],
  ];
  return bodies.map(([label, body]) => ({
    daemon: 'agent',
    route,
    label: `RecordIO: ${label}`,
    method: 'POST',
    target,
    headers: { 'content-type': 'application/recordio', 'message-content-type': 'application/json' },
    body,
    expect: 'reject',
  }));
}

/** A JSON route of `kind`: its calls' mutants, bodies that are not JSON, hostile queries. */
function callRouteProbes(
  random: Random,
  daemon: Daemon,
  key: string,
  route: Extract<RouteKind, { kind: 'call' }>,
  ids: Ids,
  calls: Record<CallKind, Json[]>,
  counts: Counts,
): Probe[] {
  const probes: Probe[] = [];
  const headers: Record<string, string> =
    route.stream === true ? { 'mesos-stream-id': ids.streamId } : {};
  const values = calls[route.call];
  const [target, ...otherTargets] = route.targets;
  if (target === undefined) throw new Error(`${key} has no target`);
  const at: JsonRoute = { daemon, route: key, method: route.method, target, headers };
  probes.push(...mutantProbes(random, route.call, at, values, counts));
  const [first] = values;
  if (first !== undefined) {
    probes.push(...encodingProbes(random, at, first, route.call));
    // The other targets (delegated forms) reach the same handler: a few of the same bodies.
    for (const other of otherTargets)
      probes.push(
        ...encodingProbes(random, { ...at, target: other }, first, route.call).slice(0, 12),
      );
  }
  // Streamed past the limit: readJsonBody is shared, so a few routes show it counts as it reads.
  if (route.call === 'scheduler' || route.call === 'weights' || route.call === 'agent-operator')
    probes.push({
      daemon,
      route: key,
      label: '9 MiB chunked',
      method: route.method,
      target,
      headers: { ...JSON_TYPE, ...headers },
      body: { chunkedBytes: 9 * 1024 * 1024 },
      expect: 'reject',
    });
  for (const [label, query] of HOSTILE_QUERIES)
    probes.push({
      daemon,
      route: key,
      label: `${label}, empty body`,
      method: route.method,
      target: `${target}${query}`,
      headers: JSON_TYPE,
      body: Buffer.alloc(0),
      expect: 'reject',
    });
  probes.push({
    daemon,
    route: key,
    label: 'DELETE',
    method: 'DELETE',
    target,
    headers: {},
    expect: 'reject',
  });
  if (route.call === 'agent-operator')
    for (const t of route.targets) probes.push(...recordIoProbes(t));
  return probes;
}

function routeProbes(
  random: Random,
  daemon: Daemon,
  key: string,
  route: RouteKind,
  ids: Ids,
  calls: Record<CallKind, Json[]>,
  agentWorkDir: string,
  counts: Counts,
): Probe[] {
  const [method = '', path = ''] = key.split(' ');
  switch (route.kind) {
    case 'call':
      return callRouteProbes(random, daemon, key, route, ids, calls, counts);
    case 'form':
      return formProbes(random, path, route.fields, ids, counts);
    case 'quota-delete':
      return quotaDeleteProbes();
    case 'redirect':
      return redirectProbes(method);
    case 'get':
      return getProbes(daemon, path, route);
    case 'files':
      return filesProbes(daemon, path, agentWorkDir);
    case 'cases':
      return route.cases.map((c) => ({
        daemon,
        route: key,
        label: c.target.slice(0, 60),
        method: c.method,
        target: c.target.replace('{agent}', ids.agentId),
        headers: c.body === undefined ? {} : JSON_TYPE,
        ...(c.body === undefined ? {} : { body: Buffer.from(c.body, 'utf8') }),
        expect: c.expect,
      }));
    case 'unserved':
      return [
        {
          daemon,
          route: key,
          label: 'not served',
          method,
          target: path,
          headers: {},
          expect: 'reject',
        },
      ];
    default:
      return assertNever(route);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled route kind ${JSON.stringify(value)}`);
}

/**
 * Every probe of a run: for each route of both daemons, what its kind takes (calls' mutants,
 * bodies that are not JSON, forms, hostile query strings, a wrong method); the framework's
 * valid calls on a wrong stream; the delegated forms, and request targets the URL parser
 * refuses.
 */
export function allProbes(random: Random, ids: Ids, agentWorkDir: string, counts: Counts): Probe[] {
  const calls = templates(ids);
  const probes: Probe[] = [];
  for (const [daemon, table] of [
    ['master', MASTER_ROUTES],
    ['agent', AGENT_ROUTES],
  ] as const)
    for (const [key, route] of Object.entries(table))
      probes.push(...routeProbes(random, daemon, key, route, ids, calls, agentWorkDir, counts));
  // Valid calls of the framework, but on a stream that is not its own: 400, nothing done.
  for (const call of calls.scheduler.filter((c) => getAt(c, ['type']) !== 'SUBSCRIBE'))
    for (const streamId of [undefined, 'not-the-stream', 's'.repeat(8000)])
      probes.push({
        daemon: 'master',
        route: 'POST /master/api/v1/scheduler',
        label: `${String(getAt(call, ['type']))} with stream id ${streamId?.slice(0, 12) ?? '(none)'}`,
        method: 'POST',
        target: '/api/v1/scheduler',
        headers: {
          ...JSON_TYPE,
          ...(streamId === undefined ? {} : { 'mesos-stream-id': streamId }),
        },
        body: jsonBody(call),
        expect: 'reject',
      });
  for (const daemon of ['master', 'agent'] as const)
    probes.push({
      daemon,
      route: 'GET /version',
      label: 'POST with a 9 MiB body',
      method: 'POST',
      target: '/version',
      headers: JSON_TYPE,
      body: NINE_MIB,
      expect: 'reject',
    });
  // Delegated forms reach the same handlers.
  probes.push(
    ...getProbes('master', '/state', { kind: 'get' }),
    ...getProbes('agent', '/state', { kind: 'get' }),
  );
  for (const target of ['//a:b', '/%', '/master/%zz/state', `/${'x'.repeat(10_000)}`])
    probes.push({
      daemon: 'master',
      route: 'any',
      label: `target ${target.slice(0, 12)}`,
      method: 'GET',
      target,
      headers: {},
      expect: 'reject',
    });
  return probes;
}

/** Bytes a run sends in bodies. */
export function bodyBytes(probes: readonly Probe[]): number {
  return probes.reduce(
    (sum, p) =>
      sum +
      (p.body === undefined
        ? 0
        : Buffer.isBuffer(p.body)
          ? p.body.length
          : 'chunkedBytes' in p.body
            ? p.body.chunkedBytes
            : 0),
    0,
  );
}
