// The master's core driven without a socket: a manual clock, the real
// allocator, and the outbox read back as what each stream would receive.

import { AssertionError } from 'node:assert';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept } from '../../src/master/core/accept.js';
import * as agents from '../../src/master/core/agents.js';
import * as frameworks from '../../src/master/core/frameworks.js';
import { checkTransition, FRAMEWORK_NEXT, OFFER_NEXT } from '../../src/master/core/lifecycle.js';
import { closeOffer } from '../../src/master/core/offers.js';
import * as tasks from '../../src/master/core/tasks.js';
import { v1Task } from '../../src/master/http/render-v1.js';
import { Resources } from '../../src/resources/index.js';
import { newStatusUuid, taskId } from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

/** Launches one 1-cpu task on the framework's first offer; returns its id value and agent. */
function launch(
  bed: CoreBed,
  fw: { id: ReturnType<CoreBed['subscribe']>['id']; streamId: string },
  id: string,
) {
  bed.advance(0);
  const offer = bed.offersOn(fw.streamId).at(-1);
  assert.ok(offer !== undefined, 'an offer');
  accept(bed.core, bed.framework(fw.id), {
    offer_ids: [offer.id],
    operations: [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            {
              name: id,
              task_id: taskId(id),
              agent_id: offer.agent_id,
              resources: Resources.parse('cpus:1;mem:128').toWire('pre-refinement'),
              command: { value: 'sleep 100' },
            },
          ],
        },
      },
    ],
  });
  bed.drain();
  return offer.agent_id.value;
}

function running(bed: CoreBed, agentId: string, frameworkId: string, id: string) {
  const agent = bed.core.books.agents.get(agentId);
  assert.ok(agent !== undefined);
  tasks.statusUpdate(bed.core, agent, frameworkId, {
    task_id: taskId(id),
    state: 'TASK_RUNNING',
    source: 'SOURCE_EXECUTOR',
    uuid: newStatusUuid(),
  });
  bed.drain();
}

test('core: an agent silent past its ping timeouts is unreachable; PARTITION_AWARE frameworks see TASK_UNREACHABLE, others TASK_LOST', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 3 });
  const agent = bed.addAgent('cpus:4;mem:4096');
  const aware = bed.subscribe({ name: 'aware', capabilities: [{ type: 'PARTITION_AWARE' }] });
  launch(bed, aware, 'a1');
  const legacy = bed.subscribe({ name: 'legacy' });
  launch(bed, legacy, 'l1');
  running(bed, agent.id, aware.id.value, 'a1');
  running(bed, agent.id, legacy.id.value, 'l1');

  agents.disconnected(bed.core, agent.id, agent.streamId);
  bed.advance(2999);
  assert.equal(bed.core.books.agents.get(agent.id)?.link.state, 'disconnected');
  assert.deepEqual(
    bed.updatesOn(aware.streamId).map((s) => s.state),
    ['TASK_RUNNING'],
    'nothing reported before the last ping timeout',
  );
  bed.advance(1);
  assert.equal(bed.core.books.agents.get(agent.id)?.link.state, 'unreachable');
  const [awareUpdate] = bed.updatesOn(aware.streamId).slice(-1);
  assert.equal(awareUpdate?.state, 'TASK_UNREACHABLE');
  assert.equal(awareUpdate?.reason, 'REASON_AGENT_REMOVED');
  assert.ok(awareUpdate?.unreachable_time !== undefined, 'carries unreachable_time');
  const [legacyUpdate] = bed.updatesOn(legacy.streamId).slice(-1);
  assert.equal(legacyUpdate?.state, 'TASK_LOST');
  assert.equal(legacyUpdate?.source, 'SOURCE_MASTER');
});

