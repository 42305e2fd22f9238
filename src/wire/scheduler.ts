// The scheduler API (POST /api/v1/scheduler): calls in, events out (WIRE §2).
import type { AgentID, ExecutorID, FrameworkID, OfferID, TaskID } from './ids.js';
import type {
  ExecutorInfo,
  Filters,
  FrameworkInfo,
  InverseOffer,
  KillPolicy,
  MasterInfo,
  Offer,
  OperationStatus,
  Resource,
  Scalar,
  TaskInfo,
  TaskStatus,
} from './messages.js';

export interface OperationID {
  readonly value: string;
}

/** A task group and the (default) executor that runs it (LAUNCH_GROUP). */
export interface LaunchGroup {
  readonly executor: ExecutorInfo;
  readonly task_group: { readonly tasks: readonly TaskInfo[] };
}

/**
 * One operation of an ACCEPT, keyed on `type`; each carries the body its type
 * names (Offer.Operation in mesos.proto). `id` asks for operation feedback.
 */
export type OfferOperation = { readonly id?: OperationID } & (
  | { readonly type: 'LAUNCH'; readonly launch: { readonly task_infos: readonly TaskInfo[] } }
  | { readonly type: 'LAUNCH_GROUP'; readonly launch_group: LaunchGroup }
  | {
      readonly type: 'RESERVE';
      readonly reserve: {
        readonly resources: readonly Resource[];
        readonly source?: readonly Resource[];
      };
    }
  | { readonly type: 'UNRESERVE'; readonly unreserve: { readonly resources: readonly Resource[] } }
  | { readonly type: 'CREATE'; readonly create: { readonly volumes: readonly Resource[] } }
  | { readonly type: 'DESTROY'; readonly destroy: { readonly volumes: readonly Resource[] } }
  | {
      readonly type: 'GROW_VOLUME';
      readonly grow_volume: { readonly volume: Resource; readonly addition: Resource };
    }
  | {
      readonly type: 'SHRINK_VOLUME';
      readonly shrink_volume: { readonly volume: Resource; readonly subtract: Scalar };
    }
  /** Storage-provider disks: accepted on the wire, refused with OPERATION_ERROR (no providers). */
  | { readonly type: 'CREATE_DISK' | 'DESTROY_DISK' }
);

export type OperationType = OfferOperation['type'];

export interface Subscribe {
  readonly framework_info: FrameworkInfo;
  readonly suppressed_roles?: readonly string[];
  readonly offer_constraints?: OfferConstraints;
}
export interface Accept {
  readonly offer_ids: readonly OfferID[];
  readonly operations?: readonly OfferOperation[];
  readonly filters?: Filters;
}
export interface Decline {
  readonly offer_ids: readonly OfferID[];
  readonly filters?: Filters;
}
export interface InverseOffersReply {
  readonly inverse_offer_ids: readonly OfferID[];
  readonly filters?: Filters;
}
export interface Kill {
  readonly task_id: TaskID;
  readonly agent_id?: AgentID;
  readonly kill_policy?: KillPolicy;
}
export interface Acknowledge {
  readonly agent_id: AgentID;
  readonly task_id: TaskID;
  readonly uuid: string;
}
export interface AcknowledgeOperationStatus {
  readonly agent_id?: AgentID;
  readonly uuid: string;
  readonly operation_id: OperationID;
}
export interface Reconcile {
  readonly tasks?: readonly { readonly task_id: TaskID; readonly agent_id?: AgentID }[];
}
export interface ReconcileOperations {
  readonly operations?: readonly {
    readonly operation_id: OperationID;
    readonly agent_id?: AgentID;
  }[];
}
export interface RolesCall {
  readonly roles?: readonly string[];
}
export interface ExecutorMessage {
  readonly agent_id: AgentID;
  readonly executor_id: ExecutorID;
  /** Bytes, base64 in JSON. */
  readonly data: string;
}

/** AttributeConstraint (scheduler.proto): what an agent must have to be offered to a role. */
export interface AttributeConstraint {
  readonly selector:
    | { readonly pseudoattribute_type: 'HOSTNAME' | 'REGION' | 'ZONE' }
    | { readonly attribute_name: string };
  readonly predicate:
    | { readonly exists: Record<string, never> }
    | { readonly not_exists: Record<string, never> }
    | { readonly text_equals: { readonly value: string } }
    | { readonly text_not_equals: { readonly value: string } }
    | { readonly text_matches: { readonly regex: string } }
    | { readonly text_not_matches: { readonly regex: string } };
}

/** Per role, groups of constraints: an agent is offered if it meets every constraint of some group. */
export interface OfferConstraints {
  readonly role_constraints?: Readonly<
    Record<
      string,
      {
        readonly groups?: readonly {
          readonly attribute_constraints?: readonly AttributeConstraint[];
        }[];
      }
    >
  >;
}

