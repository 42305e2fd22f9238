// A task's checks on a manual clock with fake probes: when probes run, what is
// reported and killed, and that stop() leaves no timer or probe behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProbeSpec } from '../../src/agent/check-probes.js';
import type { ProbeOutcome } from '../../src/agent/check-rules.js';
import { startTaskChecks } from '../../src/agent/task-checks.js';
import { ManualClock, silentLogger } from '../../src/runtime/index.js';
import {
  agentId,
  type CheckInfo,
  type CheckStatusInfo,
  type HealthCheck,
  type TaskInfo,
  taskId,
} from '../../src/wire/index.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

interface Call {
  readonly atMs: number;
  readonly spec: ProbeSpec;
  readonly signal: AbortSignal;
  resolve(outcome: ProbeOutcome): void;
}

/** Checks of one task, with every probe held until the test answers it. */
function bed(
  checks: { readonly health_check?: HealthCheck; readonly check?: CheckInfo },
  options: { readonly startedAtMs?: number } = {},
) {
  const clock = new ManualClock(0);
  const calls: Call[] = [];
  const events: string[] = [];
  const task: TaskInfo = {
    name: 't',
    task_id: taskId('t'),
    agent_id: agentId('a'),
    command: { value: 'sleep 100' },
    ...checks,
  };
  const checker = startTaskChecks({
    task,
    clock,
    log: silentLogger(),
    startedAtMs: options.startedAtMs ?? 0,
    hooks: {
      probe: (spec, signal) =>
        new Promise<ProbeOutcome>((resolve) => {
          calls.push({ atMs: clock.now(), spec, signal, resolve });
        }),
      reportHealth: (healthy) => events.push(`${clock.now()} healthy=${healthy}`),
      reportCheck: (status: CheckStatusInfo) =>
        events.push(`${clock.now()} check=${JSON.stringify(status)}`),
      kill: () => events.push(`${clock.now()} kill`),
    },
  });
  /** Answers the latest probe and lets its outcome through. */
  const answer = async (outcome: ProbeOutcome) => {
    const call = calls.at(-1);
    assert.ok(call !== undefined, 'a probe is running');
    call.resolve(outcome);
    await flush();
  };
  return { clock, calls, events, checker, answer };
}

const exit = (code: number): ProbeOutcome => ({
  kind: 'result',
  status: { type: 'COMMAND', command: { exit_code: code } },
});

test('health check probes after its delay, then an interval after each probe ends', async () => {
  const { clock, calls, answer, checker } = bed({
    health_check: {
      type: 'COMMAND',
      command: { value: 'true' },
      delay_seconds: 2,
      interval_seconds: 1,
    },
  });
  clock.advance(1999);
  assert.equal(calls.length, 0, 'nothing before the delay');
  clock.advance(1);
  assert.deepEqual(
    calls.map((c) => c.atMs),
    [2000],
  );
  assert.deepEqual(calls[0]?.spec, { kind: 'command', command: { value: 'true' } });
  clock.advance(5000); // the probe takes 5 s: no second one meanwhile
  assert.equal(calls.length, 1);
  await answer(exit(0));
  clock.advance(999);
  assert.equal(calls.length, 1);
  clock.advance(1);
  assert.deepEqual(
    calls.map((c) => c.atMs),
    [2000, 8000],
  );
  checker.stop();
  assert.equal(calls[1]?.signal.aborted, true, 'stop() aborts the probe in flight');
  assert.equal(clock.pendingTimers, 0, 'stop() leaves no timer');
});

test('health check reports the first success, every failure past the grace period, and kills', async () => {
  const { clock, answer, events, checker } = bed({
    health_check: {
      type: 'TCP',
      tcp: { port: 1 },
      delay_seconds: 0,
      interval_seconds: 1,
      grace_period_seconds: 1.5,
      consecutive_failures: 2,
    },
  });
  const tcp = (succeeded: boolean): ProbeOutcome => ({
    kind: 'result',
    status: { type: 'TCP', tcp: { succeeded } },
  });
  clock.advance(0);
  await answer(tcp(false)); // at 0, in grace
  clock.advance(1000);
  await answer(tcp(false)); // at 1000, in grace
  clock.advance(1000);
  await answer(tcp(true)); // at 2000
  clock.advance(1000);
  await answer(tcp(true)); // at 3000: quiet
  clock.advance(1000);
  await answer(tcp(false)); // at 4000
  clock.advance(1000);
  await answer(tcp(false)); // at 5000: second failure, kill
  assert.deepEqual(events, [
    '2000 healthy=true',
    '4000 healthy=false',
    '5000 healthy=false',
    '5000 kill',
  ]);
  assert.equal(clock.pendingTimers, 0, 'no probe after the kill');
  checker.stop();
});

