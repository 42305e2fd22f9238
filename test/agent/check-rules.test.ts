// The rules of checks and health checks, with no clock and no probe: what a
// sequence of outcomes at given times makes the agent report, and when it kills.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkTiming,
  emptyCheckStatus,
  failureOf,
  firstProbeDelayMs,
  type HealthDecision,
  type HealthPolicy,
  healthPolicy,
  initialHealthState,
  judgeHealth,
  nextCheckStatus,
  type ProbeOutcome,
  recoveredCheckStatus,
  recoveredHealthState,
} from '../../src/agent/check-rules.js';
import { type TaskStatus, taskId } from '../../src/wire/index.js';

const pass: ProbeOutcome = {
  kind: 'result',
  status: { type: 'COMMAND', command: { exit_code: 0 } },
};
const fail: ProbeOutcome = {
  kind: 'result',
  status: { type: 'COMMAND', command: { exit_code: 1 } },
};
const timedOut: ProbeOutcome = { kind: 'error', message: 'timed out after 20s' };

/** The decisions for outcomes at the given times, run through the rules in order. */
function run(policy: HealthPolicy, steps: readonly [atMs: number, ProbeOutcome][]): string[] {
  let state = initialHealthState(0);
  return steps.map(([atMs, outcome]) => {
    const judged = judgeHealth(policy, state, outcome, atMs);
    state = judged.state;
    return describe(judged.decision);
  });
}

function describe(decision: HealthDecision): string {
  switch (decision.kind) {
    case 'unhealthy':
      return `unhealthy ${decision.consecutiveFailures}${decision.isKill ? ' kill' : ''}`;
    default:
      return decision.kind;
  }
}

test('health policy takes Mesos defaults for unset fields; a zero timeout means none', () => {
  assert.deepEqual(healthPolicy({ type: 'TCP', tcp: { port: 1 } }), {
    delayMs: 15_000,
    intervalMs: 10_000,
    timeoutMs: 20_000,
    consecutiveFailures: 3,
    gracePeriodMs: 10_000,
  });
  assert.deepEqual(
    healthPolicy({
      type: 'TCP',
      tcp: { port: 1 },
      delay_seconds: 0,
      interval_seconds: 0.5,
      timeout_seconds: 0,
      consecutive_failures: 1,
      grace_period_seconds: 0,
    }),
    { delayMs: 0, intervalMs: 500, timeoutMs: undefined, consecutiveFailures: 1, gracePeriodMs: 0 },
  );
  assert.deepEqual(checkTiming({ type: 'TCP', tcp: { port: 1 } }), {
    delayMs: 15_000,
    intervalMs: 10_000,
    timeoutMs: 20_000,
  });
});

test('health check failures within the grace period are ignored until the first success', () => {
  const policy = { ...healthPolicy({}), gracePeriodMs: 10_000, consecutiveFailures: 2 };
  assert.deepEqual(
    run(policy, [
      [5_000, fail],
      [10_000, timedOut], // the grace period's last instant still counts
      [10_001, fail],
      [12_000, pass],
      [14_000, pass],
      [16_000, fail],
      [18_000, pass],
      [20_000, fail],
      [22_000, fail],
    ]),
    [
      'inGrace',
      'inGrace',
      'unhealthy 1',
      'healthy',
      'quiet',
      'unhealthy 1',
      'healthy',
      'unhealthy 1',
      'unhealthy 2 kill',
    ],
  );
});

test('health check grace period ends with the first success, even if it has not run out', () => {
  const policy = { ...healthPolicy({}), gracePeriodMs: 60_000, consecutiveFailures: 3 };
  assert.deepEqual(
    run(policy, [
      [1_000, pass],
      [2_000, fail],
      [3_000, fail],
      [4_000, fail],
    ]),
    ['healthy', 'unhealthy 1', 'unhealthy 2', 'unhealthy 3 kill'],
  );
});

test('health check with no grace period counts the first failure', () => {
  const policy = { ...healthPolicy({}), gracePeriodMs: 0, consecutiveFailures: 1 };
  assert.deepEqual(run(policy, [[0, fail]]), ['unhealthy 1 kill']);
});

