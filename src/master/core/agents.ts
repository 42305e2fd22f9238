// Agents: subscribed on a stream they open, re-registering with the tasks
// they hold (after their own restart or the master's), disconnected when the
// link breaks, unreachable when silent too long (their tasks reported), and
// back again. Their state changes only through `moveTo` (lifecycle.ts).
import { Resources } from '../../resources/index.js';
import {
  type AgentID,
  type AgentSubscribe,
  type AgentTask,
  isTerminalState,
  agentId as mintAgentId,
  type TaskState,
} from '../../wire/index.js';
import { agentTotal } from './agent-resources.js';
import { allocatorHandle, type CoreContext, nowSec, observe, persist, toAgent } from './context.js';
import { frameworkRoles, hasCapability } from './framework-info.js';
import { recovered as recoveredFramework } from './frameworks.js';
import { AGENT_NEXT, checkTransition } from './lifecycle.js';
import { rescindAll } from './offers.js';
import type { AgentLink, AgentRecord } from './records.js';
import { decideStatus, recoverTask, resurrect, sendMasterStatus } from './tasks.js';

const unreachableTimer = (agent: AgentRecord) => `unreachable:${agent.id.value}`;

function moveTo(agent: AgentRecord, link: AgentLink): void {
  checkTransition(AGENT_NEXT, `agent ${agent.id.value}`, agent.link.state, link.state);
  agent.link = link;
}

/**
 * An agent (re-)subscribes on stream `streamId`: admitted to the registry if
 * new, its tasks reconciled with the books, and it gets its id. Returns the id.
 */
export function subscribe(
  core: CoreContext,
  call: AgentSubscribe,
  idValue: string | undefined,
  remoteIp: string,
  streamId: string,
): AgentID | undefined {
  if (idValue !== undefined && core.books.goneAgentIds.has(idValue)) {
    // MARK_AGENT_GONE is for good: the agent must start afresh, under a new id.
    core.outbox.push({
      kind: 'toAgent',
      streamId,
      event: { type: 'ERROR', error: { message: `Agent ${idValue} has been marked gone` } },
    });
    core.outbox.push({ kind: 'closeStream', streamId });
    core.log.warn({ agent_id: idValue }, 'gone agent refused');
    return undefined;
  }
  const id = mintAgentId(idValue ?? core.books.newAgentId());
  const info = { ...call.agent_info, id };
  const total = agentTotal(core, info.resources ?? [], call.checkpointed_resources ?? [], id.value);
  let agent = core.books.agents.get(id.value);
  const isNew = agent === undefined;
  if (agent === undefined) {
    persist(core, { kind: 'admitAgent', agent: info });
    agent = {
      id,
      info,
      ip: remoteIp,
      link: { state: 'connected', streamId },
      total,
      version: call.version,
      registeredTimeSec: nowSec(core),
      reregisteredTimeSec: undefined,
      offers: new Set(),
      tasks: new Set(),
    };
    core.books.agents.set(id.value, agent);
    adoptTasks(core, agent, call.tasks ?? []);
    allocatorHandle(core, { kind: 'agentAdded', agentId: id, total, used: usedByFramework(agent) });
    core.metrics.count('master/messages_register_slave');
    core.metrics.count('master/slave_registrations');
  } else {
    if (agent.link.state === 'connected')
      core.outbox.push({ kind: 'closeStream', streamId: agent.link.streamId });
    core.timers.cancel(unreachableTimer(agent));
    rescindAll(core, agent);
    const wasOffline = agent.link.state === 'unreachable' || agent.link.state === 'recovered';
    // Its info may have changed, and an unreachable mark must go: both durable before SUBSCRIBED.
    persist(core, { kind: 'admitAgent', agent: info });
    agent.info = info;
    agent.ip = remoteIp;
    agent.total = total;
    agent.version = call.version;
    moveTo(agent, { state: 'connected', streamId });
    agent.reregisteredTimeSec = nowSec(core);
    reconcileTasks(core, agent, call.tasks ?? []);
    if (!wasOffline) allocatorHandle(core, { kind: 'agentRemoved', agentId: id });
    allocatorHandle(core, { kind: 'agentAdded', agentId: id, total, used: usedByFramework(agent) });
    core.metrics.count('master/messages_reregister_slave');
    core.metrics.count('master/slave_reregistrations');
  }
  observe(core, { kind: 'agentAdded', agent });
  toAgent(core, agent, {
    type: 'SUBSCRIBED',
    subscribed: {
      agent_id: id,
      heartbeat_interval_seconds: core.options.heartbeatIntervalMs / 1000,
      master_info: core.masterInfo(),
    },
  });
  core.log.info(
    {
      agent_id: id.value,
      hostname: info.hostname,
      resources: total.toString(),
      reregistered: !isNew,
    },
    isNew ? 'agent registered' : 'agent reregistered',
  );
  core.allocation.runSoon();
  return id;
}

/**
 * Stream `streamId` of an agent ended. If it is still the agent's stream, the
 * agent is deactivated and has the ping timeouts to come back: a broken link
 * counts as missed pings from here on, and Mesos marks an agent unreachable
 * after --max_agent_ping_timeouts of them (#7: a killed agent's tasks showed
 * TASK_RUNNING for as long as anyone looked).
 */
export function disconnected(core: CoreContext, agentIdValue: string, streamId: string): void {
  const agent = core.books.agents.get(agentIdValue);
  if (agent?.link.state !== 'connected' || agent.link.streamId !== streamId) return;
  moveTo(agent, { state: 'disconnected' });
  rescindAll(core, agent);
  allocatorHandle(core, { kind: 'agentDeactivated', agentId: agent.id });
  const silenceMs = core.options.agentPingTimeoutMs * core.options.maxAgentPingTimeouts;
  core.timers.arm(unreachableTimer(agent), silenceMs, () => unreachable(core, agent));
  core.log.warn({ agent_id: agent.id.value, unreachable_in_ms: silenceMs }, 'agent disconnected');
}

