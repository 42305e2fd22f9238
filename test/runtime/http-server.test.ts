import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { type TestContext, test } from 'node:test';
import { EventStream } from '../../src/runtime/event-stream.js';
import { HttpError } from '../../src/runtime/http-errors.js';
import { readJsonBody, sendJson } from '../../src/runtime/http-io.js';
import { HttpServer, type HttpServerOptions, type Request } from '../../src/runtime/http-server.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { AgoraError, BadRequestError, type ErrorCode } from '../../src/wire/errors.js';
import { RecordIODecoder } from '../../src/wire/recordio.js';

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Send {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** One request on a fresh connection, so that nothing pooled outlives the test. */
function send(port: number, path: string, options: Send = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An HttpServer on an ephemeral port, closed when the test ends. */
async function start(
  t: TestContext,
  routes: (server: HttpServer) => void,
  options: Partial<HttpServerOptions> = {},
): Promise<{ server: HttpServer; port: number }> {
  const server = new HttpServer({ logger: silentLogger(), ...options });
  t.after(() => server.close());
  routes(server);
  const { port } = await server.listen('127.0.0.1', 0);
  return { server, port };
}

/** Answers with the path the handler saw, after delegation. */
function echoPath(request: Request, response: ServerResponse): void {
  sendJson(response, 200, { path: request.path, method: request.method });
}

test('http server routes an exact path and ignores a trailing slash', async (t) => {
  const { port } = await start(t, (s) => s.route(['GET'], '/master/state', echoPath));
  for (const path of ['/master/state', '/master/state/', '/master/state?jsonp=x']) {
    const reply = await send(port, path);
    assert.equal(reply.status, 200, path);
    assert.equal(JSON.parse(reply.body.replace(/^x\((.*)\);$/, '$1')).path, '/master/state', path);
  }
  assert.equal((await send(port, '/master/state/more')).status, 404);
  assert.equal((await send(port, '/master/stat')).status, 404);
});

test('http server delegates paths of no other process to the delegate', async (t) => {
  const { port } = await start(
    t,
    (s) => {
      s.route(['GET'], '/master/state', echoPath);
      s.route(['POST'], '/master/api/v1', echoPath);
      s.route(['GET'], '/health', echoPath);
    },
    { delegate: '/master' },
  );
  const cases: [method: string, path: string, seen: string][] = [
    ['GET', '/state', '/master/state'],
    ['GET', '/state/', '/master/state'],
    ['GET', '/master/state', '/master/state'],
    ['POST', '/api/v1', '/master/api/v1'],
    ['POST', '/master/api/v1', '/master/api/v1'],
    // A path registered as it is is not delegated.
    ['GET', '/health', '/health'],
  ];
  for (const [method, path, seen] of cases) {
    const reply = await send(port, path, { method });
    assert.equal(reply.status, 200, `${method} ${path}`);
    assert.deepEqual(JSON.parse(reply.body), { path: seen, method }, `${method} ${path}`);
  }
  const missing = await send(port, '/nothing');
  assert.equal(missing.status, 404);
  assert.match(missing.body, /\/nothing/);
});

test('http server serves paths under a prefix route, after exact routes and delegation', async (t) => {
  const { port } = await start(
    t,
    (s) => {
      s.route(['GET'], '/master/quota', echoPath);
      s.routePrefix(['DELETE'], '/master/quota/', echoPath);
    },
    { delegate: '/master' },
  );
  const cases: [method: string, path: string, status: number, seen?: string][] = [
    ['GET', '/master/quota', 200, '/master/quota'],
    ['DELETE', '/master/quota/eng', 200, '/master/quota/eng'],
    ['DELETE', '/quota/eng/dev', 200, '/master/quota/eng/dev'],
    // The prefix alone is the exact route, which has no DELETE.
    ['DELETE', '/master/quota/', 405],
    ['GET', '/master/quota/eng', 405],
  ];
  for (const [method, path, status, seen] of cases) {
    const reply = await send(port, path, { method });
    assert.equal(reply.status, status, `${method} ${path}`);
    if (seen !== undefined) assert.equal(JSON.parse(reply.body).path, seen, `${method} ${path}`);
  }
});

test('http server counts requests not answered yet, and not streams once they started', async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let isStreaming = false;
  const { server, port } = await start(t, (s) => {
    s.route(['GET'], '/slow', async (_request, response) => {
      await held;
      sendJson(response, 200, {});
    });
    s.route(['GET'], '/stream', async (request, response) => {
      const stream = new EventStream<{ type: string }>(response);
      stream.send({ type: 'HELLO' });
      isStreaming = true;
      await new Promise((resolve) => request.signal.addEventListener('abort', resolve));
      stream.close();
    });
  });
  const streamed = new AbortController();
  const streaming = fetch(`http://127.0.0.1:${port}/stream`, { signal: streamed.signal }).catch(
    () => undefined,
  );
  const slow = send(port, '/slow');
  const deadline = Date.now() + 5000;
  while ((server.pendingRequests !== 1 || !isStreaming) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(server.pendingRequests, 1, 'the slow request, not the stream');
  release();
  assert.equal((await slow).status, 200);
  assert.equal(server.pendingRequests, 0);
  streamed.abort();
  await streaming;
});

test('http server answers an unknown path with 404 in plain text', async (t) => {
  const { port } = await start(t, (s) => s.route(['GET'], '/here', echoPath));
  const reply = await send(port, '/not/here');
  assert.equal(reply.status, 404);
  assert.match(reply.headers['content-type'] ?? '', /^text\/plain/);
  assert.equal(reply.body, 'no endpoint at /not/here\n');
});

test('http server answers a wrong method with 405 and the allowed methods', async (t) => {
  const { port } = await start(t, (s) => s.route(['GET', 'POST'], '/thing', echoPath));
  const reply = await send(port, '/thing', { method: 'DELETE' });
  assert.equal(reply.status, 405);
  assert.equal(reply.headers.allow, 'GET, POST');
  assert.match(reply.headers['content-type'] ?? '', /^text\/plain/);
  assert.match(reply.body, /DELETE/);
});

test('http server answers HEAD with the GET handler', async (t) => {
  const { port } = await start(t, (s) => s.route(['GET'], '/thing', echoPath));
  const reply = await send(port, '/thing', { method: 'HEAD' });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, '');
});

test('http server maps an AgoraError to its status with the message as plain text', async (t) => {
  const cases: [code: ErrorCode, status: number][] = [
    ['BAD_REQUEST', 400],
    ['UNAUTHENTICATED', 401],
    ['FORBIDDEN', 403],
    ['NOT_FOUND', 404],
    ['CONFLICT', 409],
    ['PAYLOAD_TOO_LARGE', 413],
    ['UNSUPPORTED_MEDIA_TYPE', 415],
    ['NOT_IMPLEMENTED', 501],
    ['UNAVAILABLE', 503],
  ];
  const { port } = await start(t, (s) => {
    for (const [code] of cases)
      s.route(['GET'], `/fail/${code}`, () => {
        throw new AgoraError(code, `failed with ${code}`);
      });
  });
  for (const [code, status] of cases) {
    const reply = await send(port, `/fail/${code}`);
    assert.equal(reply.status, status, code);
    assert.match(reply.headers['content-type'] ?? '', /^text\/plain/, code);
    assert.equal(reply.body, `failed with ${code}\n`, code);
  }
});

test('http server sends the extra headers an HttpError carries', async (t) => {
  const { port } = await start(t, (s) =>
    s.route(['GET'], '/moved', () => {
      throw new HttpError('NOT_LEADER', 'not the leader', { location: '//10.0.0.2:5050/moved' });
    }),
  );
  const reply = await send(port, '/moved');
  assert.equal(reply.status, 307);
  assert.equal(reply.headers.location, '//10.0.0.2:5050/moved');
});

test('http server answers an unexpected error with 500 and keeps serving', async (t) => {
  const { port } = await start(t, (s) => {
    s.route(['GET'], '/boom', async () => {
      throw new TypeError('undefined is not a function');
    });
    s.route(['GET'], '/fine', echoPath);
  });
  const reply = await send(port, '/boom');
  assert.equal(reply.status, 500);
  assert.equal(reply.body, 'internal error\n');
  assert.doesNotMatch(reply.body, /undefined is not a function/);
  assert.equal((await send(port, '/fine')).status, 200);
  assert.equal((await send(port, '/boom')).status, 500);
});

test('http server reports a broken invariant to onInvariantFailure', async (t) => {
  const failures: Error[] = [];
  const { port } = await start(
    t,
    (s) =>
      s.route(['GET'], '/check', () => {
        assert.fail('books out of balance');
      }),
    { onInvariantFailure: (error) => failures.push(error) },
  );
  const reply = await send(port, '/check');
  assert.equal(reply.status, 503);
  assert.equal(failures.length, 1);
  assert.ok(failures[0] instanceof assert.AssertionError);
  assert.match(failures[0].message, /books out of balance/);
});

test('http server runs the authenticate hook on every route', async (t) => {
  const seen: string[] = [];
  const { port } = await start(
    t,
    (s) => {
      s.route(['GET'], '/master/state', (request, response) =>
        sendJson(response, 200, { principal: request.principal?.value }),
      );
      s.route(['POST'], '/master/api/v1', (request, response) =>
        sendJson(response, 200, { principal: request.principal?.value }),
      );
    },
    {
      delegate: '/master',
      authenticate: async (raw) => {
        seen.push(raw.url ?? '');
        const header = raw.headers.authorization;
        if (header === undefined) return undefined;
        if (header !== 'Bearer good') throw new AgoraError('UNAUTHENTICATED', 'bad credentials');
        return { value: 'ops' };
      },
    },
  );
  const good = { authorization: 'Bearer good' };
  const ok = await send(port, '/state', { headers: good });
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), { principal: 'ops' });
  const anonymous = await send(port, '/master/api/v1', { method: 'POST' });
  assert.equal(anonymous.status, 200);
  assert.deepEqual(JSON.parse(anonymous.body), {});
  const refused = await send(port, '/master/state', { headers: { authorization: 'Bearer bad' } });
  assert.equal(refused.status, 401);
  assert.equal(refused.body, 'bad credentials\n');
  assert.deepEqual(seen, ['/state', '/master/api/v1', '/master/state']);
});

