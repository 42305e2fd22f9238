// The default executor's decisions (task-groups.ts): a failure takes down the
// rest of its group only, a task that finishes takes nobody with it, and the
// executor exits once every task it ran is terminal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executorContainerOf, TaskGroups } from '../../src/agent/task-groups.js';

function groups(): TaskGroups {
  let n = 0;
  return new TaskGroups(() => `c${++n}`);
}

test('task groups kill the rest of a group when one of its tasks fails, not when one finishes', () => {
  const books = groups();
  const container = books.launched('f', 'e', ['web', 'sidecar', 'init']);
  assert.equal(container, 'c1');
  assert.deepEqual(books.terminated('c1', 'init', 'TASK_FINISHED'), {
    kill: [],
    hasExecutorExited: false,
  });
  assert.deepEqual(books.terminated('c1', 'sidecar', 'TASK_FAILED'), {
    kill: ['web'],
    hasExecutorExited: false,
  });
  assert.deepEqual(books.terminated('c1', 'web', 'TASK_KILLED'), {
    kill: [],
    hasExecutorExited: true,
  });
});

test('task groups under one executor fail apart: a failure kills its own group only', () => {
  const books = groups();
  books.launched('f', 'e', ['a1', 'a2']);
  assert.equal(books.launched('f', 'e', ['b1']), 'c1', 'a second group joins the running executor');
  assert.deepEqual(books.terminated('c1', 'a1', 'TASK_FAILED').kill, ['a2']);
  assert.deepEqual(books.liveTasks('f', 'e').sort(), ['a2', 'b1']);
  books.terminated('c1', 'a2', 'TASK_KILLED');
  assert.equal(books.terminated('c1', 'b1', 'TASK_FINISHED').hasExecutorExited, true);
  assert.equal(books.has('f', 'e'), false, 'an exited executor takes no more groups');
  assert.equal(
    books.launched('f', 'e', ['c1']),
    'c2',
    'a new group starts a new executor container',
  );
});

test('task groups let an executor sandbox go once all its tasks retired', () => {
  const books = groups();
  books.launched('f', 'e', ['a', 'b']);
  books.terminated('c1', 'a', 'TASK_FINISHED');
  books.terminated('c1', 'b', 'TASK_FINISHED');
  assert.equal(books.retired('c1', 'a'), false);
  assert.equal(books.retired('c1', 'b'), true);
});

test('task groups recovered after a restart: a group with a failed task loses the rest, a finished executor exits', () => {
  const books = groups();
  const { kill, exited } = books.recovered([
    {
      frameworkIdValue: 'f',
      executorIdValue: 'e1',
      containerIdValue: 'x',
      taskIdValue: 'a',
      state: 'TASK_FAILED',
    },
    {
      frameworkIdValue: 'f',
      executorIdValue: 'e1',
      containerIdValue: 'x',
      taskIdValue: 'b',
      state: 'TASK_RUNNING',
    },
    {
      frameworkIdValue: 'f',
      executorIdValue: 'e2',
      containerIdValue: 'y',
      taskIdValue: 'c',
      state: 'TASK_FINISHED',
    },
  ]);
  assert.deepEqual(kill, ['b']);
  assert.deepEqual(exited, [{ frameworkIdValue: 'f', executorIdValue: 'e2' }]);
  assert.equal(books.has('f', 'e1'), true);
});

test('a nested container id names its executor container first', () => {
  assert.equal(executorContainerOf('abc.def'), 'abc');
  assert.equal(executorContainerOf('abc'), 'abc');
});