test('health check probe that outlives its timeout fails, and is aborted', async () => {
  const { clock, calls, events, checker } = bed({
    health_check: {
      type: 'HTTP',
      http: { port: 8080, path: '/health' },
      delay_seconds: 0,
      interval_seconds: 10,
      timeout_seconds: 3,
      grace_period_seconds: 0,
      consecutive_failures: 5,
    },
  });
  clock.advance(0);
  const [first] = calls;
  assert.deepEqual(first?.spec, {
    kind: 'http',
    scheme: 'http',
    port: 8080,
    path: '/health',
    isIpv6: false,
  });
  clock.advance(3000);
  assert.equal(first?.signal.aborted, true);
  assert.deepEqual(events, ['3000 healthy=false']);
  first?.resolve(exit(0)); // too late: ignored
  await flush();
  assert.deepEqual(events, ['3000 healthy=false']);
  clock.advance(10_000);
  assert.equal(calls.length, 2, 'the next probe an interval after the timeout');
  checker.stop();
});

test('check reports each change of its result and never kills', async () => {
  const { clock, answer, events, checker } = bed({
    check: {
      type: 'COMMAND',
      command: { command: { value: 'exit 3' } },
      delay_seconds: 1,
      interval_seconds: 1,
      timeout_seconds: 0,
    },
  });
  for (const code of [3, 3, 0, 0, 3]) {
    clock.advance(1000);
    await answer(exit(code));
  }
  clock.advance(1000);
  await answer({ kind: 'error', message: 'could not run' });
  assert.deepEqual(events, [
    '1000 check={"type":"COMMAND","command":{"exit_code":3}}',
    '3000 check={"type":"COMMAND","command":{"exit_code":0}}',
    '5000 check={"type":"COMMAND","command":{"exit_code":3}}',
    '6000 check={"type":"COMMAND","command":{}}',
  ]);
  checker.stop();
  assert.equal(clock.pendingTimers, 0);
});

test('health check and check run side by side, and stop together', async () => {
  const { clock, calls, events, checker } = bed({
    health_check: { type: 'COMMAND', command: { value: 'true' }, delay_seconds: 1 },
    check: { type: 'TCP', tcp: { port: 9 }, delay_seconds: 1 },
  });
  clock.advance(1000);
  assert.deepEqual(
    calls.map((c) => c.spec.kind),
    ['command', 'tcp'],
  );
  checker.stop();
  assert.ok(calls.every((c) => c.signal.aborted));
  for (const call of calls) call.resolve(exit(0));
  await flush();
  assert.deepEqual(events, [], 'nothing reported after stop()');
  assert.equal(clock.pendingTimers, 0);
});

test('checks resumed after an agent restart probe at once once the delay has passed', () => {
  const { clock, calls, checker } = bed(
    { health_check: { type: 'TCP', tcp: { port: 1 }, delay_seconds: 15 } },
    { startedAtMs: -60_000 },
  );
  clock.advance(0);
  assert.equal(calls.length, 1);
  checker.stop();
});

test('health check grace period holds through a wall clock stepped forward', async () => {
  const { clock, answer, events, checker } = bed({
    health_check: {
      type: 'TCP',
      tcp: { port: 1 },
      delay_seconds: 0,
      interval_seconds: 1,
      grace_period_seconds: 10,
      consecutive_failures: 1,
    },
  });
  const failed: ProbeOutcome = {
    kind: 'result',
    status: { type: 'TCP', tcp: { succeeded: false } },
  };
  clock.advance(0);
  await answer(failed);
  // An NTP step of an hour, one second into a ten-second grace period.
  clock.jumpWall(3_600_000);
  clock.advance(1000);
  await answer(failed);
  assert.deepEqual(events, [], 'a failure within the grace period is not reported, nor killed for');
  checker.stop();
});

test('health check grace period ends on time through a wall clock stepped back', async () => {
  const { clock, answer, events, checker } = bed({
    health_check: {
      type: 'TCP',
      tcp: { port: 1 },
      delay_seconds: 0,
      interval_seconds: 1,
      grace_period_seconds: 1.5,
      consecutive_failures: 1,
    },
  });
  const failed: ProbeOutcome = {
    kind: 'result',
    status: { type: 'TCP', tcp: { succeeded: false } },
  };
  clock.advance(0);
  await answer(failed);
  clock.jumpWall(-3_600_000);
  clock.advance(1000);
  await answer(failed);
  clock.advance(1000);
  await answer(failed); // 2 s after the start: past the grace period, whatever the wall says
  assert.deepEqual(events, [`${clock.now()} healthy=false`, `${clock.now()} kill`]);
  checker.stop();
});

test('checks resumed after an agent restart with a start in the future wait no longer than their delay', () => {
  // The wall clock was set back an hour since the checkpointed TASK_RUNNING.
  const { clock, calls, checker } = bed(
    { health_check: { type: 'TCP', tcp: { port: 1 }, delay_seconds: 15 } },
    { startedAtMs: 3_600_000 },
  );
  clock.advance(14_999);
  assert.equal(calls.length, 0);
  clock.advance(1);
  assert.equal(calls.length, 1, 'the first probe after the delay, not after the hour');
  checker.stop();
});
