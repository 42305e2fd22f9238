// The agent's APIs in JSON and in protobuf, against a real agent (WIRE §1.4,
// §5, §6.3): every operator call answers the same in both encodings and each
// protobuf reply decodes under a strict client with its proto2 required fields;
// nested containers launch, wait, die and go in either; the streamed calls
// (a session's output, its input, a task's attached output) carry RecordIO of
// either as Accept/Message-Accept and Message-Content-Type say; negotiation
// refuses as Mesos' agent does; and an executor speaks protobuf to
// /api/v1/executor.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { openStream, subscribe } from '../../src/sdk/index.js';
import { encodeRecord, executorId, taskId } from '../../src/wire/index.js';
import { strictEncode } from '../wire/proto-strict.js';
import {
  agoraCodec,
  CODECS,
  JSON_CODEC,
  type Json,
  PROTO_MESSAGES as M,
  PROTOBUF_CODEC,
  postMessage,
  RecordStream,
  type WireCodec,
  withoutEmptyLists,
} from './codecs.js';
import { EventQueue } from './events.js';
import { type Cluster, startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

const asJson = (value: unknown) => value as Json;

describe("the agent's APIs in JSON and in protobuf", () => {
  let cluster: Cluster;
  let framework: TaskFramework;
  /** The running task's container: the parent of the nested ones. */
  let parent: string;
  let sandbox: string;
  before(async () => {
    cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
    framework = await TaskFramework.start(cluster.masterUrl, 'agent-codecs');
    // A file that stays put (READ_FILE compares both encodings), then output that goes on
    // coming (ATTACH_CONTAINER_OUTPUT follows it from now on).
    await framework.launch({
      ticker: 'echo hello > greeting; while sleep 0.2; do echo tick; done',
    });
    const running = await framework.update('ticker', 'TASK_RUNNING');
    // One that has ended, so the replies' lists of ended tasks and executors have content too.
    await framework.launch({ quick: 'true' });
    await framework.update('quick', 'TASK_FINISHED');
    // Retired once acknowledged: from then on two calls in a row see the same lists.
    await waitFor('the ended task to be retired', async () => {
      const reply = await postMessage(apiUrl(), JSON_CODEC, M.agentCall, { type: 'GET_TASKS' });
      const tasks = asJson(JSON.parse(reply.body.toString()).get_tasks);
      return ((tasks.completed_tasks ?? []) as Json[]).length === 1 ? true : undefined;
    });
    const id = running.container_status?.container_id?.value;
    assert.ok(id !== undefined, 'the running status names the container');
    parent = id;
    const state = (await (await fetch(new URL('/state', agentUrl()))).json()) as {
      frameworks: { executors: { id: string; directory: string }[] }[];
    };
    const directory = state.frameworks[0]?.executors.find((e) => e.id === 'ticker')?.directory;
    assert.ok(directory !== undefined);
    sandbox = directory;
  });
  after(async () => {
    await framework?.stop();
    await cluster?.stop();
  });
  const agentUrl = () => cluster.agents[0]?.url ?? '';
  const apiUrl = () => new URL('/api/v1', agentUrl());
  const nested = (value: string) => ({ value, parent: { value: parent } });

  /** One call in `codec`; the reply decoded (strictly, for protobuf) when it has a body. */
  const ask = async (codec: WireCodec, call: Json, expected = 200) => {
    const reply = await postMessage(apiUrl(), codec, M.agentCall, call);
    assert.equal(
      reply.status,
      expected,
      `${codec.name} ${String(call.type)}: ${reply.body.toString()}`,
    );
    if (reply.body.length === 0 || reply.status !== 200) return undefined;
    assert.equal(reply.headers['content-type'], codec.mediaType, 'the reply speaks what was asked');
    return codec.decode(M.agentResponse, reply.body);
  };

  test('every read call answers the same in JSON and in protobuf, strictly decodable', async () => {
    const calls: [call: Json, isStable: boolean][] = [
      [{ type: 'GET_HEALTH' }, true],
      [{ type: 'GET_FLAGS' }, true],
      [{ type: 'GET_VERSION' }, true],
      [{ type: 'GET_LOGGING_LEVEL' }, true],
      [{ type: 'GET_STATE' }, true],
      [{ type: 'GET_FRAMEWORKS' }, true],
      [{ type: 'GET_EXECUTORS' }, true],
      [{ type: 'GET_TASKS' }, true],
      [{ type: 'GET_AGENT' }, true],
      [{ type: 'GET_OPERATIONS' }, true],
      [{ type: 'GET_RESOURCE_PROVIDERS' }, true],
      [{ type: 'LIST_FILES', list_files: { path: sandbox } }, false],
      [{ type: 'READ_FILE', read_file: { path: `${sandbox}/greeting`, offset: 0 } }, true],
      // Usage moves between two calls: the containers are compared below, without it.
      [{ type: 'GET_CONTAINERS', get_containers: { show_nested: true } }, false],
      [{ type: 'GET_METRICS', get_metrics: { timeout: { nanoseconds: 1e9 } } }, false],
    ];
    const withoutUsage = (reply: Json) =>
      (asJson(reply.get_containers).containers as Json[]).map(
        ({ resource_statistics: _usage, ...container }) => container,
      );
    for (const [call, isStable] of calls) {
      const type = String(call.type);
      const json = await ask(JSON_CODEC, call);
      const protobuf = await ask(PROTOBUF_CODEC, call);
      assert.ok(json !== undefined && protobuf !== undefined, type);
      assert.equal(protobuf.type, type);
      assert.ok(protobuf[type.toLowerCase()] !== undefined, `${type} carries its body`);
      if (isStable) assert.deepEqual(protobuf, withoutEmptyLists(json), `${type} says the same`);
      if (type === 'GET_CONTAINERS')
        assert.deepEqual(withoutUsage(protobuf), withoutUsage(asJson(withoutEmptyLists(json))));
    }
    // What the reads say, read from the protobuf replies.
    const tasks = asJson((await ask(PROTOBUF_CODEC, { type: 'GET_TASKS' }))?.get_tasks);
    const byId = (list: unknown) =>
      ((list ?? []) as Json[]).map((t) => [asJson(t.task_id).value, t.state]);
    assert.deepEqual(byId(tasks.launched_tasks), [['ticker', 'TASK_RUNNING']]);
    assert.deepEqual(byId(tasks.completed_tasks), [['quick', 'TASK_FINISHED']]);
    const executors = asJson((await ask(PROTOBUF_CODEC, { type: 'GET_EXECUTORS' }))?.get_executors);
    assert.equal((executors.executors as Json[]).length, 1, "the running task's executor");
    assert.equal((executors.completed_executors as Json[]).length, 1, "the ended task's");
    const read = asJson(
      (
        await ask(PROTOBUF_CODEC, {
          type: 'READ_FILE',
          read_file: { path: `${sandbox}/greeting`, offset: 0 },
        })
      )?.read_file,
    );
    assert.equal(Buffer.from(String(read.data), 'base64').toString(), 'hello\n');
    assert.equal(read.size, 6);
    const listed = asJson(
      (await ask(PROTOBUF_CODEC, { type: 'LIST_FILES', list_files: { path: sandbox } }))
        ?.list_files,
    );
    assert.ok(
      (listed.file_infos as Json[]).some((f) => String(f.path).endsWith('/greeting')),
      'LIST_FILES lists the sandbox',
    );
    const containers = asJson(
      (await ask(PROTOBUF_CODEC, { type: 'GET_CONTAINERS' }))?.get_containers,
    ).containers as Json[];
    const ticker = containers.find((c) => asJson(c.container_id).value === parent);
    assert.ok(ticker !== undefined, "GET_CONTAINERS lists the task's container");
    const usage = asJson(ticker.resource_statistics);
    assert.equal(typeof usage.timestamp, 'number', 'with its usage, timestamp (required) set');
    assert.equal(usage.cpus_limit, 0.1);
  });

  test('nested containers launch, wait, die and go in either encoding, old names and new', async () => {
    const waits = new Map<string, Json>();
    for (const codec of CODECS) {
      // The 1.5 names: a container that exits 3.
      const quick = nested(`quick-${codec.name}`);
      await ask(codec, {
        type: 'LAUNCH_CONTAINER',
        launch_container: { container_id: quick, command: { value: 'exit 3' } },
      });
      const quickEnd = asJson(
        (await ask(codec, { type: 'WAIT_CONTAINER', wait_container: { container_id: quick } }))
          ?.wait_container,
      );
      assert.equal(quickEnd.exit_status, 3 << 8, `${codec.name}: a wait(2) status, exited 3`);
      await ask(codec, { type: 'REMOVE_CONTAINER', remove_container: { container_id: quick } });
      // The pre-1.5 names: one that runs until killed.
      const long = nested(`long-${codec.name}`);
      await ask(codec, {
        type: 'LAUNCH_NESTED_CONTAINER',
        launch_nested_container: { container_id: long, command: { value: 'exec sleep 600' } },
      });
      await ask(codec, {
        type: 'KILL_NESTED_CONTAINER',
        kill_nested_container: { container_id: long, signal: 9 },
      });
      const longEnd = asJson(
        (
          await ask(codec, {
            type: 'WAIT_NESTED_CONTAINER',
            wait_nested_container: { container_id: long },
          })
        )?.wait_nested_container,
      );
      assert.equal(longEnd.exit_status, 9, `${codec.name}: killed by SIGKILL`);
      waits.set(codec.name, longEnd);
      await ask(codec, {
        type: 'REMOVE_NESTED_CONTAINER',
        remove_nested_container: { container_id: long },
      });
      await ask(codec, { type: 'WAIT_CONTAINER', wait_container: { container_id: long } }, 404);
    }
    assert.deepEqual(waits.get('protobuf'), waits.get('json'), 'both ended alike');
  });

  /** Opens a streamed call with `headers`; asserts the 200 and the reply's Content-Type. */
  const openCall = async (
    body: string | Uint8Array,
    headers: Readonly<Record<string, string>>,
    expected: { readonly contentType: string; readonly messageContentType?: string },
    records: WireCodec,
  ) => {
    const response = await openStream(apiUrl(), { method: 'POST', body, headers });
    if (response.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      assert.fail(`answered ${response.statusCode}: ${Buffer.concat(chunks).toString()}`);
    }
    assert.equal(response.headers['content-type'], expected.contentType);
    assert.equal(response.headers['message-content-type'], expected.messageContentType);
    return new RecordStream(response, records, M.agentProcessIO);
  };
  const text = (record: Json) =>
    Buffer.from(String(asJson(record.data).data), 'base64').toString('utf8');
  const stdoutOf = (stream: RecordStream) =>
    stream.records
      .filter((r) => r.type === 'DATA' && asJson(r.data).type === 'STDOUT')
      .map(text)
      .join('');

  /** How a client may ask for a streamed reply, and what the agent must answer. */
  const streamed: {
    readonly name: string;
    readonly codec: WireCodec;
    readonly accept: Readonly<Record<string, string>>;
    readonly contentType: string;
    readonly messageContentType?: string;
  }[] = [
    {
      name: 'Accept: application/json',
      codec: JSON_CODEC,
      accept: { accept: 'application/json' },
      contentType: 'application/json',
    },
    {
      name: 'Accept: application/x-protobuf',
      codec: PROTOBUF_CODEC,
      accept: { accept: 'application/x-protobuf' },
      contentType: 'application/x-protobuf',
    },
    {
      name: 'RecordIO of JSON',
      codec: JSON_CODEC,
      accept: { accept: 'application/recordio', 'message-accept': 'application/json' },
      contentType: 'application/recordio',
      messageContentType: 'application/json',
    },
    {
      name: 'RecordIO of protobuf',
      codec: PROTOBUF_CODEC,
      accept: {
        accept: 'application/recordio',
        'message-accept': 'application/json;q=0, application/x-protobuf',
      },
      contentType: 'application/recordio',
      messageContentType: 'application/x-protobuf',
    },
  ];

  test("a session's output and input and a task's attached output stream in either encoding", async () => {
    for (const way of streamed) {
      // The session's calls go in the other encoding than its records: each is chosen apart.
      const callCodec = way.codec === JSON_CODEC ? PROTOBUF_CODEC : JSON_CODEC;
      const id = nested(`session-${way.name.replace(/\W+/g, '-').toLowerCase()}`);
      const session = await openCall(
        callCodec.encode(M.agentCall, {
          type: 'LAUNCH_NESTED_CONTAINER_SESSION',
          launch_nested_container_session: {
            container_id: id,
            command: { value: 'echo started; cat; echo done >&2' },
          },
        }),
        { 'content-type': callCodec.mediaType, ...way.accept },
        way,
        way.codec,
      );
      try {
        await waitFor(`${way.name}: the session to start`, () =>
          stdoutOf(session) === 'started\n' ? true : undefined,
        );
        // Input as RecordIO of the records' encoding; its end closes the session's stdin.
        const input = [
          {
            type: 'ATTACH_CONTAINER_INPUT',
            attach_container_input: { type: 'CONTAINER_ID', container_id: id },
          },
          ...['ping ', 'pong\n'].map((data) => ({
            type: 'ATTACH_CONTAINER_INPUT',
            attach_container_input: {
              type: 'PROCESS_IO',
              process_io: {
                type: 'DATA',
                data: { type: 'STDIN', data: Buffer.from(data).toString('base64') },
              },
            },
          })),
        ];
        const attached = await fetch(apiUrl(), {
          method: 'POST',
          headers: {
            'content-type': 'application/recordio',
            'message-content-type': way.codec.mediaType,
          },
          body: Buffer.concat(
            input.map((call) => encodeRecord(way.codec.encode(M.agentCall, call))),
          ),
        });
        assert.equal(attached.status, 200, `${way.name}: ${await attached.text()}`);
        // The two inputs may come out as one chunk or two: the output is read as a whole.
        await waitFor(`${way.name}: the input echoed`, () =>
          stdoutOf(session).endsWith('started\nping pong\n') ? true : undefined,
        );
        await session.next('DATA', (r) => asJson(r.data).type === 'STDERR' && text(r) === 'done\n');
        await waitFor(`${way.name}: the session's stream to end`, () =>
          session.hasEnded ? true : undefined,
        );
      } finally {
        session.close();
      }

      const output = await openCall(
        callCodec.encode(M.agentCall, {
          type: 'ATTACH_CONTAINER_OUTPUT',
          attach_container_output: { container_id: { value: parent } },
        }),
        { 'content-type': callCodec.mediaType, ...way.accept },
        way,
        way.codec,
      );
      try {
        const tick = await output.next('DATA', (r) => text(r).includes('tick'));
        assert.equal(asJson(tick.data).type, 'STDOUT', `${way.name}: the task's stdout`);
      } finally {
        output.close();
      }
    }
  });

  test('the agent negotiates as Mesos does: 400, 415 and 406 with a message, then Accept lists and q-values', async () => {
    const health = JSON.stringify({ type: 'GET_HEALTH' });
    const record = (call: Json) => encodeRecord(JSON.stringify(call));
    const refused: [
      name: string,
      headers: Record<string, string>,
      body: string | Uint8Array,
      status: number,
      message: RegExp,
    ][] = [
      // Bytes, not a string: fetch gives a string body a Content-Type of its own.
      ['no Content-Type', {}, Buffer.from(health), 400, /Expecting 'Content-Type' to be present/],
      [
        'an unknown Content-Type',
        { 'content-type': 'text/plain' },
        health,
        415,
        /Expecting 'Content-Type' of application\/json or application\/x-protobuf or application\/recordio/,
      ],
      [
        'Message-Content-Type on a call',
        { 'content-type': 'application/json', 'message-content-type': 'application/json' },
        health,
        415,
        /'Message-Content-Type' to be not set for non-streaming requests/,
      ],
      [
        'RecordIO without Message-Content-Type',
        { 'content-type': 'application/recordio' },
        record({ type: 'GET_HEALTH' }),
        400,
        /'Message-Content-Type' to be set/,
      ],
      [
        'RecordIO of something else',
        { 'content-type': 'application/recordio', 'message-content-type': 'text/plain' },
        record({ type: 'GET_HEALTH' }),
        415,
        /Expecting 'Message-Content-Type' of/,
      ],
      [
        'a streamed request of another call',
        { 'content-type': 'application/recordio', 'message-content-type': 'application/json' },
        record({ type: 'GET_HEALTH' }),
        415,
        /not supported for GET_HEALTH call/,
      ],
      [
        'ATTACH_CONTAINER_INPUT as one call',
        { 'content-type': 'application/json' },
        JSON.stringify({
          type: 'ATTACH_CONTAINER_INPUT',
          attach_container_input: { type: 'CONTAINER_ID', container_id: nested('x') },
        }),
        415,
        /Expecting 'Content-Type' to be application\/recordio for ATTACH_CONTAINER_INPUT/,
      ],
      [
        'an Accept of neither',
        { 'content-type': 'application/json', accept: 'text/html' },
        health,
        406,
        /Expecting 'Accept' to allow/,
      ],
      [
        'q=0 for all three',
        {
          'content-type': 'application/json',
          accept: 'application/json;q=0,application/x-protobuf;q=0,application/recordio;q=0',
        },
        health,
        406,
        /Accept/,
      ],
      [
        'a streamed reply to a call that has none',
        { 'content-type': 'application/json', accept: 'application/recordio' },
        health,
        406,
        /Streaming response is not supported for GET_HEALTH call/,
      ],
      [
        'Message-Accept on a call that is not streamed',
        {
          'content-type': 'application/json',
          accept: 'application/json',
          'message-accept': 'application/json',
        },
        health,
        406,
        /'Message-Accept' to be not set for non-streaming responses/,
      ],
      [
        'a Message-Accept of neither',
        {
          'content-type': 'application/json',
          accept: 'application/recordio',
          'message-accept': 'text/html',
        },
        health,
        406,
        /Expecting 'Message-Accept' to allow/,
      ],
      [
        'protobuf that does not decode',
        { 'content-type': 'application/x-protobuf' },
        // type LIST_FILES, list_files of 5 bytes, of which 2 came
        Buffer.from([0x08, 0x07, 0x22, 0x05, 0x0a, 0x01]),
        400,
        /^list_files: Failed to parse body into Call protobuf: .*\(at byte \d+\)/,
      ],
      [
        'protobuf lacking a required field',
        { 'content-type': 'application/x-protobuf' },
        // type LIST_FILES, list_files {}: no path
        Buffer.from([0x08, 0x07, 0x22, 0x00]),
        400,
        /list_files\.path: .*missing required field/,
      ],
      [
        'protobuf of a call lacking its body',
        { 'content-type': 'application/x-protobuf' },
        strictEncode(M.agentCall, { type: 'READ_FILE' }),
        400,
        /read_file/,
      ],
    ];
    for (const [name, headers, body, status, message] of refused) {
      const response = await fetch(apiUrl(), { method: 'POST', headers, body });
      assert.equal(response.status, status, name);
      assert.match(await response.text(), message, name);
    }
    const chosen: [accept: string | undefined, expected: string][] = [
      [undefined, 'application/json'],
      ['*/*', 'application/json'],
      ['application/x-protobuf', 'application/x-protobuf'],
      ['application/json;q=0, application/x-protobuf', 'application/x-protobuf'],
      // JSON whenever acceptable, as Mesos picks: a q-value ranks nothing.
      ['application/x-protobuf, application/json;q=0.1', 'application/json'],
      ['text/html, application/*', 'application/json'],
    ];
    for (const [accept, expected] of chosen) {
      const response = await fetch(apiUrl(), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-protobuf',
          ...(accept !== undefined ? { accept } : {}),
        },
        body: agoraCodec.encode(M.agentCall, { type: 'GET_HEALTH' }),
      });
      assert.equal(response.status, 200, `${accept}`);
      assert.equal(response.headers.get('content-type'), expected, `${accept}`);
      const bytes = Buffer.from(await response.arrayBuffer());
      const reply =
        expected === 'application/json'
          ? JSON_CODEC.decode(M.agentResponse, bytes)
          : PROTOBUF_CODEC.decode(M.agentResponse, bytes);
      assert.deepEqual(reply, { type: 'GET_HEALTH', get_health: { healthy: true } }, `${accept}`);
    }
  });

  test('an executor speaks protobuf to /api/v1/executor: SUBSCRIBE, LAUNCH, UPDATE, ACKNOWLEDGED', async () => {
    const connection = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'test', name: 'protobuf-executor' },
    });
    const events = new EventQueue(connection);
    const url = new URL('/api/v1/executor', agentUrl());
    let stream: RecordStream | undefined;
    try {
      const [offer] = await events.offers();
      assert.ok(offer !== undefined);
      const ids = { framework_id: connection.frameworkId, executor_id: executorId('pb-exec') };
      await connection.accept(
        [offer.id],
        [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: [
                {
                  name: 'pb-task',
                  task_id: taskId('pb-task'),
                  agent_id: offer.agent_id,
                  resources: [
                    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
                    { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
                  ],
                  // The executor the agent starts only waits: this test speaks for it.
                  executor: {
                    type: 'CUSTOM',
                    ...ids,
                    command: { value: 'exec sleep 600' },
                    resources: [
                      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
                      { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
                    ],
                  },
                },
              ],
            },
          },
        ],
      );
      const subscribed = await waitFor('the executor to subscribe in protobuf', async () => {
        const response = await openStream(url, {
          method: 'POST',
          body: PROTOBUF_CODEC.encode(M.executorCall, { ...ids, type: 'SUBSCRIBE', subscribe: {} }),
          headers: { 'content-type': PROTOBUF_CODEC.mediaType, accept: PROTOBUF_CODEC.mediaType },
        });
        if (response.statusCode === 200) return response;
        response.resume(); // not known yet: the launch is on its way
        return undefined;
      });
      assert.equal(subscribed.headers['content-type'], 'application/x-protobuf');
      stream = new RecordStream(subscribed, PROTOBUF_CODEC, M.executorEvent);
      const hello = asJson((await stream.next('SUBSCRIBED')).subscribed);
      assert.equal(asJson(asJson(hello.executor_info).executor_id).value, 'pb-exec');
      assert.equal(asJson(hello.framework_info).name, 'protobuf-executor');
      const launch = asJson((await stream.next('LAUNCH')).launch);
      assert.equal(asJson(asJson(launch.task).task_id).value, 'pb-task');
      const uuid = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
      const update = await postMessage(url, PROTOBUF_CODEC, M.executorCall, {
        ...ids,
        type: 'UPDATE',
        update: {
          status: {
            task_id: { value: 'pb-task' },
            state: 'TASK_RUNNING',
            source: 'SOURCE_EXECUTOR',
            uuid,
          },
        },
      });
      assert.equal(update.status, 202, update.body.toString());
      const running = await events.update('pb-task', 'TASK_RUNNING');
      assert.equal(running.source, 'SOURCE_EXECUTOR');
      const acknowledged = asJson((await stream.next('ACKNOWLEDGED')).acknowledged);
      assert.equal(acknowledged.uuid, uuid, 'the update the framework acknowledged');
    } finally {
      await connection.close({ drainMs: 0, teardown: true });
      stream?.close();
    }
  });
});
