// Health checks and checks on the wire: kept through validation with Mesos' JSON
// rules, refused (400) when a number is out of range, and judged with the task
// (TASK_ERROR) when the type and its body disagree.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkInfoError, healthCheckError } from '../../src/wire/checks.js';
import { BadRequestError } from '../../src/wire/errors.js';
import type { CheckInfo, HealthCheck } from '../../src/wire/messages.js';
import { parseAgentCall, parseCall } from '../../src/wire/schemas.js';
import { newStatusUuid } from '../../src/wire/status-uuid.js';

function launching(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'ACCEPT',
    framework_id: { value: 'f-1' },
    accept: {
      offer_ids: [{ value: 'o-1' }],
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
                ...extra,
              },
            ],
          },
        },
      ],
    },
  };
}

function launchedTask(extra: Record<string, unknown>) {
  const call = parseCall(launching(extra));
  assert.equal(call.type, 'ACCEPT');
  if (call.type !== 'ACCEPT') throw new Error('unreachable');
  const operation = call.accept.operations?.[0];
  const task = operation?.type === 'LAUNCH' ? operation.launch.task_infos[0] : undefined;
  assert.ok(task !== undefined);
  return task;
}

test('task validation keeps a health check and a check, numbers given as strings included', () => {
  const task = launchedTask({
    health_check: {
      type: 'HTTP',
      http: { port: '8080', path: '/health', scheme: 'http', statuses: [200, '204'] },
      delay_seconds: '0.5',
      interval_seconds: 1,
      timeout_seconds: 0,
      consecutive_failures: '2',
      grace_period_seconds: 3,
      unknown_key: true,
    },
    check: { type: 'TCP', tcp: { port: 9000 }, delay_seconds: null },
  });
  assert.deepEqual(task.health_check, {
    type: 'HTTP',
    http: { port: 8080, path: '/health', scheme: 'http', statuses: [200, 204] },
    delay_seconds: 0.5,
    interval_seconds: 1,
    timeout_seconds: 0,
    consecutive_failures: 2,
    grace_period_seconds: 3,
  });
  assert.equal(task.check?.type, 'TCP');
  assert.equal(task.check?.tcp?.port, 9000);
  assert.equal(task.check?.delay_seconds, undefined, 'null is unset');
});

test('task validation refuses check numbers out of range, naming the field', () => {
  const cases: [extra: Record<string, unknown>, field: string, reason: RegExp][] = [
    [{ health_check: { type: 'TCP', tcp: { port: 70000 } } }, 'health_check.tcp.port', /at most/],
    [{ health_check: { type: 'TCP', tcp: { port: 1.5 } } }, 'health_check.tcp.port', /whole/],
    [
      { health_check: { type: 'TCP', tcp: { port: 1 }, delay_seconds: -1 } },
      'health_check.delay_seconds',
      /negative/,
    ],
    [
      { health_check: { type: 'TCP', tcp: { port: 1 }, consecutive_failures: -3 } },
      'health_check.consecutive_failures',
      /at least/,
    ],
    [
      { check: { type: 'HTTP', http: { port: 1 }, interval_seconds: 'Infinity' } },
      'check.interval_seconds',
      /finite|number/,
    ],
    [{ check: { type: 'BOGUS' } }, 'check.type', /./],
  ];
  for (const [extra, field, reason] of cases) {
    let caught: unknown;
    try {
      parseCall(launching(extra));
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof BadRequestError, `${field}: expected a 400`);
    assert.equal(caught.field, `accept.operations[0].launch.task_infos[0].${field}`);
    assert.match(caught.reason, reason, field);
  }
});

test('agent updates carry check_status through validation', () => {
  const call = parseAgentCall({
    type: 'UPDATE',
    agent_id: { value: 'a' },
    update: {
      framework_id: { value: 'f' },
      status: {
        task_id: { value: 't' },
        state: 'TASK_RUNNING',
        uuid: newStatusUuid(),
        reason: 'REASON_TASK_CHECK_STATUS_UPDATED',
        check_status: { type: 'COMMAND', command: { exit_code: '3' } },
        healthy: 'false',
      },
    },
  });
  assert.equal(call.type, 'UPDATE');
  if (call.type !== 'UPDATE') return;
  assert.deepEqual(call.update.status.check_status, { type: 'COMMAND', command: { exit_code: 3 } });
  assert.equal(call.update.status.healthy, false);
});

test('health check errors say what the type lacks, as Mesos words it', () => {
  const cases: [HealthCheck, RegExp | undefined][] = [
    [{}, /must specify 'type'/],
    [{ type: 'UNKNOWN' }, /not a valid health check type/],
    [{ type: 'COMMAND' }, /'command' to be set/],
    [{ type: 'COMMAND', command: {} }, /'shell command'/],
    [{ type: 'COMMAND', command: { shell: false } }, /'executable path'/],
    [{ type: 'COMMAND', command: { value: 'true' } }, undefined],
    [{ type: 'HTTP' }, /'http' to be set/],
    [
      { type: 'HTTP', http: { port: 1, scheme: 'ftp' } },
      /Unsupported HTTP health check scheme: 'ftp'/,
    ],
    [{ type: 'HTTP', http: { port: 1, path: 'health' } }, /must start with '\/'/],
    [{ type: 'HTTP', http: { port: 1, path: '/health', scheme: 'https' } }, undefined],
    [{ type: 'TCP' }, /'tcp' to be set/],
    [{ type: 'TCP', tcp: { port: 1 } }, undefined],
  ];
  for (const [check, expected] of cases) {
    const error = healthCheckError(check);
    if (expected === undefined) assert.equal(error, undefined, JSON.stringify(check));
    else assert.match(error ?? '', expected, JSON.stringify(check));
  }
});

test('check errors say what the type lacks', () => {
  const cases: [CheckInfo, RegExp | undefined][] = [
    [{}, /must specify 'type'/],
    [{ type: 'UNKNOWN' }, /not a valid check type/],
    [{ type: 'COMMAND' }, /'command' to be set/],
    [{ type: 'COMMAND', command: { command: {} } }, /'shell command'/],
    [{ type: 'COMMAND', command: { command: { value: 'exit 3' } } }, undefined],
    [{ type: 'HTTP' }, /'http' to be set/],
    [{ type: 'HTTP', http: { port: 1, path: 'x' } }, /must start with '\/'/],
    [{ type: 'HTTP', http: { port: 1 } }, undefined],
    [{ type: 'TCP' }, /'tcp' to be set/],
  ];
  for (const [check, expected] of cases) {
    const error = checkInfoError(check);
    if (expected === undefined) assert.equal(error, undefined, JSON.stringify(check));
    else assert.match(error ?? '', expected, JSON.stringify(check));
  }
});
