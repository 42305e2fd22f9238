import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { jsonEqual } from '../../src/master/core/json-equal.js';

test('jsonEqual answers as isDeepStrictEqual for values read from JSON', () => {
  const info = {
    hostname: 'a',
    port: 5051,
    resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }],
    attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }],
    id: { value: 'S1' },
  };
  const pairs: [unknown, unknown][] = [
    [info, JSON.parse(JSON.stringify(info))],
    [info, { ...info, port: 5052 }],
    [info, { ...info, attributes: [] }],
    [info, Object.fromEntries(Object.entries(info).reverse())],
    [info, { ...info, domain: undefined }],
    [{ a: [1, 2] }, { a: { 0: 1, 1: 2 } }],
    [{ a: null }, { a: {} }],
    [[], {}],
    [1, '1'],
    [null, null],
    [{ a: 1 }, { b: 1 }],
    // Keys a prototype answers for: an own `__proto__` (as JSON.parse gives it) is a key like
    // any other, and an absent one is not Object.prototype.
    [JSON.parse('{"__proto__":{},"a":1}'), { a: 1, b: 2 }],
    [JSON.parse('{"__proto__":{}}'), JSON.parse('{"__proto__":{}}')],
    [JSON.parse('{"__proto__":{}}'), JSON.parse('{"__proto__":[]}')],
    [JSON.parse('{"constructor":{}}'), JSON.parse('{"hasOwnProperty":{}}')],
    [{ a: undefined }, { b: undefined }],
  ];
  for (const [a, b] of pairs) {
    assert.equal(jsonEqual(a, b), isDeepStrictEqual(a, b), JSON.stringify([a, b]));
    assert.equal(jsonEqual(b, a), isDeepStrictEqual(b, a), JSON.stringify([b, a]));
  }
});
