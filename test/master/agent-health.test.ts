// Agents' health as the master judges it (#8, section 4): PINGs on the
// agent's stream, PONG calls back, and --agent_removal_rate_limit pacing the
// agents that fail. Driven on a manual clock; the outbox is what each stream got.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as agents from '../../src/master/core/agents.js';
import { RemovalLimiter } from '../../src/master/core/removal-limiter.js';
import { Timers } from '../../src/master/core/timers.js';
import { ManualClock } from '../../src/runtime/index.js';
import { CoreBed } from './core-bed.js';

const pings = (bed: CoreBed, streamId: string) =>
  bed.commandsOn(streamId).filter((c) => c.type === 'PING').length;

/** Moves time in steps, the listed agents answering every PING (the others stay silent). */
function answering(bed: CoreBed, agentIds: readonly string[], ms: number): void {
  for (let left = ms; left > 0; left -= 250) {
    for (const id of agentIds) agents.pong(bed.core, bed.agent(id));
    bed.advance(Math.min(250, left));
  }
}

const closed = (bed: CoreBed, streamId: string) =>
  bed.effects.some((e) => e.kind === 'closeStream' && e.streamId === streamId);

test('agent health: an agent whose link is open but silent is unreachable after its ping timeouts', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 3 });
  const agent = bed.addAgent();
  const aware = bed.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
  bed.launch(aware, 't');
  bed.report(agent.id, aware.id, 't', 'TASK_RUNNING');
  assert.equal(pings(bed, agent.streamId), 1, 'pinged as soon as it registered');

  bed.advance(2999);
  assert.equal(pings(bed, agent.streamId), 3, 'one PING per --agent_ping_timeout');
  assert.equal(bed.agent(agent.id).link.state, 'connected');
  bed.advance(1);
  assert.equal(bed.agent(agent.id).link.state, 'unreachable');
  assert.ok(closed(bed, agent.streamId), 'its stream is closed: it must re-register');
  const [update] = bed.updatesOn(aware.streamId).slice(-1);
  assert.equal(update?.state, 'TASK_UNREACHABLE');
  assert.equal(update?.reason, 'REASON_AGENT_REMOVED');
  assert.ok(
    bed.effects.some((e) => e.kind === 'persist' && e.operation.kind === 'markAgentUnreachable'),
  );
});

test('agent health: an agent that answers its PINGs stays, and a late answer resets the count', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 3 });
  const agent = bed.addAgent();
  for (let i = 0; i < 10; i++) {
    agents.pong(bed.core, bed.agent(agent.id));
    bed.advance(1000);
  }
  assert.equal(bed.agent(agent.id).link.state, 'connected');
  bed.advance(2000); // the PINGs of 9 s and 10 s go unanswered
  agents.pong(bed.core, bed.agent(agent.id)); // answers the one of 12 s: the count starts over
  bed.advance(3000); // those of 13 s and 14 s go unanswered: two in a row, not three
  assert.equal(bed.agent(agent.id).link.state, 'connected');
  bed.advance(1000);
  assert.equal(bed.agent(agent.id).link.state, 'unreachable');
});

test('agent health: a frozen agent that comes back gets its tasks back, TASK_RUNNING, REASON_AGENT_REREGISTERED', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 2 });
  const agent = bed.addAgent();
  const aware = bed.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
  bed.launch(aware, 't');
  bed.report(agent.id, aware.id, 't', 'TASK_RUNNING');
  bed.advance(2000);
  const task = bed.framework(aware.id).tasks.get('t');
  assert.equal(task?.state, 'TASK_UNREACHABLE');
  assert.ok(task !== undefined);
  const again = bed.addAgent('cpus:4;mem:4096', {
    id: agent.id,
    tasks: [
      {
        framework_id: aware.id,
        framework_info: bed.framework(aware.id).info,
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
  assert.equal(back?.state, 'TASK_RUNNING');
  assert.equal(back?.reason, 'REASON_AGENT_REREGISTERED');
  assert.equal(pings(bed, again.streamId), 1, 'health checks start over on the new stream');
});

test('agent health: a partitioned task that ended meanwhile gets no master-made terminal update when its agent returns', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 2 });
  const agent = bed.addAgent();
  const aware = bed.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
  bed.launch(aware, 't');
  bed.report(agent.id, aware.id, 't', 'TASK_RUNNING');
  bed.advance(2000);
  const task = bed.framework(aware.id).tasks.get('t');
  assert.ok(task !== undefined);
  assert.equal(task.state, 'TASK_UNREACHABLE');
  const before = bed.updatesOn(aware.streamId).length;
  bed.addAgent('cpus:4;mem:4096', {
    id: agent.id,
    tasks: [
      {
        framework_id: aware.id,
        framework_info: bed.framework(aware.id).info,
        task: {
          ...task.info,
          task_id: task.taskId,
          agent_id: task.agentId,
          resources: task.resources.toWire('post-refinement'),
        },
        state: 'TASK_FAILED',
      },
    ],
  });
  // The agent's own TASK_FAILED (with the exit status) is the one the framework gets.
  assert.deepEqual(bed.updatesOn(aware.streamId).slice(before), []);
});

