// `/metrics/snapshot` (WIRE §7.5): the counters the core keeps as things
// happen, plus gauges read off the books. Names are Mesos'
// (docs/monitoring.md); test/master/metric-names.test.ts holds the list.
// The gauges that walk every agent and task (walkGauges) are apart from the
// rest: at 10,000 agents and 100,000 tasks the walk costs 50-300 ms, and a
// newly elected master polled for `master/elected` must answer at once (#10).
import { Resources } from '../../resources/index.js';
import { isTerminalState, type TaskState } from '../../wire/index.js';
import { type CoreContext, nowSec } from './context.js';
import { frameworkRoles } from './framework-info.js';
import { frameworkMetricPrefix } from './metrics.js';

/** What only the shell knows: its HTTP server and its operator streams. */
export interface ShellGauges {
  /** Requests received and not answered yet. */
  readonly pendingHttpRequests: number;
  readonly operatorEventStreamSubscribers: number;
}

const NO_SHELL: ShellGauges = { pendingHttpRequests: 0, operatorEventStreamSubscribers: 0 };

/** Non-terminal states, each a `master/tasks_<state>` gauge (terminal ones are counters). */
const ACTIVE_STATE_GAUGE: Readonly<Partial<Record<TaskState, string>>> = {
  TASK_STAGING: 'master/tasks_staging',
  TASK_STARTING: 'master/tasks_starting',
  TASK_RUNNING: 'master/tasks_running',
  TASK_KILLING: 'master/tasks_killing',
  TASK_UNREACHABLE: 'master/tasks_unreachable',
};

const SCALARS = ['cpus', 'gpus', 'mem', 'disk'] as const;

/**
 * The gauges read off every agent and every task: what makes a snapshot cost
 * O(agents + tasks). Walked apart from the rest so that the shell may walk a
 * large master in slices and serve the last complete walk (gauge-cache.ts),
 * while the counters and `master/elected` are read live.
 */
export interface WalkedGauges {
  /** `master/tasks_<state>`, `master/slaves_*`, `master/<resource>_*`. */
  readonly values: Readonly<Record<string, number>>;
  /** Each framework's active tasks by state, for its `tasks/active/<state>` gauges. */
  readonly activeByFramework: ReadonlyMap<string, ReadonlyMap<TaskState, number>>;
}

/** How many tasks or agents a walk visits between two yields. */
const WALK_STEP = 100;

/**
 * Walks the books for the gauges of WalkedGauges, yielding every WALK_STEP
 * tasks or agents so that the caller may let other work run in between. The
 * books may change between two steps: the result is then a gauge of a moving
 * state (each entity counted once, as it was when visited), as any sampled gauge.
 */
export function* walkGauges(core: CoreContext): Generator<void, WalkedGauges, void> {
  let steps = 0;
  // Active tasks by framework and state: the master's gauges and each framework's.
  const activeByFramework = new Map<string, Map<TaskState, number>>();
  for (const framework of core.books.frameworks.values()) {
    const active = new Map<TaskState, number>();
    activeByFramework.set(framework.id.value, active);
    for (const task of framework.tasks.values()) {
      if (!isTerminalState(task.state)) active.set(task.state, (active.get(task.state) ?? 0) + 1);
      if (++steps % WALK_STEP === 0) yield;
    }
  }
  const out: Record<string, number> = {};
  // Registered agents are connected or disconnected; recovered and unreachable ones are not
  // (Mesos keeps those apart). Active means offered: connected and not deactivated by an
  // operator (or a drain); every other registered agent is inactive.
  let connectedAgents = 0;
  let disconnectedAgents = 0;
  let activeAgents = 0;
  let unreachableAgents = 0;
  let total = Resources.EMPTY;
  let used = Resources.EMPTY;
  for (const agent of core.books.agents.values()) {
    if (++steps % WALK_STEP === 0) yield;
    const state = agent.link.state;
    if (state === 'unreachable') unreachableAgents += 1;
    if (state !== 'connected' && state !== 'disconnected') continue;
    if (state === 'connected') connectedAgents += 1;
    else disconnectedAgents += 1;
    if (state === 'connected' && !agent.isDeactivated) activeAgents += 1;
    total = total.plus(agent.total);
    used = used.plus(core.books.usedOn(agent).unallocate());
  }
  out['master/slaves_connected'] = connectedAgents;
  out['master/slaves_disconnected'] = disconnectedAgents;
  out['master/slaves_active'] = activeAgents;
  out['master/slaves_inactive'] = connectedAgents + disconnectedAgents - activeAgents;
  out['master/slaves_unreachable'] = unreachableAgents;

  for (const name of Object.values(ACTIVE_STATE_GAUGE)) out[name] = 0;
  for (const active of activeByFramework.values())
    for (const [state, count] of active) {
      const gauge = ACTIVE_STATE_GAUGE[state];
      if (gauge !== undefined) out[gauge] = (out[gauge] ?? 0) + count;
    }

  const isRevocable = (r: { readonly revocable?: unknown }) => r.revocable !== undefined;
  const revocableTotal = total.filter(isRevocable);
  const revocableUsed = used.filter(isRevocable);
  const percent = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);
  for (const name of SCALARS) {
    // As Mesos: `_total`/`_used` count non-revocable resources, `_revocable_*` the rest.
    const totalValue = total.scalar(name) - revocableTotal.scalar(name);
    const usedValue = used.scalar(name) - revocableUsed.scalar(name);
    out[`master/${name}_total`] = totalValue;
    out[`master/${name}_used`] = usedValue;
    out[`master/${name}_percent`] = percent(usedValue, totalValue);
    out[`master/${name}_revocable_total`] = revocableTotal.scalar(name);
    out[`master/${name}_revocable_used`] = revocableUsed.scalar(name);
    out[`master/${name}_revocable_percent`] = percent(
      revocableUsed.scalar(name),
      revocableTotal.scalar(name),
    );
  }
  return { values: out, activeByFramework };
}

