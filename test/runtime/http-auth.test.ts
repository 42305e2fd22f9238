import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import {
  basicAuthenticator,
  basicAuthorization,
  CredentialStore,
  parseBasicAuthorization,
} from '../../src/runtime/http-auth.js';
import { HttpError } from '../../src/runtime/http-errors.js';

const store = new CredentialStore([
  { principal: 'ops', secret: 'right' },
  { principal: 'fw', secret: 'pa:ss' },
]);

function withHeader(authorization?: string): IncomingMessage {
  return { headers: authorization === undefined ? {} : { authorization } } as IncomingMessage;
}

test('credential store accepts only the right secret of a known principal', () => {
  assert.equal(store.verify('ops', 'right'), true);
  assert.equal(store.verify('ops', 'wrong'), false);
  assert.equal(store.verify('ops', 'righ'), false);
  assert.equal(store.verify('nobody', 'right'), false);
  assert.equal(store.verify('fw', 'pa:ss'), true);
});

test('basic authorization round-trips, a colon in the secret included', () => {
  const header = basicAuthorization({ principal: 'fw', secret: 'pa:ss' });
  assert.deepEqual(parseBasicAuthorization(header), { principal: 'fw', secret: 'pa:ss' });
  assert.equal(parseBasicAuthorization('Bearer abc'), undefined);
  assert.equal(
    parseBasicAuthorization(`Basic ${Buffer.from('nocolon').toString('base64')}`),
    undefined,
  );
  assert.equal(parseBasicAuthorization(undefined), undefined);
});

test('basic authenticator answers 401 with the realm when credentials are missing or wrong', async () => {
  const authenticate = basicAuthenticator({
    realmPrefix: 'mesos-master',
    credentials: store,
    required: { readonly: true, framework: true },
  });
  for (const header of [undefined, basicAuthorization({ principal: 'ops', secret: 'no' })]) {
    await assert.rejects(authenticate(withHeader(header), 'readonly'), (error: unknown) => {
      assert.ok(error instanceof HttpError);
      assert.equal(error.code, 'UNAUTHENTICATED');
      assert.equal(error.headers['www-authenticate'], 'Basic realm="mesos-master-readonly"');
      return true;
    });
  }
  await assert.rejects(authenticate(withHeader(), 'framework'), (error: unknown) => {
    assert.ok(error instanceof HttpError);
    assert.equal(error.headers['www-authenticate'], 'Basic realm="mesos-master-scheduler"');
    return true;
  });
  const good = withHeader(basicAuthorization({ principal: 'ops', secret: 'right' }));
  assert.deepEqual(await authenticate(good, 'readonly'), { value: 'ops' });
});

test('basic authenticator lets anonymous callers into realms that need no credentials', async () => {
  const authenticate = basicAuthenticator({
    realmPrefix: 'mesos-master',
    credentials: store,
    required: { readonly: true },
  });
  assert.equal(await authenticate(withHeader(), 'readwrite'), undefined);
  assert.equal(await authenticate(withHeader(), 'public'), undefined);
  // Good credentials still name the caller, for ACLs; bad ones are ignored there.
  const good = withHeader(basicAuthorization({ principal: 'ops', secret: 'right' }));
  assert.deepEqual(await authenticate(good, 'readwrite'), { value: 'ops' });
  const bad = withHeader(basicAuthorization({ principal: 'ops', secret: 'no' }));
  assert.equal(await authenticate(bad, 'readwrite'), undefined);
});

test('basic authenticator treats a route without a realm as read-write', async () => {
  const authenticate = basicAuthenticator({
    realmPrefix: 'mesos-agent',
    credentials: store,
    required: { readwrite: true },
  });
  await assert.rejects(authenticate(withHeader(), undefined), /realm mesos-agent-readwrite/);
});
