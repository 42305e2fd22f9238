// The same scenarios twice, in JSON and in protobuf, against a real master and
// agent (WIRE §1.4, §2, §6): every scheduler call is answered, every event and
// operator reply decodes under a strict protobuf client with its required fields,
// and both encodings say the same things. Then content negotiation at the edge,
// and `agora run --codec protobuf` end to end.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { RecordIODecoder, STREAM_ID_HEADER } from '../../src/wire/index.js';
import {
  agoraCodec,
  assertRepresentable,
  CODECS,
  JSON_CODEC,
  type Json,
  PROTO_MESSAGES as M,
  openRecordStream,
  PROTOBUF_CODEC,
  postMessage,
  type RecordStream,
  shapeOf,
  type WireCodec,
  withoutEmptyLists,
} from './codecs.js';
import { EventQueue, launchOne } from './events.js';
import { type Cluster, getState, runCli, startCluster, waitFor } from './harness.js';

const AGENT_RESOURCES = 'cpus:4;mem:4096;disk:1024;ports:[31000-31100]';

/** 16 RFC-4122 bytes, base64: what ACKNOWLEDGE_OPERATION_STATUS requires. */
function uuidBase64(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
}

const asJson = (value: unknown) => value as Json;
const statusOf = (event: Json) => asJson(asJson(event.update).status);

interface ScenarioResult {
  /** Every event of every stream the framework had, in arrival order per stream. */
  readonly events: readonly Json[];
  /** Each UPDATE reduced to what must not depend on the encoding. */
  readonly updates: readonly string[];
  /** The status of every call made, by call type. */
  readonly calls: ReadonlyMap<string, number>;
}

