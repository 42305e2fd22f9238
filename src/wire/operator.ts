// The master's v1 operator API (POST /api/v1; WIRE §6.1): the calls Agora
// validates field by field. Replies are built by the master.
import type { AgentID, FrameworkID } from './ids.js';
import type { Resource } from './messages.js';

export const MASTER_CALL_TYPES = [
  'GET_HEALTH',
  'GET_FLAGS',
  'GET_VERSION',
  'GET_METRICS',
  'GET_LOGGING_LEVEL',
  'SET_LOGGING_LEVEL',
  'LIST_FILES',
  'READ_FILE',
  'GET_STATE',
  'GET_AGENTS',
  'GET_FRAMEWORKS',
  'GET_EXECUTORS',
  'GET_OPERATIONS',
  'GET_TASKS',
  'GET_ROLES',
  'GET_WEIGHTS',
  'UPDATE_WEIGHTS',
  'GET_MASTER',
  'SUBSCRIBE',
  'RESERVE_RESOURCES',
  'UNRESERVE_RESOURCES',
  'CREATE_VOLUMES',
  'DESTROY_VOLUMES',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'GET_MAINTENANCE_STATUS',
  'GET_MAINTENANCE_SCHEDULE',
  'UPDATE_MAINTENANCE_SCHEDULE',
  'START_MAINTENANCE',
  'STOP_MAINTENANCE',
  'DRAIN_AGENT',
  'DEACTIVATE_AGENT',
  'REACTIVATE_AGENT',
  'GET_QUOTA',
  'UPDATE_QUOTA',
  'SET_QUOTA',
  'REMOVE_QUOTA',
  'TEARDOWN',
  'MARK_AGENT_GONE',
] as const;

export type MasterCallType = (typeof MASTER_CALL_TYPES)[number];

export interface WeightInfo {
  readonly weight: number;
  readonly role?: string;
}

/** `v1/quota/quota.proto` QuotaConfig: maps of name to Scalar. */
export interface QuotaConfigMessage {
  readonly role: string;
  readonly guarantees?: Readonly<Record<string, { readonly value: number }>>;
  readonly limits?: Readonly<Record<string, { readonly value: number }>>;
}

export interface MasterCall {
  readonly type: MasterCallType;
  readonly teardown?: { readonly framework_id: FrameworkID };
  readonly update_weights?: { readonly weight_infos: readonly WeightInfo[] };
  readonly update_quota?: {
    readonly force?: boolean;
    readonly quota_configs: readonly QuotaConfigMessage[];
  };
  /** Deprecated (1.9): guarantees that also act as limits. */
  readonly set_quota?: {
    readonly quota_request: {
      readonly force?: boolean;
      readonly role?: string;
      readonly guarantee?: readonly Resource[];
    };
  };
  readonly remove_quota?: { readonly role: string };
  readonly reserve_resources?: {
    readonly agent_id: AgentID;
    readonly source?: readonly Resource[];
    readonly resources?: readonly Resource[];
  };
  readonly unreserve_resources?: {
    readonly agent_id: AgentID;
    readonly resources?: readonly Resource[];
  };
}
