// The registry's state and the operations that change it. Pure: the stores
// (embedded, in-memory, later ZooKeeper) persist operations and snapshots, and
// all of them compute the next state with applyOperation.
import assert from 'node:assert/strict';
import {
  type AgentID,
  type AgentInfo,
  type DrainConfig,
  type DrainState,
  type FrameworkID,
  type FrameworkInfo,
  type MachineID,
  type MaintenanceSchedule,
  machineKey,
} from '../wire/index.js';
import { SharedMap } from './shared-map.js';

/** A role's quota: resource name -> scalar amount, in Mesos' units (cpus, mem in MB, …). */
export interface QuotaConfig {
  readonly role: string;
  readonly guarantees: Readonly<Record<string, number>>;
  readonly limits: Readonly<Record<string, number>>;
}

/** A framework the master registered: what it subscribed with, and when. */
export interface RegisteredFramework {
  /** Every entry has `id`. */
  readonly info: FrameworkInfo;
  readonly registeredTimeSec: number;
}

/** DRAIN_AGENT's lasting part: how the agent drains, and how far it got. */
export interface AgentDrainInfo {
  readonly state: DrainState;
  readonly config: DrainConfig;
}

/** How many removed framework ids the registry remembers (so they cannot subscribe again). */
export const MAX_REMOVED_FRAMEWORKS = 1000;

/** An immutable snapshot of everything the master keeps across restarts and failovers. */
export interface RegistryState {
  /** Admitted agents by agent id value. Every entry has `id`. */
  readonly agents: ReadonlyMap<string, AgentInfo>;
  /** Admitted agents marked unreachable, by id value: since when (seconds). */
  readonly unreachableAgents: ReadonlyMap<string, number>;
  /** Agents an operator marked gone (MARK_AGENT_GONE): they may never register again. */
  readonly goneAgents: ReadonlySet<string>;
  /** Registered frameworks by id value. */
  readonly frameworks: ReadonlyMap<string, RegisteredFramework>;
  /** Ids of removed frameworks, oldest first, at most MAX_REMOVED_FRAMEWORKS. */
  readonly removedFrameworks: readonly string[];
  /** Role -> weight; roles not listed have Mesos' default weight 1. */
  readonly weights: ReadonlyMap<string, number>;
  /** Role -> quota; roles not listed have no quota. */
  readonly quotas: ReadonlyMap<string, QuotaConfig>;
  /** Admitted agents an operator deactivated (DEACTIVATE_AGENT or DRAIN_AGENT). */
  readonly deactivatedAgents: ReadonlySet<string>;
  /** Admitted agents told to drain (DRAIN_AGENT), by id. */
  readonly drainingAgents: ReadonlyMap<string, AgentDrainInfo>;
  /** The maintenance schedule (one, as Mesos keeps); its machines are DRAINING unless DOWN. */
  readonly schedule: MaintenanceSchedule;
  /** Machines in DOWN mode (START_MAINTENANCE until STOP_MAINTENANCE); all in the schedule. */
  readonly downMachines: readonly MachineID[];
}

/**
 * A change to the registry. Every operation is a blind write per key (an agent id
 * or a role), so its effect never depends on what was there before.
 */
