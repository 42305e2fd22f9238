// An agent's SUBSCRIBE in any of its shapes (wire/agent-protocol.ts, AgentReport): per task, as
// agents of older Agora versions send it, each framework listed once, or compact (frameworks
// once and each distinct resources list once). A master that knows none of the frameworks (a
// new leader whose registry lost them, or a removed one) ends with the same books, the same
// task records and the same answers from each.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as agents from '../../src/master/core/agents.js';
import { legacyFramework, legacyTask } from '../../src/master/http/render.js';
import { Resources } from '../../src/resources/index.js';
import { parseJsonBody } from '../../src/runtime/index.js';
import {
  type AgentTask,
  type FrameworkInfo,
  parseAgentCall,
  reportedTasksOf,
  reportIn,
  type TaskState,
} from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

const web: FrameworkInfo = {
  user: 'u',
  name: 'web',
  id: { value: 'fw-web' } as never,
  failover_timeout: 600,
  roles: ['web'],
  capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }],
};
const batch: FrameworkInfo = { user: 'u', name: 'batch', id: { value: 'fw-batch' } as never };
/** An earlier info of batch's, which a task that ended under it still carries. */
const batchBefore: FrameworkInfo = { ...batch, name: 'batch (before its update)' };

function held(
  framework: FrameworkInfo,
  name: string,
  state: TaskState,
  role = '*',
  size = 'cpus:0.5;mem:64',
): AgentTask {
  return {
    framework_id: framework.id as never,
    framework_info: framework,
    task: {
      name,
      task_id: { value: name } as never,
      agent_id: { value: 'agent-1' } as never,
      resources: Resources.parse(size)
        .toWire('post-refinement')
        .map((r) => ({ ...r, allocation_info: { role } })),
      command: { value: 'sleep 100' },
    },
    state,
  };
}

// Interleaved frameworks, and batch's first task ended under an older FrameworkInfo: a master
// reading the per-task shape takes the info of a framework's first task still running.
const HELD: readonly AgentTask[] = [
  held(batchBefore, 'b-0', 'TASK_FINISHED'),
  held(web, 'w-0', 'TASK_RUNNING', 'web'),
  held(batch, 'b-1', 'TASK_RUNNING'),
  held(web, 'w-1', 'TASK_STAGING', 'web'),
  held(web, 'w-2', 'TASK_FAILED', 'web'),
];

/** A restarted master with the agent admitted and no framework known; then the SUBSCRIBE's bytes. */
function reregister(body: string): CoreBed {
  const bed = new CoreBed();
  bed.addAgent('cpus:4;mem:4096', { id: 'agent-1' });
  const call = parseAgentCall(parseJsonBody(Buffer.from(body)));
  assert.equal(call.type, 'SUBSCRIBE');
  if (call.type !== 'SUBSCRIBE') return bed;
  const id = agents.subscribe(bed.core, call.subscribe, 'agent-1', '127.0.0.1', 'stream-again');
  assert.equal(id?.value, 'agent-1');
  bed.advance(1_000);
  return bed;
}

function body(report: object): string {
  return JSON.stringify({
    type: 'SUBSCRIBE',
    agent_id: { value: 'agent-1' },
    subscribe: {
      agent_info: {
        hostname: 'host',
        port: 5051,
        resources: Resources.parse('cpus:4;mem:4096').toWire('post-refinement'),
        id: { value: 'agent-1' },
      },
      version: '1.11.0',
      ...report,
    },
  });
}

/** What the master shows and said: its frameworks and tasks as rendered, and every effect. */
function seen(bed: CoreBed): unknown {
  const books = bed.core.books;
  return {
    frameworks: [...books.frameworks.values()].map((f) => legacyFramework(books, f)),
    infos: [...books.frameworks.values()].map((f) => f.info),
    tasks: [...books.frameworks.values()].flatMap((f) => [...f.tasks.values()].map(legacyTask)),
    effects: bed.effects,
  };
}

test('an agent reporting each framework once leaves the master what the per-task report does', () => {
  // The per-task shape as written out by an agent of the previous version, byte for byte.
  const perTask = body({ tasks: HELD });
  assert.ok(perTask.includes('"tasks":[{"framework_id":{"value":"fw-batch"},"framework_info":'));
  const once = body(reportIn('frameworksOnce', HELD));
  assert.ok(once.length < perTask.length, `${once.length} bytes against ${perTask.length}`);
  const before = reregister(perTask);
  const after = reregister(once);
  assert.equal(before.core.books.frameworks.get('fw-batch')?.info.name, 'batch');
  assert.equal(before.core.books.frameworks.get('fw-web')?.tasks.size, 3);
  assert.deepEqual(seen(after), seen(before));
});

