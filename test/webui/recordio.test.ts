import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecordIoDecoder } from '../../src/webui/recordio.js';

const encode = (text: string) => new TextEncoder().encode(text);
const record = (payload: string) => `${encode(payload).length}\n${payload}`;

test('web UI RecordIO decoder reads records split at every byte', () => {
  const payloads = ['{"type":"SUBSCRIBED"}', '{"type":"HEARTBEAT"}', '{"host":"zürich"}', ''];
  const bytes = encode(payloads.map(record).join(''));
  const decoder = new RecordIoDecoder();
  const out: string[] = [];
  for (const byte of bytes) out.push(...decoder.push(Uint8Array.of(byte)));
  assert.deepEqual(out, payloads);
});

test('web UI RecordIO decoder reads several records from one chunk', () => {
  const decoder = new RecordIoDecoder();
  assert.deepEqual(decoder.push(encode(`${record('a')}${record('bc')}3\nde`)), ['a', 'bc']);
  assert.deepEqual(decoder.push(encode('f')), ['def']);
});

test('web UI RecordIO decoder refuses a length that is not a number', () => {
  assert.throws(() => new RecordIoDecoder().push(encode('x1\n{}')), /bad length/);
  assert.throws(() => new RecordIoDecoder().push(encode('1'.repeat(40))), /too long/);
});
