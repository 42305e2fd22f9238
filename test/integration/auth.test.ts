// HTTP basic authentication on a real master and agents (issue #14, "Authentication"): the
// --authenticate_* flags and the credentials file as Mesos takes them, 401 with the realm,
// agents that authenticate to register, and the CLI sending --principal/--secret.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Daemon, runCli, startDaemon, waitFor } from './harness.js';
import {
  authorization,
  GUEST,
  OPS,
  type SecureCluster,
  startSecureCluster,
} from './secure-cluster.js';

describe('authentication', () => {
  let cluster: SecureCluster;
  const extra: Daemon[] = [];
  before(async () => {
    cluster = await startSecureCluster({ agentResources: 'cpus:2;mem:1024;disk:1024' });
  });
  after(async () => {
    await Promise.all(extra.map((d) => d.stop()));
    await cluster?.stop();
  });

  test('a read-only endpoint answers 401 with the realm without good credentials', async () => {
    const url = new URL('/master/state', cluster.masterUrl);
    const missing = await cluster.get(url);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Basic realm="mesos-master-readonly"');
    const wrong = await cluster.get(url, { principal: OPS.principal, secret: 'not-it' });
    assert.equal(wrong.status, 401);
    const unknown = await cluster.get(url, { principal: 'mallory', secret: OPS.secret });
    assert.equal(unknown.status, 401);
    const good = await cluster.get(url, OPS);
    assert.equal(good.status, 200);
    assert.equal(((await good.json()) as { slaves: unknown[] }).slaves.length, 1);
  });

  test('health and version need no credentials, as in Mesos', async () => {
    assert.equal((await cluster.get(new URL('/health', cluster.masterUrl))).status, 200);
    assert.equal((await cluster.get(new URL('/version', cluster.masterUrl))).status, 200);
  });

  test('the operator API answers 401 in the read-write realm without credentials', async () => {
    const call = (headers: Record<string, string>) =>
      fetch(new URL('/api/v1', cluster.masterUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify({ type: 'GET_HEALTH' }),
      });
    const missing = await call({});
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Basic realm="mesos-master-readwrite"');
    const good = await call({ authorization: authorization(GUEST) });
    assert.equal(good.status, 200);
  });

  test('an agent without a credential is refused; with one it registered', async () => {
    const agent = await startDaemon('agent-anonymous', [
      'agent',
      '--master',
      cluster.masterUrl,
      '--port',
      '0',
      '--work_dir',
      join(cluster.workDir, 'agent-anonymous'),
      '--resources',
      'cpus:1;mem:256',
    ]);
    extra.push(agent);
    const refusal = await waitFor('the anonymous agent to be refused', () =>
      agent.lines.find((l) => l.msg === 'master connection failed'),
    );
    assert.match(JSON.stringify(refusal), /401/);
    const state = (await (
      await cluster.get(new URL('/master/slaves', cluster.masterUrl), OPS)
    ).json()) as {
      slaves: unknown[];
    };
    assert.equal(state.slaves.length, 1, 'only the agent with a credential registered');
  });

  test('the CLI sends --principal and --secret, or a credential file', async () => {
    const refused = await runCli(['run', '--master', cluster.masterUrl, '--', 'echo', 'hi'], {
      timeoutMs: 60_000,
    }).result;
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /401/);
    const run = await runCli(
      [
        'run',
        '--master',
        cluster.masterUrl,
        '--principal',
        OPS.principal,
        '--secret',
        OPS.secret,
        '--',
        'echo',
        'authenticated',
      ],
      { timeoutMs: 60_000 },
    ).result;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^authenticated$/m);
    const file = join(cluster.workDir, 'cli-credential.json');
    writeFileSync(file, JSON.stringify(OPS), { mode: 0o600 });
    const tasks = await runCli([
      'tasks',
      '--master',
      cluster.masterUrl,
      '--credential',
      file,
      '--json',
    ]).result;
    assert.equal(tasks.code, 0, tasks.stderr);
    assert.ok(Array.isArray(JSON.parse(tasks.stdout)));
    const viaEnv = await runCli(['agents', '--master', cluster.masterUrl, '--json'], {
      env: { ...process.env, AGORA_PRINCIPAL: OPS.principal, AGORA_SECRET: OPS.secret },
    }).result;
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
  });
});
