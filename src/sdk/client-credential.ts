// The credential a client process sends with every request its SDK makes (HTTP basic
// authentication, docs/authentication.md), set once with useCredential(). Kept on
// globalThis under a registered symbol, not in a module variable: the CLI is bundled per
// command (scripts/build.mjs), each bundle with its own copy of this module, and the
// command table sets the credential before the command's bundle is loaded.
//
// Only a process that calls useCredential() sends one: a daemon that uses the SDK to fetch
// URIs never leaks a credential to a third party by default.

export interface ClientCredential {
  readonly principal: string;
  readonly secret: string;
}

/** Also read by src/cli/credential-flags.ts, which must not load the SDK to set it. */
export const CLIENT_AUTHORIZATION_KEY = Symbol.for('agora.clientAuthorization');

/** Makes every later SDK request of this process carry `credential` (undefined: none). */
export function useCredential(credential: ClientCredential | undefined): void {
  const header =
    credential === undefined
      ? undefined
      : `Basic ${Buffer.from(`${credential.principal}:${credential.secret}`).toString('base64')}`;
  Reflect.set(globalThis, CLIENT_AUTHORIZATION_KEY, header);
}

/** `headers` with the process's Authorization added, unless they carry one already. */
export function withClientAuthorization(
  headers: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  const header: unknown = Reflect.get(globalThis, CLIENT_AUTHORIZATION_KEY);
  if (typeof header !== 'string') return headers;
  for (const name of Object.keys(headers))
    if (name.toLowerCase() === 'authorization') return headers;
  return { ...headers, authorization: header };
}
