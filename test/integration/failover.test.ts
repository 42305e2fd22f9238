// A master killed with SIGKILL and started again on the same port and work
// dir: frameworks re-subscribe with their ids, as Mesos frameworks fail over,
// and `agora run` follows its task through it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import type { Event } from '../../src/wire/index.js';
import { allTasks, type Daemon, getState, runCli, startDaemon, waitFor } from './harness.js';

describe('a master that dies and comes back on the same port and work dir', () => {
  let workDir = '';
  let master: Daemon | undefined;
  let agent: Daemon | undefined;
  let masterUrl = '';
  const masterArgs = (port: string) => [
    'master',
    '--port',
    port,
    '--work_dir',
    join(workDir, 'master'),
    '--log_level',
    'debug',
  ];

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'agora-failover-'));
    master = await startDaemon('master', masterArgs('0'));
    masterUrl = master.url;
    agent = await startDaemon('agent-1', [
      'agent',
      '--master',
      masterUrl,
      '--port',
      '0',
      '--work_dir',
      join(workDir, 'agent-1'),
      '--resources',
      'cpus:2;mem:1024;disk:64',
    ]);
    await agentRegistered();
  });
  after(async () => {
    await agent?.stop();
    await master?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const agentRegistered = () =>
    waitFor('the agent to register', async () =>
      (await getState(masterUrl)).slaves.some((s) => s.active) ? true : undefined,
    );

  /** kill -9, then a new master on the same port and work dir. */
  async function restartMaster(): Promise<void> {
    await master?.stop('SIGKILL');
    master = await startDaemon('master', masterArgs(new URL(masterUrl).port));
    assert.equal(master.url, masterUrl);
  }

  test('a subscription with failover re-subscribes with its framework id', async (t) => {
    const disconnects: Error[] = [];
    const connection = await subscribe({
      master: masterUrl,
      frameworkInfo: { user: 'test', name: 'sdk-failover', failover_timeout: 60 },
      failover: { timeoutMs: 60_000, onDisconnected: (reason) => disconnects.push(reason) },
    });
    t.after(() => connection.close({ teardown: true }));
    const seen: Event[] = [];
    const reading = (async () => {
      for await (const event of connection.events()) seen.push(event);
    })();
    const id = connection.frameworkId.value;
    await restartMaster();
    const again = await waitFor('a second SUBSCRIBED', () =>
      seen.find((e) => e.type === 'SUBSCRIBED'),
    );
    assert.equal(again.type === 'SUBSCRIBED' && again.subscribed.framework_id.value, id);
    assert.equal(connection.frameworkId.value, id);
    assert.equal(disconnects.length, 1);
    const state = await getState(masterUrl);
    assert.ok(state.frameworks.some((f) => f.id === id && f.active));
    await connection.close({ teardown: true });
    await reading;
    await agentRegistered();
  });

  test('agora run follows its task through a master restart and exits with its status', async (t) => {
    // The task waits for this file, so it ends only once the new master knows it again:
    // a task that ends while no master listens is another case (see the note in run.ts).
    const go = join(workDir, 'go');
    const cli = runCli(
      [
        'run',
        '--master',
        masterUrl,
        '--',
        'sh',
        '-c',
        `while [ ! -e ${go} ]; do sleep 0.05; done; echo done`,
      ],
      { timeoutMs: 60_000 },
    );
    t.after(() => cli.killAll());
    await cli.stderrMatches(/is TASK_RUNNING/);
    await restartMaster();
    await cli.stderrMatches(/re-subscribed to the master/);
    await waitFor('the new master to know the running task', async () =>
      allTasks(await getState(masterUrl)).some((task) => task.state === 'TASK_RUNNING')
        ? true
        : undefined,
    );
    writeFileSync(go, '');
    const { code, stdout, stderr } = await cli.result;
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'done\n');
    assert.match(stderr, /lost the master/);
    assert.match(stderr, /is TASK_FINISHED/);
  });
});
