// An agent's SUBSCRIBE in either shape (wire/agent-protocol.ts, AgentReport): per task, as
// agents of the previous Agora version send it, or each framework listed once. A master that
// knows none of the frameworks (a new leader whose registry lost them, or a removed one) ends
// with the same books, the same task records and the same answers from either.
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

function held(framework: FrameworkInfo, name: string, state: TaskState, role = '*'): AgentTask {
  return {
    framework_id: framework.id as never,
    framework_info: framework,
    task: {
      name,
      task_id: { value: name } as never,
      agent_id: { value: 'agent-1' } as never,
      resources: Resources.parse('cpus:0.5;mem:64')
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
