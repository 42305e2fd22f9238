// The simulator's reading of a call's HTTP/1.1 answers, byte by byte and pipelined.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpResponseParser } from '../../src/sim/http-response-parser.js';

const answers =
  'HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nDate: x\r\n\r\n' +
  'HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\n\r\nfield: uuid' +
  'HTTP/1.1 100 Continue\r\n\r\n' +
  'HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n' +
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno';

function summary(responses: ReturnType<HttpResponseParser['push']>) {
  return responses.map((r) => [r.status, r.body.toString('utf8'), r.isLast]);
}

const expected = [
  [202, '', false],
  [400, 'field: uuid', false],
  [409, 'hello world', false],
  [503, 'no', true],
];

test('pipelined answers come out in order, with their bodies by length or chunks', () => {
  const parser = new HttpResponseParser();
  assert.deepEqual(summary(parser.push(Buffer.from(answers, 'latin1'))), expected);
  assert.equal(parser.isMidResponse, false);
});

test('answers split at every byte read the same', () => {
  const parser = new HttpResponseParser();
  const bytes = Buffer.from(answers, 'latin1');
  const got: ReturnType<HttpResponseParser['push']> = [];
  for (let i = 0; i < bytes.length; i++) got.push(...parser.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(summary(got), expected);
});

test('bytes that are not an HTTP response are refused', () => {
  assert.throws(() => new HttpResponseParser().push(Buffer.from('SSH-2.0-x\r\n\r\n')));
  assert.throws(() =>
    new HttpResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n')),
  );
});
