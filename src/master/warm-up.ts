// A standby's rehearsal of the agents' re-registration (#10): a newly elected master
// met every agent's SUBSCRIBE with code V8 had never run, and its first round of
// re-registrations cost 1.5-2.6× a later one. A standby runs the same functions the
// leader will (the body's JSON and its check, recovery of the registry's agents, the
// core's subscribe with tasks to adopt, the SUBSCRIBED record's encoding) on synthetic
// agents in a throwaway core, so that the code is optimized before the election.
//
// Nothing here reaches the real master: the scratch core has its own books, metrics,
// allocator and outbox, a manual clock (its timers are entries in a list, never armed in
// the loop) and a silent logger; its outbox is read and dropped (no stream, no registry
// write). What it shares with the leader is module-level caches only (interned resource
// identities, for the usual cpus/mem/disk), which the leader would fill the same way.
import { HierarchicalAllocator } from '../allocator/index.js';
import { applyOperation, EMPTY_REGISTRY_STATE, type RegistryState } from '../registry/index.js';
import { JSON_EVENT_ENCODER, ManualClock, parseJsonBody, silentLogger } from '../runtime/index.js';
import {
  type AgentCall,
  type AgentInfo,
  type AgentTask,
  agentId,
  encodeRecord,
  type FrameworkInfo,
  frameworkId,
  MESOS_API_VERSION,
  parseAgentCall,
  type ReportShape,
  type Resource,
  reportIn,
  taskId,
} from '../wire/index.js';
import * as agents from './core/agents.js';
import { MasterCore } from './core/core.js';
import { recoverRegistry } from './core/recovery.js';

export interface RehearsalOptions {
  /** Synthetic agents per round. */
  readonly agents?: number;
  /** Running tasks each agent reports (all adopted: the scratch core never heard of them). */
  readonly tasksPerAgent?: number;
  /** Rounds, each a fresh core that recovers the agents and takes each one's SUBSCRIBE. */
  readonly rounds?: number;
  /** Agents handled per loop turn: between slices the loop answers its sockets and timers. */
  readonly sliceAgents?: number;
  /** Aborted (elected, stopping): the rehearsal ends after the slice under way. */
  readonly signal?: AbortSignal;
}

export interface RehearsalResult {
  /** Re-registrations the scratch cores accepted. */
  readonly subscribed: number;
  /** Tasks they adopted. */
  readonly adopted: number;
  /** SUBSCRIBED and other agent records encoded. */
  readonly records: number;
  readonly aborted: boolean;
}

// Measured with bench/reregister-core.ts --warm (bench/RESULTS.md): V8 optimized the core's
// per-agent functions (subscribe, reconcileTasks, the allocator's addAgent) only after two
// to four thousand calls, and recoverRegistry (once a round) after a few rounds; 600 agents
// left most of round 1's extra cost. ~1 s of a standby's CPU, once, in 25-agent slices.
const DEFAULTS = { agents: 500, tasksPerAgent: 10, rounds: 8, sliceAgents: 25 } as const;

const AGENT_RESOURCES: readonly Resource[] = [
  { name: 'cpus', type: 'SCALAR', scalar: { value: 8 } },
  { name: 'mem', type: 'SCALAR', scalar: { value: 16384 } },
  { name: 'disk', type: 'SCALAR', scalar: { value: 100000 } },
];

/** As schedulers register: the fields the SUBSCRIBE's fast check handles. */
const FRAMEWORK: FrameworkInfo = {
  id: frameworkId('rehearsal-framework'),
  user: 'root',
  name: 'rehearsal',
  failover_timeout: 604800,
  checkpoint: true,
  roles: ['*'],
  hostname: 'rehearsal',
  capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }],
};

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs the re-registration path on scratch state, a slice of agents per loop turn.
 * Leaves no timer, handle, log line or metric behind.
 */
