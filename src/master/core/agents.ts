// Long file: an agent's whole life (admission, health, unreachable, removal) over one record.
// Agents: subscribed on a stream they open, re-registering with the tasks
// they hold (after their own restart or the master's), health-checked with
// PINGs while connected, disconnected when the link breaks, unreachable when
// silent too long (their tasks reported), back again, or removed for good.
// Their state changes only through `moveAgentTo` (lifecycle.ts).
import { Resources } from '../../resources/index.js';
import {
  type AgentID,
  type AgentInfo,
  type AgentSubscribe,
  type FrameworkID,
  type FrameworkInfo,
  frameworkInfoOf,
  isTerminalState,
  agentId as mintAgentId,
  type ReportedTask,
  type Resource,
  reportedTasksOf,
  reregisterSpreadMs,
  shapeOf,
  type TaskState,
} from '../../wire/index.js';
import { agentTotal } from './agent-resources.js';
import { allocatorHandle, type CoreContext, nowSec, observe, persist, toAgent } from './context.js';
import { agentLost } from './executors.js';
import { frameworkRoles, hasCapability } from './framework-info.js';
import { recovered as recoveredFramework } from './frameworks.js';
import { rescindInverseOffersFor } from './inverse-offers.js';
import { jsonEqual } from './json-equal.js';
import { keptTaskInfo } from './kept.js';
import { AGENT_NEXT, checkTransition } from './lifecycle.js';
import { agentMachineId, isMachineDown } from './machines.js';
import { evaluateOfferConstraints } from './offer-constraints.js';
import { rescindAll } from './offers.js';
import { type AgentLink, type AgentRecord, type FrameworkRecord, NO_STATUSES } from './records.js';
import {
  agentShape,
  allocatedTo,
  type ReportedShape,
  reportedShape,
} from './reported-resources.js';
import {
  decideStatus,
  type MasterStatusCause,
  recoverTask,
  resurrect,
  sendMasterStatus,
} from './tasks.js';

const unreachableTimer = (agent: AgentRecord) => `unreachable:${agent.id.value}`;

/** The one writer of an agent's state; refuses what lifecycle.ts's table does not list. */
export function moveAgentTo(agent: AgentRecord, link: AgentLink): void {
  checkTransition(AGENT_NEXT, `agent ${agent.id.value}`, agent.link.state, link.state);
  agent.link = link;
}

/** A record for an agent the master learns of, by registration or from the registry. */
export function newAgentRecord(fields: {
  readonly id: AgentID;
  readonly info: AgentInfo;
  readonly ip: string;
  readonly link: AgentLink;
  readonly total: Resources;
  readonly version: string;
  readonly registeredTimeSec: number;
}): AgentRecord {
  // Every field named, not `...fields`: V8 builds a spread followed by twelve more
  // fields through its slow clone path, 15-25 µs a record against ~1 µs for this literal
  // (measured at 10,000 records; a new leader's recovery builds one per admitted agent).
  return {
    id: fields.id,
    info: fields.info,
    ip: fields.ip,
    link: fields.link,
    total: fields.total,
    version: fields.version,
    registeredTimeSec: fields.registeredTimeSec,
    reregisteredTimeSec: undefined,
    offers: new Set(),
    tasks: new Set(),
    executors: new Map(),
    missedPings: 0,
    isPongAwaited: false,
    isDeactivated: false,
    drain: undefined,
    inverseOffers: new Set(),
    inverseOfferStatuses: new Map(),
    inverseOfferFilters: new Map(),
  };
}

/** Whether `reported`, given `id`, is `held` as JSON: `{ ...reported, id }` would equal it. */
function sameInfo(held: AgentInfo, reported: AgentInfo, id: AgentID): boolean {
  // Without an id of its own, the report has a key fewer than held: the copy is compared.
  return reported.id !== undefined && reported.id.value === id.value && jsonEqual(held, reported);
}

