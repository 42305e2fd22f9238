import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RestartPolicyOptions } from '../../src/cli/restart-policy.js';
import {
  describeDuration,
  type Exit,
  type SupervisedProcess,
  Supervisor,
} from '../../src/cli/supervisor.js';
import { ManualClock } from '../../src/runtime/clock.js';

const POLICY: RestartPolicyOptions = {
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
  healthyAfterMs: 60_000,
  maxRestarts: 3,
  windowMs: 600_000,
};

/** A fake daemon run: records signals; the test ends it with exit(). */
class FakeRun implements SupervisedProcess {
  readonly signals: NodeJS.Signals[] = [];
  readonly exited: Promise<Exit>;
  exit: (exit: Exit) => void = () => {};
  constructor() {
    this.exited = new Promise((resolve) => (this.exit = resolve));
  }
  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }
}

function harness() {
  const clock = new ManualClock();
  const runs: FakeRun[] = [];
  const said: string[] = [];
  const supervisor = new Supervisor({
    name: 'agent-2',
    spawn: () => {
      const run = new FakeRun();
      runs.push(run);
      return run;
    },
    clock,
    say: (line) => said.push(line),
    policy: POLICY,
    stopTimeoutMs: 15_000,
  });
  return { clock, runs, said, supervisor };
}

/** Lets the exit's promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('supervisor restarts a daemon that exits, after the backoff, and says so', async () => {
  const { clock, runs, said, supervisor } = harness();
  supervisor.start();
  supervisor.enableRestarts();
  runs[0]?.exit({ code: null, signal: 'SIGKILL' });
  await settle();
  assert.deepEqual(said, [
    'agora up: agent-2 exited (signal SIGKILL); restarting it in 1 s (restart 1)',
  ]);
  clock.advance(999);
  assert.equal(runs.length, 1, 'not before the backoff');
  clock.advance(1);
  assert.equal(runs.length, 2);
  runs[1]?.exit({ code: 1, signal: null });
  await settle();
  assert.equal(said[1], 'agora up: agent-2 exited (code 1); restarting it in 2 s (restart 2)');
});

test('supervisor gives up on a daemon that keeps exiting, and says so', async () => {
  const { clock, runs, said, supervisor } = harness();
  supervisor.start();
  supervisor.enableRestarts();
  for (let i = 0; i < 3; i++) {
    runs[i]?.exit({ code: 1, signal: null });
    await settle();
    clock.advance(30_000);
  }
  assert.equal(runs.length, 4);
  runs[3]?.exit({ code: 1, signal: null });
  await settle();
  assert.equal(
    said.at(-1),
    'agora up: agent-2 exited (code 1) after 3 restarts in 10 min; giving up on it',
  );
  assert.match(await supervisor.ended, /after 3 restarts/);
  clock.advance(60_000);
  assert.equal(runs.length, 4, 'no restart after giving up');
});

test('supervisor reports an exit before restarts are enabled instead of restarting', async () => {
  const { clock, runs, said, supervisor } = harness();
  supervisor.start();
  runs[0]?.exit({ code: 1, signal: null });
  assert.equal(await supervisor.ended, 'agent-2 exited (code 1)');
  clock.advance(60_000);
  assert.equal(runs.length, 1);
  assert.deepEqual(said, []);
});

test('supervisor stop cancels a restart that is already waiting', async () => {
  const { clock, runs, supervisor } = harness();
  supervisor.start();
  supervisor.enableRestarts();
  runs[0]?.exit({ code: null, signal: 'SIGKILL' });
  await settle();
  await supervisor.stop();
  clock.advance(60_000);
  assert.equal(runs.length, 1, 'stopped means no restart');
});

test('supervisor stop sends SIGTERM, SIGKILL after the timeout, and never restarts', async () => {
  const { clock, runs, said, supervisor } = harness();
  supervisor.start();
  supervisor.enableRestarts();
  const run = runs[0];
  assert.ok(run !== undefined);
  let isStopped = false;
  const stopped = supervisor.stop().then(() => (isStopped = true));
  assert.deepEqual(run.signals, ['SIGTERM']);
  clock.advance(14_999);
  assert.deepEqual(run.signals, ['SIGTERM']);
  clock.advance(1);
  assert.deepEqual(run.signals, ['SIGTERM', 'SIGKILL']);
  await settle();
  assert.equal(isStopped, false, 'stop waits for the exit');
  run.exit({ code: null, signal: 'SIGKILL' });
  await stopped;
  clock.advance(60_000);
  assert.equal(runs.length, 1);
  assert.deepEqual(said, []);
  assert.equal(clock.pendingTimers, 0, 'no timer left behind');
});

test('supervisor kill SIGKILLs the daemon at once and restarts nothing', async () => {
  const { clock, runs, supervisor } = harness();
  supervisor.start();
  supervisor.enableRestarts();
  supervisor.kill();
  assert.deepEqual(runs[0]?.signals, ['SIGKILL']);
  runs[0]?.exit({ code: null, signal: 'SIGKILL' });
  await settle();
  clock.advance(60_000);
  assert.equal(runs.length, 1);
});

test('describeDuration reads as people write waits', () => {
  assert.equal(describeDuration(1000), '1 s');
  assert.equal(describeDuration(2500), '2.5 s');
  assert.equal(describeDuration(30_000), '30 s');
  assert.equal(describeDuration(600_000), '10 min');
});
