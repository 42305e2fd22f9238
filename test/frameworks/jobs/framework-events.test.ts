// The jobs framework's shell against a master the test scripts (node:http on port 0): the
// events behind an offer cycle are read while that cycle's ACCEPTs are still unanswered, and
// an ACCEPT whose answer never comes is not sent again (its tasks are reconciled instead).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { JobsFramework } from '../../../src/frameworks/jobs/framework.js';
import { parseJobSpec } from '../../../src/frameworks/jobs/spec.js';
import type { JobsStore, JobsStoreChange } from '../../../src/frameworks/jobs/store.js';
import { encodeRecord } from '../../../src/wire/recordio.js';

interface Call {
  readonly type: string;
  readonly accept?: {
    readonly operations: {
      readonly launch: { readonly task_infos: { task_id: { value: string } }[] };
    }[];
  };
  readonly acknowledge?: { readonly uuid: string };
  readonly reconcile?: { readonly tasks: { readonly task_id: { readonly value: string } }[] };
}

/** A store in memory: every write is "durable" at once. */
function memoryStore(): JobsStore {
  const records = new Map<string, string>();
  return {
    recover: async () => new Map(records),
    write: async (changes: readonly JobsStoreChange[]) => {
      for (const change of changes)
        if (change.kind === 'put') records.set(change.key, change.value);
        else records.delete(change.key);
    },
    close: async () => undefined,
  };
}

