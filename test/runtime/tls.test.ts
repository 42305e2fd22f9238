import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverTlsFiles, TlsConfigError } from '../../src/runtime/index.js';

test('serverTlsFiles is off unless LIBPROCESS_SSL_ENABLED is on', () => {
  assert.equal(serverTlsFiles({}), undefined);
  assert.equal(
    serverTlsFiles({ LIBPROCESS_SSL_ENABLED: 'false', LIBPROCESS_SSL_CERT_FILE: '/c' }),
    undefined,
  );
});

test('serverTlsFiles reads libprocess variables, both names of require-cert', () => {
  const base = {
    LIBPROCESS_SSL_ENABLED: 'true',
    LIBPROCESS_SSL_CERT_FILE: '/c.pem',
    LIBPROCESS_SSL_KEY_FILE: '/k.pem',
    LIBPROCESS_SSL_CA_FILE: '/ca.pem',
  };
  assert.deepEqual(serverTlsFiles(base), {
    certFile: '/c.pem',
    keyFile: '/k.pem',
    caFile: '/ca.pem',
    requireClientCert: false,
  });
  for (const name of ['LIBPROCESS_SSL_REQUIRE_CERT', 'LIBPROCESS_SSL_REQUIRE_CLIENT_CERT'])
    assert.equal(serverTlsFiles({ ...base, [name]: '1' })?.requireClientCert, true);
});

test('serverTlsFiles refuses TLS without a certificate, or required client certs without a CA', () => {
  assert.throws(
    () => serverTlsFiles({ LIBPROCESS_SSL_ENABLED: '1', LIBPROCESS_SSL_CERT_FILE: '/c' }),
    (error: unknown) => error instanceof TlsConfigError && /ssl_key_file/.test(error.message),
  );
  assert.throws(
    () =>
      serverTlsFiles({
        LIBPROCESS_SSL_ENABLED: '1',
        LIBPROCESS_SSL_CERT_FILE: '/c',
        LIBPROCESS_SSL_KEY_FILE: '/k',
        LIBPROCESS_SSL_REQUIRE_CERT: 'true',
      }),
    /ssl_ca_file/,
  );
});
