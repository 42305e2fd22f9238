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
