// The legacy JSON endpoints of WIRE §7.2 that Mesos tools call, against a real
// master, agent and framework: state-summary, tasks, redirect, teardown,
// reserve/unreserve and the Mesos 1.x quota requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Cluster, startCluster } from './harness.js';
import { TaskFramework } from './task-framework.js';

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly location: string | null;
}

describe('the legacy endpoints of a real master', () => {
  let cluster: Cluster;
  let framework: TaskFramework;
  let agentId: string;
  before(async () => {
    cluster = await startCluster({
      agents: 1,
      agentResources: 'cpus:4;mem:4096;disk:1024;ports:[31000-31099]',
      masterArgs: ['--cluster', 'test-cluster'],
    });
    framework = await TaskFramework.start(cluster.masterUrl, 'legacy');
    agentId = await framework.launch({ early: 'true' });
    await framework.update('early', 'TASK_FINISHED');
    await framework.launch({ late: 'sleep 60' });
    await framework.update('late', 'TASK_RUNNING');
  });
  after(async () => {
    await framework?.stop();
    await cluster?.stop();
  });

  const send = async (
    path: string,
    init: { method?: string; form?: Record<string, string>; json?: unknown } = {},
  ): Promise<Reply> => {
    const response = await fetch(new URL(path, cluster.masterUrl), {
      method: init.method ?? (init.form !== undefined || init.json !== undefined ? 'POST' : 'GET'),
      redirect: 'manual',
      ...(init.form !== undefined
        ? {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(init.form).toString(),
          }
        : {}),
      ...(init.json !== undefined
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.json) }
        : {}),
    });
    return {
      status: response.status,
      body: await response.text(),
      location: response.headers.get('location'),
    };
  };
  const json = async <T>(path: string): Promise<T> => {
    const reply = await send(path);
    assert.equal(reply.status, 200, `${path}: ${reply.body}`);
    return JSON.parse(reply.body) as T;
  };
  const frameworkId = () => framework.connection.frameworkId.value;

  test('/master/state-summary counts tasks by state per agent and per framework', async () => {
    const summary = await json<{
      hostname: string;
      cluster: string;
      slaves: Record<string, unknown>[];
      frameworks: Record<string, unknown>[];
    }>('/master/state-summary');
    assert.equal(summary.cluster, 'test-cluster');
    assert.equal(typeof summary.hostname, 'string');
    const [slave] = summary.slaves;
    assert.ok(slave !== undefined);
    assert.equal(slave.id, agentId);
    assert.equal(slave.TASK_RUNNING, 1);
    assert.equal(slave.TASK_FINISHED, 1);
    assert.equal(slave.TASK_UNREACHABLE, 0);
    assert.deepEqual(slave.framework_ids, [frameworkId()]);
    assert.deepEqual((slave.resources as Record<string, unknown>).cpus, 4);
    const [summarized] = summary.frameworks;
    assert.ok(summarized !== undefined);
    assert.equal(summarized.id, frameworkId());
    assert.equal(summarized.name, 'legacy');
    assert.equal(summarized.TASK_RUNNING, 1);
    assert.equal(summarized.TASK_FINISHED, 1);
    assert.deepEqual(summarized.slave_ids, [agentId]);
    for (const key of ['used_resources', 'offered_resources', 'active', 'connected', 'recovered'])
      assert.ok(key in summarized, key);
    assert.equal('tasks' in summarized, false, 'a summary, not the whole framework');
    assert.equal((await json<{ cluster: string }>('/master/state')).cluster, 'test-cluster');
  });

  test('/master/tasks pages, orders and filters as Mesos does', async () => {
    const ids = async (query: string) =>
      (await json<{ tasks: { id: string }[] }>(`/master/tasks${query}`)).tasks.map((t) => t.id);
    assert.deepEqual(await ids(''), ['late', 'early'], 'latest first by default');
    assert.deepEqual(await ids('?order=asc'), ['early', 'late']);
    assert.deepEqual(await ids('?order=desc'), ['late', 'early'], 'anything but asc descends');
    assert.deepEqual(await ids('?limit=1'), ['late']);
    assert.deepEqual(await ids('?limit=1&offset=1'), ['early']);
    assert.deepEqual(await ids('?offset=5'), []);
    assert.deepEqual(await ids(`?framework_id=${frameworkId()}&task_id=early`), ['early']);
    assert.deepEqual(await ids('?framework_id=nobody'), []);
    assert.deepEqual(await ids('.json?order=asc'), ['early', 'late']);
    assert.equal((await send('/master/tasks?limit=-1')).status, 400);
  });

  test('/master/redirect and /redirect answer 307 to this master; /redirect/... is 404', async () => {
    const { port, hostname } = new URL(cluster.masterUrl);
    for (const path of ['/master/redirect', '/redirect']) {
      const reply = await send(path);
      assert.equal(reply.status, 307, path);
      assert.equal(reply.location, `//${hostname}:${port}`, path);
    }
    assert.equal((await send('/redirect/state')).status, 404);
  });

  test('/master/reserve and /unreserve take a form: 202, or 400 and 409 as Mesos answers', async () => {
    const reservation = (cpus: number) =>
      JSON.stringify([
        {
          name: 'cpus',
          type: 'SCALAR',
          scalar: { value: cpus },
          reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'ops' }],
        },
      ]);
    const reserved = await send('/master/reserve', {
      form: { slaveId: agentId, resources: reservation(1) },
    });
    assert.equal(reserved.status, 202, reserved.body);
    const { slaves } = await json<{
      slaves: { reserved_resources_full: Record<string, { name: string }[]> }[];
    }>(`/master/slaves?slave_id=${agentId}`);
    assert.deepEqual(
      slaves[0]?.reserved_resources_full.eng?.map((r) => r.name),
      ['cpus'],
    );
    const refusals: [form: Record<string, string>, status: number, message: RegExp][] = [
      [{ resources: reservation(1) }, 400, /Missing 'slaveId'/],
      [{ slaveId: agentId }, 400, /Missing 'resources'/],
      [{ slaveId: agentId, resources: '[{' }, 400, /Error in parsing 'resources'/],
      [{ slaveId: agentId, resources: '{}' }, 400, /./],
      [{ slaveId: 'nobody', resources: reservation(1) }, 400, /No agent found/],
      [{ slaveId: agentId, resources: reservation(100) }, 409, /./],
    ];
    for (const [form, status, message] of refusals) {
      const reply = await send('/master/reserve', { form });
      assert.equal(reply.status, status, `${JSON.stringify(form)}: ${reply.body}`);
      assert.match(reply.body, message);
    }
    const unreserved = await send('/master/unreserve', {
      form: { slaveId: agentId, resources: reservation(1) },
    });
    assert.equal(unreserved.status, 202, unreserved.body);
    assert.equal((await send('/master/reserve')).status, 405, 'POST only');
  });

  test('legacy POST /master/quota sets a quota and DELETE /master/quota/<role> removes it', async () => {
    const request = (cpus: number, force?: boolean) => ({
      role: 'dev',
      guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: cpus } }],
      ...(force !== undefined ? { force } : {}),
    });
    assert.equal((await send('/master/quota', { json: request(1) })).status, 200);
    const status = await json<{ infos: { role: string }[] }>('/master/quota');
    assert.deepEqual(
      status.infos.map((i) => i.role),
      ['dev'],
    );
    assert.equal((await send('/master/quota', { json: request(1) })).status, 400, 'set once');
    assert.equal((await send('/master/quota/dev', { method: 'DELETE' })).status, 200);
    assert.equal((await send('/master/quota/dev', { method: 'DELETE' })).status, 400, 'gone');
    assert.equal((await send('/master/quota', { json: request(1000) })).status, 409);
    assert.equal((await send('/master/quota', { json: request(1000, true) })).status, 200);
    assert.equal((await send('/quota/dev', { method: 'DELETE' })).status, 200, 'delegated');
    assert.equal((await send('/master/quota', { json: { guarantee: [] } })).status, 400);
  });

  test('/master/frameworks and /master/slaves filter by id', async () => {
    const frameworks = await json<{ frameworks: { id: string }[] }>(
      `/master/frameworks?framework_id=${frameworkId()}`,
    );
    assert.deepEqual(
      frameworks.frameworks.map((f) => f.id),
      [frameworkId()],
    );
    const none = await json<{ frameworks: unknown[]; slaves?: unknown[] }>(
      '/master/frameworks?framework_id=nobody',
    );
    assert.deepEqual(none.frameworks, []);
    const slaves = await json<{ slaves: unknown[] }>('/master/slaves?slave_id=nobody');
    assert.deepEqual(slaves.slaves, []);
  });

  test('/master/teardown takes frameworkId in a form: 400 without or unknown, 200 once torn down', async () => {
    assert.match((await send('/master/teardown', { form: {} })).body, /Missing 'frameworkId'/);
    const unknown = await send('/master/teardown', { form: { frameworkId: 'nobody' } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /No framework found with specified ID/);
    const done = await send('/master/teardown', { form: { frameworkId: frameworkId() } });
    assert.equal(done.status, 200, done.body);
    const state = await json<{ completed_frameworks: { id: string }[] }>('/master/state');
    assert.ok(state.completed_frameworks.some((f) => f.id === frameworkId()));
  });
});
