// The TLS side of this process's outgoing connections, from its environment as libprocess
// takes it (docs/ssl.md): LIBPROCESS_SSL_CA_FILE (or AGORA_SSL_CA_FILE, which the CLI's
// --ssl_ca_file sets) is the CA a server must be signed by; LIBPROCESS_SSL_CERT_FILE and
// LIBPROCESS_SSL_KEY_FILE, when both are set, are the certificate this process shows a
// server that asks for one (--ssl_require_client_cert). The environment, not a module
// variable: a daemon's executors inherit it, as Mesos' do, and the CLI's per-command
// bundles (scripts/build.mjs) all see the same value.
import { readFileSync } from 'node:fs';

export interface ClientTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

let cached: { readonly key: string; readonly tls: ClientTls } | undefined;

/** True when LIBPROCESS_SSL_ENABLED is on: addresses with no scheme then mean https. */
export function isTlsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env.LIBPROCESS_SSL_ENABLED ?? '');
}

/** `https:` when TLS is on for this process, else `http:`: the scheme of a bare `host:port`. */
export function defaultProtocol(): 'http:' | 'https:' {
  return isTlsEnabled() ? 'https:' : 'http:';
}

/**
 * The CA and client certificate for https connections, read once per set of paths. Throws
 * (naming the variable) when a file named cannot be read: a typo must not fall back to the
 * system's CAs silently.
 */
export function clientTls(env: NodeJS.ProcessEnv = process.env): ClientTls {
  const caFile = env.AGORA_SSL_CA_FILE || env.LIBPROCESS_SSL_CA_FILE || undefined;
  const certFile = env.LIBPROCESS_SSL_CERT_FILE || undefined;
  const keyFile = env.LIBPROCESS_SSL_KEY_FILE || undefined;
  const key = `${caFile}\0${certFile}\0${keyFile}`;
  if (cached?.key === key) return cached.tls;
  const read = (path: string, variable: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${variable}: cannot read ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  const tls: ClientTls = {
    ...(caFile !== undefined ? { ca: read(caFile, 'LIBPROCESS_SSL_CA_FILE') } : {}),
    ...(certFile !== undefined && keyFile !== undefined
      ? {
          cert: read(certFile, 'LIBPROCESS_SSL_CERT_FILE'),
          key: read(keyFile, 'LIBPROCESS_SSL_KEY_FILE'),
        }
      : {}),
  };
  cached = { key, tls };
  return tls;
}