test('core: an unreachable agent that comes back brings its tasks back as it reports them', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1 });
  const agent = bed.addAgent();
  const aware = bed.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
  launch(bed, aware, 't');
  running(bed, agent.id, aware.id.value, 't');
  agents.disconnected(bed.core, agent.id, agent.streamId);
  bed.advance(1000);
  const framework = bed.framework(aware.id);
  const task = framework.tasks.get('t');
  assert.equal(task?.state, 'TASK_UNREACHABLE');
  assert.ok(task !== undefined);
  bed.addAgent('cpus:4;mem:4096', {
    id: agent.id,
    tasks: [
      {
        framework_id: aware.id,
        framework_info: framework.info,
        task: {
          ...task.info,
          task_id: task.taskId,
          agent_id: task.agentId,
          resources: task.resources.toWire('post-refinement'),
        },
        state: 'TASK_RUNNING',
      },
    ],
  });
  assert.equal(task.state, 'TASK_RUNNING');
  const [back] = bed.updatesOn(aware.streamId).slice(-1);
  assert.equal(back?.reason, 'REASON_AGENT_REREGISTERED');
});

test('core: a disconnected framework is removed when its failover timeout expires, its tasks killed', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe({ failover_timeout: 60 });
  launch(bed, fw, 't');
  running(bed, agent.id, fw.id.value, 't');
  frameworks.disconnected(bed.core, fw.id.value, fw.streamId);
  bed.advance(59_999);
  assert.equal(bed.framework(fw.id).link.state, 'disconnected');
  bed.advance(1);
  assert.equal(bed.core.books.frameworks.has(fw.id.value), false);
  const shutdown = bed.commandsOn(agent.streamId).filter((c) => c.type === 'SHUTDOWN_FRAMEWORK');
  assert.equal(shutdown.length, 1, 'the agent is told to kill the framework');
  const completed = bed.core.books.completedFrameworks.find((f) => f.id.value === fw.id.value);
  assert.equal(completed?.completedTasks[0]?.state, 'TASK_KILLED');
});

test('core: a framework resubscribing within its failover timeout keeps its tasks; the old stream is told why it ends', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe({ failover_timeout: 60 });
  launch(bed, fw, 't');
  running(bed, agent.id, fw.id.value, 't');
  const second = bed.newStreamId();
  frameworks.subscribe(
    bed.core,
    { framework_info: { ...bed.framework(fw.id).info } },
    second,
    undefined,
  );
  bed.drain();
  const old = bed.eventsOn(fw.streamId).at(-1);
  assert.deepEqual(old, { type: 'ERROR', error: { message: 'Framework failed over' } });
  assert.ok(bed.effects.some((e) => e.kind === 'closeStream' && e.streamId === fw.streamId));
  assert.equal(bed.eventsOn(second)[0]?.type, 'SUBSCRIBED');
  // The old stream's end is not a disconnection: it is no longer the framework's stream.
  frameworks.disconnected(bed.core, fw.id.value, fw.streamId);
  assert.equal(bed.framework(fw.id).link.state, 'connected');
  assert.equal(bed.framework(fw.id).tasks.get('t')?.state, 'TASK_RUNNING');
});

test('core: after a master restart, a framework known only from an agent is removed once its window passes', () => {
  const bed = new CoreBed({ frameworkReregisterTimeoutMs: 5_000 });
  bed.core.recoveredAtMs = bed.clock.now();
  const info = { user: 'u', name: 'gone', id: { value: 'fw-1' }, failover_timeout: 0 } as const;
  const task = {
    name: 't',
    task_id: taskId('t'),
    agent_id: { value: 'agent-1' },
    resources: Resources.parse('cpus:1;mem:128').toWire('post-refinement'),
    command: { value: 'sleep 100' },
  };
  bed.advance(2_000);
  const agent = bed.addAgent('cpus:4;mem:4096', {
    id: 'agent-1',
    tasks: [
      {
        framework_id: info.id as never,
        framework_info: info as never,
        task: task as never,
        state: 'TASK_RUNNING',
      },
    ],
  });
  assert.equal(bed.core.books.frameworks.get('fw-1')?.link.state, 'recovered');
  bed.advance(2_999);
  assert.ok(bed.core.books.frameworks.has('fw-1'), 'still within 5 s of the recovery');
  bed.advance(1);
  assert.equal(bed.core.books.frameworks.has('fw-1'), false, 'removed 5 s after the recovery');
  assert.ok(bed.commandsOn(agent.streamId).some((c) => c.type === 'SHUTDOWN_FRAMEWORK'));
});

