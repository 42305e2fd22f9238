// The hand-written checks of the hottest calls (wire/fast-calls.ts) against the zod schemas
// they stand in for: on the plain form they give what the schema gives, and on anything
// else, valid or hostile, they step aside (undefined) whenever the schema would refuse, so
// every 400 keeps the schema's field and reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { z } from 'zod';
import { fastAgentCall, fastCall } from '../../src/wire/fast-calls.js';
import { MAX_ID_BYTES } from '../../src/wire/limits.js';
import { AgentCallSchema, CallSchema, parseAgentCall, parseCall } from '../../src/wire/schemas.js';
import { newStatusUuid } from '../../src/wire/status-uuid.js';

const uuid = newStatusUuid();
const framework_id = { value: 'f-1' };
const agent_id = { value: 'a-1' };

const status = {
  task_id: { value: 't1' },
  state: 'TASK_RUNNING',
  message: 'running',
  source: 'SOURCE_EXECUTOR',
  reason: 'REASON_COMMAND_EXECUTOR_FAILED',
  data: '',
  agent_id,
  executor_id: { value: 'e-1' },
  timestamp: 1733500000.25,
  uuid,
  healthy: true,
};

const PLAIN_CALLS: readonly unknown[] = [
  { type: 'ACKNOWLEDGE', framework_id, acknowledge: { agent_id, task_id: { value: 't1' }, uuid } },
  { type: 'DECLINE', framework_id, decline: { offer_ids: [{ value: 'o-1' }] } },
  {
    type: 'DECLINE',
    framework_id,
    decline: { offer_ids: [{ value: 'o-1' }, { value: 'o-2' }], filters: { refuse_seconds: 5 } },
  },
  {
    type: 'ACCEPT',
    framework_id,
    accept: {
      offer_ids: [{ value: 'o-1' }],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: 'n',
                task_id: { value: 't1' },
                agent_id,
                resources: [
                  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
                  { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
                ],
                command: { value: 'true', shell: true, arguments: ['a'], user: 'nobody' },
                labels: { labels: [{ key: 'k', value: 'v' }, { key: 'only-key' }] },
              },
            ],
          },
        },
      ],
      filters: { refuse_seconds: 1 },
    },
  },
  { type: 'ACCEPT', framework_id, accept: { offer_ids: [{ value: 'o-1' }] } },
];

const agentResources = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 4096 } },
  { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
];
const allocated = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, allocation_info: { role: 'web' } },
  {
    name: 'ports',
    type: 'RANGES',
    ranges: { range: [{ begin: 31000, end: 31001 }] },
    allocation_info: { role: 'web' },
  },
];

