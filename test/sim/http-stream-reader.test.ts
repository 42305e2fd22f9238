// The simulator's reading of a subscription's answer from bytes: the head, the body as it
// comes (de-chunked), and its end, however the bytes are split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpStreamReader, type StreamHead } from '../../src/sim/http-stream-reader.js';

/** Everything a reader reported for `bytes` pushed in pieces of `step` bytes. */
function read(text: string, step = Number.POSITIVE_INFINITY) {
  const reader = new HttpStreamReader();
  const heads: StreamHead[] = [];
  const body: Buffer[] = [];
  let ends = 0;
  const sink = {
    head: (head: StreamHead) => heads.push(head),
    body: (bytes: Buffer) => body.push(Buffer.from(bytes)),
    end: () => ends++,
  };
  const bytes = Buffer.from(text, 'latin1');
  for (let i = 0; i < bytes.length; i += Math.min(step, bytes.length))
    reader.push(bytes.subarray(i, i + step), sink);
  return { heads, body: Buffer.concat(body).toString('latin1'), ends };
}

// As Agora's master answers an agent's SUBSCRIBE (captured): chunked, one record a chunk.
const subscribed = '{"type":"SUBSCRIBED","subscribed":{"agent_id":{"value":"a-S0"}}}';
const ping = '{"type":"PING","ping":{"reregister_spread_ms":1}}';
const records = `${subscribed.length}\n${subscribed}${ping.length}\n${ping}`;
const stream =
  'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-cache\r\n' +
  'Mesos-Stream-Id: 3dB0-Case\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n' +
  `${(subscribed.length + 3).toString(16)}\r\n${subscribed.length}\n${subscribed}\r\n` +
  `${(ping.length + 3).toString(16)};ext=1\r\n${ping.length}\n${ping}\r\n`;

test('a stream reader hands on the head and the de-chunked body, however the bytes are split', () => {
  for (const step of [Number.POSITIVE_INFINITY, 1, 2, 7, 64]) {
    const got = read(stream, step);
    assert.deepEqual(got.heads, [{ status: 200, streamId: '3dB0-Case' }], `step ${step}`);
    assert.equal(got.body, records, `step ${step}`);
    assert.equal(got.ends, 0, `step ${step}: a subscription's body never ends by itself`);
  }
});

test("a stream reader ends a refusal's body by its length or its last chunk, and ignores what follows", () => {
  const refused =
    'HTTP/1.1 100 Continue\r\n\r\n' +
    'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 11\r\nConnection: close\r\n\r\nnot leading' +
    'garbage after the answer';
  for (const step of [Number.POSITIVE_INFINITY, 1, 5]) {
    const got = read(refused, step);
    assert.deepEqual(got.heads, [{ status: 503, streamId: undefined }]);
    assert.equal(got.body, 'not leading');
    assert.equal(got.ends, 1);
  }
  const chunked =
    'HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbad \r\n5\r\nfield\r\n0\r\n\r\n';
  for (const step of [Number.POSITIVE_INFINITY, 1, 3]) {
    const got = read(chunked, step);
    assert.equal(got.body, 'bad field');
    assert.equal(got.ends, 1);
  }
  const redirect = read(
    'HTTP/1.1 307 Temporary Redirect\r\nLocation: //h:1\r\nContent-Length: 0\r\n\r\n',
  );
  assert.deepEqual(redirect, { heads: [{ status: 307, streamId: undefined }], body: '', ends: 1 });
});

test('a stream reader refuses bytes that are not an HTTP/1.1 answer', () => {
  assert.throws(() => read('SSH-2.0-OpenSSH\r\n\r\n'));
  assert.throws(() => read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'));
  assert.throws(() => read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX'));
  assert.throws(() => read('HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n'));
});