test('core: offers expire after --offer_timeout and the framework hears RESCIND', () => {
  const bed = new CoreBed({ offerTimeoutMs: 30_000 });
  bed.addAgent();
  const fw = bed.subscribe();
  bed.advance(0);
  const [offer] = bed.offersOn(fw.streamId);
  assert.ok(offer !== undefined);
  bed.advance(29_999);
  assert.ok(bed.core.books.offers.has(offer.id.value));
  bed.advance(1);
  assert.equal(bed.core.books.offers.has(offer.id.value), false);
  assert.ok(
    bed
      .eventsOn(fw.streamId)
      .some((e) => e.type === 'RESCIND' && e.rescind.offer_id.value === offer.id.value),
  );
});

test('core: an offer ends exactly once; ending it twice is a bug the core refuses loudly', () => {
  const bed = new CoreBed();
  bed.addAgent();
  const fw = bed.subscribe();
  bed.advance(0);
  const [offer] = bed.offersOn(fw.streamId);
  const record = offer === undefined ? undefined : bed.core.books.offers.get(offer.id.value);
  assert.ok(record !== undefined);
  closeOffer(bed.core, record, 'declined', 5000);
  assert.throws(() => closeOffer(bed.core, record, 'rescinded'), AssertionError);
  assert.throws(() => checkTransition(OFFER_NEXT, 'offer', 'accepted', 'declined'), AssertionError);
  assert.throws(
    () => checkTransition(FRAMEWORK_NEXT, 'framework', 'removed', 'connected'),
    AssertionError,
  );
});

test('core: freed resources are offered again within the batch window, not the next interval', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:1;mem:128');
  const fw = bed.subscribe();
  launch(bed, fw, 't');
  const before = bed.offersOn(fw.streamId).length;
  const node = bed.core.books.agents.get(agent.id);
  assert.ok(node !== undefined);
  tasks.statusUpdate(bed.core, node, fw.id.value, {
    task_id: taskId('t'),
    state: 'TASK_FINISHED',
    source: 'SOURCE_EXECUTOR',
    uuid: newStatusUuid(),
  });
  bed.advance(5);
  assert.equal(bed.offersOn(fw.streamId).length, before + 1, 'offered again 5 ms after the finish');
});

test('core: reconciling tasks it does not know answers as WIRE §4.4 says', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
  tasks.reconcile(bed.core, bed.framework(fw.id), {
    tasks: [
      { task_id: taskId('x'), agent_id: { value: agent.id } as never },
      { task_id: taskId('y') },
    ],
  });
  const replies = bed.updatesOn(fw.streamId);
  assert.deepEqual(
    replies.map((s) => [s.task_id.value, s.state, s.reason]),
    [
      ['x', 'TASK_GONE', 'REASON_RECONCILIATION'],
      ['y', 'TASK_UNKNOWN', 'REASON_RECONCILIATION'],
    ],
  );
});

test('core: a task that ended while the master was down reaches its framework when the agent resends it', () => {
  const bed = new CoreBed();
  const fw = bed.subscribe({ failover_timeout: 600 });
  const framework = bed.framework(fw.id);
  const task = {
    name: 'done',
    task_id: taskId('done'),
    agent_id: { value: 'agent-1' } as never,
    resources: Resources.parse('cpus:1;mem:128').toWire('post-refinement'),
    command: { value: 'true' },
  };
  const agent = bed.addAgent('cpus:4;mem:4096', {
    id: 'agent-1',
    tasks: [{ framework_id: fw.id, framework_info: framework.info, task, state: 'TASK_FINISHED' }],
  });
  assert.equal(framework.tasks.get('done')?.state, 'TASK_FINISHED', 'adopted, though terminal');
  const node = bed.core.books.agents.get(agent.id);
  assert.ok(node !== undefined);
  const uuid = newStatusUuid();
  tasks.statusUpdate(bed.core, node, fw.id.value, {
    task_id: taskId('done'),
    state: 'TASK_FINISHED',
    source: 'SOURCE_EXECUTOR',
    uuid,
  });
  const [update] = bed.updatesOn(fw.streamId).slice(-1);
  assert.equal(update?.state, 'TASK_FINISHED');
  assert.equal(update?.uuid, uuid, 'the agent’s update, to be acknowledged by the framework');
  tasks.acknowledge(bed.core, framework, agent.id, 'done', uuid);
  assert.equal(framework.tasks.has('done'), false, 'retired once acknowledged');
  assert.ok(bed.commandsOn(agent.streamId).some((c) => c.type === 'ACKNOWLEDGE'));
});

