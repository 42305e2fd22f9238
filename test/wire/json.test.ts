import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { exceedsJsonDepth, nanosFromMs, stringifyJson, toAsciiJson } from '../../src/wire/json.js';

const RUNS = { numRuns: 300 };

// Any UTF-16 code unit, lone surrogates included, besides whole code points.
const arbText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 30 }),
);

test('ascii json escapes every non-ASCII character, so bytes equal characters', () => {
  fc.assert(
    fc.property(arbText, arbText, (key, value) => {
      const json = toAsciiJson({ [key]: value, list: [value] });
      assert.match(json, /^[\x20-\x7e]*$/);
      assert.equal(Buffer.byteLength(json, 'utf8'), json.length);
      assert.deepEqual(JSON.parse(json), { [key]: value, list: [value] });
    }),
    RUNS,
  );
});

test('ascii json writes escapes a JSON parser reads back', () => {
  assert.equal(toAsciiJson('é'), '"\\u00e9"');
  assert.equal(toAsciiJson('😀'), '"\\ud83d\\ude00"');
  assert.equal(toAsciiJson({ host: 'café.example' }), '{"host":"caf\\u00e9.example"}');
  assert.equal(toAsciiJson('plain'), '"plain"');
});

test('ascii json keeps bigints exact', () => {
  assert.equal(toAsciiJson({ é: 1732413604218774123n }), '{"\\u00e9":1732413604218774123}');
});

test('json writes a bigint as a bare integer with every digit', () => {
  const cases: [value: unknown, json: string][] = [
    [{ nanoseconds: 1732413604218774123n }, '{"nanoseconds":1732413604218774123}'],
    [{ nanoseconds: -9223372036854775808n }, '{"nanoseconds":-9223372036854775808}'],
    [[0n, 1n, 2n ** 63n - 1n], '[0,1,9223372036854775807]'],
    [{ a: { b: [{ c: 42n }] }, d: 'x' }, '{"a":{"b":[{"c":42}]},"d":"x"}'],
    [7n, '7'],
  ];
  for (const [value, json] of cases) assert.equal(stringifyJson(value), json);
});

test('json writes values without bigints exactly as JSON.stringify does', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      assert.equal(stringifyJson(value), JSON.stringify(value));
    }),
    RUNS,
  );
});

test('json parses a written bigint back to the same digits', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
      const json = stringifyJson({ nanoseconds: n, label: 'x' });
      const digits = /"nanoseconds":(-?\d+)/.exec(json)?.[1];
      assert.equal(digits, n.toString());
      assert.equal(typeof JSON.parse(json).nanoseconds, 'number');
    }),
    RUNS,
  );
});

test('json leaves a string that looks like its internal bigint marker a string', () => {
  const value = { label: '\u0000int64:5', nanoseconds: 1n };
  assert.deepEqual(JSON.parse(stringifyJson(value)), { label: '\u0000int64:5', nanoseconds: 1 });
});

test('nanos from milliseconds are exact as int64', () => {
  const cases: [ms: number, nanos: bigint][] = [
    [0, 0n],
    [1, 1_000_000n],
    [1_732_413_604_218, 1_732_413_604_218_000_000n],
    [-5, -5_000_000n],
    // Sub-millisecond fractions round to the nearest millisecond.
    [2.4, 2_000_000n],
    [2.6, 3_000_000n],
  ];
  for (const [ms, nanos] of cases) assert.equal(nanosFromMs(ms), nanos, `${ms} ms`);
});

test('exceedsJsonDepth counts arrays and objects outside strings only', () => {
  const bytes = (text: string) => Buffer.from(text, 'utf8');
  const cases: [text: string, maxDepth: number, expected: boolean][] = [
    ['[[[]]]', 3, false],
    ['[[[]]]', 2, true],
    ['{"a":{"b":[1]}}', 3, false],
    ['{"a":{"b":[1]}}', 2, true],
    ['["[[[[[[", "{{{{"]', 1, false],
    ['["\\"[[[["]', 1, false],
    ['["\\\\", [[]]]', 2, true],
    ['"é[["', 0, false],
    [`${'['.repeat(1_000_000)}`, 64, true],
  ];
  for (const [text, maxDepth, expected] of cases)
    assert.equal(
      exceedsJsonDepth(bytes(text), maxDepth),
      expected,
      `${text.slice(0, 20)} / ${maxDepth}`,
    );
});

test('exceedsJsonDepth finds the depth of random JSON, with brackets, quotes and escapes in its strings', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const text = () =>
    Array.from(
      { length: Math.floor(random() * 6) },
      () => '[]{}"\\aé,:'[Math.floor(random() * 11)],
    ).join('');
  const value = (depthLeft: number): unknown => {
    const pick = random();
    if (depthLeft === 0 || pick < 0.3) return pick < 0.15 ? text() : Math.round(pick * 100);
    const items = Array.from({ length: 1 + Math.floor(random() * 3) }, () => value(depthLeft - 1));
    return pick < 0.65
      ? items
      : Object.fromEntries(items.map((item, i) => [`${text()}${i}`, item]));
  };
  const depthOf = (v: unknown): number =>
    typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0;
  for (let i = 0; i < 500; i++) {
    const v = value(1 + Math.floor(random() * 12));
    const json = JSON.stringify(v);
    const depth = depthOf(v);
    assert.equal(exceedsJsonDepth(Buffer.from(json, 'utf8'), depth), false, json);
    if (depth > 0) assert.equal(exceedsJsonDepth(Buffer.from(json, 'utf8'), depth - 1), true, json);
  }
  // Malformed text is the parser's to refuse: no throw here, whatever is cut off.
  for (const cut of ['["abc', '["a\\', '{"a":[[', '"\\']) exceedsJsonDepth(Buffer.from(cut), 1);
});
