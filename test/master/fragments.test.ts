// The large replies keep each task's and agent's rendering until it changes
// (src/master/http/fragments.ts) and the books keep each agent's and framework's
// sums: after every kind of change the master makes, the kept renderings must give
// the very bytes a render from scratch gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as admin from '../../src/master/core/agent-admin.js';
import * as agents from '../../src/master/core/agents.js';
import type { ReadonlyBooks } from '../../src/master/core/books.js';
import { executorExited } from '../../src/master/core/executors.js';
import * as frameworks from '../../src/master/core/frameworks.js';
import { executorKey } from '../../src/master/core/records.js';
import * as tasks from '../../src/master/core/tasks.js';
import { type ListMaker, legacyState, streamedList } from '../../src/master/http/render.js';
import { v1State } from '../../src/master/http/render-v1.js';
import { Resources } from '../../src/resources/index.js';
import { jsonText } from '../../src/runtime/index.js';
import {
  agentId,
  executorId,
  loadProtoCodec,
  newStatusUuid,
  PROTO_MESSAGES,
  type TaskStatus,
  taskId,
} from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';
import { freshBooks, freshList } from './fresh-render.js';

const view = { id: 'm', pid: 'master@127.0.0.1:5050', hostname: 'h', startTimeSec: 0, flags: {} };

const codec = await loadProtoCodec();

function protoBytes(books: ReadonlyBooks, list: ListMaker): Buffer {
  const pieces = codec.encodePieces(PROTO_MESSAGES.masterResponse, {
    type: 'GET_STATE',
    get_state: v1State(books, list),
  });
  return Buffer.concat([...pieces]);
}

/** Equal texts; else where they part, not two whole documents. */
function assertSameText(kept: string, fresh: string, what: string): void {
  if (kept === fresh) return;
  let at = 0;
  while (kept[at] === fresh[at]) at++;
  const around = (text: string) => text.slice(Math.max(0, at - 120), at + 120);
  assert.equal(around(kept), around(fresh), `${what}: kept and fresh part at ${at}`);
}

/** Renders kept and afresh, twice (the second reads what the first kept), and compares. */
function assertKeptIsFresh(bed: CoreBed, step: string): void {
  const books = bed.core.books;
  const fresh = freshBooks(books);
  for (let round = 0; round < 2; round++) {
    assertSameText(
      jsonText(legacyState(books, view, streamedList)),
      jsonText(legacyState(fresh, view, freshList)),
      `/master/state after ${step}, round ${round}`,
    );
    assertSameText(
      jsonText(v1State(books, streamedList)),
      jsonText(v1State(fresh, freshList)),
      `GET_STATE (JSON) after ${step}, round ${round}`,
    );
    assert.ok(
      protoBytes(books, streamedList).equals(protoBytes(fresh, freshList)),
      `GET_STATE (protobuf) after ${step}, round ${round}`,
    );
  }
}

