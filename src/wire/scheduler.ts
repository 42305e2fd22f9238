// The scheduler API (POST /api/v1/scheduler): calls in, events out (WIRE §2).
import type { AgentID, ExecutorID, FrameworkID, OfferID, TaskID } from './ids.js';
import type {
  Filters,
  FrameworkInfo,
  KillPolicy,
  MasterInfo,
  Offer,
  Resource,
  TaskInfo,
  TaskStatus,
} from './messages.js';

export type OperationType =
  | 'LAUNCH'
  | 'LAUNCH_GROUP'
  | 'RESERVE'
  | 'UNRESERVE'
  | 'CREATE'
  | 'DESTROY'
  | 'GROW_VOLUME'
  | 'SHRINK_VOLUME'
  | 'CREATE_DISK'
  | 'DESTROY_DISK';

export interface OfferOperation {
  readonly type: OperationType;
  readonly id?: { readonly value: string };
  readonly launch?: { readonly task_infos: readonly TaskInfo[] };
  readonly reserve?: {
    readonly resources: readonly Resource[];
    readonly source?: readonly Resource[];
  };
  readonly unreserve?: { readonly resources: readonly Resource[] };
}

export type CallType =
  | 'SUBSCRIBE'
  | 'TEARDOWN'
  | 'ACCEPT'
  | 'DECLINE'
  | 'ACCEPT_INVERSE_OFFERS'
  | 'DECLINE_INVERSE_OFFERS'
  | 'REVIVE'
  | 'KILL'
  | 'SHUTDOWN'
  | 'ACKNOWLEDGE'
  | 'ACKNOWLEDGE_OPERATION_STATUS'
  | 'RECONCILE'
  | 'RECONCILE_OPERATIONS'
  | 'MESSAGE'
  | 'REQUEST'
  | 'SUPPRESS'
  | 'UPDATE_FRAMEWORK';

export interface Subscribe {
  readonly framework_info: FrameworkInfo;
  readonly suppressed_roles?: readonly string[];
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
export interface Reconcile {
  readonly tasks?: readonly { readonly task_id: TaskID; readonly agent_id?: AgentID }[];
}
export interface RolesCall {
  readonly roles?: readonly string[];
}

/** A validated call. Only the body named by `type` is read. */
export interface Call {
  readonly framework_id?: FrameworkID;
  readonly type: CallType;
  readonly subscribe?: Subscribe;
  readonly accept?: Accept;
  readonly decline?: Decline;
  readonly kill?: Kill;
  readonly acknowledge?: Acknowledge;
  readonly reconcile?: Reconcile;
  readonly revive?: RolesCall;
  readonly suppress?: RolesCall;
  readonly update_framework?: Subscribe;
  readonly shutdown?: { readonly executor_id: ExecutorID; readonly agent_id: AgentID };
  readonly message?: {
    readonly agent_id: AgentID;
    readonly executor_id: ExecutorID;
    readonly data: string;
  };
}

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
  | { readonly type: 'RESCIND'; readonly rescind: { readonly offer_id: OfferID } }
  | { readonly type: 'UPDATE'; readonly update: { readonly status: TaskStatus } }
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

/** The scheduler API's stream header; every call after SUBSCRIBE must echo it. */
export const STREAM_ID_HEADER = 'mesos-stream-id';
