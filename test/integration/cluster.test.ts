// A master and two agents as real processes; tasks through `agora run` and
// through the SDK, exactly as users and third-party frameworks use them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import type { Event, Offer, TaskStatus } from '../../src/wire/index.js';
import { offerId, taskId } from '../../src/wire/index.js';
import {
  allTasks,
  type Cluster,
  getState,
  isAlive,
  runCli,
  startCluster,
  waitFor,
} from './harness.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';

describe('a cluster of one master and two agents', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ agents: 2, agentResources: AGENT_RESOURCES });
  });
  after(() => cluster?.stop());
  const run = (...command: string[]) =>
    runCli(['run', '--master', cluster.masterUrl, '--', ...command]);

  test('agora run streams the task output and exits 0 when the task succeeds', async () => {
    const { code, stdout, stderr } = await run('echo hello').result;
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'hello\n');
    assert.match(stderr, /is TASK_STARTING/);
    assert.match(stderr, /is TASK_RUNNING/);
    assert.match(stderr, /is TASK_FINISHED/);
  });

  test("agora run exits with the task's status and copies its stderr", async () => {
    const { code, stdout, stderr } = await run('sh', '-c', 'echo hello; echo oops >&2; exit 3')
      .result;
    assert.equal(code, 3);
    assert.equal(stdout, 'hello\n');
    assert.match(stderr, /oops/);
    assert.match(stderr, /TASK_FAILED: Command exited with status 3/);
  });

  test('agora run kills its task on SIGTERM and exits 143', async () => {
    const cli = run('sleep 60');
    await cli.stderrMatches(/is TASK_RUNNING/);
    const pid = await waitFor('the task to report its pid', async () => {
      const task = allTasks(await getState(cluster.masterUrl)).find(
        (t) => t.state === 'TASK_RUNNING',
      );
      return task?.statuses.find((s) => s.container_status?.executor_pid !== undefined)
        ?.container_status?.executor_pid;
    });
    assert.ok(isAlive(pid), 'the task process runs');
    cli.process.kill('SIGTERM');
    const { code, stderr } = await cli.result;
    assert.equal(code, 143, stderr);
    assert.match(stderr, /is TASK_KILLED: Command terminated with signal Terminated/);
    await waitFor(`task process ${pid} to be gone`, () => (isAlive(pid) ? undefined : true));
  });

  test('agora run refuses a task no agent can hold, clearly', async () => {
    const { code, stderr } = await runCli([
      'run',
      '--master',
      cluster.masterUrl,
      '--cpus',
      '64',
      '--',
      'true',
    ]).result;
    assert.equal(code, 125);
    assert.match(stderr, /no agent can ever fit a task needing cpus:64;mem:32/);
    assert.match(stderr, /cpus:2, mem:1024/);
  });

  test('/master/state is shaped as Mesos shapes it', async () => {
    await run('true').result;
    const state = await getState(cluster.masterUrl);
    assert.equal(state.version, '1.11.0');
    assert.match(state.pid, /^master@127\.0\.0\.1:\d+$/);
    assert.equal(state.activated_slaves, 2);
    assert.equal(state.slaves.length, 2);
    for (const slave of state.slaves) {
      assert.match(slave.pid, /^slave\(1\)@127\.0\.0\.1:\d+$/);
      assert.deepEqual(slave.resources, {
        cpus: 2,
        gpus: 0,
        mem: 1024,
        disk: 1024,
        ports: '[31000-31100]',
      });
    }
    const states = new Set(allTasks(state).map((t) => t.state));
    for (const expected of ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED'])
      assert.ok(states.has(expected), `a ${expected} task is listed`);
    assert.ok(
      state.completed_frameworks.some(
        (f) => f.name === 'agora-run' && f.completed_tasks.length > 0,
      ),
    );
  });

  test('malformed calls get 400 or 415 naming the problem, and change nothing', async () => {
    const before = await getState(cluster.masterUrl);
    const post = (body: string, contentType = 'application/json') =>
      fetch(new URL('/api/v1/scheduler', cluster.masterUrl), {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      }).then(async (r) => ({
        status: r.status,
        text: await r.text(),
        type: r.headers.get('content-type'),
      }));
    const cases: [body: string, contentType: string, status: number, message: RegExp][] = [
      ['{not json', 'application/json', 400, /Failed to parse body into JSON/],
      ['{"type":"FOO"}', 'application/json', 400, /type: unknown call type ['"]FOO['"]/],
      [
        '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":5,"name":"x"}}}',
        'application/json',
        400,
        /subscribe\.framework_info\.user/,
      ],
      [
        '{"type":"ACCEPT","framework_id":{"value":"nope"},"accept":{"offer_ids":[]}}',
        'application/json',
        400,
        /framework_id: Framework cannot be found/,
      ],
      [
        '{"type":"KILL","framework_id":{"value":"x"},"kill":{}}',
        'application/json',
        400,
        /kill\.task_id/,
      ],
      ['{"type":"SUBSCRIBE"}', 'text/plain', 415, /application\/json/],
    ];
    for (const [body, contentType, status, message] of cases) {
      const reply = await post(body, contentType);
      assert.equal(reply.status, status, `${body}: ${reply.text}`);
      assert.match(reply.text, message, body);
      assert.equal(reply.type, 'text/plain; charset=utf-8');
    }
    const after = await getState(cluster.masterUrl);
    assert.equal(after.frameworks.length, before.frameworks.length);
    assert.equal(after.activated_slaves, 2);
    const { code } = await run('echo still-fine').result;
    assert.equal(code, 0);
  });

  test('a LAUNCH on an unknown offer or beyond its offer fails that task only', async (t) => {
    const framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: {
        user: 'test',
        name: 'bad-launcher',
        capabilities: [{ type: 'PARTITION_AWARE' }],
      },
    });
    t.after(() => framework.teardown().finally(() => framework.close()));
    const events = new EventQueue(framework);

    const [offer] = await events.offers();
    assert.ok(offer !== undefined);
    const task = (id: string, cpus: number, command = 'true') => ({
      name: id,
      task_id: taskId(id),
      agent_id: offer.agent_id,
      resources: [
        { name: 'cpus', type: 'SCALAR' as const, scalar: { value: cpus } },
        { name: 'mem', type: 'SCALAR' as const, scalar: { value: 32 } },
      ],
      command: { value: command },
    });

    await framework.accept(
      [offerId(`${offer.id.value}-nope`)],
      [{ type: 'LAUNCH', launch: { task_infos: [task('ghost', 0.1)] } }],
    );
    const dropped = await events.update('ghost');
    assert.equal(dropped.state, 'TASK_DROPPED');
    assert.equal(dropped.reason, 'REASON_INVALID_OFFERS');
    assert.equal(dropped.source, 'SOURCE_MASTER');
    assert.match(dropped.message ?? '', /no longer valid/);

    await framework.accept(
      [offer.id],
      [{ type: 'LAUNCH', launch: { task_infos: [task('greedy', 100)] } }],
      { refuse_seconds: 0 },
    );
    const invalid = await events.update('greedy');
    assert.equal(invalid.state, 'TASK_ERROR');
    assert.equal(invalid.reason, 'REASON_TASK_INVALID');
    assert.match(invalid.message ?? '', /more resources/);

    // The framework, the master and everyone else carry on.
    await framework.revive();
    const [next] = await events.offers();
    assert.ok(next !== undefined);
    await framework.accept(
      [next.id],
      [
        {
          type: 'LAUNCH',
          launch: { task_infos: [{ ...task('fine', 0.1, 'exit 0'), agent_id: next.agent_id }] },
        },
      ],
    );
    assert.equal((await events.update('fine', 'TASK_FINISHED')).state, 'TASK_FINISHED');
    // Done, it behaves: no more offers, and those it holds go back. (Freed resources are
    // offered again within milliseconds, so a framework that kept them would starve others
    // until --offer_timeout, as in Mesos.)
    await framework.suppress();
    const held = (await getState(cluster.masterUrl)).frameworks.find(
      (f) => f.id === framework.frameworkId.value,
    )?.offers;
    if (held !== undefined && held.length > 0)
      await framework.decline(held.map((o) => offerId(o.id)));
    const { code } = await runCli(['run', '--master', cluster.masterUrl, '--', 'true']).result;
    assert.equal(code, 0);
  });

  test("TEARDOWN kills the framework's tasks and retires the framework", async (t) => {
    const framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'test', name: 'torn-down' },
    });
    t.after(() => framework.close());
    const events = new EventQueue(framework);
    const [offer] = await events.offers();
    assert.ok(offer !== undefined);
    await framework.accept(
      [offer.id],
      [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: 'long',
                task_id: taskId('long'),
                agent_id: offer.agent_id,
                resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }],
                command: { value: 'sleep 120' },
              },
            ],
          },
        },
      ],
    );
    const running = await events.update('long', 'TASK_RUNNING');
    const pid = running.container_status?.executor_pid;
    assert.ok(pid !== undefined && isAlive(pid));
    await framework.teardown();
    await events.done;
    await waitFor(`task process ${pid} to be killed`, () => (isAlive(pid) ? undefined : true));
    const state = await getState(cluster.masterUrl);
    assert.ok(
      !state.frameworks.some((f) => f.id === framework.frameworkId.value),
      'no longer active',
    );
    const retired = state.completed_frameworks.find((f) => f.id === framework.frameworkId.value);
    assert.equal(retired?.completed_tasks.find((task) => task.id === 'long')?.state, 'TASK_KILLED');
    const reply = await fetch(new URL('/api/v1/scheduler', cluster.masterUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mesos-stream-id': framework.streamId },
      body: JSON.stringify({ type: 'REVIVE', framework_id: framework.frameworkId }),
    });
    assert.equal(reply.status, 400, 'a removed framework cannot call');
  });

  test('/files serves sandbox files and nothing outside the sandboxes', async () => {
    const { code, stderr } = await run('printf 0123456789').result;
    assert.equal(code, 0);
    const taskIdValue = /task (agora-run-[0-9a-f]+) launched/.exec(stderr)?.[1];
    assert.ok(taskIdValue !== undefined);
    const state = await getState(cluster.masterUrl);
    const task = allTasks(state).find((t) => t.id === taskIdValue);
    assert.ok(task !== undefined);
    const agent = state.slaves.find((s) => s.id === task.slave_id);
    assert.ok(agent !== undefined);
    const agentUrl = `http://${agent.pid.replace(/^slave\(1\)@/, '')}`;
    const read = (query: Record<string, string>) => {
      const url = new URL('/files/read', agentUrl);
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
      return fetch(url).then(async (r) => ({ status: r.status, body: await r.text() }));
    };
    const path = `/frameworks/${task.framework_id}/executors/${taskIdValue}/runs/latest/stdout`;
    assert.deepEqual(JSON.parse((await read({ path, offset: '2', length: '3' })).body), {
      offset: 2,
      data: '234',
    });
    assert.deepEqual(JSON.parse((await read({ path, offset: '-1' })).body), {
      offset: 10,
      data: '',
    });
    assert.deepEqual(JSON.parse((await read({ path, offset: '50' })).body), {
      offset: 50,
      data: '',
    });
    assert.equal((await read({ path: '/etc/passwd', offset: '0' })).status, 404);
    assert.equal(
      (await read({ path: `${path}/../../../../../../../../../../../etc/passwd`, offset: '0' }))
        .status,
      404,
    );
    assert.equal((await read({ path: path.replace(/\/stdout$/, ''), offset: '0' })).status, 400);
    const badOffset = await read({ path, offset: 'ten' });
    assert.equal(badOffset.status, 400);
    assert.match(badOffset.body, /offset: 'ten' is not an integer/);
    const browse = await fetch(
      new URL(`/files/browse?path=${encodeURIComponent(path.replace(/\/stdout$/, ''))}`, agentUrl),
    );
    const names = ((await browse.json()) as { path: string }[]).map((entry) =>
      entry.path.split('/').pop(),
    );
    assert.deepEqual(names, ['stderr', 'stdout']);
  });

  test('health, version and metrics answer as Mesos does', async () => {
    assert.equal((await fetch(new URL('/health', cluster.masterUrl))).status, 200);
    assert.equal((await fetch(new URL('/master/health', cluster.masterUrl))).status, 200);
    const version = (await (await fetch(new URL('/version', cluster.masterUrl))).json()) as Record<
      string,
      unknown
    >;
    assert.equal(version.version, '1.11.0');
    const metrics = (await (
      await fetch(new URL('/metrics/snapshot', cluster.masterUrl))
    ).json()) as Record<string, number>;
    assert.equal(metrics['master/elected'], 1);
    assert.equal(metrics['master/slaves_active'], 2);
    assert.equal(metrics['master/cpus_total'], 4);
    assert.ok((metrics['master/tasks_finished'] ?? 0) > 0);
    assert.ok((metrics['master/tasks_failed'] ?? 0) > 0);
    assert.ok((metrics['allocator/mesos/allocation_runs'] ?? 0) > 0);
    assert.ok(metrics['allocator/mesos/allocation_run_ms/p99'] !== undefined);
    const jsonp = await fetch(new URL('/master/state?jsonp=show', cluster.masterUrl));
    assert.equal(jsonp.headers.get('content-type'), 'text/javascript');
    assert.match(await jsonp.text(), /^show\(\{/);
  });

  test('an agent that restarts comes back with its id and its resources', async () => {
    const agent = cluster.agents[0];
    assert.ok(agent !== undefined);
    const before = await getState(cluster.masterUrl);
    const id = before.slaves.find((s) => s.pid.endsWith(new URL(agent.url).host))?.id;
    assert.ok(id !== undefined);
    await agent.stop();
    cluster.agents.shift();
    await waitFor('the master to see the agent disconnected', async () =>
      (await getState(cluster.masterUrl)).slaves.find((s) => s.id === id)?.active === false
        ? true
        : undefined,
    );
    const restarted = await cluster.addAgent('agent-1-again', [], `${cluster.workDir}/agent-1`);
    await waitFor('the agent to re-register', async () => {
      const state = await getState(cluster.masterUrl);
      const slave = state.slaves.find((s) => s.id === id);
      return slave?.active === true && slave.pid.endsWith(new URL(restarted.url).host)
        ? true
        : undefined;
    });
    const after = await getState(cluster.masterUrl);
    assert.equal(after.slaves.length, 2, 'no duplicate agent');
    assert.equal((await run('echo back').result).code, 0);
  });
});

