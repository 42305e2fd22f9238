// The master fails only the task whose health check or check cannot run
// (TASK_ERROR, REASON_TASK_INVALID), with Mesos' "Task uses invalid …" words.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { taskError } from '../../src/master/core/task-validation.js';
import { Resources } from '../../src/resources/index.js';
import { agentId, executorId, frameworkId, type TaskInfo, taskId } from '../../src/wire/index.js';

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

test('task validation takes a task with its own custom executor, and refuses a bad or mismatched one', () => {
  const executor = {
    type: 'CUSTOM' as const,
    executor_id: executorId('e'),
    command: { value: './my-executor' },
  };
  const withExecutor = (extra: Partial<TaskInfo['executor']> & object) => {
    const { command: _command, ...rest } = task({});
    return { ...rest, executor: { ...executor, ...extra } } as TaskInfo;
  };
  const custom = { ...context, frameworkIdValue: 'f' };
  assert.equal(taskError(withExecutor({}), resources, custom), undefined);
  assert.equal(
    taskError({ ...withExecutor({}), command: { value: 'x' } }, resources, custom),
    "Task must have exactly one of 'command' or 'executor'",
  );
  assert.equal(
    taskError(withExecutor({ type: 'DEFAULT' }), resources, custom),
    "'ExecutorInfo.type' must not be 'DEFAULT' for a LAUNCH: use LAUNCH_GROUP",
  );
  assert.equal(
    taskError(withExecutor({ command: { value: '' } }), resources, custom),
    "'ExecutorInfo.command' must be set for 'CUSTOM' executor",
  );
  assert.equal(
    taskError(withExecutor({ executor_id: executorId('../x') }), resources, custom),
    "Executor ID '../x' must not contain '/' or '\\'",
  );
  assert.equal(
    taskError(withExecutor({ framework_id: frameworkId('g') }), resources, custom),
    'ExecutorInfo has an invalid FrameworkID (Actual: g vs Expected: f)',
  );
  assert.equal(
    taskError(withExecutor({}), resources, {
      ...custom,
      existingExecutor: { ...executor, command: { value: './other' } },
    }),
    'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID',
  );
  // A new executor's resources come out of the offers with its first task's.
  assert.match(
    taskError(withExecutor({}), resources, {
      ...custom,
      executorResources: Resources.parse('cpus:1'),
    }) ?? '',
    /^Task uses more resources \(cpus:1.1;mem:32\) than available/,
  );
  assert.equal(
    taskError(withExecutor({}), resources, {
      ...custom,
      existingExecutor: executor,
      executorResources: Resources.parse('cpus:1'),
    }),
    undefined,
    'an executor already running brings no resources again',
  );
});

test('task validation takes limits at or above their requests, and names the field of one that is not', () => {
  const limited = (limits: TaskInfo['limits']) => taskError(task({ limits }), resources, context);
  assert.equal(limited({ cpus: 0.5, mem: 96 }), undefined);
  assert.equal(limited({ cpus: 0.1, mem: 'Infinity' }), undefined);
  assert.equal(limited({ cpus: 'Infinity' }), undefined);
  assert.match(
    limited({ cpus: 0.05 }) ?? '',
    /'limits\.cpus' \(0\.05\) must be greater than or equal to its request \(0\.1\)/,
  );
  assert.match(limited({ mem: 16 }) ?? '', /'limits\.mem'/);
  assert.match(limited({ disk: 10 }) ?? '', /'limits\.disk': only cpus and mem/);
  assert.match(
    taskError(task({ limits: { mem: 64 } }), Resources.parse('cpus:0.1'), context) ?? '',
    /'limits\.mem': a mem limit needs a mem request/,
  );
});
