// A simulated agent's SUBSCRIBE body is kept as bytes between changes: after each kind of
// change it must equal a body rendered afresh, or an agent re-registering after an election
// would report tasks it no longer holds, or states it has left.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { AgentHoldings, FrameworkInfos, type HeldTask } from '../../src/sim/agent-holdings.js';
import {
  durationLabel,
  mulberry32,
  SimAgentPool,
  SimNetwork,
  TimingWheel,
} from '../../src/sim/index.js';
import {
  type AgentReport,
  agentId,
  frameworkId,
  type ReportShape,
  type Resource,
  reportIn,
  shapeOf,
  taskId,
} from '../../src/wire/index.js';

const RESOURCES: readonly Resource[] = [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }];

const SHAPES = ['perTask', 'frameworksOnce', 'compact'] as const;

for (const shape of SHAPES)
  test(`agent holdings (${shape}): the kept body equals a fresh one after every kind of change, and is kept until one`, () => {
    keptUntilChanged(shape);
  });

function keptUntilChanged(shape: ReportShape): void {
  const frameworks = new FrameworkInfos();
  const holdings = new AgentHoldings<HeldTask>('h', RESOURCES, frameworks);
  // Only tasks of a framework whose info the agent has are listed.
  frameworks.set('f', { id: frameworkId('f'), user: 'u', name: 'n' });
  const task: HeldTask = {
    key: 'f\u0000t',
    frameworkId: frameworkId('f'),
    info: { name: 't', task_id: taskId('t'), agent_id: agentId('a'), resources: [] },
    state: 'TASK_STAGING',
  };
  const other: HeldTask = {
    ...task,
    key: 'f\u0000u',
    info: { ...task.info, task_id: taskId('u') },
  };
  const changes: [string, () => void][] = [
    ['agent id', () => holdings.setAgentId('a-S0')],
    ['task added', () => holdings.addTask(task)],
    ['second task added', () => holdings.addTask(other)],
    ['state', () => holdings.setState(task, 'TASK_RUNNING')],
    ['terminal state', () => holdings.setState(other, 'TASK_KILLED')],
    ['checkpointed', () => holdings.setCheckpointed(RESOURCES)],
    ['framework info', () => frameworks.set('f', { id: frameworkId('f'), user: 'u', name: 'm' })],
    ['task removed', () => holdings.removeTask(other.key)],
    ['agent id again', () => holdings.setAgentId('a-S1')],
    ['checkpointed dropped', () => holdings.setCheckpointed([])],
  ];
  for (const [what, change] of changes) {
    const before = holdings.body(shape);
    assert.equal(holdings.body(shape), before, `${what}: kept between changes`);
    change();
    const after = holdings.body(shape);
    assert.notEqual(after.toString(), before.toString(), `${what}: the body changed`);
    assert.equal(after.toString(), holdings.renderAfresh(shape), `${what}: the kept body is fresh`);
    // Another shape is never the kept one's bytes; and this shape is kept again after it.
    for (const otherShape of SHAPES.filter((other) => other !== shape))
      assert.equal(holdings.body(otherShape).toString(), holdings.renderAfresh(otherShape));
    assert.equal(holdings.body(shape).toString(), after.toString(), `${what}: its shape again`);
    // The frameworks-once and compact bodies are what the real agent makes of the per-task one.
    const perTask = JSON.parse(holdings.renderAfresh('perTask'));
    for (const made of ['frameworksOnce', 'compact'] as const)
      assert.deepEqual(JSON.parse(holdings.renderAfresh(made)), {
        ...perTask,
        subscribe: {
          ...perTask.subscribe,
          ...JSON.parse(JSON.stringify(reportIn(made, perTask.subscribe.tasks))),
        },
      });
  }
  // Changes to what is already so keep the bytes.
  const kept = holdings.body(shape);
  holdings.setAgentId('a-S1');
  holdings.setState(task, 'TASK_RUNNING');
  holdings.removeTask('no such task');
  assert.equal(holdings.body(shape), kept);
  const body = JSON.parse(kept.toString());
  assert.deepEqual(
    body.subscribe.tasks.map((t: { task: { task_id: { value: string } }; state: string }) => [
      t.task.task_id.value,
      t.state,
    ]),
    [['t', 'TASK_RUNNING']],
  );
  assert.equal(body.agent_id.value, 'a-S1');
  assert.equal(shapeOf(body.subscribe), shape);
}

/** RecordIO: the record's length in decimal, a newline, the record. */
function record(value: unknown): string {
  const text = JSON.stringify(value);
  return `${Buffer.byteLength(text)}\n${text}`;
}

interface Call {
  readonly type: string;
  readonly subscribe?: {
    readonly frameworks?: readonly never[];
    readonly task_resources?: readonly never[];
    readonly tasks: readonly { task: { task_id: { value: string } }; state: string }[];
    readonly checkpointed_resources?: readonly Resource[];
  };
  readonly agent_id?: { readonly value: string };
  readonly update?: Update;
  readonly updates?: { readonly updates: readonly Update[] };
}
/** The shape of a SUBSCRIBE as sent (its JSON read back). */
function sentShape(subscribe: object): ReportShape {
  return shapeOf(subscribe as AgentReport);
}

