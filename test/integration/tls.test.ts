// TLS (issue #14): a master and an agent that speak only HTTPS, with a CA and certificates
// made by openssl for the test. The agent checks the master against the CA and, as the
// master requires client certificates, shows its own; `agora run` follows an https:// master
// to the end of a task; plain HTTP, a client with no certificate and one whose certificate
// another CA signed are refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Daemon, runCli, startDaemon, waitFor } from './harness.js';
import { makeTestPki, type TestPki } from './tls-certs.js';

interface TlsClient {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** GET over https with `client`'s CA and certificate; the status, or the error's message. */
function httpsGet(url: string, client: TlsClient): Promise<number | string> {
  const { readFileSync } = process.getBuiltinModule('node:fs');
  const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        ...(client.ca !== undefined ? { ca: read(client.ca) } : {}),
        ...(client.cert !== undefined ? { cert: read(client.cert), key: read(client.key) } : {}),
        agent: false,
        signal: AbortSignal.timeout(20_000),
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    req.once('error', (error) => resolve(error.message));
    req.end();
  });
}

describe('a cluster over TLS with client certificates required', () => {
  let pki: TestPki;
  let workDir: string;
  let master: Daemon | undefined;
  let agent: Daemon | undefined;

  before(async () => {
    pki = makeTestPki();
    workDir = mkdtempSync(join(tmpdir(), 'agora-tls-'));
    const tlsFlags = [
      '--ssl_cert_file',
      pki.certFile,
      '--ssl_key_file',
      pki.keyFile,
      '--ssl_ca_file',
      pki.caFile,
      '--ssl_require_client_cert',
    ];
    master = await startDaemon('master', [
      'master',
      '--port',
      '0',
      '--registry',
      'in_memory',
      ...tlsFlags,
    ]);
    agent = await startDaemon('agent', [
      'agent',
      '--master',
      master.url,
      '--port',
      '0',
      '--work_dir',
      join(workDir, 'agent'),
      '--resources',
      'cpus:2;mem:512;disk:512',
      ...tlsFlags,
    ]);
  });

  after(async () => {
    await agent?.stop();
    await master?.stop();
    rmSync(workDir, { recursive: true, force: true });
    pki.remove();
  });

  const trusted = (): TlsClient => ({
    ca: pki.caFile,
    cert: pki.clientCertFile,
    key: pki.clientKeyFile,
  });

  test('master and agent advertise https URLs', () => {
    assert.match(master?.url ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(agent?.url ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('the agent registers with the master over TLS', async () => {
    const url = `${master?.url}/master/slaves`;
    await waitFor('the agent to register', async () => {
      const { readFileSync } = await import('node:fs');
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          url,
          {
            ca: readFileSync(pki.caFile),
            cert: readFileSync(pki.clientCertFile),
            key: readFileSync(pki.clientKeyFile),
            agent: false,
          },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
            response.once('end', () => resolve(text));
          },
        );
        req.once('error', reject);
        req.end();
      });
      const { slaves } = JSON.parse(body) as { slaves: { active: boolean }[] };
      return slaves.length === 1 && slaves[0]?.active === true ? true : undefined;
    });
  });

  test('agora run launches a task through an https master and sees it finish', async () => {
    const run = runCli(
      [
        'run',
        '--master',
        master?.url ?? '',
        '--ssl_ca_file',
        pki.caFile,
        '--cpus',
        '0.1',
        '--mem',
        '32',
        '--',
        'echo',
        'hello over tls',
      ],
      {
        env: {
          ...process.env,
          LIBPROCESS_SSL_CERT_FILE: pki.clientCertFile,
          LIBPROCESS_SSL_KEY_FILE: pki.clientKeyFile,
        },
        timeoutMs: 60_000,
      },
    );
    const result = await run.result;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /hello over tls/);
    assert.match(result.stderr, /TASK_FINISHED/);
  });

  test('a trusted client with a certificate is answered', async () => {
    assert.equal(await httpsGet(`${master?.url}/health`, trusted()), 200);
    assert.equal(await httpsGet(`${agent?.url}/health`, trusted()), 200);
  });

  test('plain HTTP is refused', async () => {
    for (const url of [master?.url, agent?.url]) {
      const plain = (url ?? '').replace(/^https:/, 'http:');
      await assert.rejects(
        fetch(`${plain}/health`, { signal: AbortSignal.timeout(20_000) }),
        TypeError,
      );
    }
  });

  test('a client that shows no certificate is refused', async () => {
    const answer = await httpsGet(`${master?.url}/health`, { ca: pki.caFile });
    assert.equal(typeof answer, 'string', `answered ${answer}`);
  });

  test('a client whose certificate another CA signed is refused', async () => {
    const answer = await httpsGet(`${master?.url}/health`, {
      ca: pki.caFile,
      cert: pki.otherCertFile,
      key: pki.otherKeyFile,
    });
    assert.equal(typeof answer, 'string', `answered ${answer}`);
  });

  test('a CLI that trusts another CA refuses the master', async () => {
    const run = runCli(
      ['agents', '--master', master?.url ?? '', '--ssl_ca_file', pki.otherCaFile],
      { timeoutMs: 30_000 },
    );
    const result = await run.result;
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /certificate|TLS/i);
  });
});
