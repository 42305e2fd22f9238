// --switch_user (issue #14, "Authorization"; Mesos' agent flag, on by default): a task runs as
// its CommandInfo.user, its sandbox owned by that user; a user the host lacks fails the task
// with a message saying so. The test makes its own user (the agent runs as root) and removes it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { executorId, taskId } from '../../src/wire/index.js';
import { EventQueue } from './events.js';
import { defer, startCluster } from './harness.js';

test('an agent with --switch_user runs a task as its user, in a sandbox that user owns', async (t) => {
  const name = `agora-sw-${process.pid}`;
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  defer(t, () => execFileSync('userdel', [name]));
  // A directory of root's that anyone may enter: the task must not be able to write in it.
  const rootsDir = mkdtempSync(join(tmpdir(), 'agora-sw-'));
  defer(t, () => rmSync(rootsDir, { recursive: true, force: true }));
  chmodSync(rootsDir, 0o755);
  const probe = join(rootsDir, 'probe');
  const uid = execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim();
  const cluster = await startCluster({ agents: 0, agentResources: 'cpus:2;mem:1024' });
  defer(t, () => cluster.stop());
  const agent = await cluster.addAgent('agent-switching', ['--switch_user']);
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'root', name: 'switching' },
  });
  defer(t, () => framework.close({ drainMs: 0 }));
  const events = new EventQueue(framework);
  const [offer] = await events.offers();
  assert.ok(offer !== undefined);
  const task = (id: string, user: string, command: string) => ({
    name: id,
    task_id: taskId(id),
    agent_id: offer.agent_id,
    resources: [
      { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } },
      { name: 'mem', type: 'SCALAR' as const, scalar: { value: 32 } },
    ],
    command: { value: command, user },
  });
  await framework.accept(
    [offer.id],
    [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            task(
              'as-user',
              name,
              // Who it is, who owns its sandbox and output, and whether it may write root's files.
              `id -u; id -un; stat -c %u . stdout; touch made; echo x >> ${probe} || echo denied`,
            ),
            task('no-such-user', 'agora-no-such-user', 'true'),
          ],
        },
      },
    ],
  );
  const failed = await events.update('no-such-user', 'TASK_FAILED');
  assert.equal(failed.source, 'SOURCE_AGENT');
  assert.match(failed.message ?? '', /user 'agora-no-such-user' does not exist/);
  await events.update('as-user', 'TASK_FINISHED');
  const sandbox = `/frameworks/${framework.frameworkId.value}/executors/as-user/runs/latest`;
  const read = async (file: string) => {
    const url = new URL('/files/read', agent.url);
    url.search = new URLSearchParams({ path: `${sandbox}/${file}`, offset: '0' }).toString();
    const response = await fetch(url);
    assert.equal(response.status, 200);
    return ((await response.json()) as { data: string }).data;
  };
  assert.deepEqual((await read('stdout')).trim().split('\n'), [uid, name, uid, uid, 'denied']);
  assert.equal(existsSync(probe), false);
  const browse = new URL('/files/browse', agent.url);
  browse.search = new URLSearchParams({ path: sandbox }).toString();
  const listing = (await (await fetch(browse)).json()) as { path: string; uid: string }[];
  assert.equal(listing.find((e) => e.path.endsWith('/made'))?.uid, uid, 'its files are its own');
});

test('an agent with --switch_user runs a custom executor as its command user, else its framework user', async (t) => {
  const name = `agora-swx-${process.pid}`;
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  defer(t, () => execFileSync('userdel', [name]));
  const uid = execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim();
  // A file the executor's URIs fetch: fetched as root, it must end up the executor user's.
  const filesDir = mkdtempSync(join(tmpdir(), 'agora-swx-'));
  defer(t, () => rmSync(filesDir, { recursive: true, force: true }));
  const fetched = join(filesDir, 'fetched.txt');
  writeFileSync(fetched, 'data\n');
  const cluster = await startCluster({ agents: 0, agentResources: 'cpus:2;mem:1024' });
  defer(t, () => cluster.stop());
  const agent = await cluster.addAgent('agent-switching', ['--switch_user']);
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: name, name: 'executors-switching' },
  });
  defer(t, () => framework.close({ drainMs: 0, teardown: true }));
  const events = new EventQueue(framework);
  const [offer] = await events.offers();
  assert.ok(offer !== undefined);
  const resources = [
    { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } },
    { name: 'mem', type: 'SCALAR' as const, scalar: { value: 32 } },
  ];
  // The executor prints who it is and whose its files are, then exits without subscribing:
  // its task then fails, and its sandbox stays to be read.
  const executor = (id: string, user: string | undefined) => ({
    type: 'CUSTOM' as const,
    executor_id: executorId(id),
    framework_id: framework.frameworkId,
    command: {
      value: 'id -u; id -un; stat -c %u . stdout fetched.txt',
      uris: [{ value: fetched }],
      ...(user !== undefined ? { user } : {}),
    },
    resources,
  });
  const task = (id: string, user: string | undefined) => ({
    name: id,
    task_id: taskId(id),
    agent_id: offer.agent_id,
    resources,
    executor: executor(`${id}-executor`, user),
  });
  await framework.accept(
    [offer.id],
    [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            task('framework-user', undefined),
            task('no-such-user', 'agora-no-such-user'),
          ],
        },
      },
    ],
  );
  const failed = await events.update('no-such-user', 'TASK_FAILED');
  assert.match(failed.message ?? '', /user 'agora-no-such-user' does not exist/);
  await events.update('framework-user', 'TASK_FAILED'); // its executor exited
  const url = new URL('/files/read', agent.url);
  url.search = new URLSearchParams({
    path: `/frameworks/${framework.frameworkId.value}/executors/framework-user-executor/runs/latest/stdout`,
    offset: '0',
  }).toString();
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const stdout = ((await response.json()) as { data: string }).data;
  assert.deepEqual(stdout.trim().split('\n'), [uid, name, uid, uid, uid]);
});