/** Refuses a registration on its stream: the agent hears why and retries later. */
function refuse(core: CoreContext, streamId: string, idValue: string | undefined, why: string) {
  core.outbox.push({
    kind: 'toAgent',
    streamId,
    event: { type: 'ERROR', error: { message: why } },
  });
  core.outbox.push({ kind: 'closeStream', streamId });
  core.log.warn({ agent_id: idValue, reason: why }, 'agent registration refused');
  return undefined;
}

/**
 * Agents in another region than the master's are remote: frameworks without
 * REGION_AWARE are not offered them. An agent without a domain counts as
 * local (docs/fault-domains.md).
 */
export function isRemote(core: CoreContext, info: AgentInfo): boolean {
  const agentRegion = info.domain?.fault_domain?.region.name;
  const masterRegion = core.masterInfo().domain?.fault_domain?.region.name;
  return agentRegion !== undefined && masterRegion !== undefined && agentRegion !== masterRegion;
}

/**
 * An agent (re-)subscribes on stream `streamId`: admitted to the registry if
 * new, its tasks reconciled with the books, and it gets its id. Refused if it
 * was marked gone, if its machine is DOWN for maintenance, or if it has a
 * domain and the master has none. Returns the id, or undefined when refused.
 */
export function subscribe(
  core: CoreContext,
  call: AgentSubscribe,
  idValue: string | undefined,
  remoteIp: string,
  streamId: string,
): AgentID | undefined {
  if (idValue !== undefined && core.books.goneAgentIds.has(idValue)) {
    // MARK_AGENT_GONE is for good: the agent is told to shut down and forget its id,
    // so that if it starts again it does so as a new agent (Mesos sends ShutdownMessage).
    core.outbox.push({
      kind: 'toAgent',
      streamId,
      event: { type: 'SHUTDOWN', shutdown: { message: 'Agent has been marked gone' } },
    });
    core.outbox.push({ kind: 'closeStream', streamId });
    core.log.warn({ agent_id: idValue }, 'agent marked gone told to shut down');
    return undefined;
  }
  if (call.agent_info.domain !== undefined && core.masterInfo().domain === undefined)
    // The master could not tell whether the agent is remote (docs/fault-domains.md).
    return refuse(
      core,
      streamId,
      idValue,
      'The agent has a domain (--domain) but the master has none',
    );
  if (isMachineDown(core.books, { info: call.agent_info, ip: remoteIp }))
    // Mesos shuts such an agent down; refused instead, it keeps retrying with its
    // backoff and rejoins by itself once STOP_MAINTENANCE brings the machine up.
    return refuse(
      core,
      streamId,
      idValue,
      `Machine ${JSON.stringify(agentMachineId({ info: call.agent_info, ip: remoteIp }))} is DOWN for maintenance`,
    );

  const id = mintAgentId(idValue ?? core.books.newAgentId());
  let agent = core.books.agents.get(id.value);
  // An agent back with the info the books hold (every agent after a failover: the registry's)
  // keeps that object, and what is kept of it (its renderings), rather than a copy to compare.
  const info =
    agent !== undefined && sameInfo(agent.info, call.agent_info, id)
      ? agent.info
      : { ...call.agent_info, id };
  let total: Resources;
  try {
    const checkpointed = call.checkpointed_resources ?? NO_RESOURCES;
    // Without checkpointed reservations the total is the configured resources as they read:
    // agents of one kind share one value (and what it computes once: its sums, its text).
    total =
      checkpointed.length === 0
        ? agentShape(info.resources ?? NO_RESOURCES).resources
        : agentTotal(core, info.resources ?? NO_RESOURCES, checkpointed, id.value);
  } catch (error) {
    return refuse(
      core,
      streamId,
      idValue,
      `Agent's resources are invalid: ${(error as Error).message}`,
    );
  }
  // Checked before anything changes: tasks that do not fit the agent would break the
  // allocator's books (an agent's SUBSCRIBE is input like any other).
  // Whatever shape the agent reported in (wire/agent-report.ts), the same tasks.
  const reported = reportedTasksOf(call, id);
  const checked = checkReportedTasks(core, id.value, total, reported);
  if (checked.kind === 'problem') return refuse(core, streamId, idValue, checked.problem);
  const parsed = checked.parsed;
  const isNew = agent === undefined;
  if (agent === undefined) {
    persist(core, { kind: 'admitAgent', agent: info });
    agent = newAgentRecord({
      id,
      info,
      ip: remoteIp,
      link: { state: 'connected', streamId },
      total,
      version: call.version,
      registeredTimeSec: nowSec(core),
    });
    core.books.agents.set(id.value, agent);
    adoptTasks(core, agent, reported, parsed, frameworkInfoOf(call));
    allocatorHandle(core, {
      kind: 'agentAdded',
      agentId: id,
      total,
      used: usedByFramework(agent),
      isRemote: isRemote(core, info),
    });
    core.metrics.count('master/messages_register_slave');
    core.metrics.count('master/slave_registrations');
  } else {
    if (agent.link.state === 'connected')
      core.outbox.push({ kind: 'closeStream', streamId: agent.link.streamId });
    // Only a disconnected agent has its own unreachable timer (disconnected() arms it; every
    // way out of 'disconnected' cancels it): no timer name made and looked up for the others.
    if (agent.link.state === 'disconnected') core.timers.cancel(unreachableTimer(agent));
    if (core.removals.cancel(id.value)) core.metrics.count('master/slave_unreachable_canceled');
    rescindAll(core, agent);
    rescindInverseOffersFor(core, agent);
    const wasOffline = agent.link.state === 'unreachable' || agent.link.state === 'recovered';
    // Its info may have changed, and an unreachable mark must go: both durable before
    // SUBSCRIBED. Otherwise the registry has it as it is (agent.info is what was admitted),
    // and a write per agent would make every agent of a failover rewrite the registry.
    if (agent.link.state === 'unreachable' || (info !== agent.info && !jsonEqual(agent.info, info)))
      persist(core, { kind: 'admitAgent', agent: info });
    agent.info = info;
    agent.ip = remoteIp;
    agent.total = total;
    agent.version = call.version;
    moveAgentTo(agent, { state: 'connected', streamId });
    agent.reregisteredTimeSec = nowSec(core);
    reconcileTasks(core, agent, reported, parsed, frameworkInfoOf(call));
    if (!wasOffline) allocatorHandle(core, { kind: 'agentRemoved', agentId: id });
    allocatorHandle(core, {
      kind: 'agentAdded',
      agentId: id,
      total,
      used: usedByFramework(agent),
      isRemote: isRemote(core, info),
    });
    core.metrics.count('master/messages_reregister_slave');
    core.metrics.count('master/slave_reregistrations');
  }
  // Its attributes, hostname or domain may be new: constrained frameworks look again.
  for (const framework of core.books.frameworks.values())
    if (framework.offerConstraints.size > 0 || framework.excludedAgents.size > 0)
      evaluateOfferConstraints(core, framework, agent);
  // An operator's deactivation (or drain) outlives the link and the master's restarts.
  if (agent.isDeactivated) allocatorHandle(core, { kind: 'agentDeactivated', agentId: id });
  observe(core, { kind: 'agentAdded', agent });
  toAgent(core, agent, {
    type: 'SUBSCRIBED',
    subscribed: {
      agent_id: id,
      heartbeat_interval_seconds: core.options.heartbeatIntervalMs / 1000,
      master_info: core.masterInfo(),
      total_ping_timeout_seconds:
        (core.options.agentPingTimeoutMs * core.options.maxAgentPingTimeouts) / 1000,
      folds_pongs: true,
      takes_frameworks_once: true,
      takes_compact_report: true,
      reregister_spread_ms: reregisterSpreadMs(core.books.agents.size),
    },
  });
  if (agent.drain !== undefined) {
    // Sent whether DRAINING or DRAINED: the agent may have missed it, and takes it either way.
    toAgent(core, agent, { type: 'DRAIN', drain: { config: agent.drain.config } });
    agent.drain.startedAtSec ??= nowSec(core);
    core.checkDrainedSoon(id.value);
  }
  agent.missedPings = 0;
  ping(core, agent);
  core.log.info(
    {
      agent_id: id.value,
      hostname: info.hostname,
      resources: total.toString(),
      reregistered: !isNew,
      // Which shape the agent reported its tasks in (wire/agent-report.ts).
      report: shapeOf(call),
    },
    isNew ? 'agent registered' : 'agent reregistered',
  );
  core.allocation.agentJoined();
  return id;
}