async function waitFor<T>(
  what: string,
  check: () => T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A master that subscribes the framework as F1 and answers every call 202 but ACCEPTs, which
 * go to `onAccept`; a job of one task is submitted and one offer sent. Resolves with the
 * calls seen, the event stream, and the ACCEPT's task id.
 */
async function oneTaskLaunched(
  t: TestContext,
  onAccept: (request: IncomingMessage, response: ServerResponse) => void,
  store: JobsStore = memoryStore(),
) {
  const calls: Call[] = [];
  let stream: ServerResponse | undefined;
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const call = JSON.parse(body) as Call;
      if (call.type === 'SUBSCRIBE') {
        stream = response;
        response.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 's1' });
        response.write(
          encodeRecord(
            JSON.stringify({
              type: 'SUBSCRIBED',
              subscribed: { framework_id: { value: 'F1' }, heartbeat_interval_seconds: 15 },
            }),
          ),
        );
        return;
      }
      calls.push(call);
      if (call.type === 'ACCEPT') onAccept(request, response);
      else response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const framework = new JobsFramework({
    master: `127.0.0.1:${port}`,
    store,
    agingMs: 60_000,
    log: () => undefined,
  });
  await framework.start();
  t.after(() => framework.stop());

  const spec = parseJobSpec({ id: 'j', run: { cmd: 'true', cpus: 0.1, mem: 32 }, completions: 1 });
  assert.equal(spec.kind, 'ok');
  if (spec.kind !== 'ok') throw new Error('bad spec');
  framework.core.putJob(spec.value, Date.now(), true);
  framework.core.startRun('j', Date.now());
  await framework.changed();
  const events = await waitFor('the subscription', () => stream);
  events.write(
    encodeRecord(
      JSON.stringify({
        type: 'OFFERS',
        offers: {
          offers: [
            {
              id: { value: 'O1' },
              framework_id: { value: 'F1' },
              agent_id: { value: 'A1' },
              hostname: 'localhost',
              url: { scheme: 'http', address: { ip: '127.0.0.1', port: 5051 }, path: '/slave(1)' },
              resources: [
                { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
                { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
              ],
            },
          ],
        },
      }),
    ),
  );
  const accept = await waitFor('the ACCEPT', () => calls.find((c) => c.type === 'ACCEPT'));
  const taskId = accept.accept?.operations[0]?.launch.task_infos[0]?.task_id.value;
  assert.ok(taskId !== undefined, 'the ACCEPT launches the task');
  return { framework, calls, events, taskId };
}

/** An UPDATE event of the test's task on agent A1. */
function updateRecord(taskId: string, state: string, uuid: string): Buffer {
  return encodeRecord(
    JSON.stringify({
      type: 'UPDATE',
      update: {
        status: { task_id: { value: taskId }, agent_id: { value: 'A1' }, state, uuid },
      },
    }),
  );
}

test('a status is acknowledged while the ACCEPT that launched its task is still unanswered', async (t) => {
  const heldAccepts: ServerResponse[] = [];
  // A master slow to answer ACCEPTs (a loaded one, or one busy with a thousand of them).
  const { framework, calls, events, taskId } = await oneTaskLaunched(t, (_request, response) =>
    heldAccepts.push(response),
  );
  t.after(() => {
    for (const held of heldAccepts) held.writeHead(202).end();
  });
  const uuid = Buffer.from('update-1').toString('base64');
  events.write(
    encodeRecord(
      JSON.stringify({
        type: 'UPDATE',
        update: {
          status: {
            task_id: { value: taskId },
            agent_id: { value: 'A1' },
            state: 'TASK_STARTING',
            uuid,
            source: 'SOURCE_EXECUTOR',
          },
        },
      }),
    ),
  );
  await waitFor('the acknowledgement of TASK_STARTING', () =>
    calls.find((c) => c.type === 'ACKNOWLEDGE' && c.acknowledge?.uuid === uuid),
  );
  assert.equal(heldAccepts.length, 1, 'the ACCEPT is still unanswered');
  assert.equal(framework.core.getRun('j', framework.core.runsOf('j')[0]?.meta.id ?? '')?.active, 1);
});

test('an ACCEPT whose connection closes unanswered is not sent again; its task is reconciled', async (t) => {
  // The master (or the network) drops the connection the ACCEPT came on before answering.
  const { calls, taskId } = await oneTaskLaunched(t, (request) => request.socket.destroy());
  const reconcile = await waitFor('a RECONCILE of the launched task', () =>
    calls.find(
      (c) => c.type === 'RECONCILE' && c.reconcile?.tasks.some((k) => k.task_id.value === taskId),
    ),
  );
  assert.ok(reconcile);
  // Time for a resend to show, had there been one (lean-http resent on a fresh connection).
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(calls.filter((c) => c.type === 'ACCEPT').length, 1, 'the ACCEPT went out once');
});

test("a task's RUNNING is acknowledged before the store has it; its FINISHED only once durable", async (t) => {
  // A store whose writes are held once `isHolding` is set, until the test lets them go.
  const inner = memoryStore();
  let isHolding = false;
  const held: (() => void)[] = [];
  const store: JobsStore = {
    recover: () => inner.recover(),
    write: (changes) =>
      isHolding
        ? new Promise<void>((resolve) => held.push(() => void inner.write(changes).then(resolve)))
        : inner.write(changes),
    close: () => inner.close(),
  };
  // Before the framework's own hook (stop() waits for its writes), so it runs first.
  t.after(() => {
    isHolding = false;
    for (const release of held.splice(0)) release();
  });
  const { calls, events, taskId } = await oneTaskLaunched(
    t,
    (_request, response) => response.writeHead(202).end(),
    store,
  );
  isHolding = true;
  const acked = (uuid: string) =>
    calls.some((c) => c.type === 'ACKNOWLEDGE' && c.acknowledge?.uuid === uuid);
  const running = Buffer.from('running').toString('base64');
  events.write(updateRecord(taskId, 'TASK_RUNNING', running));
  await waitFor('the acknowledgement of TASK_RUNNING', () => (acked(running) ? true : undefined));
  await waitFor("the store's write of the task's running record", () =>
    held.length > 0 ? true : undefined,
  );
  const finished = Buffer.from('finished').toString('base64');
  events.write(updateRecord(taskId, 'TASK_FINISHED', finished));
  // Time for an early acknowledgement to show, had there been one.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(acked(finished), false, 'TASK_FINISHED waits for the store');
  isHolding = false;
  for (const release of held.splice(0)) release();
  await waitFor('the acknowledgement of TASK_FINISHED', () => (acked(finished) ? true : undefined));
});