export async function rehearseReregistration(
  options: RehearsalOptions = {},
): Promise<RehearsalResult> {
  const count = options.agents ?? DEFAULTS.agents;
  const tasksPerAgent = options.tasksPerAgent ?? DEFAULTS.tasksPerAgent;
  const rounds = options.rounds ?? DEFAULTS.rounds;
  const slice = Math.max(1, options.sliceAgents ?? DEFAULTS.sliceAgents);
  const infos = Array.from({ length: count }, (_, i) => rehearsalAgent(i));
  let state: RegistryState = EMPTY_REGISTRY_STATE;
  for (const info of infos) state = applyOperation(state, { kind: 'admitAgent', agent: info });
  const result = { subscribed: 0, adopted: 0, records: 0, aborted: false };
  for (let round = 0; round < rounds; round++) {
    const core = scratchCore();
    try {
      recoverRegistry(core, state);
      for (let from = 0; from < count; from += slice) {
        await nextTurn();
        if (options.signal?.aborted === true) return { ...result, aborted: true };
        for (let i = from; i < Math.min(count, from + slice); i++) {
          // As the agent API reads it: bytes, the depth check, JSON.parse, the call's check.
          const body = Buffer.from(
            JSON.stringify(rehearsalSubscribe(infos[i] as AgentInfo, i, tasksPerAgent)),
          );
          const call = parseAgentCall(parseJsonBody(body));
          if (call.type !== 'SUBSCRIBE') throw new Error('rehearsal: not a SUBSCRIBE');
          const id = agents.subscribe(
            core,
            call.subscribe,
            call.agent_id?.value,
            '127.0.0.1',
            `rehearsal-stream-${i}`,
          );
          if (id === undefined) throw new Error(`rehearsal: agent ${i} was refused`);
          result.subscribed++;
          result.adopted += call.subscribe.tasks?.length ?? 0;
        }
        result.records += encodeEffects(core);
      }
    } finally {
      core.stop();
    }
  }
  return result;
}

function scratchCore(): MasterCore {
  const clock = new ManualClock(Date.now());
  const core = new MasterCore({
    masterId: 'rehearsal',
    allocator: new HierarchicalAllocator({ random: () => 0.5 }),
    clock,
    logger: silentLogger(),
    allocationIntervalMs: 1000,
    heartbeatIntervalMs: 15_000,
    agentReregisterTimeoutMs: 600_000,
    agentPingTimeoutMs: 15_000,
    maxAgentPingTimeouts: 5,
    frameworkReregisterTimeoutMs: 10_000,
  });
  core.setMasterInfo({
    id: 'rehearsal',
    ip: 0x0100007f,
    port: 5050,
    pid: 'master@127.0.0.1:5050',
    hostname: 'localhost',
    version: MESOS_API_VERSION,
  });
  core.start();
  return core;
}

/** What the shell would write to the agents' streams, encoded as it would be, then dropped. */
function encodeEffects(core: MasterCore): number {
  let records = 0;
  for (const effect of core.outbox.take()) {
    if (effect.kind !== 'toAgent') continue;
    // The record's framing as EventStream writes it.
    const payload = JSON_EVENT_ENCODER.encode(effect.event);
    const record =
      typeof payload === 'string'
        ? `${Buffer.byteLength(payload, 'utf8')}\n${payload}`
        : encodeRecord(payload);
    if (record.length > 0) records++;
  }
  return records;
}

export function rehearsalAgent(i: number): AgentInfo {
  return {
    hostname: `rehearsal-${i}`,
    port: 5051,
    id: agentId(`rehearsal-agent-${i}`),
    resources: AGENT_RESOURCES,
  };
}

/**
 * An agent's SUBSCRIBE as agents send it after a failover: its id and its running tasks in the
 * compact report (what an agent of this version sends a new leader once a master said it
 * takes that; agent/master-link.ts), or in `shape`.
 */
export function rehearsalSubscribe(
  info: AgentInfo,
  i: number,
  tasksPerAgent: number,
  shape: ReportShape = 'compact',
): AgentCall {
  const tasks: AgentTask[] = Array.from({ length: tasksPerAgent }, (_, t) => ({
    framework_id: FRAMEWORK.id as NonNullable<FrameworkInfo['id']>,
    framework_info: FRAMEWORK,
    state: 'TASK_RUNNING',
    task: {
      name: `rehearsal-task-${t}`,
      task_id: taskId(`rehearsal-${i}-${t}`),
      agent_id: info.id as NonNullable<AgentInfo['id']>,
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, allocation_info: { role: '*' } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, allocation_info: { role: '*' } },
      ],
      command: { value: 'sleep 3600' },
      labels: { labels: [{ key: 'rehearsal', value: String(t) }] },
    },
  }));
  return {
    type: 'SUBSCRIBE',
    agent_id: info.id as NonNullable<AgentInfo['id']>,
    subscribe: {
      agent_info: info,
      version: MESOS_API_VERSION,
      ...reportIn(shape, tasks),
    },
  };
}