/** A walk (or any generator of steps) run to its end at once: its result. */
export function runToEnd<T>(walk: Generator<void, T, void>): T {
  for (;;) {
    const step = walk.next();
    if (step.done === true) return step.value;
  }
}

/** How many tasks and agents a walk would visit: O(frameworks). */
export function walkSize(core: CoreContext): number {
  let size = core.books.agents.size;
  for (const framework of core.books.frameworks.values()) size += framework.tasks.size;
  return size;
}

/**
 * The snapshot: counters, `master/elected` and what is O(frameworks + roles)
 * read now; the per-agent and per-task gauges from `walked` (by default a walk
 * done now).
 */
export function snapshotMetrics(
  core: CoreContext,
  startTimeSec: number,
  shell: ShellGauges = NO_SHELL,
  walked: WalkedGauges = runToEnd(walkGauges(core)),
): Record<string, number> {
  const frameworks = [...core.books.frameworks.values()];
  const out = core.metrics.snapshot((id) => walked.activeByFramework.get(id) ?? new Map());
  Object.assign(out, walked.values);
  out['master/elected'] = 1;
  out['master/uptime_secs'] = nowSec(core) - startTimeSec;

  const connected = frameworks.filter((f) => f.link.state === 'connected').length;
  out['master/frameworks_active'] = connected;
  out['master/frameworks_connected'] = connected;
  out['master/frameworks_disconnected'] = frameworks.length - connected;
  out['master/frameworks_inactive'] = frameworks.length - connected;
  out['master/outstanding_offers'] = core.books.offers.size;

  // Mesos publishes `roles/<role>/suppressed` per framework role; a role not suppressed is 0.
  for (const framework of frameworks) {
    const prefix = frameworkMetricPrefix(framework);
    for (const role of frameworkRoles(framework.info))
      out[`${prefix}roles/${role}/suppressed`] = framework.suppressedRoles.has(role) ? 1 : 0;
  }

  // Agora has no libprocess event queue. What waits in the master is the outbox (effects the
  // core decided and the shell has not delivered yet: events, agent commands, registry
  // writes) and HTTP requests not yet answered; there is no queue of deferred dispatches,
  // since every command runs to completion when it is called.
  out['master/event_queue_messages'] = core.outbox.size;
  out['master/event_queue_dispatches'] = 0;
  out['master/event_queue_http_requests'] = shell.pendingHttpRequests;
  out['master/operator_event_stream_subscribers'] = shell.operatorEventStreamSubscribers;

  for (const role of core.allocator.roles())
    out[`allocator/mesos/roles/${role.name}/shares/dominant`] = role.dominantShare;
  for (const quota of core.roles.quotas.values()) {
    for (const [name, value] of Object.entries(quota.guarantees))
      out[`allocator/mesos/quota/roles/${quota.role}/resources/${name}/guarantee`] = value;
    for (const [name, value] of Object.entries(quota.limits))
      out[`allocator/mesos/quota/roles/${quota.role}/resources/${name}/limit`] = value;
  }
  return out;
}
