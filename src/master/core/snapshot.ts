// `/metrics/snapshot` (WIRE §7.5): the counters the core keeps as things
// happen, plus gauges read off the books now. Names are Mesos'
// (docs/monitoring.md); test/master/metric-names.test.ts holds the list.
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

export function snapshotMetrics(
  core: CoreContext,
  startTimeSec: number,
  shell: ShellGauges = NO_SHELL,
): Record<string, number> {
  const frameworks = [...core.books.frameworks.values()];
  // Active tasks by framework and state: the master's gauges and each framework's.
  const activeByFramework = new Map<string, Map<TaskState, number>>();
  for (const framework of frameworks) {
    const active = new Map<TaskState, number>();
    for (const task of framework.tasks.values())
      if (!isTerminalState(task.state)) active.set(task.state, (active.get(task.state) ?? 0) + 1);
    activeByFramework.set(framework.id.value, active);
  }
  const out = core.metrics.snapshot((id) => activeByFramework.get(id) ?? new Map());
  out['master/elected'] = 1;
  out['master/uptime_secs'] = nowSec(core) - startTimeSec;

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

  const connected = frameworks.filter((f) => f.link.state === 'connected').length;
  out['master/frameworks_active'] = connected;
  out['master/frameworks_connected'] = connected;
  out['master/frameworks_disconnected'] = frameworks.length - connected;
  out['master/frameworks_inactive'] = frameworks.length - connected;
  out['master/outstanding_offers'] = core.books.offers.size;

  for (const name of Object.values(ACTIVE_STATE_GAUGE)) out[name] = 0;
  for (const active of activeByFramework.values())
    for (const [state, count] of active) {
      const gauge = ACTIVE_STATE_GAUGE[state];
      if (gauge !== undefined) out[gauge] = (out[gauge] ?? 0) + count;
    }
  // Mesos publishes `roles/<role>/suppressed` per framework role; a role not suppressed is 0.
  for (const framework of frameworks) {
    const prefix = frameworkMetricPrefix(framework);
    for (const role of frameworkRoles(framework.info))
      out[`${prefix}roles/${role}/suppressed`] = framework.suppressedRoles.has(role) ? 1 : 0;
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