/** A validated call, keyed on `type`: each type carries exactly the body it needs. */
export type Call =
  | {
      readonly type: 'SUBSCRIBE';
      readonly framework_id?: FrameworkID;
      readonly subscribe: Subscribe;
    }
  | FrameworkCall;

/** Every call but SUBSCRIBE: made by a subscribed framework, on its stream. */
export type FrameworkCall = { readonly framework_id: FrameworkID } & (
  | { readonly type: 'TEARDOWN' }
  | { readonly type: 'ACCEPT'; readonly accept: Accept }
  | { readonly type: 'DECLINE'; readonly decline: Decline }
  | { readonly type: 'ACCEPT_INVERSE_OFFERS'; readonly accept_inverse_offers: InverseOffersReply }
  | { readonly type: 'DECLINE_INVERSE_OFFERS'; readonly decline_inverse_offers: InverseOffersReply }
  | { readonly type: 'REVIVE'; readonly revive?: RolesCall }
  | { readonly type: 'SUPPRESS'; readonly suppress?: RolesCall }
  | { readonly type: 'KILL'; readonly kill: Kill }
  | {
      readonly type: 'SHUTDOWN';
      readonly shutdown: { readonly executor_id: ExecutorID; readonly agent_id: AgentID };
    }
  | { readonly type: 'ACKNOWLEDGE'; readonly acknowledge: Acknowledge }
  | {
      readonly type: 'ACKNOWLEDGE_OPERATION_STATUS';
      readonly acknowledge_operation_status: AcknowledgeOperationStatus;
    }
  | { readonly type: 'RECONCILE'; readonly reconcile: Reconcile }
  | { readonly type: 'RECONCILE_OPERATIONS'; readonly reconcile_operations: ReconcileOperations }
  | { readonly type: 'MESSAGE'; readonly message: ExecutorMessage }
  | {
      readonly type: 'REQUEST';
      readonly request: {
        readonly requests?: readonly {
          readonly agent_id?: AgentID;
          readonly resources?: readonly Resource[];
        }[];
      };
    }
  | { readonly type: 'UPDATE_FRAMEWORK'; readonly update_framework: Subscribe }
);

export type CallType = Call['type'];

/** Omit, applied to each member of a union rather than to what they share. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A call without its framework id, as a framework's client library builds it. */
export type CallBody = DistributiveOmit<FrameworkCall, 'framework_id'>;

export type Event =
  | {
      readonly type: 'SUBSCRIBED';
      readonly subscribed: {
        readonly framework_id: FrameworkID;
        readonly heartbeat_interval_seconds: number;
        readonly master_info?: MasterInfo;
      };
    }
  | { readonly type: 'OFFERS'; readonly offers: { readonly offers: readonly Offer[] } }
  | {
      readonly type: 'INVERSE_OFFERS';
      readonly inverse_offers: { readonly inverse_offers: readonly InverseOffer[] };
    }
  | { readonly type: 'RESCIND'; readonly rescind: { readonly offer_id: OfferID } }
  | {
      readonly type: 'RESCIND_INVERSE_OFFER';
      readonly rescind_inverse_offer: { readonly inverse_offer_id: OfferID };
    }
  | { readonly type: 'UPDATE'; readonly update: { readonly status: TaskStatus } }
  | {
      readonly type: 'UPDATE_OPERATION_STATUS';
      readonly update_operation_status: { readonly status: OperationStatus };
    }
  | {
      readonly type: 'MESSAGE';
      readonly message: {
        readonly agent_id: AgentID;
        readonly executor_id: ExecutorID;
        readonly data: string;
      };
    }
  | {
      readonly type: 'FAILURE';
      readonly failure: {
        readonly agent_id?: AgentID;
        readonly executor_id?: ExecutorID;
        readonly status?: number;
      };
    }
  | { readonly type: 'ERROR'; readonly error: { readonly message: string } }
  | { readonly type: 'HEARTBEAT' };

export type EventType = Event['type'];

/** An operation the master keeps for feedback (v1 Operation; GET_OPERATIONS). */
export interface Operation {
  readonly framework_id?: FrameworkID;
  readonly agent_id?: AgentID;
  readonly info: OfferOperation;
  readonly latest_status: OperationStatus;
  readonly statuses?: readonly OperationStatus[];
  /** The operation's own UUID message, `{"value": "<base64>"}`. */
  readonly uuid: { readonly value: string };
}

/** The scheduler API's stream header; every call after SUBSCRIBE must echo it. */
export const STREAM_ID_HEADER = 'mesos-stream-id';