test('the frameworks-once report lists each framework once, with the info of its first running task', () => {
  const report = reportIn('frameworksOnce', HELD);
  assert.deepEqual(report.frameworks, [
    { framework_id: batch.id, framework_info: batch },
    { framework_id: web.id, framework_info: web },
  ]);
  assert.deepEqual(
    report.tasks?.map((t) => [t.framework_id.value, t.task.task_id.value, t.state]),
    HELD.map((t) => [t.framework_id.value, t.task.task_id.value, t.state]),
  );
  assert.ok(report.tasks?.every((t) => !('framework_info' in t)));
  assert.deepEqual(reportIn('perTask', HELD), { tasks: HELD });
});

test('the master says in SUBSCRIBED that it takes the frameworks-once report', () => {
  const bed = reregister(body(reportIn('frameworksOnce', HELD)));
  const subscribed = bed.commandsOn('stream-again').find((e) => e.type === 'SUBSCRIBED');
  assert.equal(
    subscribed?.type === 'SUBSCRIBED' && subscribed.subscribed.takes_frameworks_once,
    true,
  );
});

// Three resources lists (two roles, two sizes) taking turns, each list its own array as a
// parse makes them, and a task without resources.
const MIXED: readonly AgentTask[] = [
  ...HELD,
  held(web, 'w-3', 'TASK_RUNNING', 'web', 'cpus:1;mem:128'),
  held(batch, 'b-2', 'TASK_RUNNING'),
  held(web, 'w-4', 'TASK_RUNNING', 'web'),
  (() => {
    const { resources: _, ...task } = held(batch, 'b-3', 'TASK_RUNNING').task;
    return { ...held(batch, 'b-3', 'TASK_RUNNING'), task };
  })(),
];

test('an agent reporting compactly leaves the master what the other two reports do', () => {
  const perTask = body({ tasks: MIXED });
  const once = body(reportIn('frameworksOnce', MIXED));
  const compact = body(reportIn('compact', MIXED));
  assert.ok(compact.length < once.length, `${compact.length} bytes against ${once.length}`);
  assert.equal(JSON.parse(compact).subscribe.task_resources.length, 3);
  const before = reregister(perTask);
  assert.equal(before.core.books.frameworks.get('fw-batch')?.tasks.size, 3);
  assert.deepEqual(seen(reregister(once)), seen(before));
  assert.deepEqual(seen(reregister(compact)), seen(before));
});

test('the compact report gives back the tasks it was made of', () => {
  const report = reportIn('compact', MIXED);
  const once = reportIn('frameworksOnce', MIXED);
  assert.deepEqual(report.frameworks, once.frameworks);
  assert.deepEqual(
    report.task_resources,
    [MIXED[0], MIXED[1], MIXED[5]].map((t) => t?.task.resources),
  );
  assert.deepEqual(
    report.tasks?.map((t) => t.resources_index),
    [0, 1, 0, 1, 1, 2, 0, 1, undefined],
  );
  assert.ok(report.tasks?.every((t) => !('resources' in t.task) && !('agent_id' in t.task)));
  assert.deepEqual(reportedTasksOf(report, { value: 'agent-1' } as never), once.tasks);
  // The same checked through the wire, where the tasks naming one list share it.
  const call = parseAgentCall(parseJsonBody(Buffer.from(body(report))));
  assert.ok(call.type === 'SUBSCRIBE');
  const tasks = reportedTasksOf(call.subscribe, { value: 'agent-1' } as never);
  assert.deepEqual(JSON.parse(JSON.stringify(tasks)), JSON.parse(JSON.stringify(once.tasks)));
  assert.equal(tasks[0]?.task.resources, tasks[2]?.task.resources);
});

test('the master says in SUBSCRIBED that it takes the compact report', () => {
  const bed = reregister(body(reportIn('compact', HELD)));
  const subscribed = bed.commandsOn('stream-again').find((e) => e.type === 'SUBSCRIBED');
  assert.equal(
    subscribed?.type === 'SUBSCRIBED' && subscribed.subscribed.takes_compact_report,
    true,
  );
});

test('a compact task gives back every field of its TaskInfo', () => {
  const [first] = HELD;
  const task = {
    ...first?.task,
    executor: { executor_id: { value: 'e' }, command: { value: 'run' } },
    container: { type: 'MESOS' },
    limits: { cpus: { value: 2 } },
    kill_policy: { grace_period: { nanoseconds: 1000 } },
    health_check: { type: 'COMMAND', command: { value: 'true' } },
    check: { type: 'COMMAND', command: { command: { value: 'true' } } },
    data: 'AAAA',
    labels: { labels: [{ key: 'k', value: 'v' }] },
  } as never;
  const held = [{ ...(first as AgentTask), task }];
  const report = reportIn('compact', held);
  assert.deepEqual(reportedTasksOf(report, { value: 'agent-1' } as never), [
    { framework_id: first?.framework_id, task, state: first?.state },
  ]);
});
