// Executor authentication (#14): an agent with --executor_secret_key gives its executor an
// HS256 token naming its container (MESOS_EXECUTOR_AUTHENTICATION_TOKEN, claims cid, fid,
// eid), a real executor written with the SDK works with it, and the executor API refuses a
// call with no token, a forged one, or one issued for another container.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { type Event, executorId, type Resource, taskId } from '../../src/wire/index.js';
import { EventQueue } from './events.js';
import { getState, ROOT, startCluster, waitFor } from './harness.js';

const FIXTURE = join(ROOT, 'test', 'integration', 'fixtures', 'sdk-executor.ts');
const TSX_LOADER = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

const resources = (cpus: number, mem: number): Resource[] => [
  { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
  { name: 'mem', type: 'SCALAR', scalar: { value: mem } },
];

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A JWT as anyone holding `key` could make one. */
function jwt(claims: Record<string, unknown>, key: string, alg = 'HS256'): string {
  const input = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

test('an agent with --executor_secret_key serves only executors with their own token', async (t) => {
  const cluster = await startCluster({ agents: 0 });
  t.after(() => cluster.stop());
  const secret = 'executor-secret-of-the-test';
  const keyFile = join(cluster.workDir, 'executor-secret');
  writeFileSync(keyFile, secret, { mode: 0o600 });
  const agent = await cluster.addAgent('agent-1', [
    '--resources',
    'cpus:2;mem:1024',
    '--executor_secret_key',
    keyFile,
  ]);
  await waitFor('the agent to register', async () =>
    (await getState(cluster.masterUrl)).slaves.some((s) => s.active) ? true : undefined,
  );

  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'u', name: 'executor-auth' },
  });
  t.after(() => framework.close({ drainMs: 0, teardown: true }));
  const events = new EventQueue(framework);
  const [offer] = await events.offers();
  assert.ok(offer !== undefined);
  const executor = {
    type: 'CUSTOM' as const,
    executor_id: executorId('exec-1'),
    framework_id: framework.frameworkId,
    name: 'sdk executor',
    command: { value: `exec '${process.execPath}' --import '${TSX_LOADER}' '${FIXTURE}'` },
    resources: resources(0.1, 64),
  };
  await framework.accept(
    [offer.id],
    [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            {
              name: 'long',
              task_id: taskId('long'),
              agent_id: offer.agent_id,
              resources: resources(0.1, 32),
              data: Buffer.from('exec sleep 60').toString('base64'),
              executor,
            },
          ],
        },
      },
    ],
    { refuse_seconds: 0 },
  );

  // The executor subscribed and reported with its token: the task runs.
  const running = await events.update('long', 'TASK_RUNNING', 30_000);
  assert.equal(running.source, 'SOURCE_EXECUTOR');

  const hello = await waitFor(
    "the executor's hello",
    () => {
      for (const event of events.seen as readonly Event[]) {
        if (event.type !== 'MESSAGE') continue;
        const text = Buffer.from(event.message.data, 'base64').toString('utf8');
        if (text.startsWith('{')) return text;
      }
      return undefined;
    },
    30_000,
  );
  const { env, container_id } = JSON.parse(hello) as {
    env: Record<string, string>;
    container_id: string;
  };
  const token = env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN ?? '';
  const [, payload = ''] = token.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), {
    cid: container_id,
    fid: framework.frameworkId.value,
    eid: 'exec-1',
  });

  const heartbeat = { framework_id: framework.frameworkId, executor_id: { value: 'exec-1' } };
  const call = async (authorization: string | undefined) => {
    const response = await fetch(new URL('/api/v1/executor', agent.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: JSON.stringify({ ...heartbeat, type: 'HEARTBEAT' }),
      signal: AbortSignal.timeout(30_000),
    });
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      text: await response.text(),
    };
  };

  assert.equal((await call(`Bearer ${token}`)).status, 202, 'its own token is taken');

  const missing = await call(undefined);
  assert.equal(missing.status, 401);
  assert.match(missing.challenge ?? '', /^Bearer/);
  const basic = await call(`Basic ${b64url('ops:ops')}`);
  assert.equal(basic.status, 401, 'basic credentials are no executor token');

  const claims = { cid: container_id, fid: framework.frameworkId.value, eid: 'exec-1' };
  const forged = await call(`Bearer ${jwt(claims, 'a guessed key')}`);
  assert.equal(forged.status, 401);
  assert.match(forged.text, /bad signature/);
  const [header = '', body = ''] = token.split('.');
  const unsigned = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${body}.`;
  assert.equal((await call(`Bearer ${unsigned}`)).status, 401, 'alg none is refused');
  assert.equal((await call(`Bearer ${header}.${body}.AAAA`)).status, 401);

  const otherContainer = await call(`Bearer ${jwt({ ...claims, cid: 'another' }, secret)}`);
  assert.equal(otherContainer.status, 403);
  assert.match(otherContainer.text, /another container/);
  const otherExecutor = await call(`Bearer ${jwt({ ...claims, eid: 'exec-2' }, secret)}`);
  assert.equal(otherExecutor.status, 403);
});
