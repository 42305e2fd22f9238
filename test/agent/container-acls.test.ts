// Whose user a task's container and its listings are judged by on the agent, as Mesos' local
// authorizer judges them: a custom executor by its command's user, else its framework's (not
// by the user of a task it runs); a task by its command's user, else its executor's, else its
// framework's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executorUser, isTaskShown } from '../../src/agent/container-acls.js';
import { parseAcls, visibilityFor } from '../../src/runtime/index.js';
import {
  agentId,
  executorId,
  type FrameworkInfo,
  type TaskInfo,
  taskId,
} from '../../src/wire/index.js';

const framework: FrameworkInfo = { user: 'bob', name: 'f' };
const base = { name: 't', task_id: taskId('t'), agent_id: agentId('a'), resources: [] };
const commandTask: TaskInfo = { ...base, command: { value: 'true', user: 'alice' } };
const customExecutor = { executor_id: executorId('e'), command: { value: './executor' } };
const customTask: TaskInfo = {
  ...base,
  command: { value: 'true', user: 'alice' },
  executor: customExecutor,
};

test("a custom executor with no user of its own runs as its framework's user, whoever its task names", () => {
  assert.equal(executorUser(customTask, framework), 'bob');
  const named = {
    ...customTask,
    executor: { ...customExecutor, command: { value: 'x', user: 'carol' } },
  };
  assert.equal(executorUser(named, framework), 'carol');
});

test("a command task's executor runs as its task", () => {
  assert.equal(executorUser(commandTask, framework), 'alice');
  assert.equal(executorUser({ ...base, command: { value: 'true' } }, framework), 'bob');
});

test('view_executors sees a custom executor by its user, view_tasks the task by its own', () => {
  const acls = parseAcls({
    view_executors: [{ principals: { values: ['p'] }, users: { values: ['bob'] } }],
    view_tasks: [{ principals: { values: ['p'] }, users: { values: ['alice'] } }],
  });
  const visibility = visibilityFor(acls, 'p');
  assert.ok(visibility !== undefined);
  assert.equal(isTaskShown(visibility, customTask, framework), true);
  const onlyAliceExecutors = visibilityFor(
    parseAcls({
      view_executors: [
        { principals: { values: ['p'] }, users: { values: ['alice'] } },
        { principals: { type: 'ANY' }, users: { type: 'NONE' } },
      ],
    }),
    'p',
  );
  assert.equal(
    isTaskShown(onlyAliceExecutors, customTask, framework),
    false,
    "the executor is bob's, not its task's alice",
  );
});