const PLAIN_AGENT_CALLS: readonly unknown[] = [
  // An agent's first registration, and its re-registration with a task (after a failover).
  {
    type: 'SUBSCRIBE',
    subscribe: {
      agent_info: { hostname: 'h1', port: 5051, resources: agentResources },
      version: '1.11.0',
      tasks: [],
    },
  },
  {
    type: 'SUBSCRIBE',
    agent_id,
    subscribe: {
      agent_info: { hostname: 'h1', port: 5051, resources: agentResources, id: agent_id },
      version: '1.11.0',
      tasks: [
        {
          framework_id,
          framework_info: {
            user: 'u',
            name: 'f',
            id: framework_id,
            failover_timeout: 60,
            checkpoint: true,
            role: 'web',
            roles: ['web', 'db'],
            hostname: 'fh',
            principal: 'p',
            webui_url: 'http://fh',
            capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }],
          },
          task: {
            name: 'n',
            task_id: { value: 't1' },
            agent_id,
            resources: allocated,
            command: { value: 'sleep 10' },
            labels: { labels: [{ key: 'k', value: 'v' }] },
          },
          state: 'TASK_RUNNING',
        },
      ],
    },
  },
  // Tasks whose framework_info and resources repeat, as separate equal objects (as JSON.parse
  // gives them): the fast path shares a part equal to the previous task's. A mutation of the
  // second or third task's copy must still be refused when the schema refuses it.
  {
    type: 'SUBSCRIBE',
    agent_id,
    subscribe: {
      agent_info: { hostname: 'h1', port: 5051, resources: agentResources, id: agent_id },
      version: '1.11.0',
      tasks: (['TASK_RUNNING', 'TASK_FINISHED', 'TASK_STAGING'] as const).map((state, i) => ({
        framework_id: { value: 'f-1' },
        framework_info: {
          user: 'u',
          name: 'f',
          id: { value: 'f-1' },
          roles: ['web'],
          capabilities: [{ type: 'MULTI_ROLE' }],
        },
        task: {
          name: `n${i}`,
          task_id: { value: `t${i}` },
          agent_id: { value: 'a-1' },
          resources: structuredClone(i === 2 ? allocated.slice(0, 1) : allocated),
          command: { value: 'sleep 10' },
        },
        state,
      })),
    },
  },
  // The frameworks-once report: each framework's FrameworkInfo listed once, tasks without it
  // (two frameworks, their tasks interleaved: a task's id is the listed one's).
  {
    type: 'SUBSCRIBE',
    agent_id,
    subscribe: {
      agent_info: { hostname: 'h1', port: 5051, resources: agentResources, id: agent_id },
      version: '1.11.0',
      frameworks: ['f-1', 'f-2'].map((value) => ({
        framework_id: { value },
        framework_info: {
          user: 'u',
          name: value,
          id: { value },
          roles: ['web'],
          capabilities: [{ type: 'MULTI_ROLE' }],
        },
      })),
      tasks: (['f-1', 'f-2', 'f-1'] as const).map((value, i) => ({
        framework_id: { value },
        task: {
          name: `n${i}`,
          task_id: { value: `t${i}` },
          agent_id: { value: 'a-1' },
          resources: structuredClone(allocated),
          command: { value: 'sleep 10' },
        },
        state: i === 1 ? 'TASK_FINISHED' : 'TASK_RUNNING',
      })),
    },
  },
  {
    type: 'SUBSCRIBE',
    subscribe: {
      agent_info: { hostname: 'h1', port: 5051, resources: agentResources },
      version: '1.11.0',
      frameworks: [],
      tasks: [],
    },
  },
  // The compact report: frameworks once, two resources lists once each, tasks naming them by
  // index (one task names none: it has no resources), no task's agent_id.
  {
    type: 'SUBSCRIBE',
    agent_id,
    subscribe: {
      agent_info: { hostname: 'h1', port: 5051, resources: agentResources, id: agent_id },
      version: '1.11.0',
      frameworks: ['f-1', 'f-2'].map((value) => ({
        framework_id: { value },
        framework_info: { user: 'u', name: value, id: { value }, roles: ['web'] },
      })),
      task_resources: [structuredClone(allocated), structuredClone(allocated.slice(0, 1))],
      tasks: (['f-1', 'f-2', 'f-1', 'f-2'] as const).map((value, i) => ({
        framework_id: { value },
        task: {
          name: `n${i}`,
          task_id: { value: `t${i}` },
          command: { value: 'sleep 10' },
        },
        ...(i === 3 ? {} : { resources_index: i === 1 ? 1 : 0 }),
        state: i === 1 ? 'TASK_FINISHED' : 'TASK_RUNNING',
      })),
    },
  },
  { type: 'PONG', agent_id },
  { type: 'UPDATE', agent_id, update: { framework_id, status } },
  { type: 'UPDATE', agent_id, update: { framework_id, status }, pong: true },
  {
    type: 'UPDATES',
    agent_id,
    pong: false,
    updates: {
      updates: [
        { framework_id, status },
        { framework_id, status: { task_id: { value: 't2' }, state: 'TASK_FINISHED' } },
      ],
    },
  },
];

/** zod's answer, or undefined when it refuses. */
function viaSchema(schema: z.ZodType, input: unknown): unknown {
  const parsed = schema.safeParse(input);
  return parsed.success ? parsed.data : undefined;
}

/** Equal as JSON (a key set to undefined and a missing key are the same to every reader). */
function assertSame(actual: unknown, expected: unknown, input: unknown): void {
  assert.deepEqual(
    JSON.parse(JSON.stringify(actual)),
    JSON.parse(JSON.stringify(expected)),
    `input ${JSON.stringify(input)}`,
  );
}

test('the plain forms take the fast path and come out as the schema gives them', () => {
  for (const call of PLAIN_CALLS) {
    const fast = fastCall(call);
    assert.notEqual(fast, undefined, JSON.stringify(call));
    assertSame(fast, viaSchema(CallSchema, call), call);
  }
  for (const call of PLAIN_AGENT_CALLS) {
    const fast = fastAgentCall(call);
    assert.notEqual(fast, undefined, JSON.stringify(call));
    assertSame(fast, viaSchema(AgentCallSchema, call), call);
  }
});