test('core: an agent reporting tasks beyond its resources is refused before anything changes', () => {
  const bed = new CoreBed();
  const fw = bed.subscribe({ failover_timeout: 600 });
  const framework = bed.framework(fw.id);
  const task = (id: string, cpus: number) => ({
    framework_id: fw.id,
    framework_info: framework.info,
    task: {
      name: id,
      task_id: taskId(id),
      agent_id: { value: 'a' } as never,
      resources: Resources.parse(`cpus:${cpus};mem:32`).toWire('post-refinement'),
      command: { value: 'true' },
    },
    state: 'TASK_RUNNING' as const,
  });
  const streamId = bed.newStreamId();
  const refused = agents.subscribe(
    bed.core,
    {
      agent_info: {
        hostname: 'h',
        resources: Resources.parse('cpus:1;mem:128').toWire('post-refinement'),
      },
      version: '1',
      tasks: [task('t1', 1), task('t2', 1)],
    },
    'greedy',
    '127.0.0.1',
    streamId,
  );
  assert.equal(refused, undefined);
  assert.equal(bed.core.books.agents.has('greedy'), false);
  assert.equal(framework.tasks.size, 0);
  const [error] = bed.commandsOn(streamId);
  assert.equal(error?.type, 'ERROR');
  // The same tasks twice are refused too.
  const twice = agents.subscribe(
    bed.core,
    {
      agent_info: {
        hostname: 'h',
        resources: Resources.parse('cpus:4;mem:1024').toWire('post-refinement'),
      },
      version: '1',
      tasks: [task('t1', 1), task('t1', 1)],
    },
    'twice',
    '127.0.0.1',
    bed.newStreamId(),
  );
  assert.equal(twice, undefined);
  // The master goes on: a well-formed agent still registers.
  assert.ok(bed.addAgent('cpus:4;mem:4096').id !== undefined);
});

test('core: repeated RUNNING updates (health checks) replace the last status, as Mesos keeps them', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe();
  launch(bed, fw, 'h');
  for (let i = 0; i < 50; i++) running(bed, agent.id, fw.id.value, 'h');
  const task = bed.framework(fw.id).tasks.get('h');
  assert.deepEqual(
    task?.statuses.map((s) => s.state),
    ['TASK_RUNNING'],
  );
  assert.equal(bed.updatesOn(fw.streamId).length, 50, 'every update still reaches the framework');
});

test("core: a status's data reaches the framework but is not kept for the task's renderings, as Mesos' master drops it", () => {
  const bed = new CoreBed();
  const fw = bed.subscribe();
  bed.addAgent('cpus:4;mem:4096');
  const agentId = bed.launch(fw, 'web');
  const data = Buffer.from('an executor-defined payload').toString('base64');
  const status = {
    task_id: taskId('web'),
    state: 'TASK_RUNNING',
    source: 'SOURCE_EXECUTOR',
    message: 'started',
    data,
    uuid: newStatusUuid(),
    timestamp: 1_700_000_000.5,
  } as const;
  tasks.statusUpdate(bed.core, bed.agent(agentId), fw.id.value, status);
  bed.drain();
  assert.equal(bed.updatesOn(fw.streamId).at(-1)?.data, data, 'the framework gets the data');
  const task = bed.framework(fw.id).tasks.get('web');
  assert.ok(task !== undefined);
  // GET_STATE, GET_TASKS and /master/state render the task's kept statuses.
  const shown = v1Task(task).statuses.at(-1);
  const { data: _, ...rest } = status;
  assert.deepEqual(shown, rest, 'every other field as the agent sent it, in its order');
  assert.deepEqual(Object.keys(shown ?? {}), Object.keys(rest));
});

