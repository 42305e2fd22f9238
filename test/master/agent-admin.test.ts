// The operator's calls on one agent (#8, section 4): DEACTIVATE_AGENT,
// REACTIVATE_AGENT, DRAIN_AGENT and MARK_AGENT_GONE, and fault domains. Each
// rule driven through the core on a manual clock, read back from the outbox.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as admin from '../../src/master/core/agent-admin.js';
import * as agents from '../../src/master/core/agents.js';
import { AgoraError, BadRequestError } from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

const persisted = (bed: CoreBed) =>
  bed.effects.flatMap((e) => (e.kind === 'persist' ? [e.operation.kind] : []));

const rescinds = (bed: CoreBed, streamId: string) =>
  bed.eventsOn(streamId).filter((e) => e.type === 'RESCIND').length;

test('DEACTIVATE_AGENT: offers rescinded, none made until REACTIVATE_AGENT; both persisted', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe();
  bed.advance(0);
  assert.equal(bed.offersOn(fw.streamId).length, 1);
  admin.deactivate(bed.core, agent.id);
  bed.drain();
  assert.equal(rescinds(bed, fw.streamId), 1);
  assert.equal(bed.agent(agent.id).isDeactivated, true);
  bed.advance(10_000);
  assert.equal(bed.offersOn(fw.streamId).length, 1, 'no offer while deactivated');
  // Still deactivated when it comes back on a new stream.
  bed.addAgent('cpus:4;mem:4096', { id: agent.id });
  bed.advance(10_000);
  assert.equal(bed.offersOn(fw.streamId).length, 1, 'no offer after re-registering either');
  admin.reactivate(bed.core, agent.id);
  bed.advance(0);
  assert.equal(bed.offersOn(fw.streamId).length, 2, 'offered again');
  assert.deepEqual(
    persisted(bed).filter((k) => k.endsWith('activateAgent')),
    ['deactivateAgent', 'reactivateAgent'],
  );
  assert.throws(() => admin.reactivate(bed.core, agent.id), BadRequestError, 'not deactivated');
  assert.throws(() => admin.deactivate(bed.core, 'nobody'), BadRequestError, 'unknown agent');
});

test('DRAIN_AGENT: tasks killed with the capped grace period; DRAINING until every terminal update is acknowledged, then DRAINED', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe();
  bed.launch(fw, 't1');
  bed.advance(5000); // what was left is filtered for the default refuse_seconds
  bed.launch(fw, 't2');
  bed.report(agent.id, fw.id, 't1', 'TASK_RUNNING');
  bed.report(agent.id, fw.id, 't2', 'TASK_RUNNING');
  admin.drain(bed.core, agent.id, { seconds: 2, nanos: 500 }, false);
  bed.drain();
  const [drain] = bed.commandsOn(agent.streamId).filter((c) => c.type === 'DRAIN');
  assert.deepEqual(drain, {
    type: 'DRAIN',
    drain: { config: { max_grace_period: { nanoseconds: 2_000_000_500 }, mark_gone: false } },
  });
  assert.equal(bed.agent(agent.id).drain?.state, 'DRAINING');
  assert.equal(bed.agent(agent.id).isDeactivated, true);
  assert.throws(
    () => admin.reactivate(bed.core, agent.id),
    /still in the DRAINING state/,
    'no reactivation while draining',
  );

  const k1 = bed.report(agent.id, fw.id, 't1', 'TASK_KILLED');
  const k2 = bed.report(agent.id, fw.id, 't2', 'TASK_KILLED');
  bed.acknowledge(agent.id, fw.id, k1);
  bed.advance(0);
  assert.equal(bed.agent(agent.id).drain?.state, 'DRAINING', 'one update still unacknowledged');
  bed.acknowledge(agent.id, fw.id, k2);
  bed.advance(0);
  assert.equal(bed.agent(agent.id).drain?.state, 'DRAINED');
  assert.deepEqual(
    persisted(bed).filter((k) => k.startsWith('drain') || k === 'markAgentDrained'),
    ['drainAgent', 'markAgentDrained'],
  );
  admin.reactivate(bed.core, agent.id);
  assert.equal(bed.agent(agent.id).drain, undefined, 'reactivation ends a drained drain');
});

test('DRAIN_AGENT with mark_gone: once empty the agent is marked gone and told to shut down', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  admin.drain(bed.core, agent.id, undefined, true);
  bed.drain();
  assert.equal(bed.agent(agent.id).link.state, 'gone', 'nothing on it: gone at once');
  assert.ok(bed.core.books.goneAgentIds.has(agent.id));
  const shutdown = bed.commandsOn(agent.streamId).find((c) => c.type === 'SHUTDOWN');
  assert.deepEqual(shutdown, {
    type: 'SHUTDOWN',
    shutdown: { message: 'Agent has been marked gone' },
  });
  assert.ok(persisted(bed).includes('markAgentGone'));
});

