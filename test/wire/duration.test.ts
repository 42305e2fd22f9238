import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../src/wire/index.js';

test('parse duration reads what Mesos writes in a query', () => {
  const cases: [text: string, ms: number][] = [
    ['5secs', 5_000],
    ['1.5mins', 90_000],
    ['100ms', 100],
    ['250us', 0.25],
    ['2hrs', 7_200_000],
    ['1days', 86_400_000],
    ['1weeks', 604_800_000],
    ['0ns', 0],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ms }, text);
});

test('parse duration refuses a missing or unknown unit, signs, spaces and what Mesos cannot hold', () => {
  for (const text of [
    '5',
    'secs',
    '5 secs',
    '-1secs',
    '5s',
    '5seconds',
    '1e3secs',
    '',
    '9999999999weeks',
  ])
    assert.ok('problem' in parseDuration(text), text);
});