export type RegistryOperation =
  /** Admits `agent` (whose `id` is required), replacing an entry with the same id. */
  | { readonly kind: 'admitAgent'; readonly agent: AgentInfo }
  /** Removes the agent; removing an agent that is not admitted changes nothing. */
  | { readonly kind: 'removeAgent'; readonly agentId: AgentID }
  /** The agent went silent (unreachable) at `sinceSec`; admitting it again clears the mark. */
  | { readonly kind: 'markAgentUnreachable'; readonly agentId: AgentID; readonly sinceSec: number }
  /** The agent is gone for good: removed, and refused if it ever comes back. */
  | { readonly kind: 'markAgentGone'; readonly agentId: AgentID }
  /** Registers a framework, or updates what it subscribed with. */
  | { readonly kind: 'addFramework'; readonly framework: RegisteredFramework }
  /** Removes a framework for good: its id joins the removed ones. */
  | { readonly kind: 'removeFramework'; readonly frameworkId: FrameworkID }
  /** Sets each listed role's weight (finite, > 0); a role listed twice takes the last. */
  | {
      readonly kind: 'updateWeights';
      readonly weights: readonly { readonly role: string; readonly weight: number }[];
    }
  /** Sets each listed role's quota; a config with no guarantees and no limits removes it. */
  | { readonly kind: 'updateQuotas'; readonly configs: readonly QuotaConfig[] }
  /** The admitted agent is not offered until reactivated. */
  | { readonly kind: 'deactivateAgent'; readonly agentId: AgentID }
  /** Clears the agent's deactivation and its drain. */
  | { readonly kind: 'reactivateAgent'; readonly agentId: AgentID }
  /** The admitted agent drains (and is deactivated); DRAINING, whatever it was. */
  | { readonly kind: 'drainAgent'; readonly agentId: AgentID; readonly config: DrainConfig }
  /** The draining agent is empty: DRAINED. */
  | { readonly kind: 'markAgentDrained'; readonly agentId: AgentID }
  /**
   * Replaces the schedule. The master checked it (Mesos' rules); here only
   * that DOWN machines stay in it, since nothing else may bring them up.
   */
  | { readonly kind: 'updateMaintenanceSchedule'; readonly schedule: MaintenanceSchedule }
  /** The machines (each in the schedule) go DOWN. */
  | { readonly kind: 'startMaintenance'; readonly machines: readonly MachineID[] }
  /** The machines come UP: out of the DOWN set and out of the schedule (empty windows go). */
  | { readonly kind: 'stopMaintenance'; readonly machines: readonly MachineID[] };

export const EMPTY_REGISTRY_STATE: RegistryState = Object.freeze({
  agents: new Map<string, AgentInfo>(),
  unreachableAgents: new Map<string, number>(),
  goneAgents: new Set<string>(),
  frameworks: new Map<string, RegisteredFramework>(),
  removedFrameworks: [],
  weights: new Map<string, number>(),
  quotas: new Map<string, QuotaConfig>(),
  deactivatedAgents: new Set<string>(),
  drainingAgents: new Map<string, AgentDrainInfo>(),
  schedule: {},
  downMachines: [],
});

/**
 * The two per-agent maps of a state as SharedMaps (shared-map.ts), so that the next
 * state copies a few entries, not every agent. States made here carry theirs; any
 * other (EMPTY_REGISTRY_STATE, a decoded snapshot, a test's literal) gets them on
 * first use, its Maps taken as bases (states are immutable, so they never change).
 */
export interface AgentMaps {
  readonly agents: SharedMap<AgentInfo>;
  readonly unreachableAgents: SharedMap<number>;
}

const agentMapsOf = new WeakMap<RegistryState, AgentMaps>();

/**
 * A state's per-agent maps without copying them into plain Maps (as its `agents` getter
 * does): the same objects for every state an operation on something else made.
 */
export function agentMaps(state: RegistryState): AgentMaps {
  let maps = agentMapsOf.get(state);
  if (maps === undefined) {
    maps = {
      agents: SharedMap.of(state.agents),
      unreachableAgents: SharedMap.of(state.unreachableAgents),
    };
    agentMapsOf.set(state, maps);
  }
  return maps;
}

type OtherParts = Omit<RegistryState, 'agents' | 'unreachableAgents'>;

/**
 * `state` with `changes`. `agents` and `unreachableAgents` are plain Maps to whoever
 * reads them (the recovering master, a snapshot writer, a test), made on first read;
 * applyOperation itself only ever reads the shared maps.
 */
function nextState(
  state: RegistryState,
  changes: Partial<OtherParts>,
  maps: AgentMaps = agentMaps(state),
): RegistryState {
  let agents: Map<string, AgentInfo> | undefined;
  let unreachableAgents: Map<string, number> | undefined;
  const next: RegistryState = {
    get agents() {
      agents ??= maps.agents.toMap();
      return agents;
    },
    get unreachableAgents() {
      unreachableAgents ??= maps.unreachableAgents.toMap();
      return unreachableAgents;
    },
    goneAgents: changes.goneAgents ?? state.goneAgents,
    frameworks: changes.frameworks ?? state.frameworks,
    removedFrameworks: changes.removedFrameworks ?? state.removedFrameworks,
    weights: changes.weights ?? state.weights,
    quotas: changes.quotas ?? state.quotas,
    deactivatedAgents: changes.deactivatedAgents ?? state.deactivatedAgents,
    drainingAgents: changes.drainingAgents ?? state.drainingAgents,
    schedule: changes.schedule ?? state.schedule,
    downMachines: changes.downMachines ?? state.downMachines,
  };
  agentMapsOf.set(next, maps);
  return next;
}