describe('stopping a cluster', () => {
  test('leaves no master, agent or task process behind', async (t) => {
    const cluster = await startCluster({ agents: 2, agentResources: AGENT_RESOURCES });
    t.after(() => cluster.stop());
    const cli = runCli(['run', '--master', cluster.masterUrl, '--', 'sleep 300']);
    t.after(() => cli.process.kill('SIGKILL'));
    await cli.stderrMatches(/is TASK_RUNNING/);
    const taskPid = await waitFor('the task pid', async () =>
      allTasks(await getState(cluster.masterUrl))
        .flatMap((task) => task.statuses)
        .map((s) => s.container_status?.executor_pid)
        .find((pid) => pid !== undefined),
    );
    const pids = [cluster.master.pid, ...cluster.agents.map((a) => a.pid), taskPid];
    for (const pid of pids) assert.ok(isAlive(pid), `${pid} runs before the stop`);
    await cluster.stop();
    for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
    const { code } = await cli.result;
    assert.notEqual(code, 0, 'agora run reports that its task did not finish');
  });
});

/** Buffers a subscription's events so a test can wait for the one it needs. */
class EventQueue {
  private readonly seen: Event[] = [];
  private readonly pump: Promise<void>;

  constructor(connection: SchedulerConnection) {
    this.pump = (async () => {
      for await (const event of connection.events()) this.seen.push(event);
    })().catch(() => undefined);
  }

  /** The next OFFERS event's offers (waits for one). */
  async offers(): Promise<readonly Offer[]> {
    const index = await waitFor('offers', () => {
      const i = this.seen.findIndex((e) => e.type === 'OFFERS');
      return i === -1 ? undefined : i;
    });
    const [event] = this.seen.splice(index, 1);
    return event?.type === 'OFFERS' ? event.offers.offers : [];
  }

  /** The first UPDATE for `taskIdValue` (in `state`, if given). */
  async update(taskIdValue: string, state?: TaskStatus['state']): Promise<TaskStatus> {
    return waitFor(
      `an update for ${taskIdValue}${state === undefined ? '' : ` in ${state}`}`,
      () => {
        for (const event of this.seen)
          if (
            event.type === 'UPDATE' &&
            event.update.status.task_id.value === taskIdValue &&
            (state === undefined || event.update.status.state === state)
          )
            return event.update.status;
        return undefined;
      },
    );
  }

  get done(): Promise<void> {
    return this.pump;
  }
}