// ------------------------------------------------------------------ health

/**
 * Sends a PING and gives the agent --agent_ping_timeout to answer. Pinging
 * goes on while the agent is connected, even once it is due to be marked
 * unreachable: a late PONG still calls that off (Mesos' SlaveObserver).
 */
function ping(core: CoreContext, agent: AgentRecord): void {
  if (agent.link.state !== 'connected') return;
  toAgent(core, agent, {
    type: 'PING',
    ping: { reregister_spread_ms: reregisterSpreadMs(core.books.agents.size) },
  });
  agent.isPongAwaited = true;
  core.pings.arm(agent);
}

/** An agent's --agent_ping_timeout after its PING (core.pings calls it): counted, pinged again. */
export function pingTimedOut(core: CoreContext, agent: AgentRecord): void {
  if (agent.link.state !== 'connected') return;
  if (agent.isPongAwaited) {
    agent.missedPings += 1;
    if (agent.missedPings >= core.options.maxAgentPingTimeouts)
      scheduleUnreachable(core, agent, 'health check timed out');
  }
  ping(core, agent);
}

/**
 * The agent answered a PING: it is alive, whatever its link looked like. A
 * pending transition to unreachable (waiting for the rate limit) is called off.
 */
export function pong(core: CoreContext, agent: AgentRecord): void {
  agent.isPongAwaited = false;
  agent.missedPings = 0;
  if (core.removals.cancel(agent.id.value)) {
    core.metrics.count('master/slave_unreachable_canceled');
    core.log.info({ agent_id: agent.id.value }, 'agent answered; not marked unreachable');
  }
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
  leaveLink(core, agent);
  const silenceMs = core.options.agentPingTimeoutMs * core.options.maxAgentPingTimeouts;
  core.timers.arm(unreachableTimer(agent), silenceMs, () =>
    scheduleUnreachable(core, agent, 'link broke and the agent did not come back'),
  );
  core.log.warn({ agent_id: agent.id.value, unreachable_in_ms: silenceMs }, 'agent disconnected');
}