test('agent health: --agent_removal_rate_limit paces unreachable agents, and an answer calls one off', () => {
  const bed = new CoreBed({
    agentPingTimeoutMs: 1000,
    maxAgentPingTimeouts: 1,
    agentRemovalRateLimit: { permits: 1, durationMs: 10_000 },
  });
  const ids = [1, 2, 3].map((i) => bed.addAgent('cpus:1;mem:128', { hostname: `h${i}` }).id);
  const [first, second, third] = ids.map((id) => bed.agent(id));
  assert.ok(first !== undefined && second !== undefined && third !== undefined);
  bed.advance(1000); // all three miss their PING at once
  assert.deepEqual(
    ids.map((id) => bed.agent(id).link.state),
    ['unreachable', 'connected', 'connected'],
    'the first goes at once, the others wait their turn',
  );
  bed.advance(5000);
  // The third was only slow: it answers from now on, and its turn is given up.
  answering(bed, [third.id.value], 4999);
  assert.equal(second.link.state, 'connected');
  answering(bed, [third.id.value], 1);
  assert.equal(second.link.state, 'unreachable', '10 s after the first');
  answering(bed, [third.id.value], 60_000);
  assert.equal(third.link.state, 'connected');
  const metrics = bed.core.metrics.snapshot();
  assert.equal(metrics['master/slave_unreachable_scheduled'], 3);
  assert.equal(metrics['master/slave_unreachable_completed'], 2);
  assert.equal(metrics['master/slave_unreachable_canceled'], 1);
});

test('agent health: an agent whose link broke is marked unreachable at the rate limit too', () => {
  const bed = new CoreBed({
    agentPingTimeoutMs: 1000,
    maxAgentPingTimeouts: 2,
    agentRemovalRateLimit: { permits: 1, durationMs: 60_000 },
  });
  const a = bed.addAgent('cpus:1;mem:128', { hostname: 'a' });
  const b = bed.addAgent('cpus:1;mem:128', { hostname: 'b' });
  agents.disconnected(bed.core, a.id, a.streamId);
  agents.disconnected(bed.core, b.id, b.streamId);
  bed.advance(2000);
  assert.equal(bed.agent(a.id).link.state, 'unreachable');
  assert.equal(bed.agent(b.id).link.state, 'disconnected', 'waits for the rate limit');
  // Back before its turn: the removal is called off.
  assert.ok(bed.core.removals.isWaiting(b.id));
  bed.addAgent('cpus:1;mem:128', { id: b.id, hostname: 'b' });
  assert.equal(bed.core.removals.isWaiting(b.id), false);
  answering(bed, [b.id], 60_000);
  assert.equal(bed.agent(b.id).link.state, 'connected');
});

test('removal limiter grants the first at once, then one per interval, in order, skipping withdrawn ones', () => {
  const clock = new ManualClock(0);
  const timers = new Timers(clock);
  const limiter = new RemovalLimiter(clock, timers, { permits: 2, durationMs: 1000 });
  const granted: string[] = [];
  for (const key of ['a', 'b', 'c', 'd']) limiter.acquire(key, () => granted.push(key));
  limiter.acquire('b', () => granted.push('b again'));
  assert.deepEqual(granted, ['a']);
  assert.equal(limiter.cancel('c'), true);
  clock.advance(499);
  assert.deepEqual(granted, ['a']);
  clock.advance(1);
  assert.deepEqual(granted, ['a', 'b'], 'after 1000 ms / 2 permits');
  clock.advance(500);
  assert.deepEqual(granted, ['a', 'b', 'd'], 'c was withdrawn');
  assert.equal(limiter.waitingCount, 0);
  clock.advance(10_000);
  limiter.acquire('e', () => granted.push('e'));
  assert.deepEqual(granted.at(-1), 'e', 'the rate has room again: at once');
  const unlimited = new RemovalLimiter(clock, timers, undefined);
  unlimited.acquire('x', () => granted.push('x'));
  assert.equal(granted.at(-1), 'x');
});

test('agent health: SUBSCRIBED and every PING tell the spread of re-registrations, from every agent the master knows (#15)', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 3 });
  const first = bed.addAgent();
  const spreads = (streamId: string) =>
    bed
      .commandsOn(streamId)
      .flatMap((c) =>
        c.type === 'SUBSCRIBED'
          ? [c.subscribed.reregister_spread_ms]
          : c.type === 'PING'
            ? [c.ping?.reregister_spread_ms]
            : [],
      );
  assert.deepEqual(spreads(first.streamId), [1, 1], 'SUBSCRIBED and the first PING: one agent');
  const second = bed.addAgent();
  const third = bed.addAgent();
  assert.deepEqual(spreads(third.streamId), [3, 3]);
  // The second stays silent and is marked unreachable: it still counts, it may come back.
  answering(bed, [first.id, third.id], 3000);
  assert.equal(bed.agent(second.id).link.state, 'unreachable');
  assert.equal(spreads(first.streamId).at(-1), 3, 'a later PING: the cluster grew');
});
