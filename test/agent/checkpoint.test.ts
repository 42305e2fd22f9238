import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Checkpoint, type RunAddress, writeFileAtomic } from '../../src/agent/checkpoint.js';
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../../src/wire/index.js';
import { agentId, frameworkId, newStatusUuid, taskId } from '../../src/wire/index.js';

function workDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'agora-checkpoint-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const FRAMEWORK: FrameworkInfo = { user: 'u', name: 'f', id: frameworkId('fw-1') };

function address(task: string, container = `c-${task}`): RunAddress {
  return {
    agentIdValue: 'a-S0',
    frameworkIdValue: 'fw-1',
    executorIdValue: task,
    containerIdValue: container,
    taskIdValue: task,
  };
}

function taskInfo(task: string): TaskInfo {
  return {
    name: task,
    task_id: taskId(task),
    agent_id: agentId('a-S0'),
    command: { value: 'sleep 1' },
  };
}

test('checkpoint keeps a run in Mesos meta layout and reads it back', (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const run = address('t1');
  checkpoint.launched(run, FRAMEWORK, taskInfo('t1'));
  const runDir = join(dir, 'meta/slaves/a-S0/frameworks/fw-1/executors/t1/runs/c-t1');
  assert.equal(checkpoint.runDir(run), runDir);
  // The run's directory is its container's runtime directory: the containerizer's records
  // of the task's process are the run's.
  // task.pid: the PID the shim wrote, then the start time the containerizer appended.
  writeFileSync(join(runDir, 'task.pid'), '4242\n123456\n');
  // One file per task: the TaskInfo opens task.updates (no task.info of its own).
  assert.ok(existsSync(join(runDir, 'tasks/t1/task.updates')));
  assert.ok(!existsSync(join(runDir, 'tasks/t1/task.info')));
  assert.ok(existsSync(join(dir, 'meta/slaves/a-S0/frameworks/fw-1/framework.info')));
  const [read, ...rest] = checkpoint.runs();
  assert.deepEqual(rest, []);
  assert.deepEqual(read, {
    address: run,
    frameworkId: frameworkId('fw-1'),
    frameworkInfo: FRAMEWORK,
    task: taskInfo('t1'),
    pid: 4242,
    startTime: '123456',
    updates: [],
    acknowledged: new Set(),
    terminal: undefined,
    kill: undefined,
    unreadable: [],
  });
});

test('checkpoint reads the task process an older agent recorded in pids/forked.*', (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const run = address('t1');
  checkpoint.launched(run, FRAMEWORK, taskInfo('t1'));
  const pids = join(checkpoint.runDir(run), 'pids');
  mkdirSync(pids);
  writeFileSync(join(pids, 'forked.pid'), '77\n');
  writeFileSync(join(pids, 'forked.start_time'), '991\n');
  const [read] = checkpoint.runs();
  assert.equal(read?.pid, 77);
  assert.equal(read?.startTime, '991');
});

test('checkpoint reads the start time an older agent wrote to task.start_time', (t) => {
  const checkpoint = new Checkpoint(workDir(t));
  const run = address('t1');
  checkpoint.launched(run, FRAMEWORK, taskInfo('t1'));
  writeFileSync(join(checkpoint.runDir(run), 'task.pid'), '88\n');
  writeFileSync(join(checkpoint.runDir(run), 'task.start_time'), '992');
  const [read] = checkpoint.runs();
  assert.equal(read?.pid, 88);
  assert.equal(read?.startTime, '992');
});

test('checkpoint writes framework.info once per framework, and again when it changes', (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const path = join(dir, 'meta/slaves/a-S0/frameworks/fw-1/framework.info');
  checkpoint.launched(address('t1'), FRAMEWORK, taskInfo('t1'));
  const first = statSync(path).ino;
  checkpoint.launched(address('t2'), FRAMEWORK, taskInfo('t2'));
  assert.equal(statSync(path).ino, first, 'the same framework: not written again');
  checkpoint.launched(address('t3'), { ...FRAMEWORK, name: 'renamed' }, taskInfo('t3'));
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).name, 'renamed');
});

