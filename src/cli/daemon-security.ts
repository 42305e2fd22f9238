// Builds the daemons' authentication from their flags (src/cli/security-options.ts).
import { readFileSync } from 'node:fs';
import {
  type Acls,
  type Authenticator,
  basicAuthenticator,
  type Credential,
  CredentialStore,
  CredentialsError,
  parseAcls,
  readCredential,
  readCredentials,
} from '../runtime/index.js';
import { type ParsedValues, stringFlag, UsageError } from './command.js';

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
} {
  const authenticate = masterAuthenticator(values);
  const acls = aclsFlag(values);
  return {
    ...(authenticate === undefined ? {} : { authenticate }),
    ...(acls === undefined ? {} : { acls }),
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
} {
  const authenticate = agentAuthenticator(values);
  const masterCredential = agentMasterCredential(values);
  const acls = aclsFlag(values);
  return {
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