test('http server does not run the handler when authentication fails', async (t) => {
  let handled = 0;
  const { port } = await start(
    t,
    (s) =>
      s.route(['GET'], '/secret', (_request, response) => {
        handled++;
        sendJson(response, 200, {});
      }),
    {
      authenticate: async () => {
        throw new AgoraError('UNAUTHENTICATED', 'who are you');
      },
    },
  );
  assert.equal((await send(port, '/secret')).status, 401);
  assert.equal(handled, 0);
});

test('http server json body reading rejects what is not a JSON body', async (t) => {
  const { port } = await start(t, (s) =>
    s.route(['POST'], '/echo', async (request, response) =>
      sendJson(response, 200, await readJsonBody(request)),
    ),
  );
  const cases: [name: string, options: Send, status: number, body: RegExp][] = [
    ['no Content-Type', { body: Buffer.from('{}') }, 400, /Content-Type.*present/],
    [
      'text/plain',
      { headers: { 'content-type': 'text/plain' }, body: '{}' },
      415,
      /application\/json.*text\/plain/,
    ],
    [
      'a body that does not parse',
      { headers: { 'content-type': 'application/json' }, body: '{"type": ' },
      400,
      /Failed to parse body into JSON/,
    ],
    [
      'a declared length over the limit',
      {
        headers: { 'content-type': 'application/json', 'content-length': String(17 * 2 ** 20) },
        body: '{}',
      },
      413,
      /exceeds/,
    ],
  ];
  for (const [name, options, status, body] of cases) {
    const reply = await send(port, '/echo', { method: 'POST', ...options });
    assert.equal(reply.status, status, name);
    assert.match(reply.body, body, name);
  }
  const good = await send(port, '/echo', {
    method: 'POST',
    headers: { 'content-type': 'Application/JSON; charset=utf-8' },
    body: '{"type":"TEARDOWN"}',
  });
  assert.equal(good.status, 200);
  assert.deepEqual(JSON.parse(good.body), { type: 'TEARDOWN' });
});

