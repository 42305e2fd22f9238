import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestError } from '../../src/wire/errors.js';
import { MAX_REPORTED_FRAMEWORKS, MAX_REPORTED_RESOURCE_LISTS } from '../../src/wire/limits.js';
import { parseAgentCall, parseCall, parseMasterCall } from '../../src/wire/schemas.js';
import { newStatusUuid } from '../../src/wire/status-uuid.js';

/** The call, narrowed to `type` (asserting it is that type). */
function narrow<C extends { readonly type: string }, T extends C['type']>(
  call: C,
  type: T,
): Extract<C, { type: T }> {
  assert.equal(call.type, type);
  return call as Extract<C, { type: T }>;
}

const framework_id = { value: 'f-1' };
const framework_info = { user: 'alice', name: 'demo' };
const offer = { value: 'o-1' };

/** An ACCEPT that reserves `resource`, so resource validation runs on it. */
function reserving(resource: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'ACCEPT',
    framework_id,
    accept: {
      offer_ids: [offer],
      operations: [{ type: 'RESERVE', reserve: { resources: [resource] } }],
    },
  };
}

const RESOURCE = 'accept.operations[0].reserve.resources[0]';

function badRequest(parse: () => unknown): BadRequestError {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof BadRequestError, `expected BadRequestError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to be rejected');
}

test('scheduler call validation names the offending field and says what is wrong', () => {
  const cases: [name: string, call: unknown, field: string, reason: RegExp][] = [
    ['missing type', { framework_id }, 'type', /required/],
    ['unknown type', { type: 'FOO', framework_id }, 'type', /unknown call type.*FOO/],
    ['ACCEPT without accept', { type: 'ACCEPT', framework_id }, 'accept', /required.*ACCEPT/],
    ['DECLINE without decline', { type: 'DECLINE', framework_id }, 'decline', /required/],
    ['KILL without task_id', { type: 'KILL', framework_id, kill: {} }, 'kill.task_id', /object/],
    ['REVIVE without framework_id', { type: 'REVIVE' }, 'framework_id', /required.*REVIVE/],
    [
      'TEARDOWN with a null framework_id',
      { type: 'TEARDOWN', framework_id: null },
      'framework_id',
      /required/,
    ],
    [
      'SUBSCRIBE with a numeric user',
      { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 7, name: 'demo' } } },
      'subscribe.framework_info.user',
      /string/,
    ],
    [
      'SUBSCRIBE without a name',
      { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'alice' } } },
      'subscribe.framework_info.name',
      /required/,
    ],
    [
      'an offer id with an empty value',
      { type: 'ACCEPT', framework_id, accept: { offer_ids: [offer, { value: '' }] } },
      'accept.offer_ids[1].value',
      /empty/,
    ],
    [
      'ACKNOWLEDGE with an 8-byte uuid',
      {
        type: 'ACKNOWLEDGE',
        framework_id,
        acknowledge: {
          agent_id: { value: 'a-1' },
          task_id: { value: 't-1' },
          uuid: Buffer.alloc(8, 1).toString('base64'),
        },
      },
      'acknowledge.uuid',
      /Not a valid UUID/,
    ],
    [
      'ACKNOWLEDGE with a uuid that is not base64',
      {
        type: 'ACKNOWLEDGE',
        framework_id,
        acknowledge: { agent_id: { value: 'a-1' }, task_id: { value: 't-1' }, uuid: 'not a uuid!' },
      },
      'acknowledge.uuid',
      /Not a valid UUID/,
    ],
    [
      'a SCALAR resource without scalar',
      reserving({ name: 'cpus', type: 'SCALAR' }),
      `${RESOURCE}.scalar`,
      /required for a SCALAR/,
    ],
    [
      'a negative scalar',
      reserving({ name: 'cpus', type: 'SCALAR', scalar: { value: -1 } }),
      `${RESOURCE}.scalar.value`,
      /non-negative/,
    ],
    [
      'a range whose begin exceeds its end',
      reserving({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 9, end: 3 }] } }),
      `${RESOURCE}.ranges.range[0]`,
      /begin must not exceed end/,
    ],
    [
      'a resource of unknown type',
      reserving({ name: 'gpus', type: 'TEXT' }),
      `${RESOURCE}.type`,
      /SCALAR, RANGES or SET/,
    ],
    [
      'an unknown operation type',
      {
        type: 'ACCEPT',
        framework_id,
        accept: { offer_ids: [offer], operations: [{ type: 'EXPLODE' }] },
      },
      'accept.operations[0].type',
      /unknown operation type.*EXPLODE/,
    ],
    ['a body that is not an object', 'SUBSCRIBE', '', /object/],
  ];
  for (const [name, call, field, reason] of cases) {
    const error = badRequest(() => parseCall(call));
    assert.equal(error.field, field, name);
    assert.match(error.reason, reason, name);
    assert.equal(error.code, 'BAD_REQUEST', name);
    assert.equal(error.message, field === '' ? error.reason : `${field}: ${error.reason}`, name);
  }
});

test('scheduler call validation treats null as unset', () => {
  const call = parseCall({
    type: 'SUBSCRIBE',
    framework_id: null,
    subscribe: {
      framework_info: { ...framework_info, role: null, id: null },
      suppressed_roles: null,
    },
    kill: null,
  });
  assert.equal(call.framework_id, undefined);
  assert.equal((call as unknown as Record<string, unknown>).kill, undefined);
  assert.equal(narrow(call, 'SUBSCRIBE').subscribe.framework_info.role, undefined);
  assert.equal(narrow(call, 'SUBSCRIBE').subscribe.suppressed_roles, undefined);
});

test('scheduler call validation accepts numbers and booleans written as strings', () => {
  const declined = parseCall({
    type: 'DECLINE',
    framework_id,
    decline: { offer_ids: [offer], filters: { refuse_seconds: '5' } },
  });
  assert.equal(narrow(declined, 'DECLINE').decline.filters?.refuse_seconds, 5);
  const subscribed = parseCall({
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: { ...framework_info, checkpoint: 'true', failover_timeout: ' 2.5e1 ' },
    },
  });
  assert.equal(narrow(subscribed, 'SUBSCRIBE').subscribe.framework_info.checkpoint, true);
  assert.equal(narrow(subscribed, 'SUBSCRIBE').subscribe.framework_info.failover_timeout, 25);
});

test('scheduler call validation rejects a non-numeric string where a number belongs', () => {
  const error = badRequest(() =>
    parseCall({
      type: 'DECLINE',
      framework_id,
      decline: { offer_ids: [offer], filters: { refuse_seconds: 'soon' } },
    }),
  );
  assert.equal(error.field, 'decline.filters.refuse_seconds');
});

test('scheduler call validation ignores unknown keys', () => {
  const call = parseCall({
    type: 'REVIVE',
    framework_id: { value: 'f-1', extra: 1 },
    surprise: { nested: true },
    revive: { roles: ['web'], later: 'field' },
  });
  assert.deepEqual(call, { type: 'REVIVE', framework_id, revive: { roles: ['web'] } });
});

test('scheduler call validation drops unknown framework capabilities silently', () => {
  const call = parseCall({
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: {
        ...framework_info,
        capabilities: [
          { type: 'MULTI_ROLE' },
          { type: 'TELEPORTATION' },
          'garbage',
          { type: 'PARTITION_AWARE' },
        ],
      },
    },
  });
  assert.deepEqual(narrow(call, 'SUBSCRIBE').subscribe.framework_info.capabilities, [
    { type: 'MULTI_ROLE' },
    { type: 'PARTITION_AWARE' },
  ]);
});

test('scheduler call validation accepts a well-formed acknowledgement', () => {
  const uuid = newStatusUuid();
  const call = parseCall({
    type: 'ACKNOWLEDGE',
    framework_id,
    acknowledge: { agent_id: { value: 'a-1' }, task_id: { value: 't-1' }, uuid },
  });
  assert.equal(narrow(call, 'ACKNOWLEDGE').acknowledge.uuid, uuid);
  assert.equal(narrow(call, 'ACKNOWLEDGE').acknowledge.task_id.value, 't-1');
});

/** An agent's SUBSCRIBE reporting `report` (its frameworks and tasks). */
function reporting(report: Record<string, unknown>): unknown {
  return {
    type: 'SUBSCRIBE',
    subscribe: { agent_info: { hostname: 'h1' }, version: '1', ...report },
  };
}

function heldTask(frameworkIdValue: string) {
  return {
    framework_id: { value: frameworkIdValue },
    task: { name: 't', task_id: { value: 't-1' }, agent_id: { value: 'a-1' }, resources: [] },
    state: 'TASK_RUNNING',
  };
}

function listed(frameworkIdValue: string) {
  return { framework_id: { value: frameworkIdValue }, framework_info };
}

test('agent call validation takes either shape of report', () => {
  const perTask = parseAgentCall(reporting({ tasks: [{ ...heldTask('f-1'), framework_info }] }));
  const once = parseAgentCall(reporting({ frameworks: [listed('f-1')], tasks: [heldTask('f-1')] }));
  assert.deepEqual(narrow(perTask, 'SUBSCRIBE').subscribe.tasks?.[0]?.task.task_id.value, 't-1');
  assert.deepEqual(narrow(once, 'SUBSCRIBE').subscribe.frameworks, [listed('f-1')]);
  assert.deepEqual(narrow(once, 'SUBSCRIBE').subscribe.tasks?.[0]?.framework_id.value, 'f-1');
});

/** A compact report's task: no resources or agent_id of its own, the table's list `index` if given. */
function compactTask(frameworkIdValue: string, index?: unknown) {
  const { resources: _, agent_id: __, ...task } = heldTask(frameworkIdValue).task;
  return {
    framework_id: { value: frameworkIdValue },
    task,
    ...(index === undefined ? {} : { resources_index: index }),
    state: 'TASK_RUNNING',
  };
}

const cpus = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, allocation_info: { role: '*' } },
];

test('agent call validation takes the compact report', () => {
  const call = parseAgentCall(
    reporting({
      frameworks: [listed('f-1')],
      task_resources: [cpus, []],
      tasks: [compactTask('f-1', 0), compactTask('f-1', 1), compactTask('f-1')],
    }),
  );
  const subscribe = narrow(call, 'SUBSCRIBE').subscribe;
  assert.deepEqual(subscribe.task_resources, [cpus, []]);
  assert.deepEqual(
    subscribe.tasks?.map((t) => t.resources_index),
    [0, 1, undefined],
  );
});

test('agent call validation names the offending field', () => {
  const update = {
    framework_id,
    status: { task_id: { value: 't-1' }, state: 'TASK_RUNNING' },
  };
  const cases: [name: string, call: unknown, field: string, reason: RegExp][] = [
    ['missing type', {}, 'type', /required/],
    ['unknown type', { type: 'BAR' }, 'type', /unknown call type.*BAR/],
    ['UPDATE without agent_id', { type: 'UPDATE', update }, 'agent_id', /required.*UPDATE/],
    ['UPDATE without update', { type: 'UPDATE', agent_id: { value: 'a-1' } }, 'update', /required/],
    [
      'UPDATE with an unknown task state',
      {
        type: 'UPDATE',
        agent_id: { value: 'a-1' },
        update: { ...update, status: { ...update.status, state: 'TASK_DANCING' } },
      },
      'update.status.state',
      /./,
    ],
    [
      'SUBSCRIBE with an empty hostname',
      { type: 'SUBSCRIBE', subscribe: { agent_info: { hostname: '' }, version: '1' } },
      'subscribe.agent_info.hostname',
      /empty/,
    ],
    [
      'SUBSCRIBE per task, a task without its framework_info',
      reporting({ tasks: [heldTask('f-1')] }),
      'subscribe.tasks[0].framework_info',
      /required/,
    ],
    [
      'SUBSCRIBE frameworks once, a task of a framework not listed',
      reporting({ frameworks: [listed('f-1')], tasks: [heldTask('f-1'), heldTask('f-2')] }),
      'subscribe.tasks[1].framework_id',
      /framework "f-2" is not listed in subscribe.frameworks/,
    ],
    [
      'SUBSCRIBE frameworks once, a framework listed twice',
      reporting({ frameworks: [listed('f-1'), listed('f-1')], tasks: [heldTask('f-1')] }),
      'subscribe.frameworks[1].framework_id',
      /framework "f-1" is listed twice/,
    ],
    [
      'SUBSCRIBE frameworks once, a task with a framework_info of its own',
      reporting({
        frameworks: [listed('f-1')],
        tasks: [{ ...heldTask('f-1'), framework_info: { user: 'u', name: 'other' } }],
      }),
      'subscribe.tasks[0].framework_info',
      /not allowed beside subscribe.frameworks/,
    ],
    [
      'SUBSCRIBE frameworks once, a listed framework without its info',
      reporting({ frameworks: [{ framework_id: { value: 'f-1' } }], tasks: [heldTask('f-1')] }),
      'subscribe.frameworks[0].framework_info',
      /expected object/,
    ],
    [
      'SUBSCRIBE frameworks once, too many frameworks',
      reporting({
        frameworks: Array.from({ length: MAX_REPORTED_FRAMEWORKS + 1 }, () => listed('f-1')),
      }),
      'subscribe.frameworks',
      /at most/,
    ],
    [
      'SUBSCRIBE compact, an index past the table',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: [cpus],
        tasks: [compactTask('f-1', 0), compactTask('f-1', 1)],
      }),
      'subscribe.tasks[1].resources_index',
      /1 is not an index of subscribe.task_resources \(1 lists\)/,
    ],
    [
      'SUBSCRIBE compact, a negative index',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: [cpus],
        tasks: [compactTask('f-1', -1)],
      }),
      'subscribe.tasks[0].resources_index',
      /non-negative integer/,
    ],
    [
      'SUBSCRIBE compact, an index that is no integer',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: [cpus],
        tasks: [compactTask('f-1', 0.5)],
      }),
      'subscribe.tasks[0].resources_index',
      /non-negative integer/,
    ],
    [
      'SUBSCRIBE compact, a task with resources of its own',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: [cpus],
        tasks: [compactTask('f-1', 0), { ...heldTask('f-1'), resources_index: 0 }],
      }),
      'subscribe.tasks[1].task.resources',
      /not allowed beside subscribe.task_resources/,
    ],
    [
      'SUBSCRIBE compact, a task with an agent_id of its own',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: [cpus],
        tasks: [
          compactTask('f-1', 0),
          {
            ...compactTask('f-1', 0),
            task: { ...compactTask('f-1').task, agent_id: { value: 'a' } },
          },
        ],
      }),
      'subscribe.tasks[1].task.agent_id',
      /not allowed beside subscribe.task_resources/,
    ],
    [
      'SUBSCRIBE frameworks once, a task without its agent_id',
      reporting({
        frameworks: [listed('f-1')],
        tasks: [{ ...compactTask('f-1'), framework_id: { value: 'f-1' } }],
      }),
      'subscribe.tasks[0].task.agent_id',
      /required/,
    ],
    [
      'SUBSCRIBE compact, more lists than tasks',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: [cpus, cpus],
        tasks: [compactTask('f-1', 0)],
      }),
      'subscribe.task_resources',
      /2 resources lists for 1 tasks/,
    ],
    [
      'SUBSCRIBE compact, a table without frameworks',
      reporting({ task_resources: [cpus], tasks: [{ ...compactTask('f-1', 0), framework_info }] }),
      'subscribe.task_resources',
      /only beside subscribe.frameworks/,
    ],
    [
      'SUBSCRIBE frameworks once, an index without a table',
      reporting({
        frameworks: [listed('f-1')],
        tasks: [{ ...heldTask('f-1'), resources_index: 0 }],
      }),
      'subscribe.tasks[0].resources_index',
      /not allowed without subscribe.task_resources/,
    ],
    [
      'SUBSCRIBE compact, a task of a framework not listed',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: [cpus],
        tasks: [compactTask('f-1', 0), compactTask('f-2', 0)],
      }),
      'subscribe.tasks[1].framework_id',
      /framework "f-2" is not listed in subscribe.frameworks/,
    ],
    [
      'SUBSCRIBE compact, a list of the table that is no resources list',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: [[{ name: 'cpus', type: 'SCALAR', scalar: { value: -1 } }]],
        tasks: [compactTask('f-1', 0)],
      }),
      'subscribe.task_resources[0][0].scalar.value',
      /./,
    ],
    [
      'SUBSCRIBE compact, too many lists',
      reporting({
        frameworks: [listed('f-1')],
        task_resources: Array.from({ length: MAX_REPORTED_RESOURCE_LISTS + 1 }, () => []),
      }),
      'subscribe.task_resources',
      /at most/,
    ],
  ];
  for (const [name, call, field, reason] of cases) {
    const error = badRequest(() => parseAgentCall(call));
    assert.equal(error.field, field, name);
    assert.match(error.reason, reason, name);
  }
});

test('agent call validation accepts a subscription with port as a string', () => {
  const call = parseAgentCall({
    type: 'SUBSCRIBE',
    subscribe: { agent_info: { hostname: 'h1', port: '5051' }, version: '1.0', tasks: null },
  });
  assert.equal(narrow(call, 'SUBSCRIBE').subscribe.agent_info.port, 5051);
  assert.equal(narrow(call, 'SUBSCRIBE').subscribe.tasks, undefined);
});

test('scheduler call validation refuses a failover_timeout or grace period Mesos cannot represent', () => {
  const subscribing = (failover_timeout: unknown) => ({
    type: 'SUBSCRIBE',
    subscribe: { framework_info: { ...framework_info, failover_timeout } },
  });
  const field = 'subscribe.framework_info.failover_timeout';
  for (const [value, reason] of [
    [-1, /negative/],
    ['Infinity', /finite|Infinity/],
    [Number.POSITIVE_INFINITY, /finite|Infinity/],
    [1e308, /at most/],
    // 9007199254740993 as JSON text reads as this double.
    [9007199254740992, /at most/],
    [9.3e9, /at most/],
  ] as const) {
    const error = badRequest(() => parseCall(subscribing(value)));
    assert.equal(error.field, field, `failover_timeout ${value}`);
    assert.match(error.reason, reason, `failover_timeout ${value}`);
  }
  // A month, a week and "practically forever" within int64 nanoseconds are fine.
  for (const value of [2592000, 604800, 9e9, 0])
    assert.equal(
      narrow(parseCall(subscribing(value)), 'SUBSCRIBE').subscribe.framework_info.failover_timeout,
      value,
    );

  const killing = (nanoseconds: unknown) => ({
    type: 'KILL',
    framework_id,
    kill: { task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds } } },
  });
  for (const value of [-1, 1e30, 'Infinity']) {
    const error = badRequest(() => parseCall(killing(value)));
    assert.equal(error.field, 'kill.kill_policy.grace_period.nanoseconds');
  }
  // int64 on the wire: a fraction is rounded, so it is written back as an int64 parser reads it.
  const kill = narrow(parseCall(killing(1500000000.4)), 'KILL').kill;
  assert.equal(kill.kill_policy?.grace_period?.nanoseconds, 1500000000);
});

test('a maintenance window starts within int64 nanoseconds of the epoch, kept whole', () => {
  const scheduling = (nanoseconds: unknown) => ({
    type: 'UPDATE_MAINTENANCE_SCHEDULE',
    update_maintenance_schedule: {
      schedule: {
        windows: [{ machine_ids: [{ hostname: 'h' }], unavailability: { start: { nanoseconds } } }],
      },
    },
  });
  for (const value of [1e30, -1e30, 'Infinity']) {
    const error = badRequest(() => parseMasterCall(scheduling(value)));
    assert.equal(
      error.field,
      'update_maintenance_schedule.schedule.windows[0].unavailability.start.nanoseconds',
      String(value),
    );
    assert.match(error.reason, /int64|Infinity/);
  }
  const call = narrow(parseMasterCall(scheduling(1.7e18 + 0.5)), 'UPDATE_MAINTENANCE_SCHEDULE');
  const start = call.update_maintenance_schedule.schedule.windows?.[0]?.unavailability.start;
  assert.ok(Number.isInteger(start?.nanoseconds));
  assert.equal(JSON.stringify(start), '{"nanoseconds":1700000000000000000}');
});

test('DRAIN_AGENT takes max_grace_period as a google.protobuf.Duration, {seconds, nanos}', () => {
  const call = narrow(
    parseMasterCall({
      type: 'DRAIN_AGENT',
      drain_agent: {
        agent_id: { value: 'a-S0' },
        max_grace_period: { seconds: 600, nanos: 5 },
        mark_gone: 'true',
      },
    }),
    'DRAIN_AGENT',
  );
  assert.deepEqual(call.drain_agent.max_grace_period, { seconds: 600, nanos: 5 });
  assert.equal(call.drain_agent.mark_gone, true);
  const negative = badRequest(() =>
    parseMasterCall({
      type: 'DRAIN_AGENT',
      drain_agent: { agent_id: { value: 'a-S0' }, max_grace_period: { seconds: -1 } },
    }),
  );
  assert.equal(negative.field, 'drain_agent.max_grace_period.seconds');
});

test('agent call validation keeps the agent domain and takes a PONG without a body', () => {
  const domain = { fault_domain: { region: { name: 'eu' }, zone: { name: 'rack1' } } };
  const subscribe = narrow(
    parseAgentCall({
      type: 'SUBSCRIBE',
      subscribe: { agent_info: { hostname: 'h', domain }, version: '1.11.0' },
    }),
    'SUBSCRIBE',
  );
  assert.deepEqual(subscribe.subscribe.agent_info.domain, domain);
  const zoneless = badRequest(() =>
    parseAgentCall({
      type: 'SUBSCRIBE',
      subscribe: {
        agent_info: { hostname: 'h', domain: { fault_domain: { region: { name: 'eu' } } } },
        version: '1.11.0',
      },
    }),
  );
  assert.equal(zoneless.field, 'subscribe.agent_info.domain.fault_domain.zone');
  assert.equal(parseAgentCall({ type: 'PONG', agent_id: { value: 'a-S0' } }).type, 'PONG');
  assert.equal(badRequest(() => parseAgentCall({ type: 'PONG' })).field, 'agent_id');
  // UPDATES: a list of UPDATE bodies, each validated as one.
  const update = (state: string) => ({
    framework_id: { value: 'f' },
    status: { task_id: { value: 't' }, state, source: 'SOURCE_EXECUTOR' },
  });
  const updates = parseAgentCall({
    type: 'UPDATES',
    agent_id: { value: 'a-S0' },
    updates: { updates: [update('TASK_STARTING'), update('TASK_RUNNING')] },
  });
  assert.equal(updates.type === 'UPDATES' && updates.updates.updates.length, 2);
  assert.equal(
    badRequest(() => parseAgentCall({ type: 'UPDATES', agent_id: { value: 'a-S0' } })).field,
    'updates',
  );
  assert.equal(
    badRequest(() =>
      parseAgentCall({
        type: 'UPDATES',
        agent_id: { value: 'a-S0' },
        updates: { updates: [update('TASK_RUNNING'), update('TASK_SLEEPING')] },
      }),
    ).field,
    'updates.updates[1].status.state',
  );
});

test('a launched task keeps its limits, bare or as a scalar, "Infinity" included', () => {
  const launch = (limits: unknown) =>
    parseCall({
      type: 'ACCEPT',
      framework_id,
      accept: {
        offer_ids: [offer],
        operations: [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: [
                {
                  name: 't',
                  task_id: { value: 't' },
                  agent_id: { value: 'a' },
                  command: { value: 'true' },
                  limits,
                },
              ],
            },
          },
        ],
      },
    });
  const call = launch({ cpus: 'Infinity', mem: { value: 96 } });
  assert.ok(call.type === 'ACCEPT');
  const operation = call.accept?.operations?.[0];
  assert.ok(operation?.type === 'LAUNCH');
  assert.deepEqual(operation.launch.task_infos[0]?.limits, {
    cpus: 'Infinity',
    mem: 96,
  });
  assert.throws(
    () => launch({ mem: -1 }),
    (error: unknown) => error instanceof BadRequestError && /limits\.mem/.test(error.message),
  );
});
