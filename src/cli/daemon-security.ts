// Builds the daemons' authentication from their flags (src/cli/security-options.ts).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Acls,
  type Authenticator,
  basicAuthenticator,
  type Credential,
  CredentialStore,
  CredentialsError,
  DEFAULT_HTTP_TIMEOUTS,
  type HttpTimeouts,
  parseAcls,
  readCredential,
  readCredentials,
  readServerTls,
  type ServerTls,
  serverTlsFiles,
  TlsConfigError,
} from '../runtime/index.js';
import { durationFlag, type ParsedValues, stringFlag, UsageError } from './command.js';

function credentialsFrom(path: string, flag: string): CredentialStore {
  try {
    return new CredentialStore(readCredentials(path));
  } catch (error) {
    if (error instanceof CredentialsError) throw new UsageError(`--${flag}: ${error.message}`);
    throw error;
  }
}

/** The master's security options from its flags; none by default. */
export function masterSecurity(values: ParsedValues): {
  authenticate?: Authenticator;
  acls?: Acls;
  tls?: ServerTls;
  httpTimeouts: HttpTimeouts;
} {
  const authenticate = masterAuthenticator(values);
  const acls = aclsFlag(values);
  const tls = daemonTls(values);
  return {
    httpTimeouts: httpTimeoutsFlags(values),
    ...(authenticate === undefined ? {} : { authenticate }),
    ...(acls === undefined ? {} : { acls }),
    ...(tls === undefined ? {} : { tls }),
  };
}

const TLS_VARIABLES = {
  ssl_cert_file: 'LIBPROCESS_SSL_CERT_FILE',
  ssl_key_file: 'LIBPROCESS_SSL_KEY_FILE',
  ssl_ca_file: 'LIBPROCESS_SSL_CA_FILE',
} as const;

/**
 * The daemon's TLS from --ssl_* and LIBPROCESS_SSL_*, or undefined (the default: plain
 * HTTP). The flags are written into this process's LIBPROCESS_SSL_* variables first, as
 * absolute paths: the SDK's outgoing connections (the agent's to its master, the master's
 * to agents) read them there, and executors, started in their sandboxes, inherit them.
 */
export function daemonTls(values: ParsedValues): ServerTls | undefined {
  for (const [flag, variable] of Object.entries(TLS_VARIABLES)) {
    const value = stringFlag(values, flag);
    if (value !== undefined) process.env[variable] = value;
    const path = process.env[variable];
    if (path !== undefined && path !== '') process.env[variable] = resolve(path);
  }
  if (stringFlag(values, 'ssl_cert_file') !== undefined)
    process.env.LIBPROCESS_SSL_ENABLED = 'true';
  if (values.ssl_require_client_cert === true) process.env.LIBPROCESS_SSL_REQUIRE_CERT = 'true';
  try {
    const files = serverTlsFiles(process.env);
    return files === undefined ? undefined : readServerTls(files);
  } catch (error) {
    if (error instanceof TlsConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** --http_headers_timeout and --http_body_timeout. */
function httpTimeoutsFlags(values: ParsedValues): HttpTimeouts {
  const positive = (name: string, fallbackMs: number) => {
    const ms = durationFlag(values, name, fallbackMs);
    if (ms <= 0) throw new UsageError(`--${name}: expected a duration above zero`);
    return ms;
  };
  return {
    ...DEFAULT_HTTP_TIMEOUTS,
    headersMs: positive('http_headers_timeout', DEFAULT_HTTP_TIMEOUTS.headersMs),
    bodyGraceMs: positive('http_body_timeout', DEFAULT_HTTP_TIMEOUTS.bodyGraceMs),
  };
}

/** --acls: JSON, or a file holding it (a path or file://…), as Mesos takes it. */
function aclsFlag(values: ParsedValues): Acls | undefined {
  const raw = stringFlag(values, 'acls');
  if (raw === undefined) return undefined;
  let text = raw;
  if (!raw.trimStart().startsWith('{')) {
    const path = raw.startsWith('file://') ? raw.slice('file://'.length) : raw;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`--acls: cannot read ${path}: ${(error as Error).message}`);
    }
  }
  try {
    return parseAcls(JSON.parse(text));
  } catch (error) {
    throw new UsageError(`--acls: ${(error as Error).message}`);
  }
}

/** The agent's security options from its flags; none by default. */
export function agentSecurity(values: ParsedValues): {
  authenticate?: Authenticator;
  masterCredential?: Credential;
  acls?: Acls;
  tls?: ServerTls;
  executorSecretKey?: Buffer;
  httpTimeouts: HttpTimeouts;
} {
  const authenticate = agentAuthenticator(values);
  const masterCredential = agentMasterCredential(values);
  const acls = aclsFlag(values);
  const tls = daemonTls(values);
  const executorSecretKey = executorSecretKeyFlag(values);
  return {
    httpTimeouts: httpTimeoutsFlags(values),
    ...(tls === undefined ? {} : { tls }),
    ...(executorSecretKey === undefined ? {} : { executorSecretKey }),
    ...(acls === undefined ? {} : { acls }),
    ...(authenticate === undefined ? {} : { authenticate }),
    ...(masterCredential === undefined ? {} : { masterCredential }),
  };
}

/** The master's authenticator, or undefined when no flag asks for one (the default). */
function masterAuthenticator(values: ParsedValues): Authenticator | undefined {
  const required = {
    readonly: values.authenticate_http_readonly === true,
    readwrite: values.authenticate_http_readwrite === true,
    framework:
      values.authenticate_http_frameworks === true || values.authenticate_frameworks === true,
    agent: values.authenticate_agents === true,
  };
  const file = stringFlag(values, 'credentials');
  const isAnyRequired = Object.values(required).some((isOn) => isOn);
  if (file === undefined) {
    if (isAnyRequired) throw new UsageError('--authenticate_*: --credentials=<file> is required');
    return undefined;
  }
  return basicAuthenticator({
    realmPrefix: 'mesos-master',
    credentials: credentialsFrom(file, 'credentials'),
    required,
  });
}

/** The agent's authenticator for its own endpoints, or undefined (the default). */
function agentAuthenticator(values: ParsedValues): Authenticator | undefined {
  const required = {
    readonly: values.authenticate_http_readonly === true,
    readwrite: values.authenticate_http_readwrite === true,
  };
  const file = stringFlag(values, 'http_credentials');
  if (file === undefined) {
    if (required.readonly || required.readwrite)
      throw new UsageError('--authenticate_http_*: --http_credentials=<file> is required');
    return undefined;
  }
  return basicAuthenticator({
    realmPrefix: 'mesos-agent',
    credentials: credentialsFrom(file, 'http_credentials'),
    required,
  });
}

/** The agent's --credential, for the master. */
function agentMasterCredential(values: ParsedValues): Credential | undefined {
  const file = stringFlag(values, 'credential');
  if (file === undefined) return undefined;
  try {
    return readCredential(file);
  } catch (error) {
    if (error instanceof CredentialsError) throw new UsageError(`--credential: ${error.message}`);
    throw error;
  }
}

/** --executor_secret_key=<file>: the key's bytes, as Mesos reads the file (no trimming). */
function executorSecretKeyFlag(values: ParsedValues): Buffer | undefined {
  const path = stringFlag(values, 'executor_secret_key');
  if (path === undefined) return undefined;
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (error) {
    throw new UsageError(`--executor_secret_key: cannot read ${path}: ${(error as Error).message}`);
  }
  if (key.length === 0) throw new UsageError(`--executor_secret_key: ${path} is empty`);
  return key;
}