// What a hostile or careless client puts where a value belongs.
const ODD_VALUES: readonly unknown[] = [
  null,
  undefined,
  '',
  'x'.repeat(MAX_ID_BYTES + 1),
  'é'.repeat(200),
  '12',
  'true',
  -1,
  0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.MAX_VALUE,
  true,
  [],
  [1],
  {},
  { value: '' },
  { value: 7 },
  { value: 'ok', extra: 1 },
  'TASK_BOGUS',
  'AAAAAAAAAAAAAAAAAAAAAA==',
  // Where a role, an enum or a range bound belongs.
  '*',
  '.',
  '-web',
  'a/b',
  'RANGES',
  'SCALAR',
  'UNKNOWN',
  1.5,
  2 ** 53,
];

/** Every path to a value in `value`, objects and arrays included. */
function paths(value: unknown, prefix: readonly (string | number)[] = []): (string | number)[][] {
  const here = [[...prefix]];
  if (Array.isArray(value))
    return [...here, ...value.flatMap((item, i) => paths(item, [...prefix, i]))];
  if (typeof value === 'object' && value !== null)
    return [
      ...here,
      ...Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key])),
    ];
  return here;
}

function withValueAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return copy;
}

function checkMutations(
  plain: readonly unknown[],
  fast: (input: unknown) => unknown,
  schema: z.ZodType,
): number {
  let tried = 0;
  for (const call of plain) {
    for (const path of paths(call)) {
      const variants = [
        ...ODD_VALUES.map((odd) => withValueAt(call, path, odd)),
        // An unknown key next to the known ones: the schema drops it.
        ...(path.length > 0 ? [withValueAt(call, [...path.slice(0, -1), 'unknown_key'], 1)] : []),
      ];
      for (const input of variants) {
        tried++;
        const quick = fast(input);
        if (quick === undefined) continue;
        const expected = viaSchema(schema, input);
        assert.notEqual(
          expected,
          undefined,
          `fast path took what the schema refuses: ${JSON.stringify(input)}`,
        );
        assertSame(quick, expected, input);
      }
    }
  }
  return tried;
}

test('a changed value anywhere: the fast path never takes what the schema refuses', () => {
  assert.ok(checkMutations(PLAIN_CALLS, fastCall, CallSchema) > 1_000);
  assert.ok(checkMutations(PLAIN_AGENT_CALLS, fastAgentCall, AgentCallSchema) > 500);
});

test('a task part equal to the previous one but for a key a prototype answers is not taken as it', () => {
  const task = (frameworkInfo: string, resources: string) =>
    `{"framework_id":{"value":"f-1"},"framework_info":${frameworkInfo},"task":{"name":"n","task_id":{"value":"t${resources.length}"},"agent_id":{"value":"a-1"},"resources":${resources}},"state":"TASK_RUNNING"}`;
  const info = '{"user":"u","name":"f"}';
  const cpus =
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"allocation_info":{"role":"*"}}]';
  const bodies = [
    [task(info, cpus), task('{"user":"u","__proto__":{}}', `${cpus} `)],
    [task(info, cpus), task(info, cpus.replace('"scalar":{"value":1}', '"__proto__":{}'))],
  ];
  for (const [first, second] of bodies) {
    const input = JSON.parse(
      `{"type":"SUBSCRIBE","subscribe":{"agent_info":{"hostname":"h"},"version":"1","tasks":[${first},${second}]}}`,
    );
    assert.equal(viaSchema(AgentCallSchema, input), undefined, 'the schema refuses it');
    assert.equal(fastAgentCall(input), undefined, JSON.stringify(input));
  }
});

test('a refused call still gets the schema’s field and reason', () => {
  const refused = (parse: () => unknown) =>
    assert.throws(parse, (error: Error & { field?: string }) => {
      assert.match(`${error.field} ${error.message}`, /uuid|Not a valid UUID/);
      return true;
    });
  refused(() =>
    parseCall({
      type: 'ACKNOWLEDGE',
      framework_id,
      acknowledge: { agent_id, task_id: { value: 't' }, uuid: 'nope' },
    }),
  );
  refused(() =>
    parseAgentCall({
      type: 'UPDATE',
      agent_id,
      update: { framework_id, status: { ...status, uuid: 'nope' } },
    }),
  );
});
