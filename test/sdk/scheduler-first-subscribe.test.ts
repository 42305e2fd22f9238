// The first SUBSCRIBE of a framework failing over (restarted with its id) waits for a master
// that is away, as its re-subscriptions do; a fresh framework's fails at once. Found by the
// chaos test: the jobs framework restarted while the master was down exited for good.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionError, subscribe } from '../../src/sdk/index.js';
import { isMasterAwayNoticeDue } from '../../src/sdk/master-away.js';
import { frameworkId } from '../../src/wire/index.js';
import { freePort } from '../coordination/servers.js';
import { scriptedMaster } from './scripted-master.js';

test('scheduler: a framework failing over subscribes to a master that comes up after it started', async (t) => {
  const port = await freePort();
  // Settled either way, so the master below is started (and closed) whatever happens.
  const subscribing = subscribe({
    master: `127.0.0.1:${port}`,
    frameworkInfo: { user: 'u', name: 'back', id: frameworkId('F1') },
    failover: { timeoutMs: 30_000, backoffInitialMs: 50, backoffMaxMs: 200 },
  }).then(
    (connection) => connection,
    (error: Error) => error,
  );
  // Nothing listens yet: the first attempts are refused.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await scriptedMaster(t, 15, port);
  const connection = await subscribing;
  if (connection instanceof Error) throw connection;
  t.after(() => connection.close());
  assert.equal(connection.frameworkId.value, 'F1');
});

test('scheduler: a fresh framework, or one past its failover timeout, is told at once that no master answers', async () => {
  const port = await freePort();
  await assert.rejects(
    subscribe({
      master: `127.0.0.1:${port}`,
      frameworkInfo: { user: 'u', name: 'fresh' },
      failover: { timeoutMs: 30_000 },
    }),
    (error) => error instanceof ConnectionError,
  );
  await assert.rejects(
    subscribe({
      master: `127.0.0.1:${port}`,
      frameworkInfo: { user: 'u', name: 'late', id: frameworkId('F1') },
      failover: { timeoutMs: 300, backoffInitialMs: 50, backoffMaxMs: 100 },
    }),
    (error) => error instanceof ConnectionError,
  );
});

test('scheduler: a framework failing over says once, after a few seconds, which master it waits for and until when', async (t) => {
  const port = await freePort();
  const notices: string[] = [];
  const subscribing = subscribe({
    master: `127.0.0.1:${port}`,
    frameworkInfo: { user: 'u', name: 'back', id: frameworkId('F1') },
    failover: {
      timeoutMs: 60_000,
      backoffInitialMs: 50,
      backoffMaxMs: 200,
      onMasterAway: (notice) => notices.push(notice),
    },
  }).then(
    (connection) => connection,
    (error: Error) => error,
  );
  const deadline = performance.now() + 10_000;
  while (notices.length === 0 && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  await scriptedMaster(t, 15, port);
  const connection = await subscribing;
  if (connection instanceof Error) throw connection;
  t.after(() => connection.close());
  assert.equal(notices.length, 1, `one notice for a wait under a minute: ${notices.join(' | ')}`);
  const [notice] = notices;
  const until = /^master 127\.0\.0\.1:\d+ not reachable, retrying until (\S+)$/.exec(notice ?? '');
  assert.ok(until?.[1] !== undefined, notice);
  const untilMs = Date.parse(until[1]);
  assert.ok(untilMs > Date.now() && untilMs <= Date.now() + 60_000, 'until the failover timeout');
});

test('master away notices: none in the first seconds, then one a minute at most', () => {
  assert.equal(isMasterAwayNoticeDue(2999, undefined), false);
  assert.equal(isMasterAwayNoticeDue(3000, undefined), true);
  assert.equal(isMasterAwayNoticeDue(30_000, 3000), false);
  assert.equal(isMasterAwayNoticeDue(62_999, 3000), false);
  assert.equal(isMasterAwayNoticeDue(63_000, 3000), true);
});
