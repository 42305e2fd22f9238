import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeRecords,
  encodeRecord,
  RecordIODecoder,
  RecordIOError,
} from '../../src/wire/recordio.js';

const RUNS = { numRuns: 300 };

/** Splits `bytes` at the given offsets (taken modulo its length, in any order). */
function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % bytes.length)))]
    .filter((p) => p > 0)
    .sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

function decodeAll(chunks: readonly Uint8Array[], decoder = new RecordIODecoder()): string[] {
  return chunks.flatMap((chunk) => decoder.decode(chunk)).map((r) => r.toString('utf8'));
}

function oneByteChunks(bytes: Buffer): Buffer[] {
  return [...bytes].map((_, i) => bytes.subarray(i, i + 1));
}

async function* chunksOf(...chunks: readonly string[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield Buffer.from(chunk, 'utf8');
}

// Payloads that look like framing (digits, newlines) and multi-byte UTF-8 are the
// ones a decoder that counts characters or scans for '\n' would get wrong.
const arbPayload = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('1', '0', '9', '\n', 'é', '€', '😀', 'a'), maxLength: 40 }),
  fc.constant(''),
);

test('recordio decodes any payloads split at any chunk boundaries', () => {
  fc.assert(
    fc.property(
      fc.array(arbPayload, { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p) => encodeRecord(p)));
        const decoder = new RecordIODecoder();
        assert.deepEqual(decodeAll(splitAt(stream, cuts), decoder), payloads);
        assert.ok(decoder.isIdle);
      },
    ),
    RUNS,
  );
});

test('recordio decodes any payloads fed one byte at a time', () => {
  fc.assert(
    fc.property(fc.array(arbPayload, { maxLength: 8 }), (payloads) => {
      const stream = Buffer.concat(payloads.map((p) => encodeRecord(p)));
      assert.deepEqual(decodeAll(oneByteChunks(stream)), payloads);
    }),
    RUNS,
  );
});

test('recordio decodes a record much bigger than a chunk', () => {
  const payload = 'x'.repeat(100_000);
  const stream = encodeRecord(payload);
  const chunks = splitAt(
    stream,
    Array.from({ length: 200 }, (_, i) => i * 512),
  );
  const decoder = new RecordIODecoder();
  const records = chunks.flatMap((chunk) => decoder.decode(chunk));
  assert.equal(records.length, 1);
  assert.equal(records[0]?.toString('utf8'), payload);
  assert.ok(decoder.isIdle);
});

test('recordio returns every record of one chunk, in order', () => {
  const stream = Buffer.concat(['{"a":1}', '', 'two\n', '3'].map((p) => encodeRecord(p)));
  assert.deepEqual(decodeAll([stream]), ['{"a":1}', '', 'two\n', '3']);
});

test('recordio keeps the partial record of a chunk for the next one', () => {
  const decoder = new RecordIODecoder();
  assert.deepEqual(decodeAll([Buffer.from('3\nabc5\nhel')], decoder), ['abc']);
  assert.equal(decoder.isIdle, false);
  assert.deepEqual(decodeAll([Buffer.from('lo')], decoder), ['hello']);
  assert.equal(decoder.isIdle, true);
});

test('recordio frames a zero-length record as "0\\n" and decodes it', () => {
  assert.equal(encodeRecord('').toString('latin1'), '0\n');
  const decoder = new RecordIODecoder();
  const records = decoder.decode(Buffer.from('0\n'));
  assert.equal(records.length, 1);
  assert.equal(records[0]?.length, 0);
  assert.ok(decoder.isIdle);
});

test('recordio rejects a malformed length prefix', () => {
  const cases: [name: string, input: string][] = [
    ['letters', 'abc\n'],
    ['digits then a letter', '12x\n'],
    ['a 30-digit prefix with no newline', '1'.repeat(30)],
    ['a negative length', '-5\nhello'],
    ['a negative length without its newline yet', '-5'],
    ['an empty prefix', '\nabc'],
    ['a space in the prefix', '1 2\nab'],
  ];
  for (const [name, input] of cases) {
    assert.throws(() => new RecordIODecoder().decode(Buffer.from(input)), RecordIOError, name);
    assert.throws(
      () => decodeAll(oneByteChunks(Buffer.from(input))),
      RecordIOError,
      `${name}, one byte at a time`,
    );
  }
});

test('recordio rejects a record above maxRecordBytes before it arrives', () => {
  const decoder = new RecordIODecoder(10);
  assert.deepEqual(decodeAll([encodeRecord('x'.repeat(10))], decoder), ['x'.repeat(10)]);
  assert.throws(() => decoder.decode(Buffer.from('11\n')), {
    name: 'RecordIOError',
    message: /11 bytes exceeds the limit of 10/,
  });
});

test('recordio stream yields every whole record, then fails when it stops mid-record', async () => {
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const record of decodeRecords(chunksOf('2\nab3\nc', 'd', 'e1\nf', '5\nxy')))
        seen.push(record.toString('utf8'));
    })(),
    { name: 'RecordIOError', message: /middle of a record/ },
  );
  assert.deepEqual(seen, ['ab', 'cde', 'f']);
});

test('recordio stream fails when it stops inside a length prefix', async () => {
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const record of decodeRecords(chunksOf('1\na12'))) seen.push(record.toString());
    })(),
    RecordIOError,
  );
  assert.deepEqual(seen, ['a']);
});

test('recordio stream ends cleanly at a record boundary', async () => {
  const seen: string[] = [];
  for await (const record of decodeRecords(chunksOf('1\na', '0\n', '2\nbc')))
    seen.push(record.toString('utf8'));
  assert.deepEqual(seen, ['a', '', 'bc']);
});

test('recordio stream applies its maxRecordBytes', async () => {
  await assert.rejects(async () => {
    for await (const _ of decodeRecords(chunksOf('4\nabcd'), 3));
  }, RecordIOError);
});

test('recordio length counts bytes, not characters', () => {
  assert.deepEqual([...encodeRecord('é')], [0x32, 0x0a, 0xc3, 0xa9]);
  assert.equal(encodeRecord('😀').toString('utf8'), '4\n😀');
  assert.equal(encodeRecord(new Uint8Array([1, 2, 3])).toString('latin1'), '3\n\x01\x02\x03');
  assert.deepEqual(decodeAll([Buffer.from('2\né')]), ['é']);
});