/**
 * Returns the state after `op`; `state` is not modified. The master validates
 * requests at its edge, so a malformed operation here is a bug: it fails an
 * assertion (AssertionError) before any store writes it.
 */
export function applyOperation(state: RegistryState, op: RegistryOperation): RegistryState {
  const maps = agentMaps(state);
  switch (op.kind) {
    case 'admitAgent': {
      const id = op.agent.id;
      assert.ok(id !== undefined && id.value !== '', 'admitAgent: agent.id is required');
      assert.ok(!state.goneAgents.has(id.value), `admitAgent: agent ${id.value} is gone`);
      return nextState(
        state,
        {},
        {
          agents: maps.agents.set(id.value, op.agent),
          unreachableAgents: maps.unreachableAgents.delete(id.value),
        },
      );
    }
    case 'removeAgent': {
      if (!maps.agents.has(op.agentId.value)) return state;
      return nextState(state, withoutAgentMarks(state, op.agentId.value), {
        agents: maps.agents.delete(op.agentId.value),
        unreachableAgents: maps.unreachableAgents.delete(op.agentId.value),
      });
    }
    case 'markAgentUnreachable': {
      const id = op.agentId.value;
      assert.ok(maps.agents.has(id), `markAgentUnreachable: agent ${id} is not admitted`);
      assert.ok(Number.isFinite(op.sinceSec), 'markAgentUnreachable: sinceSec must be finite');
      return nextState(
        state,
        {},
        { agents: maps.agents, unreachableAgents: maps.unreachableAgents.set(id, op.sinceSec) },
      );
    }
    case 'markAgentGone': {
      const id = op.agentId.value;
      return nextState(
        state,
        { ...withoutAgentMarks(state, id), goneAgents: new Set(state.goneAgents).add(id) },
        { agents: maps.agents.delete(id), unreachableAgents: maps.unreachableAgents.delete(id) },
      );
    }
    case 'addFramework': {
      const id = op.framework.info.id?.value;
      assert.ok(id !== undefined && id !== '', 'addFramework: framework.info.id is required');
      assert.ok(!state.removedFrameworks.includes(id), `addFramework: framework ${id} was removed`);
      const frameworks = new Map(state.frameworks);
      frameworks.set(id, op.framework);
      return nextState(state, { frameworks }, maps);
    }
    case 'removeFramework': {
      const id = op.frameworkId.value;
      const frameworks = new Map(state.frameworks);
      frameworks.delete(id);
      const removed = state.removedFrameworks.includes(id)
        ? state.removedFrameworks
        : [...state.removedFrameworks, id].slice(-MAX_REMOVED_FRAMEWORKS);
      return nextState(state, { frameworks, removedFrameworks: removed }, maps);
    }
    case 'updateWeights': {
      const weights = new Map(state.weights);
      for (const { role, weight } of op.weights) {
        assert.ok(role !== '', 'updateWeights: role must not be empty');
        assert.ok(
          Number.isFinite(weight) && weight > 0,
          `updateWeights: weight of role '${role}' must be finite and positive, got ${weight}`,
        );
        weights.set(role, weight);
      }
      return nextState(state, { weights }, maps);
    }
    case 'updateQuotas': {
      const quotas = new Map(state.quotas);
      for (const config of op.configs) {
        assert.ok(config.role !== '', 'updateQuotas: role must not be empty');
        assertQuantities(config.role, 'guarantees', config.guarantees);
        assertQuantities(config.role, 'limits', config.limits);
        const isEmpty =
          Object.keys(config.guarantees).length === 0 && Object.keys(config.limits).length === 0;
        if (isEmpty) quotas.delete(config.role);
        else quotas.set(config.role, config);
      }
      return nextState(state, { quotas }, maps);
    }
    case 'deactivateAgent': {
      assertAdmitted(maps, op.kind, op.agentId);
      return nextState(
        state,
        { deactivatedAgents: new Set(state.deactivatedAgents).add(op.agentId.value) },
        maps,
      );
    }
    case 'reactivateAgent': {
      assertAdmitted(maps, op.kind, op.agentId);
      const changes = withoutAgentMarks(state, op.agentId.value);
      return Object.keys(changes).length === 0 ? state : nextState(state, changes, maps);
    }
    case 'drainAgent': {
      assertAdmitted(maps, op.kind, op.agentId);
      const drainingAgents = new Map(state.drainingAgents);
      drainingAgents.set(op.agentId.value, { state: 'DRAINING', config: op.config });
      return nextState(
        state,
        {
          drainingAgents,
          deactivatedAgents: new Set(state.deactivatedAgents).add(op.agentId.value),
        },
        maps,
      );
    }
    case 'markAgentDrained': {
      const drain = state.drainingAgents.get(op.agentId.value);
      assert.ok(drain !== undefined, `markAgentDrained: agent ${op.agentId.value} is not draining`);
      const drainingAgents = new Map(state.drainingAgents);
      drainingAgents.set(op.agentId.value, { ...drain, state: 'DRAINED' });
      return nextState(state, { drainingAgents }, maps);
    }
    case 'updateMaintenanceSchedule': {
      const scheduled = new Set(scheduleMachines(op.schedule).map(machineKey));
      for (const machine of state.downMachines)
        assert.ok(
          scheduled.has(machineKey(machine)),
          `updateMaintenanceSchedule: DOWN machine ${machineKey(machine)} left the schedule`,
        );
      return nextState(state, { schedule: op.schedule }, maps);
    }
    case 'startMaintenance': {
      const scheduled = new Set(scheduleMachines(state.schedule).map(machineKey));
      const down = new Map(state.downMachines.map((m) => [machineKey(m), m]));
      for (const machine of op.machines) {
        const key = machineKey(machine);
        assert.ok(scheduled.has(key), `startMaintenance: machine ${key} is not scheduled`);
        down.set(key, machine);
      }
      return nextState(state, { downMachines: [...down.values()] }, maps);
    }
    case 'stopMaintenance': {
      const up = new Set(op.machines.map(machineKey));
      const windows = (state.schedule.windows ?? [])
        .map((window) => ({
          ...window,
          machine_ids: (window.machine_ids ?? []).filter((m) => !up.has(machineKey(m))),
        }))
        .filter((window) => window.machine_ids.length > 0);
      return nextState(
        state,
        {
          schedule: windows.length === 0 ? {} : { windows },
          downMachines: state.downMachines.filter((m) => !up.has(machineKey(m))),
        },
        maps,
      );
    }
    default:
      return assertNever(op);
  }
}

