// The registry's state and the operations that change it. Pure: the stores
// (embedded, in-memory, later ZooKeeper) persist operations and snapshots, and
// all of them compute the next state with applyOperation.
import assert from 'node:assert/strict';
import type { AgentID, AgentInfo } from '../wire/index.js';

/** A role's quota: resource name -> scalar amount, in Mesos' units (cpus, mem in MB, …). */
export interface QuotaConfig {
  readonly role: string;
  readonly guarantees: Readonly<Record<string, number>>;
  readonly limits: Readonly<Record<string, number>>;
}

/** An immutable snapshot of everything the master keeps across restarts and failovers. */
export interface RegistryState {
  /** Admitted agents by agent id value. Every entry has `id`. */
  readonly agents: ReadonlyMap<string, AgentInfo>;
  /** Role -> weight; roles not listed have Mesos' default weight 1. */
  readonly weights: ReadonlyMap<string, number>;
  /** Role -> quota; roles not listed have no quota. */
  readonly quotas: ReadonlyMap<string, QuotaConfig>;
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
  /** Sets each listed role's weight (finite, > 0); a role listed twice takes the last. */
  | {
      readonly kind: 'updateWeights';
      readonly weights: readonly { readonly role: string; readonly weight: number }[];
    }
  /** Sets each listed role's quota; a config with no guarantees and no limits removes it. */
  | { readonly kind: 'updateQuotas'; readonly configs: readonly QuotaConfig[] };

export const EMPTY_REGISTRY_STATE: RegistryState = Object.freeze({
  agents: new Map<string, AgentInfo>(),
  weights: new Map<string, number>(),
  quotas: new Map<string, QuotaConfig>(),
});

/**
 * Returns the state after `op`; `state` is not modified. The master validates
 * requests at its edge, so a malformed operation here is a bug: it fails an
 * assertion (AssertionError) before any store writes it.
 */
export function applyOperation(state: RegistryState, op: RegistryOperation): RegistryState {
  switch (op.kind) {
    case 'admitAgent': {
      const id = op.agent.id;
      assert.ok(id !== undefined && id.value !== '', 'admitAgent: agent.id is required');
      const agents = new Map(state.agents);
      agents.set(id.value, op.agent);
      return { ...state, agents };
    }
    case 'removeAgent': {
      if (!state.agents.has(op.agentId.value)) return state;
      const agents = new Map(state.agents);
      agents.delete(op.agentId.value);
      return { ...state, agents };
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
      return { ...state, weights };
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
      return { ...state, quotas };
    }
    default:
      return assertNever(op);
  }
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
