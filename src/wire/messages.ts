// Mesos v1 messages as they appear in JSON (include/mesos/v1/mesos.proto; WIRE §3).
// Field names stay snake_case: these types are the data model, not a copy of it.
import type { AgentID, ContainerID, ExecutorID, FrameworkID, OfferID, TaskID } from './ids.js';
import type { TaskState } from './task-state.js';

export interface Scalar {
  readonly value: number;
}
export interface Range {
  readonly begin: number;
  readonly end: number;
}
export interface Ranges {
  readonly range: readonly Range[];
}
export interface ValueSet {
  readonly item: readonly string[];
}
export interface Label {
  readonly key: string;
  readonly value?: string;
}
/** Note the wrapper object: `{"labels":{"labels":[…]}}`. */
export interface Labels {
  readonly labels: readonly Label[];
}

export type ReservationType = 'UNKNOWN' | 'STATIC' | 'DYNAMIC';
export interface ReservationInfo {
  readonly type?: ReservationType;
  readonly role?: string;
  readonly principal?: string;
  readonly labels?: Labels;
}
export interface AllocationInfo {
  readonly role: string;
}

export type ValueType = 'SCALAR' | 'RANGES' | 'SET' | 'TEXT';

export interface DiskInfo {
  readonly persistence?: { readonly id: string; readonly principal?: string };
  readonly volume?: { readonly container_path: string; readonly mode: 'RW' | 'RO' };
  readonly source?: { readonly type: string };
}

export interface Resource {
  readonly name: string;
  readonly type: Exclude<ValueType, 'TEXT'>;
  readonly scalar?: Scalar;
  readonly ranges?: Ranges;
  readonly set?: ValueSet;
  /** Deprecated pre-refinement form: `*` means unreserved. */
  readonly role?: string;
  /** Pre-refinement dynamic reservation (principal, labels). */
  readonly reservation?: ReservationInfo;
  /** Post-refinement reservation stack: the last entry is the current reservation. */
  readonly reservations?: readonly ReservationInfo[];
  readonly allocation_info?: AllocationInfo;
  readonly disk?: DiskInfo;
  readonly revocable?: Record<string, never>;
  readonly shared?: Record<string, never>;
}

export interface Attribute {
  readonly name: string;
  readonly type: ValueType;
  readonly scalar?: Scalar;
  readonly ranges?: Ranges;
  readonly set?: ValueSet;
  readonly text?: { readonly value: string };
}

/** FrameworkInfo.Capability.Type, in mesos.proto's order. */
export const FRAMEWORK_CAPABILITY_TYPES = [
  'UNKNOWN',
  'REVOCABLE_RESOURCES',
  'TASK_KILLING_STATE',
  'GPU_RESOURCES',
  'SHARED_RESOURCES',
  'PARTITION_AWARE',
  'MULTI_ROLE',
  'RESERVATION_REFINEMENT',
  'REGION_AWARE',
] as const;
export type FrameworkCapabilityType = (typeof FRAMEWORK_CAPABILITY_TYPES)[number];

export interface FrameworkInfo {
  readonly user: string;
  readonly name: string;
  readonly id?: FrameworkID;
  readonly failover_timeout?: number;
  readonly checkpoint?: boolean;
  readonly role?: string;
  readonly roles?: readonly string[];
  readonly hostname?: string;
  readonly principal?: string;
  readonly webui_url?: string;
  readonly capabilities?: readonly { readonly type: FrameworkCapabilityType }[];
  readonly labels?: Labels;
  /** Per role, the least an offer must hold to be made (Mesos 1.11); replaces the global minimum. */
  readonly offer_filters?: Readonly<Record<string, OfferFilters>>;
}

/** mesos.proto OfferFilters: alternatives of scalar quantities; an offer must hold one in full. */
export interface OfferFilters {
  readonly min_allocatable_resources?: {
    readonly quantities?: readonly {
      readonly quantities?: Readonly<Record<string, Scalar>>;
    }[];
  };
}

