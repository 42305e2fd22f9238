// The requests of the hostile-input suite, made from a seeded PRNG: mutants of valid calls
// (wrong types, nulls, dropped fields, long strings, long lists, deep nesting, random JSON in
// the calls' words), bodies that are not JSON or not UTF-8, oversized bodies, hostile query
// strings and request targets, for every route of the master and the agent.
import { join } from 'node:path';
import type { Random } from '../../../src/sim/index.js';
import {
  AGENT_ROUTES,
  type CallKind,
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
export type Expect = 'reject' | 'ok' | 'ok-or-reject';

export interface Probe {
  readonly daemon: 'master' | 'agent';
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

/** Mutants of each template of a JSON route: the schema-refused ones, as probes. */
function mutantProbes(
  random: Random,
  kind: CallKind,
  route: string,
  target: string,
  headers: Readonly<Record<string, string>>,
  values: readonly Json[],
  counts: Counts,
): Probe[] {
  const probes: Probe[] = [];
  const method = kind === 'weights' ? 'PUT' : 'POST';
  const offer = (label: string, value: Json) => {
    counts.generated++;
    if (!isRefused(kind, value)) {
      counts.skippedValid++;
      return;
    }
    probes.push({
      daemon: 'master',
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
    const name = Array.isArray(template) ? 'weights' : String(getAt(template, ['type']));
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
          daemon: 'master',
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
  route: string,
  method: string,
  target: string,
  headers: Readonly<Record<string, string>>,
  template: Json,
  kind: CallKind,
): Probe[] {
  const text = JSON.stringify(template);
  const probe = (
    label: string,
    body: Buffer | OversizedBody,
    extra: Record<string, string> = JSON_TYPE,
  ): Probe => ({
    daemon: 'master',
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
    probe(
      'raw NUL between tokens',
      Buffer.from(`{"type":\u0000"${String(getAt(template, ['type']))}"}`),
    ),
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
    probe('a 5 MB string', FIVE_MB_TYPE),
  ];
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

function getProbes(daemon: 'master' | 'agent', path: string, route: RouteKind): Probe[] {
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
  if (route.kind === 'get')
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
  return probes;
}

function filesProbes(path: string, agentWorkDir: string): Probe[] {
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
        daemon: 'agent',
        route: name,
        label: `path=${(p ?? '(none)').slice(0, 24)}${extra}`,
        method: 'GET',
        target: `${path}?${p === undefined ? '' : `path=${p}`}${extra}`,
        headers: {},
        expect: 'ok-or-reject',
      });
  return probes;
}

/**
 * Every probe of a run: for each JSON route, its calls' mutants, bodies that are not JSON,
 * hostile query strings and a wrong method; the framework's valid calls on a wrong stream;
 * every GET route of both daemons, the delegated forms, `/files/*` with hostile parameters,
 * and request targets the URL parser refuses.
 */
export function allProbes(random: Random, ids: Ids, agentWorkDir: string, counts: Counts): Probe[] {
  const calls = templates(ids);
  const streamHeaders = { 'mesos-stream-id': ids.streamId };
  const probes: Probe[] = [];
  const jsonRoutes: [string, CallKind, string, Record<string, string>][] = [
    ['POST /master/api/v1/scheduler', 'scheduler', '/api/v1/scheduler', streamHeaders],
    ['POST /master/api/v1', 'operator', '/api/v1', {}],
    ['POST /master/api/v1/agent', 'agent-protocol', '/master/api/v1/agent', {}],
    ['PUT /master/weights', 'weights', '/master/weights', {}],
  ];
  for (const [route, kind, target, headers] of jsonRoutes) {
    const values = calls[kind];
    probes.push(...mutantProbes(random, kind, route, target, headers, values, counts));
    const [first] = values;
    if (first === undefined) continue;
    const method = kind === 'weights' ? 'PUT' : 'POST';
    probes.push(...encodingProbes(random, route, method, target, headers, first, kind));
    // Streamed past the limit: readJsonBody is shared, so two routes show it counts as it reads.
    if (kind === 'scheduler' || kind === 'weights')
      probes.push({
        daemon: 'master',
        route,
        label: '9 MiB chunked',
        method,
        target,
        headers: { ...JSON_TYPE, ...headers },
        body: { chunkedBytes: 9 * 1024 * 1024 },
        expect: 'reject',
      });
    for (const [label, query] of HOSTILE_QUERIES)
      probes.push({
        daemon: 'master',
        route,
        label: `${label}, empty body`,
        method,
        target: `${target}${query}`,
        headers: JSON_TYPE,
        body: Buffer.alloc(0),
        expect: 'reject',
      });
    probes.push({
      daemon: 'master',
      route,
      label: 'DELETE',
      method: 'DELETE',
      target,
      headers: {},
      expect: 'reject',
    });
  }
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
  for (const [key, route] of Object.entries(MASTER_ROUTES))
    if (route.kind === 'get') probes.push(...getProbes('master', key.split(' ')[1] ?? '', route));
  for (const [key, route] of Object.entries(AGENT_ROUTES)) {
    const path = key.split(' ')[1] ?? '';
    if (route.kind === 'get') probes.push(...getProbes('agent', path, route));
    if (route.kind === 'files') probes.push(...filesProbes(path, agentWorkDir));
  }
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
