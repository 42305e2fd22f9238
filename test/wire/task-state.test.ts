import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskState } from '../../src/wire/messages.js';
import {
  assertTransition,
  canTransition,
  InvalidTransitionError,
  isTerminalState,
} from '../../src/wire/task-state.js';

// A Record so that a new TaskState fails to compile until it is classified here.
const IS_TERMINAL: Readonly<Record<TaskState, boolean>> = {
  TASK_STAGING: false,
  TASK_STARTING: false,
  TASK_RUNNING: false,
  TASK_KILLING: false,
  TASK_UNREACHABLE: false,
  TASK_UNKNOWN: false,
  TASK_FINISHED: true,
  TASK_FAILED: true,
  TASK_KILLED: true,
  TASK_ERROR: true,
  TASK_LOST: true,
  TASK_DROPPED: true,
  TASK_GONE: true,
  TASK_GONE_BY_OPERATOR: true,
};
const STATES = Object.keys(IS_TERMINAL) as TaskState[];
const TERMINAL = STATES.filter((s) => IS_TERMINAL[s]);

test('task state terminal states are exactly the ones a task never leaves', () => {
  for (const state of STATES) assert.equal(isTerminalState(state), IS_TERMINAL[state], state);
});

test('task state allows the transitions a task goes through', () => {
  const legal: [from: TaskState, to: TaskState][] = [
    ['TASK_STAGING', 'TASK_STARTING'],
    ['TASK_STAGING', 'TASK_RUNNING'],
    ['TASK_STAGING', 'TASK_ERROR'],
    ['TASK_STAGING', 'TASK_DROPPED'],
    ['TASK_STARTING', 'TASK_RUNNING'],
    ['TASK_STARTING', 'TASK_FAILED'],
    ['TASK_RUNNING', 'TASK_RUNNING'],
    ['TASK_RUNNING', 'TASK_KILLING'],
    ['TASK_RUNNING', 'TASK_FINISHED'],
    ['TASK_RUNNING', 'TASK_UNREACHABLE'],
    ['TASK_RUNNING', 'TASK_GONE_BY_OPERATOR'],
    ['TASK_KILLING', 'TASK_KILLED'],
    ['TASK_KILLING', 'TASK_FINISHED'],
    ['TASK_UNREACHABLE', 'TASK_RUNNING'],
    ['TASK_UNREACHABLE', 'TASK_LOST'],
    ['TASK_UNREACHABLE', 'TASK_GONE'],
  ];
  for (const [from, to] of legal) {
    assert.equal(canTransition(from, to), true, `${from} -> ${to}`);
    assert.doesNotThrow(() => assertTransition('t-1', from, to), `${from} -> ${to}`);
  }
});

test('task state refuses transitions that go backwards or skip the rules', () => {
  const illegal: [from: TaskState, to: TaskState][] = [
    ['TASK_RUNNING', 'TASK_STAGING'],
    ['TASK_RUNNING', 'TASK_STARTING'],
    ['TASK_RUNNING', 'TASK_ERROR'],
    ['TASK_RUNNING', 'TASK_DROPPED'],
    ['TASK_STARTING', 'TASK_STAGING'],
    ['TASK_STARTING', 'TASK_ERROR'],
    ['TASK_KILLING', 'TASK_RUNNING'],
    ['TASK_KILLING', 'TASK_STARTING'],
    ['TASK_UNREACHABLE', 'TASK_STAGING'],
    ['TASK_UNREACHABLE', 'TASK_KILLING'],
    ['TASK_STAGING', 'TASK_UNKNOWN'],
    ['TASK_UNKNOWN', 'TASK_RUNNING'],
  ];
  for (const [from, to] of illegal) {
    assert.equal(canTransition(from, to), false, `${from} -> ${to}`);
    assert.throws(
      () => assertTransition('t-7', from, to),
      (error: unknown) =>
        error instanceof InvalidTransitionError &&
        error.taskId === 't-7' &&
        error.from === from &&
        error.to === to &&
        error.message.includes('t-7') &&
        error.message.includes(from) &&
        error.message.includes(to),
      `${from} -> ${to}`,
    );
  }
});

test('task state never leaves a terminal state, not even to itself', () => {
  for (const from of TERMINAL)
    for (const to of STATES) {
      assert.equal(canTransition(from, to), false, `${from} -> ${to}`);
      assert.throws(() => assertTransition('t-1', from, to), InvalidTransitionError);
    }
});

test('task state reaches every terminal state from a running task or its staging', () => {
  for (const to of TERMINAL)
    assert.ok(
      canTransition('TASK_RUNNING', to) || canTransition('TASK_STAGING', to),
      `${to} unreachable`,
    );
});