/** mesos.proto DomainInfo: an agent's (or the master's) fault domain. */
export interface DomainInfo {
  readonly fault_domain?: {
    readonly region: { readonly name: string };
    readonly zone: { readonly name: string };
  };
}

export interface Address {
  readonly hostname?: string;
  readonly ip?: string;
  readonly port: number;
}
export interface URL {
  readonly scheme: string;
  readonly address: Address;
  readonly path?: string;
}

/**
 * Where a master or agent sits (`--domain`; docs/fault-domains.md): a region
 * and a zone within it. Only fault domains exist; Mesos treats a domain
 * without one as no domain.
 */
export interface DomainInfo {
  readonly fault_domain?: {
    readonly region: { readonly name: string };
    readonly zone: { readonly name: string };
  };
}

export interface MasterInfo {
  readonly id: string;
  readonly ip: number;
  readonly port: number;
  readonly pid?: string;
  readonly hostname?: string;
  readonly version?: string;
  readonly address?: Address;
  readonly domain?: DomainInfo;
  readonly capabilities?: readonly { readonly type: string }[];
}

export interface AgentInfo {
  readonly hostname: string;
  readonly port?: number;
  readonly resources?: readonly Resource[];
  readonly attributes?: readonly Attribute[];
  readonly id?: AgentID;
  readonly domain?: DomainInfo;
}

/** A machine, as maintenance names it: hostname and/or IP (mesos.proto MachineID). */
export interface MachineID {
  readonly hostname?: string;
  readonly ip?: string;
}

/** When a machine may become unavailable: a start, and how long (mesos.proto Unavailability). */
export interface Unavailability {
  readonly start: { readonly nanoseconds: number };
  readonly duration?: { readonly nanoseconds: number };
}

export interface Offer {
  readonly id: OfferID;
  readonly framework_id: FrameworkID;
  readonly agent_id: AgentID;
  readonly hostname: string;
  readonly url: URL;
  readonly domain?: DomainInfo;
  readonly resources: readonly Resource[];
  readonly attributes?: readonly Attribute[];
  readonly executor_ids?: readonly ExecutorID[];
  /** Set while the agent's machine is scheduled for maintenance (docs/maintenance.md). */
  readonly unavailability?: Unavailability;
  readonly allocation_info?: AllocationInfo;
}

/**
 * The master asking for resources back (maintenance): the framework answers
 * with ACCEPT_INVERSE_OFFERS or DECLINE_INVERSE_OFFERS. No `resources` means
 * the whole agent, which is what maintenance asks for.
 */
export interface InverseOffer {
  readonly id: OfferID;
  readonly url?: URL;
  readonly framework_id: FrameworkID;
  readonly agent_id?: AgentID;
  readonly unavailability: Unavailability;
  readonly resources?: readonly Resource[];
}

/** How an agent drains (DRAIN_AGENT): the kill grace cap, and whether it is gone afterwards. */
export interface DrainConfig {
  readonly max_grace_period?: DurationInfo;
  readonly mark_gone?: boolean;
}

export type DrainState = 'DRAINING' | 'DRAINED';

export interface Filters {
  readonly refuse_seconds?: number;
}

export interface EnvironmentVariable {
  readonly name: string;
  readonly type?: 'UNKNOWN' | 'VALUE' | 'SECRET';
  readonly value?: string;
}
export interface CommandURI {
  readonly value: string;
  readonly executable?: boolean;
  readonly extract?: boolean;
  readonly cache?: boolean;
  readonly output_file?: string;
}
export interface CommandInfo {
  readonly uris?: readonly CommandURI[];
  readonly environment?: { readonly variables: readonly EnvironmentVariable[] };
  /** Default true: run `value` with `/bin/sh -c`; false: exec `value` with `arguments` as argv. */
  readonly shell?: boolean;
  readonly value?: string;
  readonly arguments?: readonly string[];
  readonly user?: string;
}