/** Connected → disconnected: nothing of the agent is offered until it is back. */
function leaveLink(core: CoreContext, agent: AgentRecord): void {
  moveAgentTo(agent, { state: 'disconnected' });
  core.pings.cancel(agent);
  agent.isPongAwaited = false;
  rescindAll(core, agent);
  rescindInverseOffersFor(core, agent);
  allocatorHandle(core, { kind: 'agentDeactivated', agentId: agent.id });
}

/**
 * The agents the registry kept, after a master restart: each has
 * --agent_reregister_timeout to come back before it is unreachable. One timer for
 * all of them, as Mesos' master has: they share the deadline, and a timer each
 * was 10,000 timers armed between a new leader's election and its serving (#10).
 * Those still 'recovered' when it fires are the ones that did not come back.
 */
export function awaitReregistrations(core: CoreContext): void {
  core.timers.arm('reregistration deadline', core.options.agentReregisterTimeoutMs, () => {
    for (const agent of core.books.agents.values())
      if (agent.link.state === 'recovered')
        scheduleUnreachable(core, agent, 'did not re-register after the master restarted');
  });
}

/**
 * What the check learnt of each reported task, for adoption to reuse, at the task's index in
 * the report: its resources as parsed, for a task the check found missing from its
 * framework's tasks (so adoption need not look again); undefined for the others (terminal,
 * or known to the books).
 */
type ParsedResources = readonly (ReportedShape | undefined)[];