interface Update {
  readonly framework_id: { readonly value: string };
  readonly status: { task_id: { value: string }; state: string; uuid: string };
}

/**
 * A master of one agent: records every call, answers SUBSCRIBE with a stream, the rest 202.
 * Says in SUBSCRIBED which report shapes it takes, up to `takes`.
 */
async function fakeMaster(t: TestContext, takes: ReportShape) {
  const subscribes: string[] = [];
  const updates: Update[] = [];
  let stream: ServerResponse | undefined;
  /** `isOlder`: a master of an older version, which answers a shape past `takes` with 400. */
  const state = { agentId: 'agent-1', takes, isOlder: false };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const call = JSON.parse(text) as Call;
      if (call.type !== 'SUBSCRIBE') {
        if (call.update !== undefined) updates.push(call.update);
        for (const update of call.updates?.updates ?? []) updates.push(update);
        res.writeHead(202).end();
        return;
      }
      subscribes.push(text);
      if (
        state.isOlder &&
        call.subscribe !== undefined &&
        SHAPES.indexOf(sentShape(call.subscribe)) > SHAPES.indexOf(state.takes)
      ) {
        res.writeHead(400).end('subscribe.tasks[0].framework_info: Invalid input');
        return;
      }
      stream?.destroy();
      stream = res;
      res.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 's' });
      res.write(
        record({
          type: 'SUBSCRIBED',
          subscribed: {
            agent_id: { value: state.agentId },
            heartbeat_interval_seconds: 15,
            ...(state.takes !== 'perTask' ? { takes_frameworks_once: true } : {}),
            ...(state.takes === 'compact' ? { takes_compact_report: true } : {}),
          },
        }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    subscribes,
    updates,
    state,
    send(event: unknown) {
      stream?.write(record(event));
    },
  };
}

for (const takes of SHAPES)
  test(`a re-subscribing simulated agent sends the body a fresh rendering gives, after each kind of change (${takes})`, async (t) => {
    await resubscribes(t, takes);
  });

/** One simulated agent on a fake master; `tick` moves its clock a second on. */
async function oneAgent(t: TestContext, takes: ReportShape) {
  const master = await fakeMaster(t, takes);
  const network = new SimNetwork({ master: master.url });
  t.after(() => network.close());
  let nowMs = 0;
  const wheel = new TimingWheel(10, 0);
  const pool = new SimAgentPool({
    network,
    count: 1,
    resources: RESOURCES,
    wheel,
    random: mulberry32(5),
    now: () => nowMs,
  });
  t.after(() => pool.stop());
  const tick = () => {
    nowMs += 1_000;
    wheel.advance(nowMs);
  };
  return { master, pool, tick };
}

