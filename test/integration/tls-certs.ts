// A CA and certificates made with openssl for TLS tests: a real CA, a server certificate
// for 127.0.0.1 (subjectAltName IP:127.0.0.1) that also serves as a client certificate,
// and a second CA with a certificate of its own that the first CA never signed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  /** Signed by caFile, for 127.0.0.1; usable by servers and clients. */
  readonly certFile: string;
  readonly keyFile: string;
  /** A client certificate signed by caFile. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A CA that signed nothing of the cluster's, and a 127.0.0.1 certificate it signed. */
  readonly otherCaFile: string;
  readonly otherCertFile: string;
  readonly otherKeyFile: string;
  remove(): void;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // biome-ignore format: one option per pair
}

function makeLeaf(dir: string, ca: string, name: string): void {
  openssl(dir, [
    'req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.csr`,
  ]); // biome-ignore format: one option per pair
  writeFileSync(
    join(dir, `${name}.ext`),
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
    '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`,
  ]); // biome-ignore format: one option per pair
}

/** Makes the CAs and certificates in a temp dir; remove() deletes it. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'agora-pki-'));
  makeCa(dir, 'ca');
  makeLeaf(dir, 'ca', 'node');
  makeLeaf(dir, 'ca', 'client');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'other-ca', 'stranger');
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'node.pem'),
    keyFile: join(dir, 'node.key'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.pem'),
    otherCertFile: join(dir, 'stranger.pem'),
    otherKeyFile: join(dir, 'stranger.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
