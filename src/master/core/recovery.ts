// What a restarted master knows before anyone reconnects: the registry's
// frameworks and agents, as recovered records that wait for their schedulers
// and agents to come back. A framework has its failover_timeout (at least
// --framework_reregister_timeout) from now; an agent --agent_reregister_timeout,
// after which it is unreachable (#8, section 7).
import type { QuotaConfig } from '../../allocator/index.js';
import type { RegistryState } from '../../registry/index.js';
import type { Resources } from '../../resources/index.js';
import { type AgentInfo, agentId as mintAgentId, type Resource } from '../../wire/index.js';
import { awaitReregistrations, newAgentRecord } from './agents.js';
import type { CoreContext } from './context.js';
import { adoptRegistered } from './frameworks.js';
import { recoverMaintenance } from './maintenance.js';
import type { AgentRecord } from './records.js';
import { agentShape } from './reported-resources.js';
import { recoverRoleSettings } from './roles.js';

/**
 * The agents' records a standby built ahead from one decoded registry state
 * (prepareRecovery), keyed by that state object: a new leader whose recovery reads
 * exactly that state (the chunked registry hands back the standby's own decoded
 * state only when the head it read at election is the one it was decoded from) takes
 * them instead of building 10,000 records between 'elected' and 'serving' (#10: ~0.2 s
 * of the new leader's CPU). Any other state, including one with a write the standby
 * missed, is a different object and finds nothing: its records are built from it, as
 * before. Records are mutable, so each prepared set is taken once.
 */
const prepared = new WeakMap<RegistryState, ReadonlyMap<string, AgentRecord>>();

const NO_RESOURCES: readonly Resource[] = [];

/** A recovered record's registered time, set when a leader takes it (see takePrepared). */
type Registered = { registeredTimeSec: number };

/** Work of recoverRegistry done before it is needed, on a state a standby holds. */
export function prepareRecovery(state: RegistryState): void {
  if (prepared.has(state)) return;
  const records = new Map<string, AgentRecord>();
  for (const [idValue, info] of state.agents) {
    let total: Resources;
    try {
      // Agents of one kind share one value, the very one their re-registration gives them.
      total = agentShape(info.resources ?? NO_RESOURCES).resources;
    } catch {
      // Left for recovery, which fails the same way, as it would have.
      return;
    }
    // The time is the leader's recovery's, set when it takes the record.
    records.set(idValue, recoveredAgent(state, idValue, info, total, Number.NaN));
  }
  prepared.set(state, records);
}

/** The records prepared for exactly `state`, once, stamped with the recovery's time. */
function takePrepared(
  state: RegistryState,
  registeredTimeSec: number,
): ReadonlyMap<string, AgentRecord> | undefined {
  const records = prepared.get(state);
  if (records === undefined) return undefined;
  prepared.delete(state);
  // registeredTimeSec is fixed from here on; only the recovery that takes a record sets it.
  for (const record of records.values())
    (record as Registered).registeredTimeSec = registeredTimeSec;
  return records;
}

function recoveredAgent(
  state: RegistryState,
  idValue: string,
  info: AgentInfo,
  total: Resources,
  registeredTimeSec: number,
): AgentRecord {
  const sinceSec = state.unreachableAgents.get(idValue);
  const agent = newAgentRecord({
    id: mintAgentId(idValue),
    info,
    // Unknown until it registers; only its machine (for maintenance) reads it meanwhile.
    ip: info.hostname,
    link: sinceSec === undefined ? { state: 'recovered' } : { state: 'unreachable', sinceSec },
    total,
    version: '',
    registeredTimeSec,
  });
  agent.isDeactivated = state.deactivatedAgents.has(idValue);
  const drain = state.drainingAgents.get(idValue);
  if (drain !== undefined)
    agent.drain = { state: drain.state, config: drain.config, startedAtSec: undefined };
  return agent;
}

/**
 * Builds the books from `state`: the registry's frameworks and agents as recovered records.
 * Returns whether the agents' records were the ones a standby prepared for this very state.
 */
export function recoverRegistry(core: CoreContext, state: RegistryState): boolean {
  for (const id of state.removedFrameworks) core.books.removedFrameworkIds.add(id);
  for (const id of state.goneAgents) core.books.goneAgentIds.add(id);
  for (const registered of state.frameworks.values()) adoptRegistered(core, registered);
  const nowSec = core.clock.now() / 1000;
  const records = takePrepared(state, nowSec);
  let isAnyAwaited = false;
  for (const [idValue, info] of state.agents) {
    const agent =
      records?.get(idValue) ??
      recoveredAgent(
        state,
        idValue,
        info,
        agentShape(info.resources ?? NO_RESOURCES).resources,
        nowSec,
      );
    core.books.agents.set(idValue, agent);
    if (agent.link.state === 'recovered') isAnyAwaited = true;
  }
  if (isAnyAwaited) awaitReregistrations(core);
  recoverMaintenance(core, state.schedule, state.downMachines);
  recoverRoleSettings(core, state.weights, state.quotas as ReadonlyMap<string, QuotaConfig>);
  core.log.info(
    {
      frameworks: state.frameworks.size,
      agents: state.agents.size,
      unreachable_agents: state.unreachableAgents.size,
      prepared: records !== undefined,
    },
    'recovered from the registry',
  );
  return records !== undefined;
}