/**
 * Reports of up to this many tasks are checked for a task id given twice by comparing each
 * task with those before it (45 string compares for 10 tasks), without a set of ids per
 * framework (a map, a set and its growth per re-registering agent); longer ones use sets.
 */
const PAIRWISE_MAX = 32;

/** Whether the task at `index` repeats the framework and task id of one before it. */
function repeatsEarlier(reported: readonly ReportedTask[], index: number): boolean {
  const entry = reported[index] as ReportedTask;
  const taskIdValue = entry.task.task_id.value;
  const frameworkIdValue = entry.framework_id.value;
  for (let j = 0; j < index; j++) {
    const other = reported[j] as ReportedTask;
    if (other.task.task_id.value === taskIdValue && other.framework_id.value === frameworkIdValue)
      return true;
  }
  return false;
}

/**
 * Why the tasks an agent reports cannot be taken as they are: a task id twice
 * for one framework, resources that do not parse, or running tasks that
 * together use more than the agent has. A task the books know is counted with
 * the resources the books hold for it. Otherwise the resources it parsed.
 */
function checkReportedTasks(
  core: CoreContext,
  agentIdValue: string,
  total: Resources,
  reported: readonly ReportedTask[],
):
  | { readonly kind: 'problem'; readonly problem: string }
  | { readonly kind: 'ok'; readonly parsed: ParsedResources } {
  const isPairwise = reported.length <= PAIRWISE_MAX;
  // Task ids seen, per framework id, in a long report: a report lists a framework's tasks
  // together, so the set (and the framework's record) is looked up again only when the
  // framework changes.
  const seen = isPairwise ? undefined : new Map<string, Set<string>>();
  let frameworkIdValue: string | undefined;
  let seenOfFramework: Set<string> | undefined;
  let framework: FrameworkRecord | undefined;
  const parsed: (ReportedShape | undefined)[] = new Array(reported.length);
  // Summed once at the end, then unallocated once: a plus() and an unallocate() per task
  // made two values (each a map and its entries) per task of every re-registration (#10).
  const usedParts: Resources[] = [];
  for (let i = 0; i < reported.length; i++) {
    const entry = reported[i] as ReportedTask;
    if (entry.framework_id.value !== frameworkIdValue) {
      frameworkIdValue = entry.framework_id.value;
      if (seen !== undefined) {
        seenOfFramework = seen.get(frameworkIdValue);
        if (seenOfFramework === undefined) {
          seenOfFramework = new Set();
          seen.set(frameworkIdValue, seenOfFramework);
        }
      }
      framework = core.books.frameworks.get(frameworkIdValue);
    }
    const taskIdValue = entry.task.task_id.value;
    if (
      seenOfFramework === undefined ? repeatsEarlier(reported, i) : seenOfFramework.has(taskIdValue)
    )
      return { kind: 'problem', problem: `Task ${taskIdValue} is reported twice` };
    seenOfFramework?.add(taskIdValue);
    if (isTerminalState(entry.state)) continue;
    const known = framework?.tasks.get(taskIdValue);
    if (known !== undefined && known.agentId.value === agentIdValue) {
      if (!known.isRecovered) usedParts.push(known.resources);
      continue;
    }
    let shape: ReportedShape;
    try {
      shape = reportedShape(entry.task.resources ?? NO_RESOURCES);
    } catch (error) {
      return {
        kind: 'problem',
        problem: `Task ${taskIdValue} has invalid resources: ${(error as Error).message}`,
      };
    }
    // Known on another agent: counted here, and adoption finds it in the books and skips it.
    if (known === undefined) parsed[i] = shape;
    usedParts.push(shape.resources);
  }
  const used = Resources.sum(usedParts).unallocate();
  if (!total.contains(used))
    return {
      kind: 'problem',
      problem: `Reported tasks use ${used.toString()}, more than the agent's ${total.toString()}`,
    };
  return { kind: 'ok', parsed };
}

const NO_RESOURCES: readonly Resource[] = [];

