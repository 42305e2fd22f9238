import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  apply,
  applyAll,
  type Cluster,
  containerIdOf,
  EMPTY,
  MAX_COMPLETED_TASKS,
  type OperatorEvent,
  type Task,
} from '../../src/webui/model.js';

const task = (id: string, state = 'TASK_STAGING'): Task => ({
  name: id,
  task_id: { value: id },
  framework_id: { value: 'f1' },
  agent_id: { value: 'a1' },
  state,
});

const subscribed = (tasks: Task[]): OperatorEvent => ({
  type: 'SUBSCRIBED',
  subscribed: {
    get_state: {
      get_tasks: { tasks },
      get_agents: {
        agents: [{ agent_info: { id: { value: 'a1' }, hostname: 'h1' }, active: true }],
      },
      get_frameworks: {
        frameworks: [
          { framework_info: { id: { value: 'f1' }, name: 'web' }, active: true, connected: true },
        ],
      },
    },
  },
});

test('web UI model takes the whole state from SUBSCRIBED', () => {
  const cluster = apply(EMPTY, subscribed([task('t1', 'TASK_RUNNING')]));
  assert.equal(cluster.tasks.get('f1/t1')?.state, 'TASK_RUNNING');
  assert.equal(cluster.agents.get('a1')?.agent_info.hostname, 'h1');
  assert.equal(cluster.frameworks.get('f1')?.framework_info.name, 'web');
});

test('web UI model follows a task from TASK_ADDED through TASK_UPDATED', () => {
  let cluster: Cluster = apply(EMPTY, subscribed([]));
  cluster = apply(cluster, { type: 'TASK_ADDED', task_added: { task: task('t2') } });
  assert.equal(cluster.tasks.get('f1/t2')?.state, 'TASK_STAGING');
  cluster = apply(cluster, {
    type: 'TASK_UPDATED',
    task_updated: {
      framework_id: { value: 'f1' },
      state: 'TASK_RUNNING',
      status: {
        task_id: { value: 't2' },
        state: 'TASK_RUNNING',
        container_status: { container_id: { value: 'c-9' } },
      },
    },
  });
  const updated = cluster.tasks.get('f1/t2');
  assert.equal(updated?.state, 'TASK_RUNNING');
  assert.equal(updated && containerIdOf(updated), 'c-9');
});

test('web UI model forgets removed agents and moves removed frameworks to completed', () => {
  let cluster = apply(EMPTY, subscribed([]));
  cluster = apply(cluster, { type: 'AGENT_REMOVED', agent_removed: { agent_id: { value: 'a1' } } });
  cluster = apply(cluster, {
    type: 'FRAMEWORK_REMOVED',
    framework_removed: { framework_info: { id: { value: 'f1' }, name: 'web' } },
  });
  assert.equal(cluster.agents.size, 0);
  assert.equal(cluster.frameworks.size, 0);
  assert.equal(cluster.completedFrameworks.get('f1')?.name, 'web');
});

test('web UI model keeps at most MAX_COMPLETED_TASKS finished tasks, dropping the oldest', () => {
  const finished = Array.from({ length: MAX_COMPLETED_TASKS + 10 }, (_, i) =>
    task(`done-${i}`, 'TASK_FINISHED'),
  );
  const cluster = apply(EMPTY, subscribed([...finished, task('live', 'TASK_RUNNING')]));
  assert.equal(cluster.tasks.size, MAX_COMPLETED_TASKS + 1);
  assert.ok(cluster.tasks.has('f1/live'));
  assert.ok(!cluster.tasks.has('f1/done-0'));
});

test('web UI model ignores heartbeats and events it does not know', () => {
  const cluster = apply(EMPTY, subscribed([]));
  assert.equal(apply(cluster, { type: 'HEARTBEAT' }), cluster);
  assert.equal(apply(cluster, { type: 'SOMETHING_NEW' } as unknown as OperatorEvent), cluster);
});

test('web UI model applies a burst of events at once as it would one by one', () => {
  const start = apply(EMPTY, subscribed([]));
  const burst: OperatorEvent[] = [];
  for (let i = 0; i < 200; i++) {
    burst.push({ type: 'TASK_ADDED', task_added: { task: task(`b-${i}`) } });
    burst.push({
      type: 'TASK_UPDATED',
      task_updated: {
        framework_id: { value: 'f1' },
        state: 'TASK_FINISHED',
        status: { task_id: { value: `b-${i}` }, state: 'TASK_FINISHED' },
      },
    });
  }
  const together = applyAll(start, burst);
  const oneByOne = burst.reduce(apply, start);
  assert.deepEqual([...together.tasks], [...oneByOne.tasks]);
  assert.equal(start.tasks.size, 0, 'the cluster before the burst is unchanged');
});
