// `agora run` as a person meets it when things do not go to plan: no offer
// fits, a --timeout, Ctrl-C at every stage, and `timeout … npx agora run`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  type Cluster,
  descendants,
  getState,
  isAlive,
  ROOT,
  runCli,
  startCluster,
  waitFor,
} from './harness.js';

/** A role whose quota limit (0.5 cpus) is below what the tests ask for, so no offer ever fits. */
const CAPPED_ROLE = 'capped';

async function setQuotaLimit(master: string, role: string, cpus: number): Promise<void> {
  const response = await fetch(new URL('/api/v1', master), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'UPDATE_QUOTA',
      update_quota: { quota_configs: [{ role, limits: { cpus: { value: cpus } } }] },
    }),
  });
  assert.equal(response.status, 200, await response.text());
}

/** Resolves once the master lists an active framework of this name. */
function frameworkSubscribed(master: string, name: string): Promise<string> {
  return waitFor(`framework ${name} to subscribe`, async () => {
    const state = await getState(master);
    return state.frameworks.find((f) => f.name === name && f.active)?.id;
  });
}

describe('agora run when things do not go to plan', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ agents: 1, agentResources: 'cpus:1;mem:512;disk:64' });
    await setQuotaLimit(cluster.masterUrl, CAPPED_ROLE, 0.5);
  });
  after(() => cluster?.stop());
  const run = (args: readonly string[], options: Parameters<typeof runCli>[1] = {}) =>
    runCli(['run', '--master', cluster.masterUrl, ...args], options);

  test('agora run says once why it waits, then gives up at --timeout with 125', async (t) => {
    const hog = run(['--cpus', '1', '--name', 'hog', '--', 'sleep 60']);
    t.after(() => hog.killAll());
    await hog.stderrMatches(/is TASK_RUNNING/);

    const startedMs = performance.now();
    const { code, stderr } = await run(['--cpus', '1', '--timeout', '5secs', '--', 'true']).result;
    const elapsedMs = performance.now() - startedMs;
    assert.equal(code, 125, stderr);
    const waiting = stderr.match(/waiting for an offer: .*/g) ?? [];
    assert.equal(waiting.length, 1, stderr);
    assert.match(
      waiting[0] ?? '',
      /no agent has enough free resources: the task needs cpus:1;mem:32, the most free is cpus:0;mem:\d+/,
    );
    assert.match(stderr, /--timeout passed before any offer fit/);
    assert.doesNotMatch(stderr, /killing task/);
    assert.ok(elapsedMs >= 4500 && elapsedMs < 15_000, `took ${elapsedMs} ms`);

    hog.process.kill('SIGTERM');
    assert.equal((await hog.result).code, 143);
  });

  test('a finished agora run is torn down, not kept for its failover timeout', async () => {
    const { code, stderr } = await run(['--name', 'finished', '--', 'true']).result;
    assert.equal(code, 0, stderr);
    const state = await getState(cluster.masterUrl);
    assert.equal(state.frameworks.filter((f) => f.name === 'finished').length, 0);
    assert.ok(state.completed_frameworks.some((f) => f.name === 'finished'));
  });

  test('agora run names the quota limit that keeps its role from an offer', async () => {
    const { code, stderr } = await run([
      '--role',
      CAPPED_ROLE,
      '--cpus',
      '1',
      '--timeout',
      '4secs',
      '--',
      'true',
    ]).result;
    assert.equal(code, 125, stderr);
    assert.match(
      stderr,
      /waiting for an offer: role capped is at its quota limit for cpus: limit 0.5, consumed 0, the task needs 1/,
    );
  });

  test('agora run --timeout kills a launched task and exits as killed', async () => {
    const { code, stderr } = await run(['--timeout', '2secs', '--', 'sleep 60']).result;
    assert.equal(code, 143, stderr);
    assert.match(stderr, /--timeout passed/);
    assert.match(stderr, /is TASK_KILLED/);
  });

  for (const [signal, status] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)
    test(`agora run ends at once on ${signal} while it waits for an offer, and the master forgets it`, async (t) => {
      const name = `waiting-${signal}`;
      const cli = run(['--role', CAPPED_ROLE, '--cpus', '1', '--name', name, '--', 'true']);
      t.after(() => cli.killAll());
      const id = await frameworkSubscribed(cluster.masterUrl, name);
      const signalledMs = performance.now();
      cli.process.kill(signal);
      const { code, stderr } = await cli.result;
      assert.equal(code, status, stderr);
      assert.ok(performance.now() - signalledMs < 3000, 'it exits promptly');
      assert.doesNotMatch(stderr, /killing task/);
      const state = await getState(cluster.masterUrl);
      assert.equal(
        state.frameworks.find((f) => f.id === id),
        undefined,
        'the framework was torn down, not left to its failover timeout',
      );
      assert.ok(state.completed_frameworks.some((f) => f.id === id));
    });

  test('agora run ends at once on SIGTERM before the master has answered', async (t) => {
    // A master that accepts the connection and never says a word.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const address = silent.address();
    assert.ok(address !== null && typeof address === 'object');
    const cli = runCli(['run', '--master', `127.0.0.1:${address.port}`, '--', 'true']);
    t.after(() => cli.killAll());
    await waitFor('agora run to connect', () => (sockets.size > 0 ? true : undefined));
    cli.process.kill('SIGTERM');
    const { code, stderr } = await cli.result;
    assert.equal(code, 143, stderr);
    assert.doesNotMatch(stderr, /killing task/);
  });

  for (const how of ['timeout', 'SIGTERM to npx only'] as const)
    test(`npx agora run leaves no process behind (${how})`, async (t) => {
      const name = `npx-${how.replaceAll(' ', '-')}`;
      const args = [
        'agora',
        'run',
        '--master',
        cluster.masterUrl,
        '--role',
        CAPPED_ROLE,
        '--cpus',
        '1',
        '--name',
        name,
        '--',
        'sleep 100',
      ];
      // `timeout` signals its whole process group, as in `timeout 5 npx agora run …`.
      const child =
        how === 'timeout'
          ? spawn('timeout', ['120', 'npx', ...args], {
              cwd: ROOT,
              stdio: 'ignore',
              detached: true,
            })
          : spawn('npx', args, { cwd: ROOT, stdio: 'ignore', detached: true });
      const pid = child.pid ?? -1;
      const exited = once(child, 'exit');
      let tree: number[] = [];
      t.after(() => {
        // By PID, the tree as it was seen too: an orphan is no longer below npx.
        for (const p of new Set([pid, ...tree, ...descendants(pid)]))
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // Gone already, as it should be.
          }
      });
      await frameworkSubscribed(cluster.masterUrl, name);
      tree = descendants(pid);
      assert.ok(tree.length >= 2, `npx runs agora below it: ${tree.join(' ')}`);
      // SIGALRM is how `timeout` learns its time is up: it then signals the group, as it
      // would at 120 s (a fixed short limit raced npx's start-up on a loaded machine).
      process.kill(pid, how === 'timeout' ? 'SIGALRM' : 'SIGTERM');
      await exited;
      await waitFor(
        `every process npx started (${tree.join(' ')}) to exit`,
        () => (tree.some(isAlive) ? undefined : true),
        5000,
      );
      await waitFor(`framework ${name} to be torn down`, async () => {
        const state = await getState(cluster.masterUrl);
        return state.frameworks.some((f) => f.name === name) ? undefined : true;
      });
    });
});