test('kept renderings of /master/state and GET_STATE match fresh ones after every kind of change', () => {
  const bed = new CoreBed();
  const step = (what: string, change: () => void) => {
    change();
    bed.drain();
    assertKeptIsFresh(bed, what);
  };
  const a1 = bed.addAgent('cpus:4;mem:4096', { hostname: 'a1' });
  const a2 = bed.addAgent('cpus:4;mem:4096', { hostname: 'a2' });
  const a3 = bed.addAgent('cpus:4;mem:4096', { hostname: 'a3' });
  const aware = bed.subscribe({ name: 'aware', capabilities: [{ type: 'PARTITION_AWARE' }] });
  const plain = bed.subscribe({ name: 'plain' });
  assertKeptIsFresh(bed, 'agents and frameworks added');
  step('offers made', () => bed.advance(1000));

  const on: Record<string, string> = {};
  step('launches', () => {
    on.t1 = bed.launch(aware, 't1');
    on.t2 = bed.launch(aware, 't2');
    bed.advance(1000);
    on.t3 = bed.launch(plain, 't3');
    on.t4 = bed.launch(plain, 't4');
  });
  const reports: Record<string, TaskStatus> = {};
  const report = (fw: typeof aware, id: string, state: Parameters<CoreBed['report']>[3]) => {
    reports[id] = bed.report(on[id] ?? '', fw.id, id, state);
  };
  step('TASK_STARTING', () => {
    report(aware, 't1', 'TASK_STARTING');
    report(plain, 't3', 'TASK_STARTING');
  });
  step('TASK_RUNNING', () => {
    for (const [fw, id] of [
      [aware, 't1'],
      [aware, 't2'],
      [plain, 't3'],
      [plain, 't4'],
    ] as const)
      report(fw, id, 'TASK_RUNNING');
  });
  step('acknowledgements', () => {
    for (const [fw, id] of [
      [aware, 't1'],
      [aware, 't2'],
      [plain, 't3'],
    ] as const)
      bed.acknowledge(on[id] ?? '', fw.id, reports[id] as TaskStatus);
  });
  step('a repeated TASK_RUNNING, replacing the status before it', () => {
    const status: TaskStatus = {
      task_id: taskId('t1'),
      state: 'TASK_RUNNING',
      source: 'SOURCE_EXECUTOR',
      uuid: newStatusUuid(),
      healthy: false,
    };
    tasks.statusUpdate(bed.core, bed.agent(on.t1 ?? ''), aware.id.value, status);
  });
  step('a task finished', () => report(plain, 't3', 'TASK_FINISHED'));
  step('its terminal update acknowledged (to the completed list)', () =>
    bed.acknowledge(on.t3 ?? '', plain.id, reports.t3 as TaskStatus),
  );
  step('an executor started', () => {
    const agent = bed.agent(a2.id);
    agent.executors.set(executorKey(aware.id.value, 'e1'), {
      executorId: executorId('e1'),
      frameworkId: aware.id,
      agentId: agentId(a2.id),
      info: { executor_id: executorId('e1'), command: { value: './e' } },
      role: '*',
      resources: Resources.parse('cpus:0.1;mem:32'),
    });
  });
  step('the executor exited', () =>
    executorExited(bed.core, bed.agent(a2.id), aware.id.value, 'e1', 0),
  );
  step('more offers', () => bed.advance(1000));
  step('an agent deactivated', () => admin.deactivate(bed.core, a3.id));
  step('an agent reactivated', () => admin.reactivate(bed.core, a3.id));
  step('an agent drained', () => admin.drain(bed.core, a3.id, undefined, false));
  step("the drained agent's task killed and acknowledged", () => {
    report(plain, 't4', 'TASK_KILLED');
    bed.acknowledge(on.t4 ?? '', plain.id, reports.t4 as TaskStatus);
  });
  step('an agent re-registered with new resources', () => {
    const framework = bed.framework(aware.id);
    const t2 = framework.tasks.get('t2');
    assert.ok(t2 !== undefined);
    bed.addAgent('cpus:8;mem:8192', {
      id: a2.id,
      hostname: 'a2-again',
      tasks: [
        {
          framework_id: aware.id,
          framework_info: framework.info,
          task: {
            ...t2.info,
            task_id: t2.taskId,
            agent_id: t2.agentId,
            resources: t2.resources.toWire('post-refinement'),
          },
          state: 'TASK_RUNNING',
        },
      ],
    });
  });
  step('an agent disconnected', () => {
    const link = bed.agent(a1.id).link;
    assert.equal(link.state, 'connected');
    agents.disconnected(bed.core, a1.id, link.state === 'connected' ? link.streamId : '');
  });
  step('the agent unreachable (its tasks lost or unreachable)', () =>
    agents.unreachable(bed.core, bed.agent(a1.id), 'test'),
  );
  step('an agent marked gone', () => admin.markGone(bed.core, a3.id));
  step('a framework torn down', () =>
    frameworks.remove(bed.core, bed.framework(plain.id), 'teardown'),
  );
  step('the other framework torn down', () =>
    frameworks.remove(bed.core, bed.framework(aware.id), 'teardown'),
  );
});
