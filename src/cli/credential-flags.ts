// --principal/--secret (or --credential=<file>, or AGORA_PRINCIPAL/AGORA_SECRET) for every
// command that talks to a master: the credential goes with each request of the command.
// Read in the command table, before the command's own bundle loads: so the value is put
// where the SDK looks for it (src/sdk/client-credential.ts) under the same registered
// symbol, without loading the SDK here.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ParsedValues, stringFlag, UsageError } from './command.js';

/** The key src/sdk/client-credential.ts reads (Symbol.for: one symbol across bundles). */
const CLIENT_AUTHORIZATION_KEY = Symbol.for('agora.clientAuthorization');

export const CREDENTIAL_OPTIONS = {
  principal: {
    type: 'string',
    placeholder: 'name',
    description: 'authenticate as this principal (HTTP basic authentication)',
    default: '$AGORA_PRINCIPAL',
  },
  secret: {
    type: 'string',
    placeholder: 'secret',
    description: "the principal's secret",
    default: '$AGORA_SECRET',
  },
  credential: {
    type: 'string',
    placeholder: 'file',
    description: 'a file with {"principal":…,"secret":…} (or one line: principal secret)',
  },
  ssl_ca_file: {
    type: 'string',
    placeholder: 'file',
    description: 'the PEM CA an https:// master must be signed by',
    default: '$AGORA_SSL_CA_FILE, else $LIBPROCESS_SSL_CA_FILE',
  },
} as const;

function fromFile(path: string): { principal: string; secret: string } {
  let text: string;
  try {
    text = readFileSync(path.startsWith('file://') ? path.slice(7) : path, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`--credential: cannot read ${path}: ${(error as Error).message}`);
  }
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      const entry = Array.isArray(json.credentials) ? (json.credentials[0] as unknown) : json;
      const { principal, secret } = (entry ?? {}) as Record<string, unknown>;
      if (typeof principal === 'string' && typeof secret === 'string') return { principal, secret };
    } catch {
      // Reported below with the expected forms.
    }
  } else {
    const [principal, secret, ...rest] = text.split(/\s+/);
    if (principal !== undefined && secret !== undefined && rest.length === 0)
      return { principal, secret };
  }
  throw new UsageError(
    `--credential: ${path} holds neither {"principal":…,"secret":…} nor 'principal secret'`,
  );
}

/** Sets the credential of this process's requests from the flags or the environment. */
export function applyCredentialFlags(values: ParsedValues): void {
  // Where src/sdk/client-tls.ts looks: the environment, so every bundle sees it.
  const caFile = stringFlag(values, 'ssl_ca_file');
  if (caFile !== undefined) process.env.AGORA_SSL_CA_FILE = resolve(caFile);
  const file = stringFlag(values, 'credential');
  const principal = stringFlag(values, 'principal') ?? process.env.AGORA_PRINCIPAL;
  const secret = stringFlag(values, 'secret') ?? process.env.AGORA_SECRET;
  let credential: { principal: string; secret: string } | undefined;
  if (file !== undefined) credential = fromFile(file);
  else if (principal !== undefined || secret !== undefined) {
    if (principal === undefined || secret === undefined || principal === '')
      throw new UsageError('--principal and --secret go together');
    credential = { principal, secret };
  }
  if (credential === undefined) return;
  const header = `Basic ${Buffer.from(`${credential.principal}:${credential.secret}`).toString('base64')}`;
  Reflect.set(globalThis, CLIENT_AUTHORIZATION_KEY, header);
}