/** Every machine the schedule names, window by window. */
export function scheduleMachines(schedule: MaintenanceSchedule): MachineID[] {
  return (schedule.windows ?? []).flatMap((window) => window.machine_ids ?? []);
}

function assertAdmitted(maps: AgentMaps, kind: string, agentId: AgentID): void {
  assert.ok(maps.agents.has(agentId.value), `${kind}: agent ${agentId.value} is not admitted`);
}

/** The changes that drop the agent's deactivation and drain, which end with it (none if it has neither). */
function withoutAgentMarks(
  state: RegistryState,
  id: string,
): Pick<Partial<OtherParts>, 'deactivatedAgents' | 'drainingAgents'> {
  if (!state.deactivatedAgents.has(id) && !state.drainingAgents.has(id)) return {};
  const deactivatedAgents = new Set(state.deactivatedAgents);
  deactivatedAgents.delete(id);
  const drainingAgents = new Map(state.drainingAgents);
  drainingAgents.delete(id);
  return { deactivatedAgents, drainingAgents };
}

function assertQuantities(
  role: string,
  field: 'guarantees' | 'limits',
  quantities: Readonly<Record<string, number>>,
): void {
  for (const [name, amount] of Object.entries(quantities)) {
    assert.ok(
      Number.isFinite(amount) && amount >= 0,
      `updateQuotas: ${field}.${name} of role '${role}' must be finite and non-negative, got ${amount}`,
    );
  }
}

/** Makes a switch exhaustive: a new union member breaks the build until it is handled. */
export function assertNever(value: never): never {
  assert.fail(`unexpected value ${JSON.stringify(value)}`);
}
