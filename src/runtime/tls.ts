// TLS for the daemons' HTTP servers, configured as libprocess configures it
// (docs/ssl.md): LIBPROCESS_SSL_ENABLED, LIBPROCESS_SSL_CERT_FILE, LIBPROCESS_SSL_KEY_FILE,
// LIBPROCESS_SSL_CA_FILE and LIBPROCESS_SSL_REQUIRE_CERT (or its newer name
// LIBPROCESS_SSL_REQUIRE_CLIENT_CERT). The daemons' --ssl_* flags are written into these
// variables first (src/cli/daemon-security.ts), so executors inherit the same setting, as
// Mesos' executors inherit the agent's environment. With TLS on, a server speaks only TLS:
// there is no downgrade to plain HTTP (LIBPROCESS_SSL_SUPPORT_DOWNGRADE is not supported).
import { readFileSync } from 'node:fs';
import type { TlsOptions } from 'node:tls';

/** Where a server's certificate, key and CA are, and whether clients must show a certificate. */
export interface ServerTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string;
  readonly requireClientCert: boolean;
}

/** A server's TLS material, read. */
export interface ServerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly requireClientCert: boolean;
}

/** Thrown for a TLS setting that cannot work; the message names the variable. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

function isOn(value: string | undefined): boolean {
  return /^(1|true|yes)$/i.test(value ?? '');
}

/**
 * The server's TLS files from libprocess' variables, or undefined when TLS is off
 * (LIBPROCESS_SSL_ENABLED unset or false). Pure: reads only `env`.
 */
export function serverTlsFiles(env: NodeJS.ProcessEnv): ServerTlsFiles | undefined {
  if (!isOn(env.LIBPROCESS_SSL_ENABLED)) return undefined;
  const certFile = env.LIBPROCESS_SSL_CERT_FILE || undefined;
  const keyFile = env.LIBPROCESS_SSL_KEY_FILE || undefined;
  if (certFile === undefined || keyFile === undefined)
    throw new TlsConfigError(
      'TLS is on (LIBPROCESS_SSL_ENABLED): --ssl_cert_file and --ssl_key_file (LIBPROCESS_SSL_CERT_FILE, LIBPROCESS_SSL_KEY_FILE) are required',
    );
  const caFile = env.LIBPROCESS_SSL_CA_FILE || undefined;
  const requireClientCert =
    isOn(env.LIBPROCESS_SSL_REQUIRE_CERT) || isOn(env.LIBPROCESS_SSL_REQUIRE_CLIENT_CERT);
  if (requireClientCert && caFile === undefined)
    throw new TlsConfigError(
      '--ssl_require_client_cert (LIBPROCESS_SSL_REQUIRE_CERT) needs --ssl_ca_file (LIBPROCESS_SSL_CA_FILE) to check client certificates against',
    );
  return { certFile, keyFile, ...(caFile !== undefined ? { caFile } : {}), requireClientCert };
}

/** Reads the files; throws TlsConfigError naming the one that cannot be read. */
export function readServerTls(files: ServerTlsFiles): ServerTls {
  const read = (path: string, flag: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new TlsConfigError(`${flag}: cannot read ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  return {
    cert: read(files.certFile, '--ssl_cert_file'),
    key: read(files.keyFile, '--ssl_key_file'),
    ...(files.caFile !== undefined ? { ca: read(files.caFile, '--ssl_ca_file') } : {}),
    requireClientCert: files.requireClientCert,
  };
}

/** node:tls server options: a client certificate is asked for, and required, only when so set. */
export function tlsServerOptions(tls: ServerTls): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    requestCert: tls.requireClientCert,
    rejectUnauthorized: tls.requireClientCert,
  };
}

/** The scheme a daemon advertises: https when its server speaks TLS. */
export function schemeOf(tls: ServerTls | undefined): 'http' | 'https' {
  return tls === undefined ? 'http' : 'https';
}