test('http server json body reading refuses a streamed body over the limit with 413', async (t) => {
  const { port } = await start(t, (s) =>
    s.route(['POST'], '/echo', async (request, response) =>
      sendJson(response, 200, await readJsonBody(request)),
    ),
  );
  // Chunked, so nothing is declared: the limit must be enforced while reading.
  const reply = await new Promise<Reply>((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/echo',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        req.destroy();
      });
    });
    const chunk = Buffer.alloc(2 ** 20, 0x20);
    let written = 0;
    const write = (): void => {
      while (written < 17) {
        written++;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
  assert.equal(reply.status, 413);
  assert.match(reply.body, /exceeds/);
});

test('http server close ends an open event stream and resolves', async (t) => {
  const aborted: unknown[] = [];
  const { server, port } = await start(t, (s) =>
    s.route(['GET'], '/stream', async (request, response) => {
      const stream = new EventStream<{ readonly type: string }>(response);
      stream.send({ type: 'HEARTBEAT' });
      await new Promise<void>((resolve) =>
        request.signal.addEventListener(
          'abort',
          () => {
            aborted.push(request.signal.reason);
            stream.close();
            resolve();
          },
          { once: true },
        ),
      );
    }),
  );
  const decoder = new RecordIODecoder();
  const records: string[] = [];
  let firstRecord: () => void = () => undefined;
  const gotFirst = new Promise<void>((resolve) => {
    firstRecord = resolve;
  });
  const ended = new Promise<{ complete: boolean }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        for (const record of decoder.decode(chunk)) records.push(record.toString('utf8'));
        if (records.length > 0) firstRecord();
      });
      res.on('end', () => resolve({ complete: res.complete }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  await gotFirst;
  assert.deepEqual(records, ['{"type":"HEARTBEAT"}']);
  await server.close();
  const { complete } = await ended;
  assert.ok(complete, 'the stream ended with its last chunk, not cut');
  assert.ok(decoder.isIdle);
  assert.equal(aborted.length, 1);
  assert.match(String(aborted[0]), /server stopping/);
  await server.close(); // idempotent
});