test('DRAIN_AGENT of an agent that is away: it drains when it comes back', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe();
  bed.launch(fw, 't');
  bed.report(agent.id, fw.id, 't', 'TASK_RUNNING');
  agents.disconnected(bed.core, agent.id, agent.streamId);
  admin.drain(bed.core, agent.id, undefined, false);
  const task = bed.framework(fw.id).tasks.get('t');
  assert.ok(task !== undefined);
  const again = bed.addAgent('cpus:4;mem:4096', {
    id: agent.id,
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
        state: 'TASK_RUNNING',
      },
    ],
  });
  assert.ok(
    bed.commandsOn(again.streamId).some((c) => c.type === 'DRAIN'),
    'the drain is sent again',
  );
  bed.advance(10_000);
  assert.equal(bed.offersOn(fw.streamId).length, 1, 'a draining agent is not offered');
});

test('MARK_AGENT_GONE: PARTITION_AWARE frameworks see TASK_GONE_BY_OPERATOR, others TASK_LOST; the agent is shut down and refused for good', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const aware = bed.subscribe({ name: 'aware', capabilities: [{ type: 'PARTITION_AWARE' }] });
  bed.launch(aware, 'a');
  const legacy = bed.subscribe({ name: 'legacy' });
  bed.launch(legacy, 'l');
  bed.report(agent.id, aware.id, 'a', 'TASK_RUNNING');
  bed.report(agent.id, legacy.id, 'l', 'TASK_RUNNING');

  admin.markGone(bed.core, agent.id);
  bed.drain();
  const [gone] = bed.updatesOn(aware.streamId).slice(-1);
  assert.equal(gone?.state, 'TASK_GONE_BY_OPERATOR');
  assert.equal(gone?.reason, 'REASON_AGENT_REMOVED_BY_OPERATOR');
  assert.equal(gone?.source, 'SOURCE_MASTER');
  const [lost] = bed.updatesOn(legacy.streamId).slice(-1);
  assert.equal(lost?.state, 'TASK_LOST');
  assert.equal(lost?.reason, 'REASON_AGENT_REMOVED');
  assert.ok(bed.commandsOn(agent.streamId).some((c) => c.type === 'SHUTDOWN'));
  assert.ok(bed.effects.some((e) => e.kind === 'closeStream' && e.streamId === agent.streamId));
  assert.ok(persisted(bed).includes('markAgentGone'));
  assert.equal(bed.framework(aware.id).tasks.size, 0, 'the tasks are done with');

  admin.markGone(bed.core, agent.id); // idempotent
  const back = bed.tryAddAgent('cpus:4;mem:4096', { id: agent.id });
  assert.equal(back.id, undefined, 'refused');
  assert.equal(bed.commandsOn(back.streamId)[0]?.type, 'SHUTDOWN', 'and told again to shut down');
  assert.throws(
    () => admin.markGone(bed.core, 'never-seen'),
    (error: unknown) => error instanceof AgoraError && error.code === 'NOT_FOUND',
  );
});

test('MARK_AGENT_GONE of an unreachable agent turns its unreachable tasks GONE_BY_OPERATOR', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1 });
  const agent = bed.addAgent();
  const aware = bed.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
  bed.launch(aware, 'a');
  bed.report(agent.id, aware.id, 'a', 'TASK_RUNNING');
  agents.disconnected(bed.core, agent.id, agent.streamId);
  bed.advance(1000);
  assert.equal(bed.framework(aware.id).tasks.get('a')?.state, 'TASK_UNREACHABLE');
  admin.markGone(bed.core, agent.id);
  bed.drain();
  const [gone] = bed.updatesOn(aware.streamId).slice(-1);
  assert.equal(gone?.state, 'TASK_GONE_BY_OPERATOR');
  assert.equal(bed.agent(agent.id).link.state, 'gone');
});

test('fault domains: only REGION_AWARE frameworks are offered agents of another region; domainless agents are local', () => {
  const domain = (region: string) => ({
    fault_domain: { region: { name: region }, zone: { name: `${region}-a` } },
  });
  const bed = new CoreBed({ domain: domain('eu') });
  const remote = bed.addAgent('cpus:1;mem:128', { hostname: 'remote', domain: domain('us') });
  const local = bed.addAgent('cpus:1;mem:128', { hostname: 'local', domain: domain('eu') });
  const plain = bed.addAgent('cpus:1;mem:128', { hostname: 'plain' });
  const unaware = bed.subscribe({ name: 'unaware' });
  bed.advance(0);
  const seen = new Set(bed.offersOn(unaware.streamId).map((o) => o.agent_id.value));
  assert.deepEqual([...seen].sort(), [local.id, plain.id].sort());
  const aware = bed.subscribe({ name: 'aware', capabilities: [{ type: 'REGION_AWARE' }] });
  bed.advance(0);
  const offered = bed.offersOn(aware.streamId);
  assert.deepEqual(
    offered.map((o) => o.agent_id.value),
    [remote.id],
  );
  assert.deepEqual(offered[0]?.domain, domain('us'), 'the offer carries the domain');

  const bare = new CoreBed();
  const refused = bare.tryAddAgent('cpus:1;mem:128', { domain: domain('eu') });
  assert.equal(refused.id, undefined, 'a master without a domain refuses agents with one');
  assert.equal(bare.commandsOn(refused.streamId)[0]?.type, 'ERROR');
});
