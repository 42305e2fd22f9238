// Custom executors (#9), as a framework author sees them through a real master
// and agent: an executor written with the executor SDK (fixtures/sdk-executor.ts)
// is started by the agent with the MESOS_* environment, gets its tasks as LAUNCH
// events, reports their states, relays messages both ways, is shut down on
// SHUTDOWN; one that exits takes its tasks with it; one that never subscribes
// times out; one running across an agent restart subscribes again and keeps its task.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import {
  type Event,
  type ExecutorInfo,
  executorId,
  loadProtoCodec,
  type Offer,
  PROTO_MESSAGES,
  type Resource,
  taskId,
} from '../../src/wire/index.js';
import { EventQueue } from './events.js';
import { type Cluster, ROOT, startCluster, waitFor } from './harness.js';

const FIXTURE = join(ROOT, 'test', 'integration', 'fixtures', 'sdk-executor.ts');
const TSX_LOADER = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

const resources = (cpus: number, mem: number): Resource[] => [
  { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
  { name: 'mem', type: 'SCALAR', scalar: { value: mem } },
];

function sdkExecutor(id: string, frameworkId: SchedulerConnection['frameworkId']): ExecutorInfo {
  return {
    type: 'CUSTOM',
    executor_id: executorId(id),
    framework_id: frameworkId,
    name: `sdk executor ${id}`,
    command: { value: `exec '${process.execPath}' --import '${TSX_LOADER}' '${FIXTURE}'` },
    resources: resources(0.1, 64),
  };
}

async function start(
  t: TestContext,
  cluster: Cluster,
  name: string,
): Promise<[SchedulerConnection, EventQueue]> {
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'u', name },
  });
  t.after(() => framework.close({ drainMs: 0, teardown: true }));
  return [framework, new EventQueue(framework)];
}

/** LAUNCHes `tasks` (name → command) under `executor` on the next offer. */
async function launch(
  framework: SchedulerConnection,
  events: EventQueue,
  executor: ExecutorInfo,
  tasks: Record<string, string>,
): Promise<Offer> {
  const [offer] = await events.offers();
  assert.ok(offer !== undefined);
  await framework.accept(
    [offer.id],
    [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: Object.entries(tasks).map(([name, command]) => ({
            name,
            task_id: taskId(name),
            agent_id: offer.agent_id,
            resources: resources(0.1, 32),
            // A task under an executor has no command: this executor reads its shell command here.
            data: Buffer.from(command).toString('base64'),
            executor,
          })),
        },
      },
    ],
    { refuse_seconds: 0 },
  );
  return offer;
}

function seen<T>(events: EventQueue, what: string, pick: (event: Event) => T | undefined) {
  return waitFor(
    what,
    () => {
      for (const event of events.seen) {
        const value = pick(event);
        if (value !== undefined) return value;
      }
      return undefined;
    },
    30_000,
  );
}

const messageText = (event: Event) =>
  event.type === 'MESSAGE' ? Buffer.from(event.message.data, 'base64').toString('utf8') : undefined;