/**
 * An agent the registry kept, after a master restart: it has
 * --agent_reregister_timeout to come back before it is unreachable.
 */
export function awaitReregistration(core: CoreContext, agent: AgentRecord): void {
  core.timers.arm(unreachableTimer(agent), core.options.agentReregisterTimeoutMs, () =>
    unreachable(core, agent),
  );
}

/** The agent was silent too long: its tasks are lost (or unreachable, for PARTITION_AWARE). */
export function unreachable(core: CoreContext, agent: AgentRecord): void {
  if (agent.link.state !== 'disconnected' && agent.link.state !== 'recovered') return;
  // No removal rate limit yet: a removal is scheduled and completed at once.
  core.metrics.count('master/slave_unreachable_scheduled');
  core.metrics.count('master/slave_unreachable_completed');
  core.metrics.count('master/slave_removals');
  core.metrics.count('master/slave_removals/reason_unhealthy');
  if (agent.link.state === 'recovered') core.metrics.count('master/recovery_slave_removals');
  const sinceSec = nowSec(core);
  moveTo(agent, { state: 'unreachable', sinceSec });
  persist(core, { kind: 'markAgentUnreachable', agentId: agent.id, sinceSec });
  core.timers.cancel(unreachableTimer(agent));
  const cause = { reason: 'REASON_AGENT_REMOVED', message: 'Agent is unreachable' } as const;
  for (const task of [...agent.tasks]) {
    if (isTerminalState(task.state)) continue;
    const framework = core.books.frameworks.get(task.frameworkId.value);
    const isPartitionAware =
      framework !== undefined && hasCapability(framework.info, 'PARTITION_AWARE');
    const state: TaskState = isPartitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST';
    decideStatus(core, task, state, cause);
    if (framework !== undefined)
      sendMasterStatus(core, framework, task.taskId, agent.id, state, cause, {
        unreachableSinceSec: sinceSec,
      });
    task.isRecovered = true;
    if (state === 'TASK_LOST') core.books.completeTask(task);
  }
  allocatorHandle(core, { kind: 'agentRemoved', agentId: agent.id });
  observe(core, { kind: 'agentRemoved', agent });
  core.log.warn({ agent_id: agent.id.value }, 'agent unreachable');
}

function usedByFramework(agent: AgentRecord): Map<string, Resources> {
  const used = new Map<string, Resources>();
  for (const task of agent.tasks) {
    if (task.isRecovered) continue;
    const sum = used.get(task.frameworkId.value);
    used.set(task.frameworkId.value, sum === undefined ? task.resources : sum.plus(task.resources));
  }
  return used;
}

/** Tasks a re-registering agent reports that the books lack (e.g. after a master restart). */
function adoptTasks(core: CoreContext, agent: AgentRecord, reported: readonly AgentTask[]): void {
  for (const entry of reported) {
    if (isTerminalState(entry.state)) continue;
    let framework = core.books.frameworks.get(entry.framework_id.value);
    if (framework === undefined) {
      if (core.books.removedFrameworkIds.has(entry.framework_id.value)) {
        toAgent(core, agent, {
          type: 'SHUTDOWN_FRAMEWORK',
          shutdown_framework: { framework_id: entry.framework_id },
        });
        continue;
      }
      framework = recoveredFramework(core, entry.framework_info, entry.framework_id.value);
    }
    if (framework.tasks.has(entry.task.task_id.value)) continue;
    const resources = Resources.fromWire(entry.task.resources ?? []);
    const role = resources.allocationRoles()[0] ?? frameworkRoles(framework.info)[0] ?? '*';
    const task = {
      taskId: entry.task.task_id,
      frameworkId: framework.id,
      agentId: agent.id,
      info: entry.task,
      role,
      resources: resources.unallocate().allocate(role),
      state: entry.state,
      statuses: [],
      statusUpdateState: undefined,
      statusUpdateUuid: undefined,
      isRecovered: false,
    };
    core.books.addTask(task);
    observe(core, { kind: 'taskAdded', task, state: task.state });
  }
}

/** Aligns the books with what a re-registering agent holds. */
function reconcileTasks(
  core: CoreContext,
  agent: AgentRecord,
  reported: readonly AgentTask[],
): void {
  const held = new Map(
    reported.map((t) => [`${t.framework_id.value}\u0000${t.task.task_id.value}`, t] as const),
  );
  for (const task of [...agent.tasks]) {
    if (isTerminalState(task.state)) continue;
    const entry = held.get(`${task.frameworkId.value}\u0000${task.taskId.value}`);
    const framework = core.books.frameworks.get(task.frameworkId.value);
    if (entry !== undefined) {
      if (task.state === 'TASK_UNREACHABLE') {
        // Back from a partition: the task is what the agent says (not killed, since Mesos 1.5).
        const cause = {
          reason: 'REASON_AGENT_REREGISTERED',
          message: 'Agent re-registered',
        } as const;
        resurrect(core, task, entry.state, cause);
        if (framework !== undefined)
          sendMasterStatus(core, framework, task.taskId, agent.id, entry.state, cause);
      }
      continue;
    }
    const cause = {
      reason: 'REASON_AGENT_RESTARTED',
      message: 'Task is unknown to the agent after it re-registered',
    } as const;
    decideStatus(core, task, 'TASK_GONE', cause);
    if (framework !== undefined)
      sendMasterStatus(core, framework, task.taskId, agent.id, 'TASK_GONE', cause);
    recoverTask(core, task);
    core.books.completeTask(task);
  }
  adoptTasks(core, agent, reported);
}
