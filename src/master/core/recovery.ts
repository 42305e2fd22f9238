// What a restarted master knows before anyone reconnects: the registry's
// frameworks and agents, as recovered records that wait for their schedulers
// and agents to come back. A framework has its failover_timeout (at least
// --framework_reregister_timeout) from now; an agent --agent_reregister_timeout,
// after which it is unreachable (#8, section 7).
import type { QuotaConfig } from '../../allocator/index.js';
import type { RegistryState } from '../../registry/index.js';
import { Resources } from '../../resources/index.js';
import { type AgentInfo, agentId as mintAgentId } from '../../wire/index.js';
import { awaitReregistration, newAgentRecord } from './agents.js';
import type { CoreContext } from './context.js';
import { adoptRegistered } from './frameworks.js';
import { recoverMaintenance } from './maintenance.js';
import { recoverRoleSettings } from './roles.js';

/**
 * Each registered agent's total, from the registry's info: parsed by a standby ahead of
 * its election (prepareRecovery), so that the new leader's recovery only looks them up.
 * Keyed by the info object, which the decoded state a recovery receives shares.
 */
const preparedTotals = new WeakMap<AgentInfo, Resources>();

/** Work of recoverRegistry done before it is needed, on a state a standby holds. */
export function prepareRecovery(state: RegistryState): void {
  for (const info of state.agents.values())
    if (!preparedTotals.has(info)) {
      try {
        preparedTotals.set(info, Resources.fromWire(info.resources ?? []));
      } catch {
        // Left for recovery, which fails the same way, as it would have.
      }
    }
}

export function recoverRegistry(core: CoreContext, state: RegistryState): void {
  for (const id of state.removedFrameworks) core.books.removedFrameworkIds.add(id);
  for (const id of state.goneAgents) core.books.goneAgentIds.add(id);
  for (const registered of state.frameworks.values()) adoptRegistered(core, registered);
  for (const [idValue, info] of state.agents) {
    const sinceSec = state.unreachableAgents.get(idValue);
    const agent = newAgentRecord({
      id: mintAgentId(idValue),
      info,
      // Unknown until it registers; only its machine (for maintenance) reads it meanwhile.
      ip: info.hostname,
      link: sinceSec === undefined ? { state: 'recovered' } : { state: 'unreachable', sinceSec },
      total: preparedTotals.get(info) ?? Resources.fromWire(info.resources ?? []),
      version: '',
      registeredTimeSec: core.clock.now() / 1000,
    });
    agent.isDeactivated = state.deactivatedAgents.has(idValue);
    const drain = state.drainingAgents.get(idValue);
    if (drain !== undefined)
      agent.drain = { state: drain.state, config: drain.config, startedAtSec: undefined };
    core.books.agents.set(idValue, agent);
    if (sinceSec === undefined) awaitReregistration(core, agent);
  }
  recoverMaintenance(core, state.schedule, state.downMachines);
  recoverRoleSettings(core, state.weights, state.quotas as ReadonlyMap<string, QuotaConfig>);
  core.log.info(
    {
      frameworks: state.frameworks.size,
      agents: state.agents.size,
      unreachable_agents: state.unreachableAgents.size,
    },
    'recovered from the registry',
  );
}
