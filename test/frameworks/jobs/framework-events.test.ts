// The jobs framework's shell against a master the test scripts (node:http on port 0): the
// events behind an offer cycle are read while that cycle's ACCEPTs are still unanswered.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
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
}

/** A store in memory; while `held`, writes wait (a slow disk) until it is released. */
function memoryStore() {
  const records = new Map<string, string>();
  let held: Promise<void> | undefined;
  let release: () => void = () => undefined;
  /** Changes of writes waiting while held. */
  const waiting: JobsStoreChange[] = [];
  const store: JobsStore = {
    recover: async () => new Map(records),
    write: async (changes: readonly JobsStoreChange[]) => {
      if (held !== undefined) {
        waiting.push(...changes);
        await held;
      }
      for (const change of changes)
        if (change.kind === 'put') records.set(change.key, change.value);
        else records.delete(change.key);
    },
    close: async () => undefined,
  };
  return {
    store,
    records,
    waiting,
    hold() {
      held = new Promise<void>((resolve) => {
        release = () => {
          held = undefined;
          resolve();
        };
      });
    },
    release: () => release(),
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

interface Bed {
  readonly framework: JobsFramework;
  readonly calls: Call[];
  readonly heldAccepts: ServerResponse[];
  /** Writes one event on the framework's stream. */
  event(event: unknown): void;
  /** Offers room for one task of job `j` (one index) and returns the task id the ACCEPT launches. */
  launchOne(): Promise<string>;
}

/**
 * A scripted master (SUBSCRIBE answered with a stream the test writes to, every other call
 * recorded and answered 202, ACCEPTs held unanswered if `holdAccepts`) and the framework
 * subscribed to it, with a one-index job `j` running.
 */
async function bed(t: TestContext, store: JobsStore, holdAccepts: boolean): Promise<Bed> {
  const calls: Call[] = [];
  let stream: ServerResponse | undefined;
  const heldAccepts: ServerResponse[] = [];
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
      if (call.type === 'ACCEPT' && holdAccepts) heldAccepts.push(response);
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
  t.after(async () => {
    for (const held of heldAccepts) held.writeHead(202).end();
    await framework.stop();
  });
  const spec = parseJobSpec({ id: 'j', run: { cmd: 'true', cpus: 0.1, mem: 32 }, completions: 1 });
  if (spec.kind !== 'ok') throw new Error(spec.message);
  framework.core.putJob(spec.value, Date.now(), true);
  framework.core.startRun('j', Date.now());
  await framework.changed();
  const events = await waitFor('the subscription', () => stream);
  const event = (e: unknown) => events.write(encodeRecord(JSON.stringify(e)));
  return {
    framework,
    calls,
    heldAccepts,
    event,
    async launchOne() {
      event({
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
      });
      const accept = await waitFor('the ACCEPT', () => calls.find((c) => c.type === 'ACCEPT'));
      const taskId = accept.accept?.operations[0]?.launch.task_infos[0]?.task_id.value;
      if (taskId === undefined) throw new Error('the ACCEPT launches no task');
      return taskId;
    },
  };
}

function update(taskId: string, state: string, uuid: string): unknown {
  return {
    type: 'UPDATE',
    update: {
      status: {
        task_id: { value: taskId },
        agent_id: { value: 'A1' },
        state,
        uuid: Buffer.from(uuid).toString('base64'),
        source: 'SOURCE_EXECUTOR',
      },
    },
  };
}

const acknowledged = (calls: readonly Call[], uuid: string) =>
  calls.some(
    (c) => c.type === 'ACKNOWLEDGE' && c.acknowledge?.uuid === Buffer.from(uuid).toString('base64'),
  );

test('a status is acknowledged while the ACCEPT that launched its task is still unanswered', async (t) => {
  const b = await bed(t, memoryStore().store, true);
  const taskId = await b.launchOne();
  b.event(update(taskId, 'TASK_STARTING', 'u1'));
  await waitFor('the acknowledgement of TASK_STARTING', () =>
    acknowledged(b.calls, 'u1') ? true : undefined,
  );
  assert.equal(b.heldAccepts.length, 1, 'the ACCEPT is still unanswered');
});

test('RUNNING is acknowledged before the store has it; FINISHED only once it is durable', async (t) => {
  const memory = memoryStore();
  // First of the after-hooks: the framework's stop() must not wait on a held write.
  t.after(() => memory.release());
  const b = await bed(t, memory.store, false);
  const taskId = await b.launchOne();
  const key = [...memory.records.keys()].find((k) => k.startsWith('idx/'));
  assert.ok(key !== undefined, 'the launch is stored before the ACCEPT');
  memory.hold();
  b.event(update(taskId, 'TASK_RUNNING', 'u1'));
  await waitFor('the acknowledgement of TASK_RUNNING', () =>
    acknowledged(b.calls, 'u1') ? true : undefined,
  );
  assert.match(memory.records.get(key) ?? '', /"phase":"staging"/, 'not yet stored as running');
  b.event(update(taskId, 'TASK_FINISHED', 'u2'));
  // The FINISHED is not acknowledged while the store holds the writes before it...
  await waitFor('the FINISHED to reach the core', () =>
    b.framework.core.runsOf('j')[0]?.succeeded === 1 ? true : undefined,
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(memory.waiting.length > 0, 'a write is held');
  assert.equal(acknowledged(b.calls, 'u2'), false, 'FINISHED waits for the store');
  memory.release();
  // ...and is once the write is durable, with the index stored as succeeded.
  await waitFor('the acknowledgement of TASK_FINISHED', () =>
    acknowledged(b.calls, 'u2') ? true : undefined,
  );
  assert.match(memory.records.get(key) ?? '', /"phase":"succeeded"/);
});
