// What a master shows of a task it learned from a re-registering agent (a new leader after a
// failover knows its tasks only so): the same fields as for a task it launched itself, its
// limits and its user included, in the legacy and the v1 renderings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { legacyTask } from '../../src/master/http/render.js';
import { v1Task } from '../../src/master/http/render-v1.js';
import { Resources } from '../../src/resources/index.js';
import { taskId } from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

test('a task adopted from a re-registering agent keeps its limits and its user', () => {
  const bed = new CoreBed();
  const fw = bed.subscribe({ failover_timeout: 600, user: 'root' });
  const framework = bed.framework(fw.id);
  const task = {
    name: 'capped',
    task_id: taskId('capped'),
    agent_id: { value: 'agent-1' } as never,
    resources: Resources.parse('cpus:1;mem:128').toWire('post-refinement'),
    command: { value: 'sleep 1000', user: 'nobody' },
    limits: { cpus: 2, mem: 'Infinity' as const },
    labels: { labels: [{ key: 'tier', value: 'batch' }] },
  };
  bed.addAgent('cpus:4;mem:4096', {
    id: 'agent-1',
    tasks: [{ framework_id: fw.id, framework_info: framework.info, task, state: 'TASK_RUNNING' }],
  });
  const record = framework.tasks.get('capped');
  assert.ok(record !== undefined, 'adopted');
  const legacy = legacyTask(record);
  assert.equal(legacy.user, 'nobody');
  assert.deepEqual(legacy.limits, { cpus: 2, mem: 'Infinity' });
  assert.deepEqual(legacy.labels, [{ key: 'tier', value: 'batch' }]);
  const v1 = v1Task(record);
  assert.equal(v1.user, 'nobody');
  assert.deepEqual(v1.limits, { cpus: { value: 2 }, mem: { value: 'Infinity' } });
  assert.equal(v1.state, 'TASK_RUNNING');
});

test('a plain task (no executor, labels, container, health check or limits) renders as with every kept field set to undefined', () => {
  const bed = new CoreBed();
  const fw = bed.subscribe({ failover_timeout: 600, user: 'root' });
  const framework = bed.framework(fw.id);
  const plain = (id: string, user?: string) => ({
    framework_id: fw.id,
    framework_info: framework.info,
    task: {
      name: `name of ${id}`,
      task_id: taskId(id),
      agent_id: { value: 'agent-1' } as never,
      resources: Resources.parse('cpus:1;mem:128').toWire('post-refinement'),
      command: { value: 'sleep 1000', ...(user !== undefined ? { user } : {}) },
    },
    state: 'TASK_RUNNING' as const,
  });
  bed.addAgent('cpus:4;mem:4096', {
    id: 'agent-1',
    tasks: [plain('plain'), plain('as-nobody', 'nobody')],
  });
  // A task this master launched itself keeps its info the same way.
  bed.launch(fw, 'launched');
  for (const id of ['plain', 'as-nobody', 'launched']) {
    const record = framework.tasks.get(id);
    assert.ok(record !== undefined, id);
    const full = {
      ...record,
      info: {
        name: record.info.name,
        executor: undefined,
        labels: undefined,
        container: undefined,
        health_check: undefined,
        limits: undefined,
        user: record.info.user,
      },
    };
    assert.equal(JSON.stringify(legacyTask(record)), JSON.stringify(legacyTask(full)), id);
    assert.equal(JSON.stringify(v1Task(record)), JSON.stringify(v1Task(full)), id);
    assert.deepEqual(v1Task(record), v1Task(full), id);
  }
  assert.equal(legacyTask(framework.tasks.get('as-nobody') as never).user, 'nobody');
  assert.equal(legacyTask(framework.tasks.get('plain') as never).user, undefined);
  assert.equal(legacyTask(framework.tasks.get('plain') as never).name, 'name of plain');
});