test('checkpoint keeps the terminal update and reads it back as it was', (t) => {
  const checkpoint = new Checkpoint(workDir(t));
  const run = address('t1');
  checkpoint.launched(run, FRAMEWORK, taskInfo('t1'));
  const status: TaskStatus = {
    task_id: taskId('t1'),
    state: 'TASK_FINISHED',
    source: 'SOURCE_EXECUTOR',
    message: 'Command exited with status 0',
    agent_id: agentId('a-S0'),
    timestamp: 1.5,
    uuid: newStatusUuid(),
  };
  checkpoint.terminated(run, frameworkId('fw-1'), status);
  assert.deepEqual(checkpoint.runs()[0]?.terminal, status);
});

test('checkpoint keeps every update and acknowledgement, and skips a torn last line', (t) => {
  const checkpoint = new Checkpoint(workDir(t));
  const run = address('t1');
  checkpoint.launched(run, FRAMEWORK, taskInfo('t1'));
  const status = (state: TaskStatus['state']): TaskStatus => ({
    task_id: taskId('t1'),
    state,
    source: 'SOURCE_EXECUTOR',
    agent_id: agentId('a-S0'),
    uuid: newStatusUuid(),
  });
  const [starting, running, finished] = [
    status('TASK_STARTING'),
    status('TASK_RUNNING'),
    status('TASK_FINISHED'),
  ];
  checkpoint.updated(run, frameworkId('fw-1'), starting);
  checkpoint.acknowledged(run, starting.uuid ?? '');
  checkpoint.updated(run, frameworkId('fw-1'), running);
  checkpoint.updated(run, frameworkId('fw-1'), finished);
  const [read] = checkpoint.runs();
  assert.deepEqual(read?.updates, [starting, running, finished]);
  assert.deepEqual([...(read?.acknowledged ?? [])], [starting.uuid]);
  assert.deepEqual(read?.terminal, finished);
  // A crash mid-append leaves half a line: the rest still reads.
  const path = join(checkpoint.runDir(run), 'tasks', 't1', 'task.updates');
  appendFileSync(path, '{"type":"ACK","uu');
  const [again] = checkpoint.runs();
  assert.equal(again?.updates.length, 3);
  assert.equal(again?.unreadable.length, 1);
});

test('checkpoint remove drops the run, and the framework once it has no run left', (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const frameworkDir = join(dir, 'meta/slaves/a-S0/frameworks/fw-1');
  checkpoint.launched(address('t1'), FRAMEWORK, taskInfo('t1'));
  checkpoint.launched(address('t2'), FRAMEWORK, taskInfo('t2'));
  checkpoint.remove(address('t1'));
  assert.deepEqual(
    checkpoint.runs().map((r) => r.address.taskIdValue),
    ['t2'],
  );
  assert.deepEqual(readdirSync(join(frameworkDir, 'executors')), ['t2']);
  checkpoint.remove(address('t2'));
  assert.deepEqual(checkpoint.runs(), []);
  assert.equal(existsSync(frameworkDir), false);
  checkpoint.remove(address('t2')); // twice is fine
});

test('checkpoint removal in the background drops the run, then its emptied framework', async (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const frameworkDir = join(dir, 'meta/slaves/a-S0/frameworks/fw-1');
  checkpoint.launched(address('t1'), FRAMEWORK, taskInfo('t1'));
  checkpoint.launched(address('t2'), FRAMEWORK, taskInfo('t2'));
  const first = checkpoint.removeInBackground(address('t1'));
  // A run launched while another is being removed is left alone.
  checkpoint.launched(address('t3'), FRAMEWORK, taskInfo('t3'));
  await first;
  assert.deepEqual(readdirSync(join(frameworkDir, 'executors')).sort(), ['t2', 't3']);
  void checkpoint.removeInBackground(address('t2'));
  void checkpoint.removeInBackground(address('t3'));
  await checkpoint.settled();
  assert.deepEqual(checkpoint.runs(), []);
  assert.equal(existsSync(frameworkDir), false);
});

test('checkpoint: a run is gone whole the moment its removal starts, never half gone', async (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const run = address('t1');
  checkpoint.launched(run, FRAMEWORK, taskInfo('t1'));
  const finished: TaskStatus = {
    task_id: taskId('t1'),
    state: 'TASK_FINISHED',
    source: 'SOURCE_EXECUTOR',
    agent_id: agentId('a-S0'),
    uuid: newStatusUuid(),
  };
  checkpoint.terminated(run, frameworkId('fw-1'), finished);
  checkpoint.acknowledged(run, finished.uuid ?? '');
  // The acknowledged end reads back as the run's end (recovery retires such a run).
  assert.deepEqual(checkpoint.runs()[0]?.terminal, finished);
  const removal = checkpoint.removeInBackground(run);
  // Before the thread pool has deleted a file, an agent killed now finds no run at all.
  assert.deepEqual(checkpoint.runs(), []);
  await removal;
  await checkpoint.settled();
  assert.deepEqual(readdirSync(join(dir, 'meta', 'trash')), []);
});