export interface DurationInfo {
  readonly nanoseconds: number;
}
export interface KillPolicy {
  readonly grace_period?: DurationInfo;
}

/** Which probe a check or health check runs (CheckInfo.Type; HealthCheck.Type has the same names). */
export type CheckType = 'UNKNOWN' | 'COMMAND' | 'HTTP' | 'TCP';
export type NetworkProtocol = 'IPv4' | 'IPv6';

/**
 * A task's health check (TaskInfo.health_check, WIRE §3): its result is
 * interpreted (healthy or not) and a task failing it `consecutive_failures`
 * times is killed. Unset numbers take Mesos' defaults (WIRE §1.2).
 */
export interface HealthCheck {
  readonly type?: CheckType;
  readonly command?: CommandInfo;
  readonly http?: {
    readonly protocol?: NetworkProtocol;
    /** `http` (the default) or `https`. */
    readonly scheme?: string;
    readonly port: number;
    readonly path?: string;
    /** For custom executors only: Mesos' built-in executors ignore it, and so does Agora. */
    readonly statuses?: readonly number[];
  };
  readonly tcp?: { readonly protocol?: NetworkProtocol; readonly port: number };
  readonly delay_seconds?: number;
  readonly interval_seconds?: number;
  /** 0 means no timeout. */
  readonly timeout_seconds?: number;
  readonly consecutive_failures?: number;
  readonly grace_period_seconds?: number;
}

/** A generic check (TaskInfo.check): its result is reported, never interpreted. */
export interface CheckInfo {
  readonly type?: CheckType;
  readonly command?: { readonly command: CommandInfo };
  readonly http?: { readonly port: number; readonly path?: string };
  readonly tcp?: { readonly port: number };
  readonly delay_seconds?: number;
  readonly interval_seconds?: number;
  /** 0 means no timeout. */
  readonly timeout_seconds?: number;
}

/** A check's latest result in TaskStatus.check_status; an empty body means no result (yet). */
export interface CheckStatusInfo {
  readonly type?: CheckType;
  readonly command?: { readonly exit_code?: number };
  readonly http?: { readonly status_code?: number };
  readonly tcp?: { readonly succeeded?: boolean };
}

export interface ExecutorInfo {
  readonly type?: 'UNKNOWN' | 'DEFAULT' | 'CUSTOM';
  readonly executor_id: ExecutorID;
  readonly framework_id?: FrameworkID;
  readonly command?: CommandInfo;
  readonly resources?: readonly Resource[];
  readonly name?: string;
  /** Opaque here, as TaskInfo's: the DEFAULT executor may only say MESOS, without an image. */
  readonly container?: Readonly<Record<string, unknown>>;
  /** How long the executor gets to stop after SHUTDOWN (MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD). */
  readonly shutdown_grace_period?: DurationInfo;
  readonly labels?: Labels;
}

/** One of a task's `limits`: a quantity (cpus, MB of mem), or none at all. */
export type TaskLimit = number | 'Infinity';

export interface TaskInfo {
  readonly name: string;
  readonly task_id: TaskID;
  readonly agent_id: AgentID;
  readonly resources?: readonly Resource[];
  readonly executor?: ExecutorInfo;
  readonly command?: CommandInfo;
  /** Opaque here until the containerizer issues give it a type (Docker, Mesos images). */
  readonly container?: Readonly<Record<string, unknown>>;
  /**
   * Limits above `resources` (Mesos 1.10): cpus and mem only, each at least what is
   * requested, or 'Infinity' for none at all (docs/running-workloads.md). Bare values, as
   * Mesos renders them; `{ "value": … }` is taken on input too.
   */
  readonly limits?: Readonly<Record<string, TaskLimit>>;
  readonly kill_policy?: KillPolicy;
  readonly health_check?: HealthCheck;
  readonly check?: CheckInfo;
  readonly data?: string;
  readonly labels?: Labels;
}

export type { TaskState };

export type TaskStatusSource = 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';

