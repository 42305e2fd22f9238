// A task's `limits` as the master shows them, as Mesos' Task carries them: bare values in
// /master/state and /master/tasks, a map of Value.Scalar in GET_TASKS, GET_STATE and the
// operator event stream's TASK_ADDED, in JSON and in protobuf. The master used to keep
// them nowhere: every rendering left them out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CODECS,
  JSON_CODEC,
  type Json,
  PROTO_MESSAGES as M,
  openRecordStream,
  PROTOBUF_CODEC,
  postMessage,
} from './codecs.js';
import { startCluster } from './harness.js';
import { getJson } from './operator.js';
import { TaskFramework } from './task-framework.js';

const asJson = (value: unknown) => value as Json;

test("the master shows a task's limits in /state, /tasks, GET_TASKS, GET_STATE and TASK_ADDED", async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024' });
  t.after(() => cluster.stop());
  const url = new URL('/api/v1', cluster.masterUrl);
  const streams = await Promise.all(
    CODECS.map((codec) =>
      openRecordStream(url, codec, M.masterCall, M.masterEvent, { type: 'SUBSCRIBE' }),
    ),
  );
  t.after(() => {
    for (const stream of streams) stream.close();
  });
  const framework = await TaskFramework.start(cluster.masterUrl, 'limits-shown');
  t.after(() => framework.stop());
  await framework.launch({
    limited: {
      command: { value: 'sleep 60' },
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
      ],
      limits: { cpus: 0.5, mem: 96 },
    },
    unbounded: {
      command: { value: 'sleep 60' },
      resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 32 } }],
      limits: { mem: 'Infinity' },
    },
    plain: 'sleep 60',
  });
  await framework.update('limited', 'TASK_RUNNING');
  await framework.update('plain', 'TASK_RUNNING');
  await framework.update('unbounded', 'TASK_RUNNING');

  const legacy = (tasks: Json[], id: string) => tasks.find((task) => task.id === id);
  const state = await getJson(cluster.masterUrl, '/master/state');
  const stateTasks = (state.frameworks as Json[]).flatMap((f) => f.tasks as Json[]);
  assert.deepEqual(legacy(stateTasks, 'limited')?.limits, { cpus: 0.5, mem: 96 }, '/master/state');
  assert.equal(legacy(stateTasks, 'plain')?.limits, undefined, 'no limits, no field');
  assert.deepEqual(legacy(stateTasks, 'unbounded')?.limits, { mem: 'Infinity' }, 'none at all');
  const tasks = (await getJson(cluster.masterUrl, '/master/tasks')).tasks as Json[];
  assert.deepEqual(legacy(tasks, 'limited')?.limits, { cpus: 0.5, mem: 96 }, '/master/tasks');

  const v1Limits = { cpus: { value: 0.5 }, mem: { value: 96 } };
  const v1 = (list: unknown, id: string) =>
    (list as Json[]).find((task) => asJson(task.task_id).value === id);
  for (const codec of [JSON_CODEC, PROTOBUF_CODEC]) {
    const ask = async (type: string) => {
      const reply = await postMessage(url, codec, M.masterCall, { type });
      assert.equal(reply.status, 200, `${codec.name} ${type}: ${reply.body.toString()}`);
      return codec.decode(M.masterResponse, reply.body);
    };
    const getTasks = asJson((await ask('GET_TASKS')).get_tasks);
    assert.deepEqual(v1(getTasks.tasks, 'limited')?.limits, v1Limits, `${codec.name} GET_TASKS`);
    assert.equal(v1(getTasks.tasks, 'plain')?.limits, undefined, `${codec.name} GET_TASKS`);
    // JSON has no infinity: the string, as Mesos' documentation writes it; protobuf's double.
    assert.deepEqual(v1(getTasks.tasks, 'unbounded')?.limits, {
      mem: { value: codec === JSON_CODEC ? 'Infinity' : Number.POSITIVE_INFINITY },
    });
    const getState = asJson(asJson((await ask('GET_STATE')).get_state).get_tasks);
    assert.deepEqual(v1(getState.tasks, 'limited')?.limits, v1Limits, `${codec.name} GET_STATE`);
  }
  for (const [i, stream] of streams.entries()) {
    const added = await stream.next(
      'TASK_ADDED',
      (e) => asJson(asJson(asJson(e.task_added).task).task_id).value === 'limited',
    );
    assert.deepEqual(
      asJson(asJson(added.task_added).task).limits,
      v1Limits,
      `${CODECS[i]?.name} TASK_ADDED`,
    );
  }
});