test('health check pass or fail: exit 0, HTTP 200-399 (statuses ignored), a TCP connection', () => {
  const cases: [ProbeOutcome, boolean][] = [
    [pass, true],
    [fail, false],
    [timedOut, false],
    [{ kind: 'result', status: { type: 'COMMAND', command: {} } }, false],
    [{ kind: 'result', status: { type: 'HTTP', http: { status_code: 200 } } }, true],
    [{ kind: 'result', status: { type: 'HTTP', http: { status_code: 399 } } }, true],
    [{ kind: 'result', status: { type: 'HTTP', http: { status_code: 400 } } }, false],
    [{ kind: 'result', status: { type: 'HTTP', http: { status_code: 199 } } }, false],
    [{ kind: 'result', status: { type: 'TCP', tcp: { succeeded: true } } }, true],
    [{ kind: 'result', status: { type: 'TCP', tcp: { succeeded: false } } }, false],
  ];
  for (const [outcome, isPass] of cases)
    assert.equal(failureOf(outcome) === undefined, isPass, JSON.stringify(outcome));
});

test('health state after an agent restart counts the unhealthy reports since the last healthy one', () => {
  const update = (healthy: boolean | undefined, reason?: TaskStatus['reason']): TaskStatus => ({
    task_id: taskId('t'),
    state: 'TASK_RUNNING',
    ...(healthy !== undefined ? { healthy } : {}),
    ...(reason !== undefined ? { reason } : {}),
  });
  const health = 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED';
  assert.deepEqual(recoveredHealthState([update(undefined)], 7), {
    startedAtMs: 7,
    hasSucceeded: false,
    consecutiveFailures: 0,
  });
  assert.deepEqual(
    recoveredHealthState(
      [
        update(undefined),
        update(false, health),
        update(true, health),
        update(false, health),
        // A check update repeats the last `healthy`: not a health check result.
        update(false, 'REASON_TASK_CHECK_STATUS_UPDATED'),
        update(false, health),
      ],
      7,
    ),
    { startedAtMs: 7, hasSucceeded: true, consecutiveFailures: 2 },
  );
});

test('check status is reported when it changes; a failed probe is an empty result', () => {
  let previous = emptyCheckStatus('HTTP');
  const seen: (string | undefined)[] = [];
  const outcomes: ProbeOutcome[] = [
    timedOut, // empty, as before: nothing
    { kind: 'result', status: { type: 'HTTP', http: { status_code: 200 } } },
    { kind: 'result', status: { type: 'HTTP', http: { status_code: 200 } } },
    { kind: 'result', status: { type: 'HTTP', http: { status_code: 202 } } },
    { kind: 'error', message: 'connection refused' },
  ];
  for (const outcome of outcomes) {
    const next = nextCheckStatus('HTTP', previous, outcome);
    seen.push(next === undefined ? undefined : JSON.stringify(next));
    if (next !== undefined) previous = next;
  }
  assert.deepEqual(seen, [
    undefined,
    '{"type":"HTTP","http":{"status_code":200}}',
    undefined,
    '{"type":"HTTP","http":{"status_code":202}}',
    '{"type":"HTTP","http":{}}',
  ]);
  assert.deepEqual(
    recoveredCheckStatus('TCP', [
      { task_id: taskId('t'), state: 'TASK_RUNNING', check_status: { type: 'TCP', tcp: {} } },
      {
        task_id: taskId('t'),
        state: 'TASK_RUNNING',
        check_status: { type: 'TCP', tcp: { succeeded: true } },
      },
      { task_id: taskId('t'), state: 'TASK_RUNNING' },
    ]),
    { type: 'TCP', tcp: { succeeded: true } },
  );
  assert.deepEqual(recoveredCheckStatus('COMMAND', []), { type: 'COMMAND', command: {} });
});

test('first probe waits out what is left of the delay, or none once it has passed', () => {
  assert.equal(firstProbeDelayMs(15_000, 1_000, 1_000), 15_000);
  assert.equal(firstProbeDelayMs(15_000, 1_000, 6_000), 10_000);
  assert.equal(firstProbeDelayMs(15_000, 1_000, 60_000), 0);
});