/** Marks the agent unreachable as soon as --agent_removal_rate_limit allows. */
function scheduleUnreachable(core: CoreContext, agent: AgentRecord, why: string): void {
  if (core.removals.isWaiting(agent.id.value)) return;
  core.metrics.count('master/slave_unreachable_scheduled');
  core.removals.acquire(agent.id.value, () => {
    core.metrics.count('master/slave_unreachable_completed');
    unreachable(core, agent, why);
  });
}

/**
 * The agent was silent too long: its tasks are lost (or unreachable, for
 * PARTITION_AWARE frameworks). A connected agent that stopped answering
 * (a frozen process keeps its TCP connection open) has its stream closed first.
 */
export function unreachable(core: CoreContext, agent: AgentRecord, why: string): void {
  if (agent.link.state === 'connected') {
    core.outbox.push({ kind: 'closeStream', streamId: agent.link.streamId });
    leaveLink(core, agent);
  }
  if (agent.link.state !== 'disconnected' && agent.link.state !== 'recovered') return;
  core.metrics.count('master/slave_removals');
  core.metrics.count('master/slave_removals/reason_unhealthy');
  if (agent.link.state === 'recovered') core.metrics.count('master/recovery_slave_removals');
  const sinceSec = nowSec(core);
  moveAgentTo(agent, { state: 'unreachable', sinceSec });
  persist(core, { kind: 'markAgentUnreachable', agentId: agent.id, sinceSec });
  core.timers.cancel(unreachableTimer(agent));
  reportTasks(
    core,
    agent,
    (framework) =>
      framework !== undefined && hasCapability(framework.info, 'PARTITION_AWARE')
        ? 'TASK_UNREACHABLE'
        : 'TASK_LOST',
    () => ({ reason: 'REASON_AGENT_REMOVED', message: 'Agent is unreachable' }),
    sinceSec,
  );
  allocatorHandle(core, { kind: 'agentRemoved', agentId: agent.id });
  agentLost(core, agent, agent.id);
  observe(core, { kind: 'agentRemoved', agent });
  core.log.warn({ agent_id: agent.id.value, reason: why }, 'agent unreachable');
}

/**
 * Takes an agent out of the cluster for good, telling it to shut down:
 * `gone` (MARK_AGENT_GONE, or drained with mark_gone) keeps the record and
 * refuses the id forever; `down` (its machine went DOWN) forgets the agent.
 * Its tasks are reported as Mesos reports them for each case (WIRE §4.2).
 */
export function removeAgent(core: CoreContext, agent: AgentRecord, as: 'gone' | 'down'): void {
  const message =
    as === 'gone'
      ? 'Agent has been marked gone'
      : `Agent ${agent.info.hostname} removed: Operator initiated 'Machine DOWN'`;
  const wasInAllocator = agent.link.state === 'connected' || agent.link.state === 'disconnected';
  // Durable before the agent or any framework hears of it.
  persist(
    core,
    as === 'gone'
      ? { kind: 'markAgentGone', agentId: agent.id }
      : { kind: 'removeAgent', agentId: agent.id },
  );
  if (agent.link.state === 'connected') {
    toAgent(core, agent, { type: 'SHUTDOWN', shutdown: { message } });
    core.outbox.push({ kind: 'closeStream', streamId: agent.link.streamId });
  }
  core.pings.cancel(agent);
  for (const timer of [unreachableTimer(agent), `drained:${agent.id.value}`])
    core.timers.cancel(timer);
  core.removals.cancel(agent.id.value);
  rescindAll(core, agent);
  rescindInverseOffersFor(core, agent);
  // Operator-made, so PARTITION_AWARE frameworks learn it is final; machine DOWN is Mesos'
  // plain agent removal, TASK_LOST for everyone.
  const isGoneFor = (framework: FrameworkRecord | undefined) =>
    as === 'gone' && framework !== undefined && hasCapability(framework.info, 'PARTITION_AWARE');
  reportTasks(
    core,
    agent,
    (framework) => (isGoneFor(framework) ? 'TASK_GONE_BY_OPERATOR' : 'TASK_LOST'),
    (framework) => ({
      reason: isGoneFor(framework) ? 'REASON_AGENT_REMOVED_BY_OPERATOR' : 'REASON_AGENT_REMOVED',
      message,
    }),
  );
  if (wasInAllocator) allocatorHandle(core, { kind: 'agentRemoved', agentId: agent.id });
  agentLost(core, agent, agent.id);
  agent.isDeactivated = false;
  agent.drain = undefined;
  if (as === 'gone') {
    moveAgentTo(agent, { state: 'gone' });
    core.books.goneAgentIds.add(agent.id.value);
  } else {
    core.books.agents.delete(agent.id.value);
  }
  core.metrics.count('master/slave_removals');
  observe(core, { kind: 'agentRemoved', agent });
  core.log.warn({ agent_id: agent.id.value, reason: message }, 'agent removed');
}

