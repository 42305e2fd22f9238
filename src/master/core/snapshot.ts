// `/metrics/snapshot` (WIRE §7.5): the counters the core keeps as things
// happen, plus gauges read off the books now. Names are Mesos'.
import { Resources } from '../../resources/index.js';
import { isTerminalState } from '../../wire/index.js';
import { type CoreContext, nowSec } from './context.js';

const TERMINAL_COUNTS = [
  'finished',
  'failed',
  'killed',
  'lost',
  'error',
  'dropped',
  'gone',
  'gone_by_operator',
] as const;

export function snapshotMetrics(core: CoreContext, startTimeSec: number): Record<string, number> {
  const out = core.metrics.snapshot();
  const agents = [...core.books.agents.values()];
  const frameworks = [...core.books.frameworks.values()];
  const agentsIn = (state: string) => agents.filter((a) => a.link.state === state).length;
  out['master/elected'] = 1;
  out['master/uptime_secs'] = nowSec(core) - startTimeSec;
  // Active: offered, so connected and not deactivated; inactive: registered but not active.
  const active = agents.filter((a) => a.link.state === 'connected' && !a.isDeactivated).length;
  out['master/slaves_active'] = active;
  out['master/slaves_connected'] = agentsIn('connected');
  out['master/slaves_disconnected'] = agentsIn('disconnected');
  out['master/slaves_inactive'] = agentsIn('connected') + agentsIn('disconnected') - active;
  for (const name of ['scheduled', 'completed', 'canceled'])
    out[`master/slave_unreachable_${name}`] ??= 0;
  out['master/slaves_unreachable'] = agentsIn('unreachable');
  const connected = frameworks.filter((f) => f.link.state === 'connected').length;
  out['master/frameworks_active'] = connected;
  out['master/frameworks_connected'] = connected;
  out['master/frameworks_disconnected'] = frameworks.length - connected;
  out['master/frameworks_inactive'] = frameworks.length - connected;
  out['master/outstanding_offers'] = core.books.offers.size;
  for (const state of ['staging', 'starting', 'running', 'killing', 'unreachable'])
    out[`master/tasks_${state}`] = 0;
  for (const framework of frameworks)
    for (const task of framework.tasks.values()) {
      const name = `master/tasks_${task.state.replace(/^TASK_/, '').toLowerCase()}`;
      if (!isTerminalState(task.state)) out[name] = (out[name] ?? 0) + 1;
    }
  for (const state of TERMINAL_COUNTS) out[`master/tasks_${state}`] ??= 0;
  let total = Resources.EMPTY;
  let used = Resources.EMPTY;
  for (const agent of agents) {
    if (agent.link.state !== 'connected' && agent.link.state !== 'disconnected') continue;
    total = total.plus(agent.total);
    used = used.plus(core.books.usedOn(agent).unallocate());
  }
  for (const role of core.allocator.roles())
    out[`allocator/mesos/roles/${role.name}/shares/dominant`] = role.dominantShare;
  for (const quota of core.roles.quotas.values()) {
    for (const [name, value] of Object.entries(quota.guarantees))
      out[`allocator/mesos/quota/roles/${quota.role}/resources/${name}/guarantee`] = value;
    for (const [name, value] of Object.entries(quota.limits))
      out[`allocator/mesos/quota/roles/${quota.role}/resources/${name}/limit`] = value;
  }
  for (const name of ['cpus', 'gpus', 'mem', 'disk']) {
    out[`master/${name}_total`] = total.scalar(name);
    out[`master/${name}_used`] = used.scalar(name);
    out[`master/${name}_percent`] =
      total.scalar(name) === 0 ? 0 : used.scalar(name) / total.scalar(name);
  }
  return out;
}