test('checkpoint reuses a retired run’s directory for the next launch, records and all fresh', async (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const first = address('t1');
  checkpoint.launched(first, FRAMEWORK, taskInfo('t1'));
  const firstDir = checkpoint.runDir(first);
  writeFileSync(join(firstDir, 'task.pid'), '4242\n123456\n');
  writeFileSync(join(firstDir, 'exit_status'), '0\n');
  const finished: TaskStatus = {
    task_id: taskId('t1'),
    state: 'TASK_FINISHED',
    source: 'SOURCE_EXECUTOR',
    agent_id: agentId('a-S0'),
    uuid: newStatusUuid(),
  };
  checkpoint.terminated(first, frameworkId('fw-1'), finished);
  const updates = statSync(join(firstDir, 'tasks/t1/task.updates')).ino;
  await checkpoint.removeInBackground(first);
  assert.equal(readdirSync(join(dir, 'meta', 'trash')).length, 1, 'kept as a spare');
  const second = address('t2');
  checkpoint.launched(second, FRAMEWORK, taskInfo('t2'));
  const secondDir = checkpoint.runDir(second);
  assert.equal(statSync(join(secondDir, 'tasks/t2/task.updates')).ino, updates, 'the same file');
  assert.deepEqual(readdirSync(secondDir), ['tasks'], 'no runtime record of the first run');
  assert.deepEqual(readdirSync(join(secondDir, 'tasks')), ['t2']);
  const [read, ...rest] = checkpoint.runs();
  assert.deepEqual(rest, []);
  assert.deepEqual(read?.task, taskInfo('t2'));
  assert.deepEqual(read?.updates, [], 'only the new task’s records');
  assert.equal(read?.pid, undefined);
  assert.deepEqual(readdirSync(join(dir, 'meta', 'trash')), []);
});

test('checkpoint places a spare run into an executor that is there already, its task alone', async (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const alone = address('t1');
  checkpoint.launched(alone, FRAMEWORK, taskInfo('t1'));
  const first = { ...address('x1', 'c-x1'), executorIdValue: 'ex' };
  checkpoint.launched(first, FRAMEWORK, taskInfo('x1'));
  await checkpoint.removeInBackground(alone);
  // The spare is t1's whole executor directory; executor ex is there already.
  const second = { ...address('x2', 'c-x2'), executorIdValue: 'ex' };
  checkpoint.launched(second, FRAMEWORK, taskInfo('x2'));
  const read = checkpoint.runs();
  assert.deepEqual(
    read.map((run) => [
      run.address.executorIdValue,
      run.address.containerIdValue,
      run.task?.task_id.value,
    ]),
    [
      ['ex', 'c-x1', 'x1'],
      ['ex', 'c-x2', 'x2'],
    ],
  );
  assert.deepEqual(read[1]?.updates, []);
  await checkpoint.settled();
  assert.deepEqual(readdirSync(join(dir, 'meta', 'trash')), []);
});

test('checkpoint: what a killed agent left in the trash is deleted by the next', async (t) => {
  const dir = workDir(t);
  const left = join(dir, 'meta', 'trash', 'some-run', 'tasks', 't1');
  mkdirSync(left, { recursive: true });
  writeFileSync(join(left, 'task.updates'), '{}\n');
  const checkpoint = new Checkpoint(dir);
  checkpoint.sweepTrash();
  await checkpoint.settled();
  assert.deepEqual(readdirSync(join(dir, 'meta', 'trash')), []);
  assert.deepEqual(checkpoint.runs(), []);
});

