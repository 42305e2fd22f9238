// The first SUBSCRIBE of a framework failing over (restarted with its id) waits for a master
// that is away, as its re-subscriptions do; a fresh framework's fails at once. Found by the
// chaos test: the jobs framework restarted while the master was down exited for good.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionError, subscribe } from '../../src/sdk/index.js';
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