async function executorCall(agentUrl: string, body: unknown, contentType = 'application/json') {
  const response = await fetch(new URL('/api/v1/executor', agentUrl), {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/json' },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

test('a custom executor written with the SDK runs its tasks, relays messages, and stops on SHUTDOWN', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  const [framework, events] = await start(t, cluster, 'custom');
  const executor = sdkExecutor('exec-1', framework.frameworkId);
  const offer = await launch(framework, events, executor, {
    quick: 'sleep 0.2',
    long: 'exec sleep 60',
  });

  // The executor reports the environment the agent gave it.
  const hello = await seen(events, "the executor's hello", (e) => {
    const text = messageText(e);
    return text?.startsWith('{') === true ? text : undefined;
  });
  const { env, executor_id, container_id } = JSON.parse(hello) as {
    env: Record<string, string>;
    executor_id: string;
    container_id: string;
  };
  assert.equal(executor_id, 'exec-1');
  assert.equal(env.MESOS_EXECUTOR_ID, 'exec-1');
  assert.equal(env.MESOS_FRAMEWORK_ID, framework.frameworkId.value);
  assert.equal(env.MESOS_SLAVE_ID, offer.agent_id.value);
  assert.equal(`http://${env.MESOS_AGENT_ENDPOINT}`, agent.url);
  assert.equal(env.MESOS_CHECKPOINT, '1');
  assert.equal(env.MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, '5secs');
  assert.ok(
    env.MESOS_SANDBOX?.endsWith(
      `/frameworks/${framework.frameworkId.value}/executors/exec-1/runs/${container_id}`,
    ),
    env.MESOS_SANDBOX,
  );
  assert.equal(env.MESOS_DIRECTORY, env.MESOS_SANDBOX);

  for (const id of ['quick', 'long']) {
    const running = await events.update(id, 'TASK_RUNNING', 30_000);
    assert.equal(running.source, 'SOURCE_EXECUTOR');
    assert.equal(running.executor_id?.value, 'exec-1');
    assert.equal(running.agent_id?.value, offer.agent_id.value);
  }
  const finished = await events.update('quick', 'TASK_FINISHED', 30_000);
  assert.equal(finished.message, 'exited 0');

  // A framework message reaches the executor; its answer comes back as MESSAGE.
  await framework.call({
    type: 'MESSAGE',
    message: {
      agent_id: offer.agent_id,
      executor_id: executorId('exec-1'),
      data: Buffer.from('hi').toString('base64'),
    },
  });
  await seen(events, 'the echo', (e) => (messageText(e) === 'echo:hi' ? true : undefined));

  // The executor API validates what executors send.
  const ids = { framework_id: framework.frameworkId, executor_id: { value: 'exec-1' } };
  assert.equal((await executorCall(agent.url, { ...ids, type: 'HEARTBEAT' })).status, 202);
  const codec = await loadProtoCodec();
  const heartbeat = codec.encode(PROTO_MESSAGES.executorCall, { ...ids, type: 'HEARTBEAT' });
  assert.equal(
    (await executorCall(agent.url, heartbeat, 'application/x-protobuf')).status,
    202,
    'protobuf calls are taken',
  );
  const fromAgent = await executorCall(agent.url, {
    ...ids,
    type: 'UPDATE',
    update: {
      status: {
        task_id: { value: 'long' },
        state: 'TASK_RUNNING',
        source: 'SOURCE_AGENT',
        uuid: 'AAAAAAAAQAAAAAAAAAAAAA==',
      },
    },
  });
  assert.equal(fromAgent.status, 400);
  assert.match(fromAgent.text, /invalid source/);
  const stranger = await executorCall(agent.url, {
    framework_id: { value: 'nobody' },
    executor_id: { value: 'exec-1' },
    type: 'HEARTBEAT',
  });
  assert.equal(stranger.status, 400);
  assert.match(stranger.text, /Framework cannot be found/);
  const noBody = await executorCall(agent.url, { ...ids, type: 'UPDATE' });
  assert.equal(noBody.status, 400);
  assert.match(noBody.text, /update/);

  // The master knows the executor.
  const listed = await fetch(new URL('/api/v1', cluster.masterUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ type: 'GET_EXECUTORS' }),
  });
  const executors = (await listed.json()) as {
    get_executors: { executors?: { executor_info: ExecutorInfo }[] };
  };
  assert.deepEqual(
    executors.get_executors.executors?.map((e) => e.executor_info.executor_id.value),
    ['exec-1'],
  );

  // So does the agent, and its operator API lists the executor's task.
  const agentTasks = await fetch(new URL('/api/v1', agent.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ type: 'GET_TASKS' }),
  });
  const launched = (
    (await agentTasks.json()) as {
      get_tasks: {
        launched_tasks?: { task_id: { value: string }; executor_id: { value: string } }[];
      };
    }
  ).get_tasks.launched_tasks?.map((task) => [task.task_id.value, task.executor_id.value]);
  assert.deepEqual(launched, [['long', 'exec-1']]);

  await framework.kill(taskId('long'));
  const killed = await events.update('long', 'TASK_KILLED', 30_000);
  assert.equal(killed.source, 'SOURCE_EXECUTOR');

  await framework.call({
    type: 'SHUTDOWN',
    shutdown: { executor_id: executorId('exec-1'), agent_id: offer.agent_id },
  });
  const failure = await seen(events, 'FAILURE for exec-1', (e) =>
    e.type === 'FAILURE' && e.failure.executor_id?.value === 'exec-1' ? e.failure : undefined,
  );
  assert.equal(failure.status, 0, 'the executor exited 0 on SHUTDOWN');
});

test('an executor that exits takes its tasks to TASK_FAILED', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const [framework, events] = await start(t, cluster, 'doomed');

  await launch(framework, events, sdkExecutor('exec-2', framework.frameworkId), {
    victim: 'exec sleep 60',
  });
  await events.update('victim', 'TASK_RUNNING', 30_000);
  await launch(framework, events, sdkExecutor('exec-2', framework.frameworkId), {
    bomb: 'exit-executor 3',
  });
  for (const id of ['victim', 'bomb']) {
    const failed = await events.update(id, 'TASK_FAILED', 30_000);
    assert.equal(failed.source, 'SOURCE_AGENT');
    assert.equal(failed.reason, 'REASON_EXECUTOR_TERMINATED');
    assert.match(failed.message ?? '', /Executor terminated/);
  }
  const failure = await seen(events, 'FAILURE for exec-2', (e) =>
    e.type === 'FAILURE' && e.failure.executor_id?.value === 'exec-2' ? e.failure : undefined,
  );
  assert.equal(failure.status, 3 << 8, 'the raw wait status of exit 3');
});

test('an executor that never subscribes within --executor_registration_timeout is destroyed and its tasks fail', async (t) => {
  const cluster = await startCluster({ agents: 0 });
  t.after(() => cluster.stop());
  await cluster.addAgent('agent-1', [
    '--resources',
    'cpus:2;mem:1024',
    '--executor_registration_timeout',
    '1secs',
  ]);
  const [framework, events] = await start(t, cluster, 'silent');
  const silent: ExecutorInfo = {
    ...sdkExecutor('silent', framework.frameworkId),
    command: { value: 'exec sleep 30' },
  };
  await launch(framework, events, silent, { orphan: 'true' });
  const timedOut = await events.update('orphan', 'TASK_FAILED', 30_000);
  assert.equal(timedOut.source, 'SOURCE_AGENT');
  assert.equal(timedOut.reason, 'REASON_EXECUTOR_REGISTRATION_TIMEOUT');
});

