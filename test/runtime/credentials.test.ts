import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CredentialsError, parseCredentials } from '../../src/runtime/credentials.js';

test('credentials parse from Mesos JSON', () => {
  assert.deepEqual(
    parseCredentials(
      '{"credentials":[{"principal":"ops","secret":"s1"},{"principal":"fw","secret":"s2"}]}',
    ),
    [
      { principal: 'ops', secret: 's1' },
      { principal: 'fw', secret: 's2' },
    ],
  );
});

test('credentials parse from principal-secret lines, skipping blanks and comments', () => {
  assert.deepEqual(parseCredentials('ops s1\n\n# a comment\n  fw   s2  \n'), [
    { principal: 'ops', secret: 's1' },
    { principal: 'fw', secret: 's2' },
  ]);
});

test('credentials parse one agent credential as an object', () => {
  assert.deepEqual(parseCredentials('{"principal":"agent","secret":"x"}'), [
    { principal: 'agent', secret: 'x' },
  ]);
});

test('credentials refuse what is not a credential, naming where', () => {
  for (const [text, pattern] of [
    ['{"credentials":[{"principal":"a"}]}', /credentials\[0\]\.secret/],
    ['{"credentials":{}}', /expected a list/],
    ['{bad json', /not valid JSON/],
    ['ops\n', /line 1/],
    ['ops s1 extra\n', /line 1/],
    [`{"principal":"${'p'.repeat(2000)}","secret":"s"}`, /longer than/],
  ] as const)
    assert.throws(
      () => parseCredentials(text),
      (error: unknown) => {
        assert.ok(error instanceof CredentialsError);
        assert.match(error.message, pattern);
        return true;
      },
    );
});
