// The executor API (POST /api/v1/executor on an agent, WIRE §5): an executor
// subscribes, then sends status updates and messages; the agent streams it
// launches, kills, acknowledgements, messages and a shutdown.
import type { ContainerID, ExecutorID, FrameworkID, TaskID } from './ids.js';
import type {
  AgentInfo,
  ExecutorInfo,
  FrameworkInfo,
  KillPolicy,
  TaskInfo,
  TaskStatus,
} from './messages.js';

export const EXECUTOR_CALL_TYPES = ['SUBSCRIBE', 'UPDATE', 'MESSAGE', 'HEARTBEAT'] as const;

interface ExecutorCallEnvelope {
  readonly executor_id: ExecutorID;
  readonly framework_id: FrameworkID;
}

/** An executor's call, keyed on `type`; each carries the body its type names. */
export type ExecutorCall = ExecutorCallEnvelope &
  (
    | {
        readonly type: 'SUBSCRIBE';
        /** What the executor still holds when it (re)subscribes. */
        readonly subscribe: {
          readonly unacknowledged_tasks?: readonly TaskInfo[];
          readonly unacknowledged_updates?: readonly { readonly status: TaskStatus }[];
        };
      }
    | { readonly type: 'UPDATE'; readonly update: { readonly status: TaskStatus } }
    /** `data` is bytes, base64 in JSON. */
    | { readonly type: 'MESSAGE'; readonly message: { readonly data: string } }
    | { readonly type: 'HEARTBEAT' }
  );

export type ExecutorEvent =
  | {
      readonly type: 'SUBSCRIBED';
      readonly subscribed: {
        readonly executor_info: ExecutorInfo;
        readonly framework_info: FrameworkInfo;
        readonly agent_info: AgentInfo;
        readonly container_id?: ContainerID;
      };
    }
  | { readonly type: 'LAUNCH'; readonly launch: { readonly task: TaskInfo } }
  | {
      readonly type: 'LAUNCH_GROUP';
      readonly launch_group: { readonly task_group: { readonly tasks: readonly TaskInfo[] } };
    }
  | {
      readonly type: 'KILL';
      readonly kill: { readonly task_id: TaskID; readonly kill_policy?: KillPolicy };
    }
  | {
      /** The agent has persisted the update with this uuid: the executor may forget it. */
      readonly type: 'ACKNOWLEDGED';
      readonly acknowledged: { readonly task_id: TaskID; readonly uuid: string };
    }
  | { readonly type: 'MESSAGE'; readonly message: { readonly data: string } }
  | { readonly type: 'ERROR'; readonly error: { readonly message: string } }
  | { readonly type: 'SHUTDOWN' }
  | { readonly type: 'HEARTBEAT' };

export type ExecutorEventType = ExecutorEvent['type'];
