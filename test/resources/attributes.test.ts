import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAttributes, summarizeAttributes } from '../../src/resources/index.js';
import { type Attribute, BadRequestError } from '../../src/wire/index.js';

test('parseAttributes reads text, scalar and ranges attributes', () => {
  assert.deepEqual(parseAttributes('rack:r12;gen:3;slots:[1-4]'), [
    { name: 'rack', type: 'TEXT', text: { value: 'r12' } },
    { name: 'gen', type: 'SCALAR', scalar: { value: 3 } },
    { name: 'slots', type: 'RANGES', ranges: { range: [{ begin: 1, end: 4 }] } },
  ]);
});

test('parseAttributes handles the edge cases of the flag', () => {
  const cases: [text: string, expected: Attribute[]][] = [
    ['', []],
    [' rack : r12 ;;', [{ name: 'rack', type: 'TEXT', text: { value: 'r12' } }]],
    ['host:a:b', [{ name: 'host', type: 'TEXT', text: { value: 'a:b' } }]],
    ['ver:1.2.3', [{ name: 'ver', type: 'TEXT', text: { value: '1.2.3' } }]],
    ['temp:-2.5', [{ name: 'temp', type: 'SCALAR', scalar: { value: -2.5 } }]],
    [
      'slots:[1-2,5-6]',
      [
        {
          name: 'slots',
          type: 'RANGES',
          ranges: {
            range: [
              { begin: 1, end: 2 },
              { begin: 5, end: 6 },
            ],
          },
        },
      ],
    ],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseAttributes(text), expected, text);
});

test('parseAttributes names the bad part of bad text', () => {
  const cases: [text: string, reason: RegExp][] = [
    ['zones:{a,b}', /'zones:\{a,b\}' is a set/],
    ['rack', /'rack' lacks ':'/],
    [':r12', /':r12' has an empty attribute name/],
    ['rack:', /'rack:' has an empty value/],
    ['slots:[4-1]', /range '4-1' begins after it ends in 'slots:\[4-1\]'/],
    ['slots:[1-4', /closing '\]'/],
  ];
  for (const [text, reason] of cases) {
    assert.throws(
      () => parseAttributes(text),
      (error: unknown) =>
        error instanceof BadRequestError &&
        error.field === 'attributes' &&
        reason.test(error.reason),
      text,
    );
  }
});

test('summarizeAttributes flattens attributes as the legacy endpoints do', () => {
  assert.deepEqual(summarizeAttributes(parseAttributes('rack:r12;gen:3;slots:[1-4,6-8]')), {
    rack: 'r12',
    gen: 3,
    slots: '[1-4, 6-8]',
  });
  assert.deepEqual(
    summarizeAttributes([{ name: 'zones', type: 'SET', set: { item: ['a', 'b'] } }]),
    {
      zones: '{a, b}',
    },
  );
  assert.deepEqual(summarizeAttributes([]), {});
});
