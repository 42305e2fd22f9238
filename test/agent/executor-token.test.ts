import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bearerToken,
  signExecutorToken,
  verifyExecutorToken,
} from '../../src/agent/executor-token.js';

const KEY = Buffer.from('k'.repeat(32));
const CLAIMS = { cid: 'c-1', fid: 'f-1', eid: 'e-1' };

test('executor token verifies with its key and yields its claims', () => {
  assert.deepEqual(verifyExecutorToken(signExecutorToken(CLAIMS, KEY), KEY), {
    kind: 'valid',
    claims: CLAIMS,
  });
});

test('executor token is refused with another key, a changed payload, or a bad form', () => {
  const token = signExecutorToken(CLAIMS, KEY);
  const [header, , signature] = token.split('.');
  const payload = Buffer.from(JSON.stringify({ ...CLAIMS, cid: 'c-2' })).toString('base64url');
  const cases: [string, RegExp][] = [
    [signExecutorToken(CLAIMS, Buffer.from('other')), /bad signature/],
    [`${header}.${payload}.${signature}`, /bad signature/],
    ['a.b', /not a JSON Web Token/],
    ['%%.%%.%%', /not a JSON Web Token/],
    ['x'.repeat(5000), /too long/],
  ];
  for (const [candidate, reason] of cases) {
    const check = verifyExecutorToken(candidate, KEY);
    assert.equal(check.kind, 'invalid');
    assert.match(check.kind === 'invalid' ? check.reason : '', reason);
  }
});

test('executor token with alg none or missing claims is refused', () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const none = verifyExecutorToken(`${b64({ alg: 'none' })}.${b64(CLAIMS)}.`, KEY);
  assert.deepEqual(none, { kind: 'invalid', reason: "unsupported algorithm 'none'" });
  const { createHmac } = process.getBuiltinModule('node:crypto');
  const input = `${b64({ alg: 'HS256' })}.${b64({ cid: 'c-1' })}`;
  const token = `${input}.${createHmac('sha256', KEY).update(input).digest('base64url')}`;
  assert.match(JSON.stringify(verifyExecutorToken(token, KEY)), /are required/);
});

test('bearerToken reads only the Bearer scheme', () => {
  assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
  assert.equal(bearerToken('bearer  t '), 't');
  assert.equal(bearerToken('Basic b3BzOm9wcw=='), undefined);
  assert.equal(bearerToken(undefined), undefined);
});