test('checkpoint removals in the background never take a run launched meanwhile', async (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  // Task ids reused at once (one executor directory), and the framework emptied and
  // filled again, while earlier runs are still being removed in the thread pool.
  const live = new Set<string>();
  for (let round = 0; round < 200; round++) {
    const run = address(`t${round % 3}`, `c${round}`);
    checkpoint.launched(run, FRAMEWORK, taskInfo(run.taskIdValue));
    live.add(run.containerIdValue);
    const previous = round > 0 ? address(`t${(round - 1) % 3}`, `c${round - 1}`) : undefined;
    if (previous !== undefined) {
      void checkpoint.removeInBackground(previous);
      live.delete(previous.containerIdValue);
    }
    if (round % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await checkpoint.settled();
  assert.deepEqual(
    checkpoint.runs().map((r) => r.address.containerIdValue),
    [...live],
  );
  assert.deepEqual(checkpoint.runs()[0]?.unreadable, []);
});

test('checkpoint reads what it can of a run whose records are damaged or missing', (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const run = address('t1');
  checkpoint.launched(run, FRAMEWORK, taskInfo('t1'));
  const taskDir = join(dir, 'meta/slaves/a-S0/frameworks/fw-1/executors/t1/runs/c-t1/tasks/t1');
  writeFileSync(join(taskDir, 'task.updates'), '{"type":"TASK","task":{"name": "t1", "task_id": ');
  const [read] = checkpoint.runs();
  assert.equal(read?.task, undefined);
  assert.equal(read?.pid, undefined, 'never forked');
  assert.deepEqual(read?.frameworkInfo, FRAMEWORK);
  assert.equal(read?.unreadable.length, 1);
  assert.match(read?.unreadable[0] ?? '', /task\.updates line 1/);
});

test('checkpoint reads the task.info of an agent from before the TaskInfo moved into task.updates', (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  const run = address('t1');
  const taskDir = join(dir, 'meta/slaves/a-S0/frameworks/fw-1/executors/t1/runs/c-t1/tasks/t1');
  mkdirSync(taskDir, { recursive: true });
  writeFileSync(join(taskDir, 'task.info'), JSON.stringify(taskInfo('t1')));
  writeFileSync(
    join(dir, 'meta/slaves/a-S0/frameworks/fw-1/framework.info'),
    JSON.stringify(FRAMEWORK),
  );
  checkpoint.updated(run, frameworkId('fw-1'), {
    task_id: taskId('t1'),
    state: 'TASK_RUNNING',
    source: 'SOURCE_EXECUTOR',
    agent_id: agentId('a-S0'),
    uuid: newStatusUuid(),
  });
  const [read] = checkpoint.runs();
  assert.deepEqual(read?.task, taskInfo('t1'));
  assert.deepEqual(
    read?.updates.map((u) => u.state),
    ['TASK_RUNNING'],
  );
  assert.deepEqual(read?.unreadable, []);
});

test('an interrupted atomic write leaves the previous file whole', (t) => {
  const dir = workDir(t);
  const path = join(dir, 'meta', 'boot_id');
  writeFileAtomic(path, 'old\n');
  // What a crash between write and rename leaves: a temporary beside the file.
  writeFileSync(`${path}.tmp`, 'ne');
  assert.equal(new Checkpoint(dir).readBootId(), 'old');
  writeFileAtomic(path, 'new\n');
  assert.equal(new Checkpoint(dir).readBootId(), 'new');
  assert.deepEqual(readdirSync(join(dir, 'meta')), ['boot_id'], 'no temporary left');
});

test('checkpoint of a work dir with no meta has no runs', (t) => {
  assert.deepEqual(new Checkpoint(workDir(t)).runs(), []);
});

test('checkpoint launches into run directories made ahead, and deletes those left when it stops', async (t) => {
  const dir = workDir(t);
  const checkpoint = new Checkpoint(dir);
  await checkpoint.prepareSpareRuns();
  const trash = join(dir, 'meta', 'trash');
  const made = readdirSync(trash).length;
  assert.ok(made > 1, `several made ahead (${made})`);
  const run = address('t1');
  const framework = join(dir, 'meta/slaves/a-S0/frameworks/fw-1');
  mkdirSync(join(framework, 'executors'), { recursive: true });
  checkpoint.launched(run, FRAMEWORK, taskInfo('t1'));
  assert.equal(readdirSync(trash).length, made - 1, 'the launch took one');
  const runDir = checkpoint.runDir(run);
  assert.deepEqual(readdirSync(runDir), ['tasks']);
  assert.deepEqual(readdirSync(join(runDir, 'tasks')), ['t1']);
  const [read, ...rest] = checkpoint.runs();
  assert.deepEqual(rest, []);
  assert.deepEqual(read?.task, taskInfo('t1'));
  assert.deepEqual(read?.updates, []);
  await checkpoint.settled();
  assert.deepEqual(readdirSync(trash), [], 'the spares left are deleted when the agent stops');
  assert.deepEqual(checkpoint.runs().length, 1, 'the run stays');
});