/**
 * The master gives up on the agent's active tasks: each is recorded in the
 * state `stateFor` its framework and reported to it; those that end here are
 * retired. Tasks already terminal wait for their acknowledgement as before.
 */
function reportTasks(
  core: CoreContext,
  agent: AgentRecord,
  stateFor: (framework: FrameworkRecord | undefined) => TaskState,
  causeFor: (framework: FrameworkRecord | undefined) => MasterStatusCause,
  unreachableSinceSec?: number,
): void {
  for (const task of [...agent.tasks]) {
    if (isTerminalState(task.state)) continue;
    const framework = core.books.frameworks.get(task.frameworkId.value);
    const state = stateFor(framework);
    const cause = causeFor(framework);
    decideStatus(core, task, state, cause);
    if (framework !== undefined)
      sendMasterStatus(core, framework, task.taskId, agent.id, state, cause, {
        ...(unreachableSinceSec !== undefined ? { unreachableSinceSec } : {}),
      });
    task.isRecovered = true;
    if (isTerminalState(state)) core.books.completeTask(task);
  }
}

function usedByFramework(agent: AgentRecord): Map<string, Resources> {
  // The usual agent after a failover: its tasks all of one framework and one shape, no
  // executor. Their sum is the shape's kept multiple, without a list to sum.
  if (agent.executors.size === 0) {
    let frameworkId: FrameworkID | undefined;
    let shape: Resources | undefined;
    let count = 0;
    for (const task of agent.tasks) {
      if (task.isRecovered) continue;
      if (frameworkId === undefined) {
        frameworkId = task.frameworkId;
        shape = task.resources;
      } else if (task.frameworkId.value !== frameworkId.value || task.resources !== shape) {
        count = -1;
        break;
      }
      count++;
    }
    const used = new Map<string, Resources>();
    if (count === 0) return used;
    if (count > 0 && frameworkId !== undefined && shape !== undefined)
      return used.set(frameworkId.value, shape.times(count));
  }
  // Each framework's parts summed once: a plus() per task made a value per task.
  const parts = new Map<string, Resources[]>();
  const add = (frameworkIdValue: string, resources: Resources) => {
    const list = parts.get(frameworkIdValue);
    if (list === undefined) parts.set(frameworkIdValue, [resources]);
    else list.push(resources);
  };
  for (const task of agent.tasks)
    if (!task.isRecovered) add(task.frameworkId.value, task.resources);
  for (const executor of agent.executors.values())
    add(executor.frameworkId.value, executor.resources);
  const used = new Map<string, Resources>();
  for (const [frameworkIdValue, list] of parts) used.set(frameworkIdValue, Resources.sum(list));
  return used;
}

/**
 * Tasks a re-registering agent reports that the books lack (e.g. after a
 * master restart). Terminal ones too: the agent still holds them because their
 * terminal update is unacknowledged, and it will resend that update, which must
 * reach the framework rather than be dropped as one for an unknown task.
 * `infoOf` reads a task's FrameworkInfo from the report, in whichever shape it came.
 */
