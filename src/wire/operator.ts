// The master's v1 operator API (POST /api/v1; WIRE §6.1): the calls Agora
// validates field by field. Replies are built by the master.
import type { AgentID, FrameworkID } from './ids.js';
import type { MachineID, Resource, Unavailability } from './messages.js';

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

/** maintenance.proto Schedule: windows of machines that go down together. */
export interface MaintenanceSchedule {
  readonly windows?: readonly {
    readonly machine_ids?: readonly MachineID[];
    readonly unavailability: Unavailability;
  }[];
}

/** quota.proto QuotaRequest (deprecated in 1.9): guarantees that also act as limits. */
export interface QuotaRequest {
  readonly force?: boolean;
  readonly role?: string;
  readonly guarantee?: readonly Resource[];
}

interface AgentBody {
  readonly agent_id: AgentID;
}

/** A validated operator call, keyed on `type`; each carries the body its type needs. */
export type MasterCall =
  | {
      readonly type:
        | 'GET_HEALTH'
        | 'GET_FLAGS'
        | 'GET_VERSION'
        | 'GET_LOGGING_LEVEL'
        | 'GET_STATE'
        | 'GET_AGENTS'
        | 'GET_FRAMEWORKS'
        | 'GET_EXECUTORS'
        | 'GET_OPERATIONS'
        | 'GET_TASKS'
        | 'GET_ROLES'
        | 'GET_WEIGHTS'
        | 'GET_MASTER'
        | 'SUBSCRIBE'
        | 'GET_MAINTENANCE_STATUS'
        | 'GET_MAINTENANCE_SCHEDULE'
        | 'GET_QUOTA';
    }
  | {
      readonly type: 'GET_METRICS';
      readonly get_metrics?: { readonly timeout?: { readonly nanoseconds: number } };
    }
  | {
      readonly type: 'SET_LOGGING_LEVEL';
      readonly set_logging_level: {
        readonly level: number;
        readonly duration: { readonly nanoseconds: number };
      };
    }
  | { readonly type: 'LIST_FILES'; readonly list_files: { readonly path: string } }
  | {
      readonly type: 'READ_FILE';
      readonly read_file: {
        readonly path: string;
        readonly offset: number;
        readonly length?: number;
      };
    }
  | { readonly type: 'TEARDOWN'; readonly teardown: { readonly framework_id: FrameworkID } }
  | {
      readonly type: 'UPDATE_WEIGHTS';
      readonly update_weights: { readonly weight_infos: readonly WeightInfo[] };
    }
  | {
      readonly type: 'UPDATE_QUOTA';
      readonly update_quota: {
        readonly force?: boolean;
        readonly quota_configs: readonly QuotaConfigMessage[];
      };
    }
  | {
      /** Deprecated (1.9): guarantees that also act as limits. */
      readonly type: 'SET_QUOTA';
      readonly set_quota: { readonly quota_request: QuotaRequest };
    }
  | { readonly type: 'REMOVE_QUOTA'; readonly remove_quota: { readonly role: string } }
  | {
      readonly type: 'RESERVE_RESOURCES';
      readonly reserve_resources: AgentBody & {
        readonly source?: readonly Resource[];
        readonly resources?: readonly Resource[];
      };
    }
  | {
      readonly type: 'UNRESERVE_RESOURCES';
      readonly unreserve_resources: AgentBody & { readonly resources?: readonly Resource[] };
    }
  | {
      readonly type: 'CREATE_VOLUMES';
      readonly create_volumes: AgentBody & { readonly volumes: readonly Resource[] };
    }
  | {
      readonly type: 'DESTROY_VOLUMES';
      readonly destroy_volumes: AgentBody & { readonly volumes: readonly Resource[] };
    }
  | {
      readonly type: 'GROW_VOLUME';
      readonly grow_volume: {
        readonly agent_id?: AgentID;
        readonly volume: Resource;
        readonly addition: Resource;
      };
    }
  | {
      readonly type: 'SHRINK_VOLUME';
      readonly shrink_volume: {
        readonly agent_id?: AgentID;
        readonly volume: Resource;
        readonly subtract: { readonly value: number };
      };
    }
  | {
      readonly type: 'UPDATE_MAINTENANCE_SCHEDULE';
      readonly update_maintenance_schedule: { readonly schedule: MaintenanceSchedule };
    }
  | {
      readonly type: 'START_MAINTENANCE';
      readonly start_maintenance: { readonly machines: readonly MachineID[] };
    }
  | {
      readonly type: 'STOP_MAINTENANCE';
      readonly stop_maintenance: { readonly machines: readonly MachineID[] };
    }
  | {
      readonly type: 'DRAIN_AGENT';
      readonly drain_agent: AgentBody & {
        /** A google.protobuf.Duration, so `{seconds, nanos}` on the wire (WIRE §1.3). */
        readonly max_grace_period?: { readonly seconds?: number; readonly nanos?: number };
        readonly mark_gone?: boolean;
      };
    }
  | { readonly type: 'DEACTIVATE_AGENT'; readonly deactivate_agent: AgentBody }
  | { readonly type: 'REACTIVATE_AGENT'; readonly reactivate_agent: AgentBody }
  | { readonly type: 'MARK_AGENT_GONE'; readonly mark_agent_gone: AgentBody };
