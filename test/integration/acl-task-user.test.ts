// view_tasks judges a task by the user it runs as, as Mesos' local authorizer does: the
// task's command user, else its executor's, else its framework's. A framework whose user is
// root may run a task as `nobody`: a principal allowed to see `nobody`'s tasks sees that one
// (and only that one) in every task listing of the master, and the master names the task's
// user in it (Mesos' Task.user). A real master and agent, each request with a credential.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import { type TaskInfo, taskId } from '../../src/wire/index.js';
import { EventQueue } from './events.js';
import {
  authorization,
  GUEST,
  OPS,
  type SecureCluster,
  startSecureCluster,
  type TestCredential,
} from './secure-cluster.js';

const MASTER_ACLS = {
  view_frameworks: [{ principals: { type: 'ANY' }, users: { type: 'ANY' } }],
  view_tasks: [
    { principals: { values: [OPS.principal] }, users: { type: 'ANY' } },
    { principals: { values: [GUEST.principal] }, users: { values: ['nobody'] } },
    { principals: { type: 'ANY' }, users: { type: 'NONE' } },
  ],
};

type Json = Record<string, unknown>;

describe('view_tasks by the user a task runs as', () => {
  let cluster: SecureCluster;
  let framework: SchedulerConnection | undefined;
  before(async () => {
    cluster = await startSecureCluster({
      agents: 1,
      agentResources: 'cpus:2;mem:1024',
      acls: MASTER_ACLS,
      masterArgs: ['--authenticate_http_readonly', '--authenticate_http_readwrite'],
    });
    framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'root', name: 'acl-task-user' },
    });
    const events = new EventQueue(framework);
    const [offer] = await events.offers();
    assert.ok(offer !== undefined);
    const task = (id: string, user: string | undefined): TaskInfo => ({
      name: id,
      task_id: taskId(id),
      agent_id: offer.agent_id,
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
      ],
      command: { value: 'sleep 60', ...(user !== undefined ? { user } : {}) },
    });
    await framework.accept(
      [offer.id],
      [
        {
          type: 'LAUNCH',
          launch: { task_infos: [task('as-nobody', 'nobody'), task('as-root', undefined)] },
        },
      ],
    );
    await events.update('as-nobody', 'TASK_RUNNING');
    await events.update('as-root', 'TASK_RUNNING');
  });
  after(async () => {
    await framework?.close({ drainMs: 0 });
    await cluster?.stop();
  });

  const namesIn = (tasks: unknown): string[] => (tasks as Json[]).map((t) => String(t.name)).sort();

  async function legacyState(credential: TestCredential) {
    const response = await cluster.get(new URL('/master/state', cluster.masterUrl), credential);
    assert.equal(response.status, 200);
    const [only] = ((await response.json()) as { frameworks: Json[] }).frameworks;
    assert.ok(only !== undefined, 'view_frameworks shows the framework to everyone');
    return only.tasks as Json[];
  }

  async function v1Tasks(credential: TestCredential) {
    const response = await fetch(new URL('/api/v1', cluster.masterUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: authorization(credential),
      },
      body: JSON.stringify({ type: 'GET_TASKS' }),
      signal: AbortSignal.timeout(30_000),
    });
    assert.equal(response.status, 200);
    return ((await response.json()) as { get_tasks: { tasks: Json[] } }).get_tasks.tasks;
  }

  test("/master/state shows a task to whom view_tasks allows its command's user", async () => {
    const tasks = await legacyState(GUEST);
    assert.deepEqual(namesIn(tasks), ['as-nobody']);
    assert.equal(tasks[0]?.user, 'nobody', "the task names its user, as Mesos' Task does");
    const all = await legacyState(OPS);
    assert.deepEqual(namesIn(all), ['as-nobody', 'as-root']);
    assert.equal(
      all.find((t) => t.name === 'as-root')?.user,
      undefined,
      "a task that names no user has none (the framework's is not copied)",
    );
  });

  test('/master/tasks and GET_TASKS filter the same way', async () => {
    const legacy = await cluster.get(new URL('/master/tasks', cluster.masterUrl), GUEST);
    assert.deepEqual(namesIn(((await legacy.json()) as { tasks: Json[] }).tasks), ['as-nobody']);
    const v1 = await v1Tasks(GUEST);
    assert.deepEqual(namesIn(v1), ['as-nobody']);
    assert.equal(v1[0]?.user, 'nobody');
    assert.deepEqual(namesIn(await v1Tasks(OPS)), ['as-nobody', 'as-root']);
  });
});