async function resubscribes(t: TestContext, takes: ReportShape): Promise<void> {
  const { master, pool, tick } = await oneAgent(t, takes);
  const until = async (what: string, condition: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  await pool.start();
  const framework = { id: frameworkId('f1'), user: 'u', name: 'f1' };
  const runTask = (id: string, runMs?: number) =>
    master.send({
      type: 'RUN_TASK',
      run_task: {
        framework_info: framework,
        task: {
          name: id,
          task_id: taskId(id),
          agent_id: { value: 'agent-1' },
          resources: [],
          labels: { labels: [...durationLabel(runMs)] },
        },
      },
    });
  /** Acknowledges `count` updates of task `id` in turn (the agent sends the next once one is). */
  const acknowledged = new Set<string>();
  const acknowledgeAll = async (id: string, count: number) => {
    for (let i = 0; i < count; i++) {
      const next = () =>
        master.updates.find(
          (u) => u.status.task_id.value === id && !acknowledged.has(u.status.uuid),
        );
      await until(`update ${i + 1} of ${id}`, () => next() !== undefined);
      const update = next() as Update;
      acknowledged.add(update.status.uuid);
      master.send({
        type: 'ACKNOWLEDGE',
        acknowledge: {
          framework_id: update.framework_id,
          task_id: update.status.task_id,
          uuid: update.status.uuid,
        },
      });
    }
  };

  /**
   * Keeps every body (as an election's bench does), makes the change, then sends the agent
   * to subscribe again: the body it sends is a fresh one, and lists `tasks`.
   */
  const check = async (
    what: string,
    change: () => void | Promise<void>,
    tasks: [string, string][],
    settled: () => boolean = () => true,
    isPrepared = true,
  ) => {
    if (isPrepared) pool.prepareSubscriptions();
    await change();
    await until(`${what}: the change`, settled);
    const count = master.subscribes.length;
    // What the agent holds now, rendered afresh: nothing changes until its SUBSCRIBE is sent.
    const fresh = pool.renderSubscribeBody(0);
    pool.leaderChanged(1_000);
    await until(`${what}: a new SUBSCRIBE`, () => {
      if (master.subscribes.length === count) tick();
      return master.subscribes.length > count && pool.stats.subscribed === 1;
    });
    const sent = master.subscribes.at(-1) as string;
    assert.equal(sent, fresh, `${what}: the body sent is fresh`);
    const call = JSON.parse(sent) as Call;
    // As a real agent: in the shape the master said it takes (it said so at the first SUBSCRIBED).
    assert.equal(call.subscribe === undefined ? undefined : sentShape(call.subscribe), takes, what);
    assert.deepEqual(
      call.subscribe?.tasks.map((one) => [one.task.task_id.value, one.state]),
      tasks,
      what,
    );
    return call;
  };

  const first = await check('SUBSCRIBED', () => {}, []);
  assert.equal(first.agent_id?.value, 'agent-1');
  await check(
    'RUN_TASK',
    () => runTask('t1', 60_000),
    [['t1', 'TASK_RUNNING']],
    () => master.updates.some((u) => u.status.task_id.value === 't1'),
  );
  await check(
    'a second RUN_TASK',
    () => runTask('t2'),
    [
      ['t1', 'TASK_RUNNING'],
      ['t2', 'TASK_RUNNING'],
    ],
    () => pool.stats.tasksLaunched === 2,
  );
  await check(
    'KILL_TASK',
    () =>
      master.send({
        type: 'KILL_TASK',
        kill_task: { framework_id: framework.id, task_id: taskId('t2') },
      }),
    [
      ['t1', 'TASK_RUNNING'],
      ['t2', 'TASK_KILLED'],
    ],
    () => pool.stats.tasksKilled === 1,
  );
  // STARTING, RUNNING, KILLED of t2 acknowledged: the agent forgets the task.
  await check(
    'ACKNOWLEDGE',
    () => acknowledgeAll('t2', 3),
    [['t1', 'TASK_RUNNING']],
    () => pool.stats.tasksRetired === 1,
  );
  await check(
    "the task's end",
    () => {
      for (let i = 0; i < 61; i++) tick();
    },
    [['t1', 'TASK_FINISHED']],
    () => pool.stats.tasksFinished === 1,
  );
  const checkpointed = await check(
    'CHECKPOINT_RESOURCES',
    () =>
      master.send({ type: 'CHECKPOINT_RESOURCES', checkpoint_resources: { resources: RESOURCES } }),
    [['t1', 'TASK_FINISHED']],
    () => pool.renderSubscribeBody(0)?.includes('checkpointed_resources') === true,
  );
  assert.deepEqual(checkpointed.subscribe?.checkpointed_resources, RESOURCES);
  await check(
    'SHUTDOWN_FRAMEWORK',
    () =>
      master.send({
        type: 'SHUTDOWN_FRAMEWORK',
        shutdown_framework: { framework_id: framework.id },
      }),
    [],
    () => pool.stats.updatesDropped > 0,
  );
  await check(
    'holdTasks',
    () => pool.holdTasks(2, { id: frameworkId('f2'), user: 'u', name: 'f2' }, RESOURCES),
    [
      ['held-0-0', 'TASK_RUNNING'],
      ['held-0-1', 'TASK_RUNNING'],
    ],
  );
  // The next SUBSCRIBED names another id (a master that forgot the agent); the SUBSCRIBE
  // after it, with the body kept before, must say the new one.
  master.state.agentId = 'agent-2';
  const held: [string, string][] = [
    ['held-0-0', 'TASK_RUNNING'],
    ['held-0-1', 'TASK_RUNNING'],
  ];
  const renamed = await check('SUBSCRIBED with a new agent id', () => {}, held);
  assert.equal(renamed.agent_id?.value, 'agent-1');
  const last = await check(
    'the new id sent',
    () => {},
    held,
    () => true,
    false,
  );
  assert.equal(last.agent_id?.value, 'agent-2');
}

for (const [takes, expected] of [
  ['frameworksOnce', ['perTask', 'compact', 'frameworksOnce']],
  ['perTask', ['perTask', 'compact', 'frameworksOnce', 'perTask']],
] as const)
  test(`a simulated agent whose new leader refuses the compact report (an older master) steps down at once (${takes})`, async (t) => {
    const { master, pool, tick } = await oneAgent(t, 'compact');
    await pool.start();
    pool.holdTasks(2, { id: frameworkId('f1'), user: 'u', name: 'f1' }, RESOURCES);
    const shapes = () =>
      master.subscribes.map((text) => sentShape((JSON.parse(text) as Call).subscribe ?? {}));
    master.state.isOlder = true;
    master.state.takes = takes;
    pool.leaderChanged(1_000);
    // The wheel is ticked past the election's jitter once; the retries after a 400 need no tick.
    tick();
    const deadline = Date.now() + 10_000;
    while (pool.stats.subscribed !== 1 || master.subscribes.length < expected.length) {
      assert.ok(Date.now() < deadline, `timed out: ${shapes().join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(shapes(), expected);
    const last = JSON.parse(master.subscribes.at(-1) as string) as Call;
    assert.deepEqual(
      last.subscribe?.tasks.map((one) => one.task.task_id.value),
      ['held-0-0', 'held-0-1'],
    );
  });
