import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_RESTART_POLICY,
  decideRestart,
  freshHistory,
  type RestartHistory,
  type RestartPolicyOptions,
} from '../../src/cli/restart-policy.js';

const POLICY: RestartPolicyOptions = {
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
  healthyAfterMs: 60_000,
  maxRestarts: 10,
  windowMs: 600_000,
};

/**
 * Drives the policy like a supervisor on a manual clock: each run lasts
 * `upMs[i]`, then the daemon exits; returns the delays chosen, or 'giveUp'.
 */
function crashLoop(upMs: readonly number[], policy = POLICY): (number | 'giveUp')[] {
  let history: RestartHistory = freshHistory(policy);
  let nowMs = 0;
  const out: (number | 'giveUp')[] = [];
  for (const up of upMs) {
    const startedAtMs = nowMs;
    nowMs += up;
    const decision = decideRestart(history, startedAtMs, nowMs, policy);
    if (decision.kind === 'giveUp') {
      out.push('giveUp');
      break;
    }
    assert.equal(decision.number, history.count + 1);
    out.push(decision.delayMs);
    history = decision.history;
    nowMs += decision.delayMs;
  }
  return out;
}

test('restart policy backs off from 1 s, doubling up to 30 s', () => {
  assert.deepEqual(
    crashLoop([10, 10, 10, 10, 10, 10, 10]),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
  );
});

test('restart policy starts over at 1 s after a daemon stayed up a while', () => {
  assert.deepEqual(crashLoop([10, 10, 10, 60_000, 10, 10]), [1000, 2000, 4000, 1000, 2000, 4000]);
});

test('restart policy gives up after maxRestarts restarts within the window', () => {
  const decisions = crashLoop(Array.from({ length: 20 }, () => 10));
  assert.equal(decisions.length, 11);
  assert.equal(decisions[10], 'giveUp');
  assert.ok(decisions.slice(0, 10).every((d) => typeof d === 'number'));
});

test('restart policy forgets restarts older than the window', () => {
  // Each run lasts 2 min: never more than 5 restarts within 10 minutes, so it never gives up.
  const decisions = crashLoop(Array.from({ length: 30 }, () => 119_000));
  assert.equal(decisions.length, 30);
  assert.ok(!decisions.includes('giveUp'));
});

test('restart policy gives up at once when maxRestarts is 0', () => {
  assert.deepEqual(crashLoop([10], { ...POLICY, maxRestarts: 0 }), ['giveUp']);
});

test('restart policy defaults are 1 s doubling to 30 s, 10 restarts in 10 min', () => {
  assert.equal(DEFAULT_RESTART_POLICY.initialBackoffMs, 1000);
  assert.equal(DEFAULT_RESTART_POLICY.maxBackoffMs, 30_000);
  assert.equal(DEFAULT_RESTART_POLICY.maxRestarts, 10);
  assert.equal(DEFAULT_RESTART_POLICY.windowMs, 600_000);
});
