import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRecord, RECORD_HEADER_BYTES, scanLog } from '../../src/registry/log-format.js';

const records = (...payloads: string[]) =>
  payloads.map((p) => encodeRecord(Buffer.from(p, 'utf8')));

test('scanLog reads back every record with its offset', () => {
  const [a, b] = records('{"n":1}', '{"n":"ü"}');
  assert.ok(a !== undefined && b !== undefined);
  const scan = scanLog(Buffer.concat([a, b]));
  assert.deepEqual(
    scan.records.map((r) => [r.offset, r.payload.toString('utf8')]),
    [
      [0, '{"n":1}'],
      [a.length, '{"n":"ü"}'],
    ],
  );
  assert.equal(scan.validBytes, a.length + b.length);
  assert.equal(scan.bad, undefined);
});

test('scanLog reads an empty log as no records', () => {
  assert.deepEqual(scanLog(Buffer.alloc(0)), { records: [], validBytes: 0, bad: undefined });
});

test('scanLog reports a torn final record with no valid record after it', () => {
  const [a, b] = records('{"n":1}', '{"n":2}');
  assert.ok(a !== undefined && b !== undefined);
  const scan = scanLog(Buffer.concat([a, b.subarray(0, b.length - 1)]));
  assert.equal(scan.records.length, 1);
  assert.equal(scan.validBytes, a.length);
  assert.equal(scan.bad?.offset, a.length);
  assert.equal(scan.bad?.nextValidOffset, undefined);
});

test('scanLog finds the valid record after a damaged one', () => {
  const [a, b, c] = records('{"n":1}', '{"n":2}', '{"n":3}');
  assert.ok(a !== undefined && b !== undefined && c !== undefined);
  const damaged = Buffer.from(b);
  damaged.writeUInt8(damaged.readUInt8(RECORD_HEADER_BYTES) ^ 0x20, RECORD_HEADER_BYTES);
  const scan = scanLog(Buffer.concat([a, damaged, c]));
  assert.equal(scan.bad?.offset, a.length);
  assert.equal(scan.bad?.reason, 'CRC-32 mismatch');
  assert.equal(scan.bad?.nextValidOffset, a.length + b.length);
});

test('encodeRecord refuses an empty payload', () => {
  assert.throws(() => encodeRecord(Buffer.alloc(0)), assert.AssertionError);
});
