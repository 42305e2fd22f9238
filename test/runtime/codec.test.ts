// Content negotiation as Mesos does it (WIRE §1.4): Content-Type picks the decoder,
// Accept the encoder, Message-Content-Type/Message-Accept the records of streamed
// calls; 400/415/406 with a message otherwise.
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { type TestContext, test } from 'node:test';
import {
  APPLICATION_JSON,
  APPLICATION_PROTOBUF,
  APPLICATION_RECORDIO,
  acceptsMediaType,
  apiRoute,
  messageEncoder,
  replyMediaType,
  requestMediaType,
} from '../../src/runtime/codec.js';
import { EventStream } from '../../src/runtime/event-stream.js';
import { HttpServer, type Request } from '../../src/runtime/http-server.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { PROTO_MESSAGES } from '../../src/wire/proto/descriptor.js';
import { loadProtoCodec } from '../../src/wire/proto/load.js';
import { RecordIODecoder } from '../../src/wire/recordio.js';
import { parseMasterCall } from '../../src/wire/schemas.js';

const codec = await loadProtoCodec();

test('accepts-media-type follows Mesos: exact, then type/*, then */*; q only as zero or not', () => {
  const cases: [accept: string | undefined, json: boolean, protobuf: boolean][] = [
    [undefined, true, true],
    ['', true, true],
    ['application/json', true, false],
    ['application/x-protobuf', false, true],
    ['*/*', true, true],
    ['application/*', true, true],
    ['text/html', false, false],
    ['text/html, application/x-protobuf', false, true],
    ['APPLICATION/JSON', true, false],
    ['application/json;q=0', false, false],
    ['application/json; q=0.0, */*', false, true],
    ['application/json;q=0.5', true, false],
    ['application/json;q=abc', false, false],
    ['application/json;level=1', true, false],
    ['application/x-protobuf;q=1.0, application/json;q=0.1', true, true],
    ['text/*;q=0, application/x-protobuf', false, true],
    ['application/x-protobuf,\tapplication/json;q=0', false, true],
  ];
  for (const [accept, json, protobuf] of cases) {
    assert.equal(acceptsMediaType(accept, APPLICATION_JSON), json, `${accept} → json`);
    assert.equal(acceptsMediaType(accept, APPLICATION_PROTOBUF), protobuf, `${accept} → protobuf`);
  }
});

/** A Request with only headers, for the pure negotiation functions. */
function withHeaders(headers: IncomingHttpHeaders): Request {
  return { headers } as unknown as Request;
}

test('reply-media-type prefers JSON whenever acceptable, as Mesos does, else protobuf, else 406', () => {
  const cases: [accept: string | undefined, chosen: string | number][] = [
    [undefined, APPLICATION_JSON],
    ['*/*', APPLICATION_JSON],
    ['application/x-protobuf', APPLICATION_PROTOBUF],
    ['application/x-protobuf, application/json;q=0.2', APPLICATION_JSON],
    ['application/json;q=0, application/x-protobuf', APPLICATION_PROTOBUF],
    ['application/json;q=0, */*', APPLICATION_PROTOBUF],
    ['text/plain', 406],
    ['application/recordio', 406],
  ];
  for (const [accept, chosen] of cases) {
    const request = withHeaders(accept === undefined ? {} : { accept });
    if (typeof chosen === 'number')
      assert.throws(
        () => replyMediaType(request),
        (error: unknown) =>
          error instanceof Error &&
          'code' in error &&
          error.code === 'NOT_ACCEPTABLE' &&
          /Expecting 'Accept' to allow/.test(error.message),
        `${accept}`,
      );
    else assert.equal(replyMediaType(request).body, chosen, `${accept}`);
  }
});