test('core: an update resent after its acknowledgement (the agent lost it) is not delivered again', () => {
  const bed = new CoreBed();
  const fw = bed.subscribe({ failover_timeout: 600 });
  const agent = bed.addAgent('cpus:4;mem:4096');
  const agentId = bed.launch(fw, 'web');
  const running = bed.report(agentId, fw.id, 'web', 'TASK_RUNNING');
  bed.acknowledge(agentId, fw.id, running);
  const delivered = bed.updatesOn(fw.streamId).length;
  const acknowledgements = () =>
    bed.commandsOn(agent.streamId).filter((c) => c.type === 'ACKNOWLEDGE').length;
  const before = acknowledgements();

  // The agent, restarted, resends it as unacknowledged.
  tasks.statusUpdate(bed.core, bed.agent(agentId), fw.id.value, running);
  bed.drain();
  assert.equal(bed.updatesOn(fw.streamId).length, delivered, 'not delivered twice');
  assert.equal(acknowledgements(), before + 1, 'acknowledged again for the framework');
});

test('core: an update the agent resends before the framework acknowledged it is delivered again (at least once, as Mesos)', () => {
  const bed = new CoreBed();
  const fw = bed.subscribe({ failover_timeout: 600 });
  bed.addAgent('cpus:4;mem:4096');
  const agentId = bed.launch(fw, 'web');
  const running = bed.report(agentId, fw.id, 'web', 'TASK_RUNNING');
  const delivered = bed.updatesOn(fw.streamId).length;

  // The agent's link was reset while the framework's acknowledgement was on its way: the
  // master cannot tell a framework that has the update from one that lost or forgot it.
  // (The SDK hands a copy of an update it acknowledged to no consumer.)
  tasks.statusUpdate(bed.core, bed.agent(agentId), fw.id.value, running);
  bed.drain();
  assert.equal(bed.updatesOn(fw.streamId).length, delivered + 1, 'delivered again');
  bed.acknowledge(agentId, fw.id, running);
  assert.equal(bed.framework(fw.id).tasks.get('web')?.statusUpdateUuid, undefined);
});

test('core: an agent back after a reset, still listing a task whose end was acknowledged, gets no second delivery of that end', () => {
  const bed = new CoreBed();
  const fw = bed.subscribe({ failover_timeout: 600 });
  bed.addAgent('cpus:4;mem:4096');
  const agentId = bed.launch(fw, 'job');
  const finished = bed.report(agentId, fw.id, 'job', 'TASK_FINISHED');
  bed.acknowledge(agentId, fw.id, finished);
  const task = bed.framework(fw.id).completedTasks.find((t) => t.taskId.value === 'job');
  assert.ok(task !== undefined);
  const delivered = bed.updatesOn(fw.streamId).length;

  // The acknowledgement was lost with the link: the agent re-registers listing the task
  // as it last knew it, and resends its end.
  const again = bed.addAgent('cpus:4;mem:4096', {
    id: agentId,
    tasks: [
      {
        framework_id: fw.id,
        framework_info: bed.framework(fw.id).info,
        task: {
          ...task.info,
          task_id: task.taskId,
          agent_id: task.agentId,
          resources: task.resources.toWire('post-refinement'),
        },
        state: 'TASK_FINISHED',
      },
    ],
  });
  tasks.statusUpdate(bed.core, bed.agent(agentId), fw.id.value, finished);
  bed.drain();
  assert.equal(bed.updatesOn(fw.streamId).length, delivered, 'not delivered twice');
  assert.equal(bed.framework(fw.id).tasks.has('job'), false, 'not back among the active tasks');
  assert.ok(
    bed.commandsOn(again.streamId).some((c) => c.type === 'ACKNOWLEDGE'),
    'acknowledged for the framework, so the agent stops resending',
  );
});

test('an agent that subscribes again unchanged writes nothing to the registry; a changed one is written', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;ports:[31000-32000]', { hostname: 'h1' });
  const admitted = () =>
    bed.effects.filter((e) => e.kind === 'persist' && e.operation.kind === 'admitAgent').length;
  assert.equal(admitted(), 1);
  // Its info as it sends it again (equal, not the same objects), its tasks adopted as new.
  agents.disconnected(bed.core, agent.id, agent.streamId);
  bed.addAgent('cpus:4;mem:4096;ports:[31000-32000]', { hostname: 'h1', id: agent.id });
  assert.equal(admitted(), 1, 'an unchanged agent is not written again');
  bed.addAgent('cpus:4;mem:4096;ports:[31000-32000]', { hostname: 'h2', id: agent.id });
  assert.equal(admitted(), 2, 'a new hostname is');
  assert.equal(bed.agent(agent.id).info.hostname, 'h2');
});