export type TaskStatusReason =
  | 'REASON_COMMAND_EXECUTOR_FAILED'
  | 'REASON_CONTAINER_LAUNCH_FAILED'
  | 'REASON_CONTAINER_LIMITATION'
  | 'REASON_CONTAINER_LIMITATION_DISK'
  | 'REASON_CONTAINER_LIMITATION_MEMORY'
  | 'REASON_EXECUTOR_REGISTRATION_TIMEOUT'
  | 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT'
  | 'REASON_EXECUTOR_TERMINATED'
  | 'REASON_FRAMEWORK_REMOVED'
  | 'REASON_INVALID_OFFERS'
  | 'REASON_AGENT_DISCONNECTED'
  | 'REASON_AGENT_DRAINING'
  | 'REASON_AGENT_REMOVED'
  | 'REASON_AGENT_REMOVED_BY_OPERATOR'
  | 'REASON_AGENT_RESTARTED'
  | 'REASON_AGENT_REREGISTERED'
  | 'REASON_RECONCILIATION'
  | 'REASON_TASK_CHECK_STATUS_UPDATED'
  | 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED'
  | 'REASON_TASK_INVALID'
  | 'REASON_TASK_GROUP_INVALID'
  | 'REASON_TASK_GROUP_UNAUTHORIZED'
  | 'REASON_TASK_KILLED_DURING_LAUNCH'
  | 'REASON_TASK_UNAUTHORIZED'
  | 'REASON_TASK_UNKNOWN';

export interface TaskStatus {
  readonly task_id: TaskID;
  readonly state: TaskState;
  readonly message?: string;
  readonly source?: TaskStatusSource;
  readonly reason?: TaskStatusReason;
  readonly data?: string;
  readonly agent_id?: AgentID;
  readonly executor_id?: ExecutorID;
  /** Seconds since the epoch, as a double. */
  readonly timestamp?: number;
  /** 16 raw UUID bytes, base64. Absent on master-generated updates, which need no ack. */
  readonly uuid?: string;
  readonly healthy?: boolean;
  readonly check_status?: CheckStatusInfo;
  readonly labels?: Labels;
  readonly container_status?: {
    readonly container_id?: ContainerID;
    readonly executor_pid?: number;
  };
  readonly unreachable_time?: { readonly nanoseconds: number };
}

/** A task as the operator API and `/master/state` show it (not TaskInfo). */
export interface Task {
  readonly name: string;
  readonly task_id: TaskID;
  readonly framework_id: FrameworkID;
  readonly executor_id?: ExecutorID;
  readonly agent_id: AgentID;
  readonly state: TaskState;
  readonly resources: readonly Resource[];
  readonly statuses: readonly TaskStatus[];
  readonly status_update_state?: TaskState;
  readonly status_update_uuid?: string;
  readonly labels?: Labels;
  readonly user?: string;
  /** The TaskInfo's limits, each a Value.Scalar as in v1 Task (17). */
  readonly limits?: Readonly<Record<string, { readonly value: TaskLimit }>>;
}

/** mesos.proto OperationState (WIRE §4.5); the terminal ones are marked in isTerminalOperationState. */
export type OperationState =
  | 'OPERATION_UNSUPPORTED'
  | 'OPERATION_PENDING'
  | 'OPERATION_FINISHED'
  | 'OPERATION_FAILED'
  | 'OPERATION_ERROR'
  | 'OPERATION_DROPPED'
  | 'OPERATION_UNREACHABLE'
  | 'OPERATION_GONE_BY_OPERATOR'
  | 'OPERATION_RECOVERING'
  | 'OPERATION_UNKNOWN';

/** An operation's status (WIRE §3): `uuid` is a UUID message, `{"value": "<base64>"}`. */
export interface OperationStatus {
  readonly operation_id?: { readonly value: string };
  readonly state: OperationState;
  readonly message?: string;
  readonly converted_resources?: readonly Resource[];
  readonly uuid?: { readonly value: string };
  readonly agent_id?: AgentID;
}
