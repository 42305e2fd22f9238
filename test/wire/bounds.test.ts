// The bounds on strings and lists in every call (issue #7, item 5) and the error paths that
// must not echo or recurse without bound (item 6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestError } from '../../src/wire/errors.js';
import type { Call } from '../../src/wire/index.js';
import {
  MAX_ID_BYTES,
  MAX_LABELS,
  MAX_NAME_LENGTH,
  MAX_OFFER_IDS,
  MAX_ROLE_ENTRIES,
  MAX_ROLES,
} from '../../src/wire/limits.js';
import {
  parseAgentCall,
  parseCall,
  parseMasterCall,
  parseWith,
  WeightsBodySchema,
} from '../../src/wire/schemas.js';

const framework_id = { value: 'f-1' };
const agent_id = { value: 'a-1' };
const framework_info = { user: 'alice', name: 'demo' };
const FIVE_MB = 'x'.repeat(5_000_000);

function badRequest(parse: () => unknown): BadRequestError {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof BadRequestError, `expected BadRequestError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to be rejected');
}

/** A LAUNCH of one task, with `task` merged over a minimal valid one. */
function launching(task: Record<string, unknown>): Record<string, unknown> {
  return {
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
                name: 't',
                task_id: { value: 't-1' },
                agent_id,
                command: { value: 'true' },
                ...task,
              },
            ],
          },
        },
      ],
    },
  };
}

const TASK = 'accept.operations[0].launch.task_infos[0]';

function subscribing(info: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    type: 'SUBSCRIBE',
    subscribe: { framework_info: { ...framework_info, ...info }, ...extra },
  };
}

test('call validation refuses a string over its bound, naming the field and the bound', () => {
  const long = (n: number) => 'x'.repeat(n + 1);
  const cases: [name: string, parse: () => unknown, field: string, reason: RegExp][] = [
    [
      'a 5 MB framework name',
      () => parseCall(subscribing({ name: FIVE_MB })),
      'subscribe.framework_info.name',
      /^at most 1024 characters$/,
    ],
    [
      'a 5 MB user',
      () => parseCall(subscribing({ user: FIVE_MB })),
      'subscribe.framework_info.user',
      /^at most 256 characters$/,
    ],
    [
      'a 5 MB role',
      () => parseCall(subscribing({ role: FIVE_MB })),
      'subscribe.framework_info.role',
      /^at most 1024 characters$/,
    ],
    [
      'a long principal',
      () => parseCall(subscribing({ principal: long(1024) })),
      'subscribe.framework_info.principal',
      /at most 1024/,
    ],
    [
      'a long hostname',
      () => parseCall(subscribing({ hostname: long(255) })),
      'subscribe.framework_info.hostname',
      /at most 255/,
    ],
    [
      'a long web UI URL',
      () => parseCall(subscribing({ webui_url: long(8192) })),
      'subscribe.framework_info.webui_url',
      /at most 8192/,
    ],
    [
      'a long label value',
      () => parseCall(subscribing({ labels: { labels: [{ key: 'k', value: long(131072) }] } })),
      'subscribe.framework_info.labels.labels[0].value',
      /at most 131072/,
    ],
    [
      'a long task name',
      () => parseCall(launching({ name: long(MAX_NAME_LENGTH) })),
      `${TASK}.name`,
      /at most 1024/,
    ],
    [
      'a long command',
      () => parseCall(launching({ command: { value: long(131072) } })),
      `${TASK}.command.value`,
      /at most 131072/,
    ],
    [
      'a long argument',
      () => parseCall(launching({ command: { value: 'x', arguments: ['a', long(131072)] } })),
      `${TASK}.command.arguments[1]`,
      /at most 131072/,
    ],
    [
      'a long environment variable',
      () =>
        parseCall(
          launching({
            command: {
              value: 'x',
              environment: { variables: [{ name: 'A', value: long(131072) }] },
            },
          }),
        ),
      `${TASK}.command.environment.variables[0].value`,
      /at most 131072/,
    ],
    [
      'a long resource name',
      () =>
        parseCall(
          launching({ resources: [{ name: long(255), type: 'SCALAR', scalar: { value: 1 } }] }),
        ),
      `${TASK}.resources[0].name`,
      /at most 255/,
    ],
    [
      'a long agent hostname',
      () =>
        parseAgentCall({
          type: 'SUBSCRIBE',
          subscribe: { agent_info: { hostname: long(255) }, version: '1' },
        }),
      'subscribe.agent_info.hostname',
      /at most 255/,
    ],
    [
      'a long status message',
      () =>
        parseAgentCall({
          type: 'UPDATE',
          agent_id,
          update: {
            framework_id,
            status: { task_id: { value: 't' }, state: 'TASK_FAILED', message: long(65536) },
          },
        }),
      'update.status.message',
      /at most 65536/,
    ],
  ];
  for (const [name, parse, field, reason] of cases) {
    const error = badRequest(parse);
    assert.equal(error.field, field, name);
    assert.match(error.reason, reason, name);
  }
});

test('call validation refuses a 10,000-character id and takes one of 255 bytes', () => {
  const cases: [name: string, call: (value: string) => unknown, field: string][] = [
    [
      'framework id',
      (value) => ({ type: 'REVIVE', framework_id: { value } }),
      'framework_id.value',
    ],
    [
      'task id',
      (value) => ({ type: 'KILL', framework_id, kill: { task_id: { value } } }),
      'kill.task_id.value',
    ],
    [
      'offer id',
      (value) => ({ type: 'DECLINE', framework_id, decline: { offer_ids: [{ value }] } }),
      'decline.offer_ids[0].value',
    ],
    [
      'agent id',
      (value) => ({
        type: 'KILL',
        framework_id,
        kill: { task_id: { value: 't' }, agent_id: { value } },
      }),
      'kill.agent_id.value',
    ],
  ];
  for (const [name, call, field] of cases) {
    const error = badRequest(() => parseCall(call('i'.repeat(10_000))));
    assert.equal(error.field, field, name);
    assert.match(error.reason, /at most 255 bytes/, name);
    assert.doesNotThrow(() => parseCall(call('i'.repeat(MAX_ID_BYTES))), name);
    // Bytes, as the kernel counts a directory name: 128 two-byte characters are 256 bytes.
    assert.match(badRequest(() => parseCall(call('é'.repeat(128)))).reason, /255 bytes/, name);
  }
});

test('call validation refuses a list over its bound, naming the list', () => {
  const many = <T>(n: number, make: (i: number) => T) =>
    Array.from({ length: n + 1 }, (_, i) => make(i));
  const cases: [name: string, parse: () => unknown, field: string][] = [
    [
      'offer ids',
      () =>
        parseCall({
          type: 'DECLINE',
          framework_id,
          decline: { offer_ids: many(MAX_OFFER_IDS, (i) => ({ value: `o-${i}` })) },
        }),
      'decline.offer_ids',
    ],
    [
      'framework roles',
      () => parseCall(subscribing({ roles: many(MAX_ROLES, (i) => `r${i}`) })),
      'subscribe.framework_info.roles',
    ],
    [
      'suppressed roles',
      () => parseCall(subscribing({}, { suppressed_roles: many(MAX_ROLES, (i) => `r${i}`) })),
      'subscribe.suppressed_roles',
    ],
    [
      'labels',
      () =>
        parseCall(subscribing({ labels: { labels: many(MAX_LABELS, (i) => ({ key: `${i}` })) } })),
      'subscribe.framework_info.labels.labels',
    ],
    [
      'weight infos',
      () =>
        parseMasterCall({
          type: 'UPDATE_WEIGHTS',
          update_weights: { weight_infos: many(100_000, (i) => ({ role: `r${i}`, weight: 1 })) },
        }),
      'update_weights.weight_infos',
    ],
    [
      'quota configs',
      () =>
        parseMasterCall({
          type: 'UPDATE_QUOTA',
          update_quota: { quota_configs: many(MAX_ROLE_ENTRIES, (i) => ({ role: `r${i}` })) },
        }),
      'update_quota.quota_configs',
    ],
    [
      'quota resource names',
      () =>
        parseMasterCall({
          type: 'UPDATE_QUOTA',
          update_quota: {
            quota_configs: [
              {
                role: 'r',
                limits: Object.fromEntries(many(64, (i) => [`res${i}`, { value: 1 }])),
              },
            ],
          },
        }),
      'update_quota.quota_configs[0].limits',
    ],
  ];
  for (const [name, parse, field] of cases) {
    const error = badRequest(parse);
    assert.equal(error.field, field, name);
    assert.match(error.reason, /^at most \d+ entries$/, name);
  }
});

test('call validation refuses an invalid role wherever a role enters, with the same check', () => {
  const reserve = (reservation: Record<string, unknown>) => ({
    type: 'RESERVE_RESOURCES',
    reserve_resources: {
      agent_id,
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [reservation] },
      ],
    },
  });
  const cases: [name: string, parse: (role: string) => unknown, field: string][] = [
    [
      'UPDATE_WEIGHTS',
      (role) =>
        parseMasterCall({
          type: 'UPDATE_WEIGHTS',
          update_weights: { weight_infos: [{ role, weight: 2 }] },
        }),
      'update_weights.weight_infos[0].role',
    ],
    [
      'UPDATE_QUOTA',
      (role) =>
        parseMasterCall({ type: 'UPDATE_QUOTA', update_quota: { quota_configs: [{ role }] } }),
      'update_quota.quota_configs[0].role',
    ],
    [
      'SET_QUOTA',
      (role) => parseMasterCall({ type: 'SET_QUOTA', set_quota: { quota_request: { role } } }),
      'set_quota.quota_request.role',
    ],
    [
      'REMOVE_QUOTA',
      (role) => parseMasterCall({ type: 'REMOVE_QUOTA', remove_quota: { role } }),
      'remove_quota.role',
    ],
    [
      'a reservation',
      (role) => parseMasterCall(reserve({ type: 'DYNAMIC', role })),
      'reserve_resources.resources[0].reservations[0].role',
    ],
    [
      'an allocation',
      (role) =>
        parseCall(
          launching({
            resources: [
              { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, allocation_info: { role } },
            ],
          }),
        ),
      `${TASK}.resources[0].allocation_info.role`,
    ],
    [
      'PUT /master/weights',
      (role) => parseWith(WeightsBodySchema, [{ role, weight: 2 }]),
      '[0].role',
    ],
  ];
  const invalid: [role: string, reason: RegExp][] = [
    [FIVE_MB, /longer than 1024 bytes/],
    [`eng/${'c'.repeat(256)}`, /longer than 255 bytes/],
    ['/eng', /must not start with '\/'/],
    ['eng/..', /'\.\.' as a component/],
    ['-eng', /starting with '-'/],
    ['my role', /whitespace/],
    ['eng\u0000', /control character U\+0000/],
  ];
  for (const [name, parse, field] of cases) {
    for (const [role, reason] of invalid) {
      const error = badRequest(() => parse(role));
      assert.equal(error.field, field, `${name} ${role.slice(0, 20)}`);
      assert.match(error.reason, reason, `${name} ${role.slice(0, 20)}`);
      assert.ok(error.message.length < 300, `${name}: the message quotes the role cut short`);
    }
    assert.doesNotThrow(() => parse(`eng/${'c'.repeat(255)}`), name);
  }
});

test('REVIVE and SUPPRESS: only a role too large is refused here; the master drops the rest, as Mesos', () => {
  for (const type of ['REVIVE', 'SUPPRESS'] as const) {
    const parse = (role: string) =>
      parseCall({ type, framework_id, [type.toLowerCase()]: { roles: [role] } });
    for (const role of ['/eng', 'eng/..', 'my role']) assert.doesNotThrow(() => parse(role), type);
    const error = badRequest(() => parse(FIVE_MB));
    assert.equal(error.field, `${type.toLowerCase()}.roles[0]`);
  }
});

test('call validation refuses a deeply nested type with a BadRequestError, not a stack overflow', () => {
  let deep: unknown = 'SUBSCRIBE';
  for (let i = 0; i < 10_000; i++) deep = [deep];
  for (const parse of [parseCall, parseMasterCall, parseAgentCall]) {
    const error = badRequest(() => parse({ type: deep }));
    assert.equal(error.field, 'type');
    assert.match(error.reason, /unknown call type an array of 1/);
  }
});

test('call validation quotes at most a few dozen characters of what it refuses', () => {
  const error = badRequest(() => parseCall({ type: FIVE_MB }));
  assert.ok(error.message.length < 200, `message of ${error.message.length} characters`);
  assert.match(error.message, /unknown call type "x+…" \(5000000 characters\)/);
  const operation = badRequest(() =>
    parseCall({
      type: 'ACCEPT',
      framework_id,
      accept: { offer_ids: [], operations: [{ type: { nested: FIVE_MB } }] },
    }),
  );
  assert.match(operation.reason, /unknown operation type an object/);
});

test('call validation reads a long run of digits in a number field in linear time', () => {
  // The pattern this replaced backtracked quadratically: 50,000 digits and a letter took
  // about 7 s of a blocked event loop, a body's worth of them hours.
  const started = performance.now();
  const error = badRequest(() =>
    parseCall({
      type: 'DECLINE',
      framework_id,
      decline: { offer_ids: [], filters: { refuse_seconds: `${'1'.repeat(50_000)}x` } },
    }),
  );
  const elapsedMs = performance.now() - started;
  assert.ok(elapsedMs < 1000, `took ${Math.round(elapsedMs)} ms`);
  assert.equal(error.field, 'decline.filters.refuse_seconds');
  assert.equal(
    (
      parseCall({
        type: 'DECLINE',
        framework_id,
        decline: { offer_ids: [], filters: { refuse_seconds: ' 1.5e1 ' } },
      }) as Extract<Call, { type: 'DECLINE' }>
    ).decline.filters?.refuse_seconds,
    15,
  );
});

test('call validation takes what real frameworks send: labels and environments of a few KB', () => {
  const labels = {
    labels: Array.from({ length: 40 }, (_, i) => ({ key: `LABEL_${i}`, value: 'v'.repeat(4096) })),
  };
  const variables = Array.from({ length: 200 }, (_, i) => ({
    name: `VAR_${i}`,
    value: 'x'.repeat(2048),
  }));
  assert.doesNotThrow(() =>
    parseCall(
      subscribing({
        name: 'marathon',
        user: 'root',
        roles: Array.from({ length: 300 }, (_, i) => `team-${i}/service`),
        capabilities: [{ type: 'MULTI_ROLE' }],
        labels,
      }),
    ),
  );
  assert.doesNotThrow(() =>
    parseCall(
      launching({
        name: '/prod/web/frontend.instance-1234',
        labels,
        command: {
          value: 'exec ./bin/server',
          arguments: Array.from({ length: 500 }, (_, i) => `--flag-${i}`),
          environment: { variables },
          uris: [{ value: `https://example.com/${'a'.repeat(2000)}.tgz` }],
        },
        data: Buffer.alloc(1 << 20).toString('base64'),
        container: {
          type: 'DOCKER',
          docker: { image: 'nginx', parameters: [{ key: 'k', value: 'v' }] },
        },
      }),
    ),
  );
});
