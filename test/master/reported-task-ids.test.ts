// The tasks a (re-)registering agent reports, as the books take them: a task id given twice
// for one framework refuses the whole report, short or long (the check compares the tasks of
// a short report pairwise and keeps sets of ids for a long one); one id under two frameworks
// is two tasks; a task the books hold on another agent is counted but not taken from it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as agents from '../../src/master/core/agents.js';
import { Resources } from '../../src/resources/index.js';
import { type AgentTask, type FrameworkID, taskId } from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

function reportedTask(bed: CoreBed, fw: FrameworkID, id: string): AgentTask {
  return {
    framework_id: fw,
    framework_info: bed.framework(fw).info,
    task: {
      name: id,
      task_id: taskId(id),
      agent_id: { value: 'a' } as never,
      resources: Resources.parse('cpus:0.01;mem:1').toWire('post-refinement'),
      command: { value: 'true' },
    },
    state: 'TASK_RUNNING',
  };
}

function subscribeWith(bed: CoreBed, agentId: string, tasks: readonly AgentTask[]) {
  const streamId = bed.newStreamId();
  const id = agents.subscribe(
    bed.core,
    {
      agent_info: {
        hostname: agentId,
        resources: Resources.parse('cpus:8;mem:4096').toWire('post-refinement'),
      },
      version: '1',
      tasks: [...tasks],
    },
    agentId,
    '127.0.0.1',
    streamId,
  );
  return { id: id?.value, commands: bed.commandsOn(streamId) };
}

/** Two frameworks' tasks, `count` in all, alternating between the frameworks in runs of 3. */
function interleaved(bed: CoreBed, fws: readonly FrameworkID[], count: number): AgentTask[] {
  return Array.from({ length: count }, (_, i) =>
    reportedTask(bed, fws[Math.floor(i / 3) % fws.length] as FrameworkID, `t${i}`),
  );
}

for (const count of [3, 10, 32, 33, 80]) {
  test(`a report of ${count} tasks with one task id twice for a framework is refused whole, wherever the two are`, () => {
    const bed = new CoreBed();
    const fws = [bed.subscribe({ failover_timeout: 600 }).id, bed.subscribe().id];
    const places: [number, number][] = [
      [0, 1],
      [0, count - 1],
      [count - 2, count - 1],
      [1, Math.max(2, Math.floor(count / 2))],
    ];
    for (const [n, [first, second]] of places.entries()) {
      const tasks = interleaved(bed, fws, count);
      const original = tasks[first] as AgentTask;
      // The same framework and id at `second`, wherever the frameworks' runs put it.
      tasks[second] = reportedTask(bed, original.framework_id, original.task.task_id.value);
      const { id, commands } = subscribeWith(bed, `dup-${n}`, tasks);
      assert.equal(id, undefined, `${first} and ${second} of ${count}`);
      assert.deepEqual(commands[0], {
        type: 'ERROR',
        error: { message: `Task ${original.task.task_id.value} is reported twice` },
      });
      assert.equal(bed.core.books.agents.has(`dup-${n}`), false);
      for (const fw of fws) assert.equal(bed.framework(fw).tasks.size, 0);
    }
  });

  test(`a report of ${count} tasks giving one id to two frameworks is taken as two tasks`, () => {
    const bed = new CoreBed();
    const fws = [bed.subscribe({ failover_timeout: 600 }).id, bed.subscribe().id];
    const tasks = interleaved(bed, fws, count);
    // Task t0 of the first framework under the same id for the second, last in the report.
    tasks[count - 1] = reportedTask(bed, fws[1] as FrameworkID, 't0');
    const { id } = subscribeWith(bed, 'shared-ids', tasks);
    assert.equal(id, 'shared-ids');
    const agent = bed.agent('shared-ids');
    assert.equal(agent.tasks.size, count);
    for (const entry of tasks) {
      const record = bed.framework(entry.framework_id).tasks.get(entry.task.task_id.value);
      assert.ok(record !== undefined, `${entry.task.task_id.value} adopted`);
      assert.equal(record.agentId.value, 'shared-ids');
      assert.equal(record.frameworkId.value, entry.framework_id.value);
      assert.ok(agent.tasks.has(record));
    }
  });
}

test("a task the books hold on another agent is counted against the reporting agent's resources, but stays where it is", () => {
  const bed = new CoreBed();
  const fw = bed.subscribe({ failover_timeout: 600 }).id;
  const home = subscribeWith(bed, 'home', [
    reportedTask(bed, fw, 'moved'),
    reportedTask(bed, fw, 'home-only'),
  ]);
  assert.equal(home.id, 'home');
  const held = bed.framework(fw).tasks.get('moved');
  assert.ok(held !== undefined);
  const other = subscribeWith(bed, 'other', [
    reportedTask(bed, fw, 'moved'),
    reportedTask(bed, fw, 'other-only'),
  ]);
  assert.equal(other.id, 'other');
  assert.equal(bed.framework(fw).tasks.get('moved'), held, 'the record the books had');
  assert.equal(held.agentId.value, 'home');
  assert.deepEqual(
    [...bed.agent('other').tasks].map((task) => task.taskId.value),
    ['other-only'],
  );
  assert.deepEqual([...bed.agent('home').tasks].map((task) => task.taskId.value).sort(), [
    'home-only',
    'moved',
  ]);
  assert.equal(bed.framework(fw).tasks.size, 3);
});