function adoptTasks(
  core: CoreContext,
  agent: AgentRecord,
  reported: readonly ReportedTask[],
  parsed: ParsedResources,
  infoOf: (entry: ReportedTask) => FrameworkInfo,
): void {
  // A report lists a framework's tasks together: its record is looked up once per run.
  let frameworkIdValue: string | undefined;
  let framework: FrameworkRecord | undefined;
  for (let i = 0; i < reported.length; i++) {
    const entry = reported[i] as ReportedTask;
    const isTerminal = isTerminalState(entry.state);
    if (entry.framework_id.value !== frameworkIdValue || framework === undefined) {
      frameworkIdValue = entry.framework_id.value;
      framework = core.books.frameworks.get(frameworkIdValue);
    }
    if (framework === undefined) {
      if (isTerminal) continue;
      if (core.books.removedFrameworkIds.has(entry.framework_id.value)) {
        toAgent(core, agent, {
          type: 'SHUTDOWN_FRAMEWORK',
          shutdown_framework: { framework_id: entry.framework_id },
        });
        continue;
      }
      framework = recoveredFramework(core, infoOf(entry), entry.framework_id.value);
    }
    // The check found the task missing from the books (parsed), and nothing since added a
    // task: the framework's tasks are looked up again only for the others.
    let shape = parsed[i];
    if (shape === undefined) {
      if (framework.tasks.has(entry.task.task_id.value)) continue;
      // Its end was delivered and acknowledged already; the agent, whose link broke
      // before the acknowledgement reached it, still lists it and resends the update.
      // Adopted again, the task would be new to the books and the update delivered
      // twice (#15); left out, the resend is acknowledged for the framework.
      if (isTerminal && wasCompleted(framework, agent, entry)) continue;
      shape = reportedShape(entry.task.resources ?? NO_RESOURCES);
    }
    const role = shape.allocationRole ?? frameworkRoles(framework.info)[0] ?? '*';
    const task = {
      taskId: entry.task.task_id,
      frameworkId: framework.id,
      agentId: agent.id,
      info: keptTaskInfo(entry.task),
      role,
      // allocate() replaces any allocation the agent reported: an agent's task under `role`
      // already (the usual case) keeps its value, and nothing new is made.
      resources: allocatedTo(shape, role),
      state: entry.state,
      statuses: NO_STATUSES,
      statusUpdateState: undefined,
      statusUpdateUuid: undefined,
      acknowledgedUuids: undefined,
      // A finished task uses nothing; its resources are free on the agent already.
      isRecovered: isTerminal,
    };
    core.books.addFreeTask(framework, agent, task);
    observe(core, { kind: 'taskAdded', task, state: task.state });
  }
}

function wasCompleted(
  framework: FrameworkRecord,
  agent: AgentRecord,
  entry: ReportedTask,
): boolean {
  return framework.completedTasks.some(
    (task) =>
      task.taskId.value === entry.task.task_id.value &&
      task.agentId.value === agent.id.value &&
      task.state === entry.state,
  );
}

/** Aligns the books with what a re-registering agent holds. */
function reconcileTasks(
  core: CoreContext,
  agent: AgentRecord,
  reported: readonly ReportedTask[],
  parsed: ParsedResources,
  infoOf: (entry: ReportedTask) => FrameworkInfo,
): void {
  // After a failover the new leader's books hold none of the agent's tasks (the registry
  // keeps none): no map of what it reports, nor a copy of what the books hold, is made.
  if (agent.tasks.size > 0) retireUnreported(core, agent, reported);
  adoptTasks(core, agent, reported, parsed, infoOf);
}

/**
 * The books' tasks on a re-registering agent that it no longer reports are gone; those
 * the books had unreachable are back as the agent says.
 */
function retireUnreported(
  core: CoreContext,
  agent: AgentRecord,
  reported: readonly ReportedTask[],
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
        // A task that ended meanwhile has its end still queued on the agent, with the
        // exit status, and the agent resends it now; a second terminal update from
        // here would reach the framework first, without either (#15).
        if (framework !== undefined && !isTerminalState(entry.state))
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
}
