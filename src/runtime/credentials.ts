// Credentials files as Mesos reads them (docs/authentication.md, docs/configuration/master.md):
// JSON `{"credentials":[{"principal":"p","secret":"s"}]}`, or the older text form of one
// `principal secret` pair a line. The agent's --credential holds one credential: a JSON object
// `{"principal":"p","secret":"s"}`, the list form with one entry, or one text line.
import { readFileSync } from 'node:fs';

export interface Credential {
  readonly principal: string;
  readonly secret: string;
}

/** The most credentials one file may hold: a file is read whole into memory at start. */
export const MAX_CREDENTIALS = 10_000;
/** The longest principal or secret taken. */
export const MAX_CREDENTIAL_FIELD_LENGTH = 1024;

/** A credentials file that cannot be used; the message names the file's fault. */
export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

function checked(entry: unknown, where: string): Credential {
  if (typeof entry !== 'object' || entry === null)
    throw new CredentialsError(`${where}: expected an object with principal and secret`);
  const { principal, secret } = entry as Record<string, unknown>;
  for (const [name, value] of [
    ['principal', principal],
    ['secret', secret],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0)
      throw new CredentialsError(`${where}.${name}: expected a non-empty string`);
    if (value.length > MAX_CREDENTIAL_FIELD_LENGTH)
      throw new CredentialsError(
        `${where}.${name}: longer than ${MAX_CREDENTIAL_FIELD_LENGTH} characters`,
      );
  }
  return { principal: principal as string, secret: secret as string };
}

/** Parses a credentials file's text (JSON or `principal secret` lines). Pure. */
export function parseCredentials(text: string): Credential[] {
  const trimmed = text.trim();
  let credentials: Credential[];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (error) {
      throw new CredentialsError(`not valid JSON: ${(error as Error).message}`);
    }
    const list =
      Array.isArray(json) || typeof json !== 'object' || json === null
        ? undefined
        : (json as Record<string, unknown>).credentials;
    if (list !== undefined) {
      if (!Array.isArray(list)) throw new CredentialsError('credentials: expected a list');
      credentials = list.map((entry, i) => checked(entry, `credentials[${i}]`));
    } else credentials = [checked(json, 'credential')];
  } else {
    credentials = trimmed
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.length > 0 && !line.startsWith('#'))
      .map((line, i) => {
        const [principal, secret, ...rest] = line.split(/\s+/);
        if (rest.length > 0 || secret === undefined)
          throw new CredentialsError(`line ${i + 1}: expected 'principal secret'`);
        return checked({ principal, secret }, `line ${i + 1}`);
      });
  }
  if (credentials.length > MAX_CREDENTIALS)
    throw new CredentialsError(`more than ${MAX_CREDENTIALS} credentials`);
  return credentials;
}

/** Reads and parses a credentials file; a `file://` prefix is taken as Mesos takes it. */
export function readCredentials(path: string): Credential[] {
  const file = path.startsWith('file://') ? path.slice('file://'.length) : path;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CredentialsError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return parseCredentials(text);
  } catch (error) {
    throw new CredentialsError(`${file}: ${(error as Error).message}`);
  }
}

/** The one credential of an agent's --credential file. */
export function readCredential(path: string): Credential {
  const credentials = readCredentials(path);
  const [first] = credentials;
  if (first === undefined || credentials.length !== 1)
    throw new CredentialsError(`${path}: expected exactly one credential`);
  return first;
}
