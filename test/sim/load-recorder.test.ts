import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  durationLabel,
  LoadRecorder,
  SIM_DURATION_LABEL,
  simulatedDurationMs,
} from '../../src/sim/index.js';
import { agentId, type TaskInfo, taskId } from '../../src/wire/index.js';

test('load recorder matches each finished task to the next offer of its agent, in the window', () => {
  const recorder = new LoadRecorder();
  recorder.taskFinished('a1', 0);
  recorder.offerReceived('a1', 5); // before the window: consumes the finish, no sample
  recorder.startWindow(10);
  recorder.taskFinished('a1', 10);
  recorder.taskFinished('a1', 12);
  recorder.taskFinished('a2', 14);
  recorder.offerReceived('a2', 20);
  recorder.offerReceived('a1', 30);
  recorder.offerReceived('a1', 40); // nothing left to answer
  recorder.endWindow(50);
  recorder.offerReceived('a1', 60);
  const summary = recorder.summary();
  assert.equal(summary.windowMs, 40);
  assert.equal(summary.offers, 3);
  assert.equal(summary.finishedToOffer.count, 3);
  assert.equal(summary.finishedToOffer.maxMs, 20);
  assert.equal(summary.finishedToOffer.p50Ms, 18);
});

test('load recorder keeps ACCEPT→RUNNING samples that end inside the window', () => {
  const recorder = new LoadRecorder();
  recorder.acceptSent(1);
  recorder.taskRunning(1, 9);
  recorder.startWindow(10);
  recorder.taskRunning(2, 11);
  recorder.taskRunning(5, 12);
  recorder.endWindow(20);
  recorder.taskRunning(15, 21);
  const summary = recorder.summary();
  assert.equal(summary.acceptToRunning.count, 2);
  assert.equal(summary.acceptToRunning.maxMs, 9);
  assert.equal(summary.firstAcceptAtMs, 1);
});

test('a task run time travels as a label and reads back; no label means until killed', () => {
  const task = (labels: TaskInfo['labels']): TaskInfo => ({
    name: 't',
    task_id: taskId('t'),
    agent_id: agentId('a'),
    ...(labels !== undefined ? { labels } : {}),
  });
  assert.equal(simulatedDurationMs(task({ labels: durationLabel(1234.6) })), 1235);
  assert.equal(simulatedDurationMs(task({ labels: durationLabel(-5) })), 0);
  assert.equal(simulatedDurationMs(task(undefined)), undefined);
  assert.deepEqual(durationLabel(undefined), []);
  assert.equal(
    simulatedDurationMs(task({ labels: [{ key: SIM_DURATION_LABEL, value: 'soon' }] })),
    undefined,
  );
});