test('streamed calls take their records type from Message-Content-Type and Message-Accept', () => {
  const streaming = { isStreamingAllowed: true };
  const recordio = withHeaders({
    'content-type': APPLICATION_RECORDIO,
    'message-content-type': APPLICATION_PROTOBUF,
    accept: APPLICATION_RECORDIO,
    'message-accept': APPLICATION_PROTOBUF,
  });
  assert.deepEqual(requestMediaType(recordio, streaming), {
    body: APPLICATION_RECORDIO,
    records: APPLICATION_PROTOBUF,
  });
  assert.deepEqual(replyMediaType(recordio, streaming), {
    body: APPLICATION_RECORDIO,
    records: APPLICATION_PROTOBUF,
  });
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return 'none';
  };
  const cases: [
    name: string,
    headers: IncomingHttpHeaders,
    which: 'request' | 'reply',
    expected: string,
  ][] = [
    [
      'recordio without Message-Content-Type',
      { 'content-type': APPLICATION_RECORDIO },
      'request',
      'BAD_REQUEST',
    ],
    [
      'records of text',
      { 'content-type': APPLICATION_RECORDIO, 'message-content-type': 'text/plain' },
      'request',
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'Message-Content-Type on a plain call',
      { 'content-type': APPLICATION_JSON, 'message-content-type': APPLICATION_JSON },
      'request',
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'Message-Accept on a plain reply',
      { accept: APPLICATION_JSON, 'message-accept': APPLICATION_JSON },
      'reply',
      'NOT_ACCEPTABLE',
    ],
    [
      'records nobody reads',
      { accept: APPLICATION_RECORDIO, 'message-accept': 'text/plain' },
      'reply',
      'NOT_ACCEPTABLE',
    ],
    [
      'recordio where streams are not served',
      { 'content-type': APPLICATION_RECORDIO, 'message-content-type': APPLICATION_JSON },
      'request',
      'UNSUPPORTED_MEDIA_TYPE',
    ],
  ];
  for (const [name, headers, which, expected] of cases) {
    const request = withHeaders(headers);
    const options = name.includes('where streams are not served') ? {} : streaming;
    const run = () =>
      which === 'request' ? requestMediaType(request, options) : replyMediaType(request, options);
    assert.equal(code(run), expected, name);
  }
  // The master's APIs have no streamed calls: there, the Message-* headers are not looked at.
  assert.deepEqual(
    replyMediaType(withHeaders({ accept: APPLICATION_JSON, 'message-accept': 'x/y' })),
    { body: APPLICATION_JSON },
  );
});

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function post(
  port: number,
  headers: Record<string, string>,
  body: string | Uint8Array,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/api', method: 'POST', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An operator-shaped API on a real server: replies with the call it was given. */
async function echoApi(t: TestContext): Promise<{ port: number; handled: () => number }> {
  const server = new HttpServer({ logger: silentLogger(), maxRequestBodyBytes: 4096 });
  t.after(() => server.close());
  let handled = 0;
  server.route(
    ['POST'],
    '/api',
    apiRoute(
      {
        messages: {
          call: PROTO_MESSAGES.masterCall,
          reply: PROTO_MESSAGES.masterResponse,
          event: PROTO_MESSAGES.masterEvent,
        },
        parse: parseMasterCall,
      },
      (call, exchange) => {
        handled += 1;
        if (call.type === 'UPDATE_WEIGHTS') return exchange.replyEmpty(200);
        exchange.reply(200, {
          type: 'GET_WEIGHTS',
          get_weights: { weight_infos: [{ weight: 2, role: 'é' }] },
        });
      },
    ),
  );
  const { port } = await server.listen('127.0.0.1', 0);
  return { port, handled: () => handled };
}

test('api routes decode JSON and protobuf calls alike and reply in what Accept chooses', async (t) => {
  const { port } = await echoApi(t);
  const call = { type: 'GET_WEIGHTS' };
  const asJson = JSON.stringify(call);
  const asProtobuf = codec.encode(PROTO_MESSAGES.masterCall, call);
  const weights = {
    type: 'GET_WEIGHTS',
    get_weights: { weight_infos: [{ weight: 2, role: 'é' }] },
  };
  const cases: [
    name: string,
    contentType: string,
    body: string | Uint8Array,
    accept: string | undefined,
    replyType: string,
  ][] = [
    ['JSON, no Accept', APPLICATION_JSON, asJson, undefined, APPLICATION_JSON],
    ['JSON with charset, */*', 'application/json; charset=utf-8', asJson, '*/*', APPLICATION_JSON],
    ['protobuf in, JSON out', APPLICATION_PROTOBUF, asProtobuf, APPLICATION_JSON, APPLICATION_JSON],
    [
      'protobuf in and out',
      APPLICATION_PROTOBUF,
      asProtobuf,
      APPLICATION_PROTOBUF,
      APPLICATION_PROTOBUF,
    ],
    [
      'JSON in, protobuf out',
      APPLICATION_JSON,
      asJson,
      'application/x-protobuf',
      APPLICATION_PROTOBUF,
    ],
    [
      'a list refusing JSON',
      APPLICATION_JSON,
      asJson,
      'application/json;q=0, application/x-protobuf;q=0.9',
      APPLICATION_PROTOBUF,
    ],
    [
      'a list with both',
      APPLICATION_PROTOBUF,
      asProtobuf,
      'application/x-protobuf, application/json;q=0.5',
      APPLICATION_JSON,
    ],
  ];
  for (const [name, contentType, body, accept, replyType] of cases) {
    const reply = await post(
      port,
      { 'content-type': contentType, ...(accept === undefined ? {} : { accept }) },
      body,
    );
    assert.equal(reply.status, 200, `${name}: ${reply.body.toString()}`);
    assert.equal(reply.headers['content-type'], replyType, name);
    const decoded =
      replyType === APPLICATION_JSON
        ? JSON.parse(reply.body.toString('utf8'))
        : codec.decode(PROTO_MESSAGES.masterResponse, reply.body);
    assert.deepEqual(decoded, weights, name);
  }
});

test('api routes refuse what they cannot read or answer, before running the call', async (t) => {
  const { port, handled } = await echoApi(t);
  const update = {
    type: 'UPDATE_WEIGHTS',
    update_weights: { weight_infos: [{ weight: 2, role: 'eng' }] },
  };
  const asProtobuf = codec.encode(PROTO_MESSAGES.masterCall, update);
  const cut = asProtobuf.subarray(0, asProtobuf.length - 2);
  const cases: [
    name: string,
    headers: Record<string, string>,
    body: string | Uint8Array,
    status: number,
    message: RegExp,
  ][] = [
    ['no Content-Type', {}, JSON.stringify(update), 400, /Content-Type' to be present/],
    [
      'text/plain',
      { 'content-type': 'text/plain' },
      'hi',
      415,
      /application\/json or application\/x-protobuf; received 'text\/plain'/,
    ],
    [
      'JSON that does not parse',
      { 'content-type': APPLICATION_JSON },
      '{',
      400,
      /Failed to parse body into JSON/,
    ],
    [
      'protobuf cut short',
      { 'content-type': APPLICATION_PROTOBUF },
      cut,
      400,
      /^update_weights: Failed to parse body into Call protobuf: .* \(at byte \d+\)/,
    ],
    [
      'protobuf that is JSON',
      { 'content-type': APPLICATION_PROTOBUF },
      JSON.stringify(update),
      400,
      /Failed to parse body into Call protobuf/,
    ],
    [
      'protobuf failing validation',
      { 'content-type': APPLICATION_PROTOBUF },
      codec.encode(PROTO_MESSAGES.masterCall, {
        type: 'UPDATE_WEIGHTS',
        update_weights: { weight_infos: [{ weight: -1 }] },
      }),
      400,
      /update_weights\.weight_infos\[0\]\.weight: must be a positive number/,
    ],
    [
      'protobuf without a type',
      { 'content-type': APPLICATION_PROTOBUF },
      new Uint8Array(),
      400,
      /^type: required/,
    ],
    [
      'over the body limit',
      { 'content-type': APPLICATION_PROTOBUF },
      new Uint8Array(5000),
      413,
      /exceeds 4096 bytes/,
    ],
    [
      'Accept neither',
      { 'content-type': APPLICATION_PROTOBUF, accept: 'text/html' },
      asProtobuf,
      406,
      /Expecting 'Accept' to allow 'application\/x-protobuf' or 'application\/json'/,
    ],
    [
      'Accept refusing both',
      {
        'content-type': APPLICATION_JSON,
        accept: 'application/json;q=0, application/x-protobuf;q=0',
      },
      JSON.stringify(update),
      406,
      /Accept/,
    ],
  ];
  for (const [name, headers, body, status, message] of cases) {
    const reply = await post(port, headers, body);
    assert.equal(reply.status, status, `${name}: ${reply.body.toString()}`);
    assert.match(reply.body.toString('utf8'), message, name);
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8', name);
  }
  assert.equal(handled(), 0, 'no refused call ran');
  const good = await post(
    port,
    { 'content-type': APPLICATION_PROTOBUF, accept: APPLICATION_PROTOBUF },
    asProtobuf,
  );
  assert.equal(good.status, 200);
  assert.equal(good.body.length, 0);
  assert.equal(handled(), 1);
});

test('event streams write each record in the chosen encoding, and cut a stream whose event does not encode', async (t) => {
  const encoder = await messageEncoder(APPLICATION_PROTOBUF, PROTO_MESSAGES.schedulerEvent, {
    isStream: true,
  });
  const errors: unknown[] = [];
  const server = new HttpServer({ logger: silentLogger() });
  t.after(() => server.close());
  server.route(['GET'], '/stream', (_request, response) => {
    const stream = new EventStream<unknown>(response, {
      encoder,
      onEncodeError: (e) => errors.push(e),
    });
    stream.send({ type: 'HEARTBEAT' });
    stream.send({ type: 'ERROR', error: { message: 'bye' } });
    // No task_id: a strict client would refuse this record, so it is never sent.
    stream.send({ type: 'UPDATE', update: { status: { state: 'TASK_RUNNING' } } });
    assert.equal(stream.isOpen, false);
  });
  const { port } = await server.listen('127.0.0.1', 0);
  const records: Record<string, unknown>[] = [];
  const contentType = await new Promise<string | undefined>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
      const decoder = new RecordIODecoder();
      res.on('data', (chunk: Buffer) => {
        for (const record of decoder.decode(chunk))
          records.push(codec.decode(PROTO_MESSAGES.schedulerEvent, record));
      });
      res.on('error', () => resolve(res.headers['content-type']));
      res.on('close', () => resolve(res.headers['content-type']));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(contentType, APPLICATION_PROTOBUF);
  assert.deepEqual(records, [{ type: 'HEARTBEAT' }, { type: 'ERROR', error: { message: 'bye' } }]);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /update\.status\.task_id/);
});