/** A server whose /echo route parses a JSON body and sends it back. */
function startEcho(t: TestContext, options: Partial<HttpServerOptions> = {}) {
  return start(
    t,
    (s) =>
      s.route(['POST'], '/echo', async (request, response) =>
        sendJson(response, 200, await readJsonBody(request)),
      ),
    options,
  );
}

const JSON_HEADERS = { 'content-type': 'application/json' };

test('http server json body reading refuses JSON nested deeper than the limit before parsing', async (t) => {
  const { port } = await startEcho(t);
  const nested = (depth: number, open = '[', close = ']') =>
    `${open.repeat(depth)}${close.repeat(depth)}`;
  const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const cases: [name: string, body: string, status: number][] = [
    ['10,000 nested arrays in type', `{"type":${nested(10_000)}}`, 400],
    ['1,000,000 nested arrays', nested(1_000_000), 400],
    ['65 nested objects', objects(65), 400],
    ['64 nested objects', objects(64), 200],
    ['brackets inside strings do not count', JSON.stringify({ a: '[{'.repeat(1000) }), 200],
    [
      'escaped quotes inside strings do not end them',
      JSON.stringify({ a: '\\"[[[['.repeat(100) }),
      200,
    ],
  ];
  for (const [name, body, status] of cases) {
    const reply = await send(port, '/echo', { method: 'POST', headers: JSON_HEADERS, body });
    assert.equal(reply.status, status, name);
    if (status === 400) assert.match(reply.body, /nested deeper than 64 levels/, name);
  }
});

test('http server json body reading refuses a body that is not UTF-8 or starts with a BOM', async (t) => {
  const { port } = await startEcho(t);
  const cases: [name: string, body: Buffer, reason: RegExp][] = [
    [
      'an invalid byte in a string',
      Buffer.from([...Buffer.from('{"a":"'), 0xff, ...Buffer.from('"}')]),
      /UTF-8/,
    ],
    [
      'a truncated two-byte character',
      Buffer.from([...Buffer.from('{"a":"'), 0xc3, ...Buffer.from('"}')]),
      /UTF-8/,
    ],
    ['a byte order mark', Buffer.from('\ufeff{"a":1}'), /Failed to parse body into JSON/],
    ['UTF-16', Buffer.from('{"a":1}', 'utf16le'), /Failed to parse body into JSON/],
  ];
  for (const [name, body, reason] of cases) {
    const reply = await send(port, '/echo', { method: 'POST', headers: JSON_HEADERS, body });
    assert.equal(reply.status, 400, name);
    assert.match(reply.body, reason, name);
  }
});

