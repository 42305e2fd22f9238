import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frontShape, judgeBody, readHead } from '../../src/runtime/index.js';

const SHAPE = frontShape('POST', '/master/api/v1/agent', '{"type":"SUBSCRIBE",', {
  maxHeadBytes: 1024,
  maxBodyBytes: 4096,
});
const BODY = '{"type":"SUBSCRIBE","subscribe":{}}';

function request(lines: readonly string[], body = BODY, requestLine?: string): Buffer {
  const head = `${requestLine ?? 'POST /master/api/v1/agent HTTP/1.1'}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
  return Buffer.from(head + body, 'latin1');
}

const AGENT_LINES = [
  'content-type: application/json',
  'accept: application/json',
  `content-length: ${BODY.length}`,
  'Host: 127.0.0.1:5050',
  'Connection: close',
];

/** The verdict on the whole of `bytes`: the head's, then the body's. */
function verdict(bytes: Buffer): string {
  const head = readHead(bytes, SHAPE);
  if (head.kind !== 'head') return head.kind;
  return judgeBody(bytes, head, SHAPE);
}

test("front-request takes the agent's SUBSCRIBE whole, and says incomplete at every shorter prefix", () => {
  const bytes = request(AGENT_LINES);
  assert.equal(verdict(bytes), 'whole');
  for (let length = 0; length < bytes.length; length++)
    assert.equal(verdict(bytes.subarray(0, length)), 'incomplete', `at ${length} bytes`);
});

test('front-request reads header names in any case and the optional Accept left out', () => {
  const upper = AGENT_LINES.map((l) => l.replace(/^[^:]+/, (name) => name.toUpperCase()));
  assert.equal(verdict(request(upper)), 'whole');
  assert.equal(verdict(request(AGENT_LINES.filter((l) => !l.startsWith('accept')))), 'whole');
  const head = readHead(request(AGENT_LINES), SHAPE);
  assert.equal(head.kind, 'head');
  if (head.kind === 'head') assert.equal(head.contentLength, BODY.length);
});

test('front-request leaves every other head to node:http', () => {
  const foreign: [string, Buffer][] = [
    ['GET', request(AGENT_LINES, BODY, 'GET /master/api/v1/agent HTTP/1.1')],
    ['another path', request(AGENT_LINES, BODY, 'POST /api/v1/agent HTTP/1.1')],
    ['HTTP/1.0', request(AGENT_LINES, BODY, 'POST /master/api/v1/agent HTTP/1.0')],
    ['a header twice', request([...AGENT_LINES, 'Host: again'])],
    ['Accept twice', request([...AGENT_LINES, 'accept: application/json'])],
    ['Transfer-Encoding', request([...AGENT_LINES, 'Transfer-Encoding: chunked'])],
    ['Expect', request([...AGENT_LINES, 'Expect: 100-continue'])],
    ['Authorization', request([...AGENT_LINES, 'Authorization: Basic eDp5'])],
    [
      'keep-alive',
      request(AGENT_LINES.map((l) => (l.startsWith('Connection') ? 'Connection: keep-alive' : l))),
    ],
    ['no Connection', request(AGENT_LINES.filter((l) => !l.startsWith('Connection')))],
    ['no Host', request(AGENT_LINES.filter((l) => !l.startsWith('Host')))],
    ['no Content-Length', request(AGENT_LINES.filter((l) => !l.startsWith('content-length')))],
    [
      'a Content-Type with parameters',
      request(
        AGENT_LINES.map((l) =>
          l.startsWith('content-type') ? 'content-type: application/json; charset=utf-8' : l,
        ),
      ),
    ],
    [
      'a Content-Length with a sign',
      request(
        AGENT_LINES.map((l) =>
          l.startsWith('content-length') ? `content-length: +${BODY.length}` : l,
        ),
      ),
    ],
    [
      'a Content-Length with a leading zero',
      request(
        AGENT_LINES.map((l) =>
          l.startsWith('content-length') ? `content-length: 0${BODY.length}` : l,
        ),
      ),
    ],
    [
      'a Content-Length over the bound',
      request(
        AGENT_LINES.map((l) => (l.startsWith('content-length') ? 'content-length: 5000' : l)),
      ),
    ],
    ['no space after the colon', request(AGENT_LINES.map((l) => l.replace(': ', ':')))],
    ['a space before the colon', request(AGENT_LINES.map((l) => l.replace(': ', ' : ')))],
    [
      'a value ending in a space',
      request(AGENT_LINES.map((l) => (l.startsWith('Host') ? 'Host: x ' : l))),
    ],
    ['a folded line', request([...AGENT_LINES.slice(0, 4), ' folded', AGENT_LINES[4] ?? ''])],
    [
      'a bare LF',
      Buffer.from(`POST /master/api/v1/agent HTTP/1.1\r\n${AGENT_LINES.join('\n')}\r\n\r\n${BODY}`),
    ],
    ['no header at all', request([])],
  ];
  for (const [what, bytes] of foreign) assert.equal(verdict(bytes), 'foreign', what);
});

test('front-request says foreign as soon as the request line differs, before the head is in', () => {
  assert.equal(verdict(Buffer.from('GET ')), 'foreign');
  assert.equal(verdict(Buffer.from('POST /master/api/v1/agents')), 'foreign');
  assert.equal(verdict(Buffer.from('POST /master/api/v1/age')), 'incomplete');
});

test('front-request bounds the head: past maxHeadBytes with no end is foreign', () => {
  const long = Buffer.from(`POST /master/api/v1/agent HTTP/1.1\r\nHost: ${'h'.repeat(2000)}`);
  assert.equal(verdict(long.subarray(0, 1024)), 'incomplete');
  assert.equal(verdict(long.subarray(0, 1025)), 'foreign');
  assert.equal(verdict(request([...AGENT_LINES, `x-pad: ${'p'.repeat(1000)}`])), 'foreign');
});

test('front-request leaves a body that is not a SUBSCRIBE, or has a byte past it, to node:http', () => {
  const pong = '{"type":"PONG","agent_id":{"value":"a"}}';
  const lines = AGENT_LINES.map((l) =>
    l.startsWith('content-length') ? `content-length: ${pong.length}` : l,
  );
  const bytes = request(lines, pong);
  assert.equal(verdict(bytes), 'foreign');
  // Known from the body's first bytes, not its last.
  const headLength = bytes.indexOf('\r\n\r\n') + 4;
  assert.equal(verdict(bytes.subarray(0, headLength + 10)), 'foreign');
  assert.equal(verdict(Buffer.concat([request(AGENT_LINES), Buffer.from('G')])), 'foreign');
  assert.equal(verdict(Buffer.concat([request(AGENT_LINES), request(AGENT_LINES)])), 'foreign');
});
