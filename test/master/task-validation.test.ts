// The master fails only the task whose health check or check cannot run
// (TASK_ERROR, REASON_TASK_INVALID), with Mesos' "Task uses invalid …" words.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { taskError } from '../../src/master/core/task-validation.js';
import { Resources } from '../../src/resources/index.js';
import { agentId, type TaskInfo, taskId } from '../../src/wire/index.js';

const context = {
  agentIdValue: 'a',
  available: Resources.parse('cpus:1;mem:128'),
  isTaskIdInUse: () => false,
};
const task = (extra: Partial<TaskInfo>): TaskInfo => ({
  name: 't',
  task_id: taskId('t'),
  agent_id: agentId('a'),
  command: { value: 'sleep 10' },
  ...extra,
});
const resources = Resources.parse('cpus:0.1;mem:32');

test('task validation fails a task whose health check or check cannot run', () => {
  assert.equal(taskError(task({}), resources, context), undefined);
  assert.equal(
    taskError(task({ health_check: { type: 'TCP', tcp: { port: 80 } } }), resources, context),
    undefined,
  );
  assert.equal(
    taskError(task({ health_check: { type: 'HTTP' } }), resources, context),
    "Task uses invalid health check: Expecting 'http' to be set for HTTP health check",
  );
  assert.equal(
    taskError(task({ check: { type: 'HTTP', http: { port: 1, path: 'x' } } }), resources, context),
    "Task uses invalid check: The path 'x' of HTTP check must start with '/'",
  );
});