test('an executor asking for a container image fails its tasks, saying so, rather than running on the host', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const [framework, events] = await start(t, cluster, 'imaged');
  const marker = join(cluster.workDir, 'ran-on-the-host');
  const imaged: ExecutorInfo = {
    ...sdkExecutor('imaged', framework.frameworkId),
    command: { value: `touch '${marker}'; exec sleep 30` },
    container: {
      type: 'MESOS',
      mesos: { image: { type: 'DOCKER', docker: { name: 'busybox:latest' } } },
    },
  };
  await launch(framework, events, imaged, { boxed: 'true' });
  const failed = await events.update('boxed', 'TASK_FAILED', 30_000);
  assert.equal(failed.source, 'SOURCE_AGENT');
  assert.equal(failed.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
  assert.match(failed.message ?? '', /ExecutorInfo\.container/);
  assert.equal(existsSync(marker), false, 'nothing of the executor ran');
});

test('a custom executor outlives an agent killed with SIGKILL and subscribes again to the restarted agent', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const [framework, events] = await start(t, cluster, 'survivor');
  await launch(framework, events, sdkExecutor('exec-3', framework.frameworkId), {
    survivor: 'exec sleep 60',
  });
  const running = await events.update('survivor', 'TASK_RUNNING', 30_000);
  const pid = Number(/pid (\d+)/.exec(running.message ?? '')?.[1]);
  assert.ok(pid > 0);

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  process.kill(pid, 0); // the task lives on, under its executor
  // Started again where its executors look for it (MESOS_AGENT_ENDPOINT), as in Mesos.
  // The re-registration window is widened from 2 s: on a loaded test machine the executor's
  // backoff and the agent's start-up can take longer than that.
  const again = await cluster.addAgent(
    'agent-1-again',
    ['--port', new URL(agent.url).port, '--executor_reregistration_timeout', '20secs'],
    join(cluster.workDir, 'agent-1'),
  );
  await waitFor('the executor to subscribe to the restarted agent', () =>
    again.lines.some((line) => line.msg === 'executor subscribed') ? true : undefined,
  );
  await framework.kill(taskId('survivor'));
  const killed = await events.update('survivor', 'TASK_KILLED', 30_000);
  assert.equal(killed.source, 'SOURCE_EXECUTOR', 'the same executor killed it');
});

test('a task group outlives an agent killed with SIGKILL: the restarted agent still kills the rest when one fails', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024;disk:1024' });
  t.after(() => cluster.stop());
  const [framework, events] = await start(t, cluster, 'pods');
  const [offer] = await events.offers();
  assert.ok(offer !== undefined);
  await framework.accept(
    [offer.id],
    [
      {
        type: 'LAUNCH_GROUP',
        launch_group: {
          executor: {
            type: 'DEFAULT',
            executor_id: executorId('pod-r'),
            framework_id: framework.frameworkId,
            resources: [
              ...resources(0.1, 32),
              { name: 'disk', type: 'SCALAR', scalar: { value: 10 } },
            ],
          },
          task_group: {
            tasks: [
              { name: 'main', command: 'exec sleep 60' },
              // Each task's sandbox is <executor sandbox>/containers/<id>: the executor's is
              // two levels up, shared by the group.
              { name: 'watcher', command: 'while [ ! -e ../../stop ]; do sleep 0.1; done; exit 2' },
            ].map(({ name, command }) => ({
              name,
              task_id: taskId(name),
              agent_id: offer.agent_id,
              resources: resources(0.1, 32),
              command: { value: command },
            })),
          },
        },
      },
    ],
  );
  const containers = new Map<string, string | undefined>();
  for (const id of ['main', 'watcher']) {
    const running = await events.update(id, 'TASK_RUNNING', 30_000);
    containers.set(id, running.container_status?.container_id?.value);
  }
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  const agentDir = join(cluster.workDir, 'agent-1');
  await cluster.addAgent('agent-1-again', [], agentDir);
  const executorSandbox = join(
    agentDir,
    'slaves',
    offer.agent_id.value,
    'frameworks',
    framework.frameworkId.value,
    'executors',
    'pod-r',
    'runs',
    'latest',
  );
  writeFileSync(join(executorSandbox, 'stop'), '');
  const failed = await events.update('watcher', 'TASK_FAILED', 30_000);
  assert.match(failed.message ?? '', /2/, 'its real exit code');
  assert.equal(failed.container_status?.container_id?.value, containers.get('watcher'));
  const killed = await events.update('main', 'TASK_KILLED', 30_000);
  assert.equal(killed.container_status?.container_id?.value, containers.get('main'));
  await seen(events, 'FAILURE for pod-r', (e) =>
    e.type === 'FAILURE' && e.failure.executor_id?.value === 'pod-r' ? true : undefined,
  );
});