/** A framework's whole life, through a raw client in `codec`'s encoding. */
async function schedulerScenario(cluster: Cluster, codec: WireCodec): Promise<ScenarioResult> {
  const url = new URL('/api/v1/scheduler', cluster.masterUrl);
  const frameworkInfo = {
    user: 'test',
    name: `both-codecs-${codec.name}`,
    failover_timeout: 60,
    capabilities: [{ type: 'PARTITION_AWARE' }, { type: 'TASK_KILLING_STATE' }],
    labels: { labels: [{ key: 'codec', value: codec.name }] },
  };
  const first = await openRecordStream(url, codec, M.schedulerCall, M.schedulerEvent, {
    type: 'SUBSCRIBE',
    subscribe: { framework_info: frameworkInfo },
  });
  const streams: RecordStream[] = [first];
  // Ended in `finally` too: a failed step must not leave the loop below holding the file open.
  let isAcking = true;
  try {
    const subscribed = await first.next('SUBSCRIBED');
    await first.next('HEARTBEAT');
    const frameworkId = asJson(asJson(subscribed.subscribed).framework_id);
    let stream = first;
    let streamId = String(first.headers[STREAM_ID_HEADER]);
    const calls = new Map<string, number>();
    const call = async (body: Json, expected = 202) => {
      const reply = await postMessage(
        url,
        codec,
        M.schedulerCall,
        { framework_id: frameworkId, ...body },
        { [STREAM_ID_HEADER]: streamId },
      );
      assert.equal(reply.status, expected, `${String(body.type)}: ${reply.body.toString()}`);
      assert.equal(reply.body.length, 0, `${String(body.type)} answers no body`);
      calls.set(String(body.type), reply.status);
    };
    const acked = new Set<string>();
    const acknowledgeAll = async () => {
      for (const event of stream.records) {
        if (event.type !== 'UPDATE') continue;
        const status = statusOf(event);
        if (typeof status.uuid !== 'string' || acked.has(status.uuid)) continue;
        acked.add(status.uuid);
        await call({
          type: 'ACKNOWLEDGE',
          acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
        });
      }
    };
    // The agent sends a task's next update only once the last is acknowledged (WIRE §2.4),
    // so updates are acknowledged as they come, as a framework does.
    const acking = (async () => {
      while (isAcking) {
        await acknowledgeAll();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const update = (taskIdValue: string, state: string, match: (s: Json) => boolean = () => true) =>
      stream.next('UPDATE', (e) => {
        const status = statusOf(e);
        return (
          asJson(status.task_id).value === taskIdValue && status.state === state && match(status)
        );
      });

    // ACCEPT: two tasks on the first offer.
    const offers = await first.next('OFFERS');
    const [offer] = asJson(offers.offers).offers as Json[];
    assert.ok(offer !== undefined);
    const agentId = offer.agent_id;
    const sleeper = `sleeper-${codec.name}`;
    const echo = `echo-${codec.name}`;
    const task = (id: string, command: string) => ({
      name: id,
      task_id: { value: id },
      agent_id: agentId,
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
      ],
      command: { value: command },
      labels: { labels: [{ key: 'codec', value: codec.name }] },
      data: Buffer.from([0, 1, 2, 255]).toString('base64'),
    });
    await call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          {
            type: 'LAUNCH',
            launch: { task_infos: [task(sleeper, 'sleep 60'), task(echo, 'echo hi')] },
          },
        ],
        filters: { refuse_seconds: 0.1 },
      },
    });
    await update(echo, 'TASK_FINISHED');
    await update(sleeper, 'TASK_RUNNING');
    await acknowledgeAll();

    // RECONCILE, explicit then implicit: the master answers for the running task.
    await call({
      type: 'RECONCILE',
      reconcile: { tasks: [{ task_id: { value: sleeper }, agent_id: agentId }] },
    });
    const isReconciliation = (s: Json) => s.reason === 'REASON_RECONCILIATION';
    await update(sleeper, 'TASK_RUNNING', isReconciliation);
    const seen = stream.records.length;
    await call({ type: 'RECONCILE', reconcile: {} });
    await stream.next('UPDATE', (e) => isReconciliation(statusOf(e)), seen);

    // KILL: TASK_KILLING (the framework has TASK_KILLING_STATE), then TASK_KILLED.
    await call({ type: 'KILL', kill: { task_id: { value: sleeper }, agent_id: agentId } });
    await update(sleeper, 'TASK_KILLED');
    await acknowledgeAll();

    // DECLINE every offer held; SUPPRESS; REVIVE clears the filters and brings offers back.
    // An offer can still be on its way when the first DECLINE goes out (resources the
    // killed task gave back); REVIVE does not rescind held offers, so decline what the
    // master says this framework still holds until it holds nothing, then REVIVE.
    const decline = (ids: Json[]) =>
      call({ type: 'DECLINE', decline: { offer_ids: ids, filters: { refuse_seconds: 60 } } });
    const held = stream.records
      .filter((e) => e.type === 'OFFERS')
      .flatMap((e) => asJson(e.offers).offers as Json[])
      .map((o) => asJson(o.id))
      .filter((id) => id.value !== asJson(offer.id).value);
    assert.ok(held.length > 0, 'offers of what the tasks left and gave back');
    await decline(held);
    await call({ type: 'SUPPRESS', suppress: {} });
    await waitFor('the framework to hold no offer', async () => {
      const state = await getState(cluster.masterUrl);
      const mine = state.frameworks.find((f) => f.id === frameworkId.value);
      const offers = mine?.offers ?? [];
      if (offers.length === 0) return true;
      await decline(offers.map((o) => ({ value: o.id })));
      return undefined;
    });
    const beforeRevive = stream.records.length;
    await call({ type: 'REVIVE', revive: {} });
    await stream.next('OFFERS', () => true, beforeRevive);

    // Calls Agora takes but has nothing to act on yet (no custom executors, inverse
    // offers or operation feedback): still decoded, validated and answered.
    await call({
      type: 'REQUEST',
      request: { requests: [{ agent_id: agentId, resources: task(echo, '').resources }] },
    });
    await call({
      type: 'MESSAGE',
      message: { agent_id: agentId, executor_id: { value: echo }, data: 'aGk=' },
    });
    await call({ type: 'SHUTDOWN', shutdown: { executor_id: { value: echo }, agent_id: agentId } });
    await call({
      type: 'ACCEPT_INVERSE_OFFERS',
      accept_inverse_offers: { inverse_offer_ids: [{ value: 'none' }] },
    });
    await call({
      type: 'DECLINE_INVERSE_OFFERS',
      decline_inverse_offers: {
        inverse_offer_ids: [{ value: 'none' }],
        filters: { refuse_seconds: 1 },
      },
    });
    await call({
      type: 'ACKNOWLEDGE_OPERATION_STATUS',
      acknowledge_operation_status: {
        agent_id: agentId,
        uuid: uuidBase64(),
        operation_id: { value: 'op' },
      },
    });
    await call({
      type: 'RECONCILE_OPERATIONS',
      reconcile_operations: { operations: [{ operation_id: { value: 'op' } }] },
    });
    await call(
      {
        type: 'UPDATE_FRAMEWORK',
        update_framework: { framework_info: { ...frameworkInfo, id: frameworkId } },
      },
      200,
    );

    isAcking = false;
    await acking;
    await acknowledgeAll();

    // Failover: a second SUBSCRIBE with the id ends the first stream with ERROR.
    const second = await openRecordStream(url, codec, M.schedulerCall, M.schedulerEvent, {
      type: 'SUBSCRIBE',
      framework_id: frameworkId,
      subscribe: { framework_info: { ...frameworkInfo, id: frameworkId } },
    });
    streams.push(second);
    await first.next('ERROR');
    await second.next('SUBSCRIBED');
    await waitFor('the failed-over stream to end', () => (first.hasEnded ? true : undefined));
    stream = second;
    streamId = String(second.headers[STREAM_ID_HEADER]);

    await call({ type: 'TEARDOWN' });
    await waitFor('the torn-down stream to end', () => (second.hasEnded ? true : undefined));

    const events = streams.flatMap((s) => s.records);
    const updates = events
      .filter((e) => e.type === 'UPDATE')
      .map((e) => {
        const s = statusOf(e);
        const task = String(asJson(s.task_id).value).replace(`-${codec.name}`, '');
        return [
          task,
          s.state,
          s.source,
          s.reason ?? '-',
          typeof s.uuid === 'string' ? 'uuid' : 'no uuid',
        ].join(' ');
      })
      .sort();
    return { events, updates, calls };
  } finally {
    isAcking = false;
    for (const stream of streams) stream.close();
  }
}