test('http server json body reading honours maxRequestBodyBytes and answers 413 to a client still sending', async (t) => {
  const { port } = await startEcho(t, { maxRequestBodyBytes: 1024 });
  const fits = `{"a":"${'x'.repeat(1024 - 8)}"}`;
  assert.equal(Buffer.byteLength(fits), 1024);
  assert.equal(
    (await send(port, '/echo', { method: 'POST', headers: JSON_HEADERS, body: fits })).status,
    200,
  );
  const declared = await send(port, '/echo', {
    method: 'POST',
    headers: JSON_HEADERS,
    body: `${fits} `,
  });
  assert.equal(declared.status, 413);
  assert.match(declared.body, /exceeds 1024 bytes \(--max_request_body\)/);

  // Chunked and far over the limit: the 413 comes while the client is still writing, and the
  // client sees it rather than a reset connection.
  const errors: Error[] = [];
  const reply = await new Promise<Reply>((resolve) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/echo',
      method: 'POST',
      headers: JSON_HEADERS,
      agent: false,
    });
    req.on('error', (error) => errors.push(error));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let written = 0;
    const write = (): void => {
      while (written < 64) {
        written++;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
  assert.equal(reply.status, 413);
  assert.deepEqual(errors, []);
});

test('http server answers a request target the URL parser refuses with 400', async (t) => {
  const { port } = await start(t, (s) => s.route(['GET'], '/master/state', echoPath));
  for (const path of ['//a:b', '//[::1', '//a:99999/master/state']) {
    const reply = await send(port, path);
    assert.equal(reply.status, 400, path);
    assert.match(reply.body, /Malformed request target/, path);
  }
});

test('http server cuts an error message that would echo a huge value', async (t) => {
  const { port } = await start(t, (s) =>
    s.route(['GET'], '/echo-error', () => {
      throw new BadRequestError('field', `'${'x'.repeat(100_000)}' is wrong`);
    }),
  );
  const reply = await send(port, '/echo-error');
  assert.equal(reply.status, 400);
  assert.ok(reply.body.length < 1100, `a body of ${reply.body.length} characters`);
  assert.match(reply.body, /^field: 'x+… \(\d+ more characters\)\n$/);
});

test('http server reads a refused body to its end before closing a connection the client asked to close', async (t) => {
  const { port } = await startEcho(t, { maxRequestBodyBytes: 1024 });
  const bodyBytes = 2 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  // A raw socket, so that nothing on the client side stops the upload when the answer comes.
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  const errors: Error[] = [];
  socket.on('error', (error) => errors.push(error));
  let answer = '';
  const answered = new Promise<void>((resolve) =>
    socket.on('data', (data: Buffer) => {
      answer += data.toString('utf8');
      if (/\r\n\r\n[\s\S]*\n$/.test(answer)) resolve();
    }),
  );
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(
    `POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n\r\n`,
  );
  socket.write(chunk);
  await answered;
  assert.match(answer, /^HTTP\/1\.1 413 /);
  // The answer is in while most of the body is still to come: the rest must go through.
  for (let sent = chunk.length; sent < bodyBytes; sent += chunk.length)
    if (!socket.write(chunk)) await once(socket, 'drain');
  await ended;
  assert.deepEqual(errors, [], 'the server did not close the connection under the client');
});

test('http server answers a request line over the limit with 431, and reads on rather than reset', async (t) => {
  const { port } = await start(t, (s) => s.route(['GET'], '/master/state', echoPath));
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  const errors: Error[] = [];
  socket.on('error', (error) => errors.push(error));
  let answer = '';
  const answered = new Promise<void>((resolve) =>
    socket.on('data', (data: Buffer) => {
      answer += data.toString('utf8');
      if (answer.includes('\r\n\r\n')) resolve();
    }),
  );
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // Past Node's 16 KiB header limit, then more after the answer, as a slow client would.
  socket.write(`GET /master/state?q=${'v'.repeat(17 * 1024)}`);
  await answered;
  assert.match(answer, /^HTTP\/1\.1 431 /);
  for (let i = 0; i < 32; i++)
    if (!socket.write('v'.repeat(64 * 1024))) await once(socket, 'drain');
  socket.end(' HTTP/1.1\r\n\r\n');
  await closed;
  assert.deepEqual(errors, [], 'the server did not reset the connection');
});
