// What an operator may do to one agent (WIRE §6.1, docs/maintenance.md):
// DEACTIVATE_AGENT and REACTIVATE_AGENT (no offers in between), DRAIN_AGENT
// (every task killed, the agent DRAINING until nothing is left and every
// terminal update acknowledged, then DRAINED, or gone if asked), and
// MARK_AGENT_GONE (removed for good). Each is durable before anyone hears of
// it, and each throws before changing anything when the call does not apply.
import {
  AgoraError,
  BadRequestError,
  type DrainConfig,
  MAX_DURATION_NANOSECONDS,
} from '../../wire/index.js';
import { removeAgent } from './agents.js';
import { allocatorHandle, type CoreContext, nowSec, persist, toAgent } from './context.js';
import { rescindInverseOffersFor } from './inverse-offers.js';
import { agentMachineId, machineOf } from './machines.js';
import { rescindAll } from './offers.js';
import type { AgentRecord } from './records.js';

/** The agent, if the master knows it (recovered, registered or unreachable); 400 otherwise. */
function knownAgent(core: CoreContext, agentIdValue: string, field: string): AgentRecord {
  const agent = core.books.agents.get(agentIdValue);
  if (agent === undefined || agent.link.state === 'gone')
    throw new BadRequestError(field, 'Unknown agent');
  return agent;
}

/** No offers, no inverse offers: the allocator skips the agent until it is reactivated. */
function stopOffering(core: CoreContext, agent: AgentRecord): void {
  if (agent.link.state !== 'connected') return; // a disconnected agent is offered nothing anyway
  allocatorHandle(core, { kind: 'agentDeactivated', agentId: agent.id });
  rescindAll(core, agent);
  rescindInverseOffersFor(core, agent);
}

/** DEACTIVATE_AGENT: no offers for the agent until REACTIVATE_AGENT; its tasks run on. */
export function deactivate(core: CoreContext, agentIdValue: string): void {
  const agent = knownAgent(core, agentIdValue, 'deactivate_agent.agent_id');
  persist(core, { kind: 'deactivateAgent', agentId: agent.id });
  agent.isDeactivated = true;
  stopOffering(core, agent);
  core.log.info({ agent_id: agentIdValue }, 'agent deactivated');
}

/** REACTIVATE_AGENT: offered again, its drain (if DRAINED) forgotten. */
export function reactivate(core: CoreContext, agentIdValue: string): void {
  const agent = core.books.agents.get(agentIdValue);
  if (agent === undefined || !agent.isDeactivated)
    throw new BadRequestError('reactivate_agent.agent_id', 'Agent is not deactivated');
  if (agent.drain?.state === 'DRAINING')
    throw new BadRequestError('reactivate_agent.agent_id', 'Agent is still in the DRAINING state');
  persist(core, { kind: 'reactivateAgent', agentId: agent.id });
  agent.isDeactivated = false;
  agent.drain = undefined;
  if (agent.link.state === 'connected') {
    allocatorHandle(core, { kind: 'agentActivated', agentId: agent.id });
    core.allocation.runSoon();
  }
  core.log.info({ agent_id: agentIdValue }, 'agent reactivated');
}

/**
 * DRAIN_AGENT: the agent is deactivated and told to kill every task, each
 * with its kill policy's grace period capped by `maxGracePeriod`. It is
 * DRAINED once no task is left on it and every terminal update has been
 * acknowledged; with `markGone`, it is marked gone then instead. An agent
 * that is away drains when it comes back.
 */
export function drain(
  core: CoreContext,
  agentIdValue: string,
  maxGracePeriod: { readonly seconds?: number; readonly nanos?: number } | undefined,
  markGone: boolean,
): void {
  const agent = knownAgent(core, agentIdValue, 'drain_agent.agent_id');
  const machine = agent.link.state === 'connected' ? machineOf(core.books, agent) : undefined;
  if (machine !== undefined)
    // Mesos keeps the two kinds of maintenance apart (best effort: it checks registered agents).
    throw new BadRequestError(
      'drain_agent.agent_id',
      `Agent ${agentIdValue} is part of a maintenance schedule under Machine ${JSON.stringify(agentMachineId(agent))}`,
    );
  const config: DrainConfig = {
    ...(maxGracePeriod !== undefined
      ? {
          max_grace_period: {
            nanoseconds: Math.min(
              (maxGracePeriod.seconds ?? 0) * 1e9 + (maxGracePeriod.nanos ?? 0),
              MAX_DURATION_NANOSECONDS,
            ),
          },
        }
      : {}),
    mark_gone: markGone,
  };
  persist(core, { kind: 'drainAgent', agentId: agent.id, config });
  agent.isDeactivated = true;
  const isRegistered = agent.link.state === 'connected' || agent.link.state === 'disconnected';
  agent.drain = {
    state: 'DRAINING',
    config,
    startedAtSec: isRegistered ? nowSec(core) : undefined,
  };
  stopOffering(core, agent);
  toAgent(core, agent, { type: 'DRAIN', drain: { config } });
  core.log.info(
    { agent_id: agentIdValue, tasks: agent.tasks.size, mark_gone: markGone },
    'agent draining',
  );
  checkDrained(core, agentIdValue);
}

/**
 * A draining agent with nothing left on it (no task, none awaiting its
 * acknowledgement) is DRAINED, or gone if the drain said so. Only a
 * registered agent can be seen to be empty.
 */
export function checkDrained(core: CoreContext, agentIdValue: string): void {
  const agent = core.books.agents.get(agentIdValue);
  if (agent?.drain?.state !== 'DRAINING') return;
  if (agent.link.state !== 'connected' && agent.link.state !== 'disconnected') return;
  if (agent.tasks.size > 0) return;
  if (agent.drain.config.mark_gone === true) {
    core.log.info({ agent_id: agentIdValue }, 'agent drained; marking it gone');
    removeAgent(core, agent, 'gone');
    return;
  }
  persist(core, { kind: 'markAgentDrained', agentId: agent.id });
  agent.drain.state = 'DRAINED';
  core.log.info({ agent_id: agentIdValue }, 'agent drained');
}

/**
 * MARK_AGENT_GONE: the agent will never come back. Its tasks are reported
 * (TASK_GONE_BY_OPERATOR to PARTITION_AWARE frameworks, TASK_LOST to others),
 * it is told to shut down, and its id is refused for good. Marking a gone
 * agent again changes nothing; an agent the master never knew is 404.
 */
export function markGone(core: CoreContext, agentIdValue: string): void {
  if (core.books.goneAgentIds.has(agentIdValue)) return;
  const agent = core.books.agents.get(agentIdValue);
  if (agent === undefined) throw new AgoraError('NOT_FOUND', `Agent '${agentIdValue}' not found`);
  removeAgent(core, agent, 'gone');
}