describe('the scheduler and operator APIs in JSON and in protobuf', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  });
  after(() => cluster?.stop());

  test('a framework lives the same life in JSON and in protobuf, every event decoding strictly', async () => {
    const results = new Map<string, ScenarioResult>();
    for (const codec of CODECS) results.set(codec.name, await schedulerScenario(cluster, codec));
    const json = results.get('json');
    const protobuf = results.get('protobuf');
    assert.ok(json !== undefined && protobuf !== undefined);
    const types = (r: ScenarioResult) => new Set(r.events.map((e) => e.type));
    for (const type of ['SUBSCRIBED', 'HEARTBEAT', 'OFFERS', 'UPDATE', 'ERROR'])
      assert.ok(types(protobuf).has(type), `a protobuf ${type} was seen`);
    assert.deepEqual(types(protobuf), types(json), 'the same kinds of event');
    assert.deepEqual(protobuf.updates, json.updates, 'the same task updates');
    assert.deepEqual([...protobuf.calls], [...json.calls], 'every call answered alike');
    assert.equal(protobuf.calls.size, 16, 'every scheduler call but SUBSCRIBE was made');
    // Each kind of event carries the same fields in both encodings: nothing is lost.
    for (const type of types(json)) {
      const shape = (r: ScenarioResult) => {
        const paths = new Set<string>();
        for (const e of r.events.filter((event) => event.type === type))
          shapeOf(withoutEmptyLists(e), '', paths);
        return [...paths].sort();
      };
      assert.deepEqual(shape(protobuf), shape(json), `${String(type)} has the same fields`);
    }
  });

  test('operator calls answer the same in JSON and in protobuf, strictly decodable', async () => {
    // A framework in protobuf through the SDK, with a running task, so the state has content.
    const framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'test', name: 'operator-watched' },
      codec: 'protobuf',
    });
    try {
      const events = new EventQueue(framework);
      await launchOne(framework, events, 'observed', 'sleep 60');
      const url = new URL('/api/v1', cluster.masterUrl);
      const ask = async (codec: WireCodec, call: Json, expected = 200) => {
        const reply = await postMessage(url, codec, M.masterCall, call);
        assert.equal(
          reply.status,
          expected,
          `${codec.name} ${String(call.type)}: ${reply.body.toString()}`,
        );
        if (reply.body.length === 0 || reply.status !== 200) return undefined;
        assert.equal(reply.headers['content-type'], codec.mediaType);
        return codec.decode(M.masterResponse, reply.body);
      };
      // Stable between two calls in a row: compared whole. The others carry offers,
      // metrics or uptimes that may move between the two calls: checked per encoding.
      const stable = [
        'GET_HEALTH',
        'GET_VERSION',
        'GET_FLAGS',
        'GET_MASTER',
        'GET_WEIGHTS',
        'GET_QUOTA',
        'GET_TASKS',
      ];
      const reads = [
        ...stable,
        'GET_STATE',
        'GET_AGENTS',
        'GET_FRAMEWORKS',
        'GET_ROLES',
        'GET_METRICS',
      ];
      for (const type of reads) {
        const call =
          type === 'GET_METRICS'
            ? { type, get_metrics: { timeout: { nanoseconds: 1e9 } } }
            : { type };
        const json = await ask(JSON_CODEC, call);
        const protobuf = await ask(PROTOBUF_CODEC, call);
        assert.ok(json !== undefined && protobuf !== undefined, type);
        assert.equal(protobuf.type, type);
        if (stable.includes(type))
          assert.deepEqual(protobuf, withoutEmptyLists(json), `${type} says the same`);
      }
      const tasks = asJson(asJson(await ask(PROTOBUF_CODEC, { type: 'GET_TASKS' })).get_tasks);
      assert.ok((tasks.tasks as Json[]).some((t) => asJson(t.task_id).value === 'observed'));
      // Writes, in each encoding, then read back in the other.
      await ask(JSON_CODEC, {
        type: 'UPDATE_WEIGHTS',
        update_weights: { weight_infos: [{ weight: 2, role: 'json-role' }] },
      });
      await ask(PROTOBUF_CODEC, {
        type: 'UPDATE_WEIGHTS',
        update_weights: { weight_infos: [{ weight: 3.5, role: 'protobuf-role' }] },
      });
      await ask(PROTOBUF_CODEC, {
        type: 'UPDATE_QUOTA',
        update_quota: {
          quota_configs: [
            {
              role: 'protobuf-role',
              guarantees: { cpus: { value: 0.5 } },
              limits: { cpus: { value: 1 } },
            },
          ],
        },
      });
      const weights = asJson(asJson(await ask(JSON_CODEC, { type: 'GET_WEIGHTS' })).get_weights);
      assert.deepEqual(
        (weights.weight_infos as Json[]).sort((a, b) =>
          String(a.role).localeCompare(String(b.role)),
        ),
        [
          { weight: 2, role: 'json-role' },
          { weight: 3.5, role: 'protobuf-role' },
        ],
      );
      const quota = asJson(asJson(await ask(JSON_CODEC, { type: 'GET_QUOTA' })).get_quota);
      assert.deepEqual(asJson(quota.status).configs, [
        {
          role: 'protobuf-role',
          guarantees: { cpus: { value: 0.5 } },
          limits: { cpus: { value: 1 } },
        },
      ]);
      for (const codec of CODECS)
        await ask(
          codec,
          { type: 'TEARDOWN', teardown: { framework_id: { value: 'no-such-framework' } } },
          400,
        );
    } finally {
      await framework.teardown();
      await framework.close();
    }
  });

  test('the operator event stream in protobuf: state first, then each change, strictly decodable', async () => {
    const url = new URL('/api/v1', cluster.masterUrl);
    const stream = await openRecordStream(url, PROTOBUF_CODEC, M.masterCall, M.masterEvent, {
      type: 'SUBSCRIBE',
    });
    try {
      const subscribed = asJson((await stream.next('SUBSCRIBED')).subscribed);
      assert.equal(subscribed.heartbeat_interval_seconds, 15);
      const state = asJson(subscribed.get_state);
      assert.equal((asJson(state.get_agents).agents as Json[]).length, 1);
      const framework = await subscribe({
        master: cluster.masterUrl,
        frameworkInfo: { user: 'test', name: 'streamed' },
        codec: 'protobuf',
      });
      try {
        await stream.next(
          'FRAMEWORK_ADDED',
          (e) =>
            asJson(asJson(asJson(e.framework_added).framework).framework_info).name === 'streamed',
        );
        await launchOne(framework, new EventQueue(framework), 'streamed-task', 'sleep 60');
        await stream.next('TASK_ADDED');
        await stream.next('TASK_UPDATED', (e) => asJson(e.task_updated).state === 'TASK_RUNNING');
        await cluster.addAgent('agent-late');
        await stream.next('AGENT_ADDED');
      } finally {
        await framework.teardown();
        await framework.close();
      }
      await stream.next('TASK_UPDATED', (e) => asJson(e.task_updated).state === 'TASK_KILLED');
      await stream.next('FRAMEWORK_REMOVED');
      for (const record of stream.records) assertRepresentable(M.masterEvent, record);
    } finally {
      stream.close();
    }
  });

  test('the scheduler endpoint negotiates as Mesos does: 415, 406, Accept lists and q-values', async () => {
    const url = new URL('/api/v1/scheduler', cluster.masterUrl);
    const subscribeCall = {
      type: 'SUBSCRIBE',
      subscribe: { framework_info: { user: 'test', name: 'negotiated' } },
    };
    const post = (contentType: string, body: string | Uint8Array, accept?: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': contentType, ...(accept !== undefined ? { accept } : {}) },
        body,
      });
    const refused: [
      name: string,
      contentType: string,
      body: string | Uint8Array,
      accept: string | undefined,
      status: number,
      message: RegExp,
    ][] = [
      [
        'an unknown Content-Type',
        'application/xml',
        '<call/>',
        undefined,
        415,
        /Expecting 'Content-Type' of application\/json or application\/x-protobuf; received 'application\/xml'/,
      ],
      [
        'an Accept of neither',
        'application/json',
        JSON.stringify(subscribeCall),
        'text/html',
        406,
        /Expecting 'Accept' to allow 'application\/x-protobuf' or 'application\/json'/,
      ],
      [
        'q=0 for both',
        'application/json',
        JSON.stringify(subscribeCall),
        'application/json;q=0,application/x-protobuf;q=0',
        406,
        /Accept/,
      ],
      // subscribe { framework_info of 3 bytes, of which 2 came }
      [
        'protobuf that does not decode',
        'application/x-protobuf',
        Buffer.from([0x1a, 0x04, 0x0a, 0x03, 0x0a, 0x01]),
        undefined,
        400,
        /^subscribe\.framework_info: Failed to parse body into Call protobuf: .*\(at byte \d+\)/,
      ],
      [
        'protobuf lacking a required field',
        'application/x-protobuf',
        // type SUBSCRIBE, subscribe { framework_info { user 'u' } }: no name
        Buffer.from([0x10, 0x01, 0x1a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0x75]),
        undefined,
        400,
        /subscribe\.framework_info\.name: .*missing required field/,
      ],
    ];
    for (const [name, contentType, body, accept, status, message] of refused) {
      const response = await post(contentType, body, accept);
      assert.equal(response.status, status, name);
      assert.match(await response.text(), message, name);
    }
    const chosen: [accept: string | undefined, body: 'json' | 'protobuf', expected: string][] = [
      [undefined, 'protobuf', 'application/json'],
      ['*/*', 'protobuf', 'application/json'],
      ['application/x-protobuf', 'json', 'application/x-protobuf'],
      ['application/json;q=0, application/x-protobuf', 'json', 'application/x-protobuf'],
      ['application/x-protobuf, application/json;q=0.1', 'protobuf', 'application/json'],
      ['text/html, application/*', 'protobuf', 'application/json'],
    ];
    for (const [accept, body, expected] of chosen) {
      const encoded =
        body === 'json'
          ? JSON.stringify(subscribeCall)
          : agoraCodec.encode(M.schedulerCall, subscribeCall);
      const response = await post(
        body === 'json' ? 'application/json' : 'application/x-protobuf',
        encoded,
        accept,
      );
      const reader = response.body?.getReader();
      assert.ok(reader !== undefined);
      try {
        assert.equal(response.status, 200, `${accept}`);
        assert.equal(response.headers.get('content-type'), expected, `${accept}`);
        const decoder = new RecordIODecoder();
        let payload: Buffer | undefined;
        while (payload === undefined) {
          const { value, done } = await reader.read();
          assert.ok(!done, 'the stream ended before its first record');
          [payload] = decoder.decode(value);
        }
        const first =
          expected === 'application/json'
            ? JSON.parse(payload.toString('utf8'))
            : agoraCodec.decode(M.schedulerEvent, payload);
        assert.equal(first.type, 'SUBSCRIBED', `${accept}`);
        const frameworkId = first.subscribed.framework_id;
        // Accept is not looked at on calls that answer no body, as in Mesos.
        const teardown = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/html',
            [STREAM_ID_HEADER]: response.headers.get(STREAM_ID_HEADER) ?? '',
          },
          body: JSON.stringify({ type: 'TEARDOWN', framework_id: frameworkId }),
        });
        assert.equal(teardown.status, 202, await teardown.text());
      } finally {
        await reader.cancel();
      }
    }
  });

  test('agora run --codec protobuf runs a task end to end', async () => {
    const { code, stdout, stderr } = await runCli([
      'run',
      '--master',
      cluster.masterUrl,
      '--codec',
      'protobuf',
      '--',
      'echo',
      'hi',
    ]).result;
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'hi\n');
    assert.match(stderr, /is TASK_FINISHED/);
  });
});
