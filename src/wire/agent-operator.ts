// The agent's v1 operator API (POST /api/v1 on the agent; WIRE §6.3): calls
// keyed on `type`, and the ProcessIO records that nested-container sessions
// and attach stream (include/mesos/v1/agent/agent.proto).
import type { ContainerID } from './ids.js';
import type { CommandInfo, Resource } from './messages.js';

export const AGENT_OPERATOR_CALL_TYPES = [
  'GET_HEALTH',
  'GET_FLAGS',
  'GET_VERSION',
  'GET_METRICS',
  'GET_LOGGING_LEVEL',
  'SET_LOGGING_LEVEL',
  'LIST_FILES',
  'READ_FILE',
  'GET_STATE',
  'GET_CONTAINERS',
  'GET_FRAMEWORKS',
  'GET_EXECUTORS',
  'GET_OPERATIONS',
  'GET_TASKS',
  'GET_AGENT',
  'GET_RESOURCE_PROVIDERS',
  'LAUNCH_NESTED_CONTAINER_SESSION',
  'ATTACH_CONTAINER_INPUT',
  'ATTACH_CONTAINER_OUTPUT',
  'LAUNCH_CONTAINER',
  'WAIT_CONTAINER',
  'KILL_CONTAINER',
  'REMOVE_CONTAINER',
  // Mesos' names for the four container calls before 1.5, still sent by older clients.
  'LAUNCH_NESTED_CONTAINER',
  'WAIT_NESTED_CONTAINER',
  'KILL_NESTED_CONTAINER',
  'REMOVE_NESTED_CONTAINER',
] as const;

export type AgentOperatorCallType = (typeof AGENT_OPERATOR_CALL_TYPES)[number];

/** A container, with its parent when it is nested in a task's container. */
export interface NestedContainerID {
  readonly value: string;
  readonly parent?: NestedContainerID;
}

export type AgentOperatorCall =
  | {
      readonly type: Exclude<
        AgentOperatorCallType,
        | 'GET_METRICS'
        | 'SET_LOGGING_LEVEL'
        | 'LIST_FILES'
        | 'READ_FILE'
        | 'GET_CONTAINERS'
        | 'LAUNCH_NESTED_CONTAINER_SESSION'
        | 'ATTACH_CONTAINER_INPUT'
        | 'ATTACH_CONTAINER_OUTPUT'
        | 'LAUNCH_CONTAINER'
        | 'WAIT_CONTAINER'
        | 'KILL_CONTAINER'
        | 'REMOVE_CONTAINER'
        | 'LAUNCH_NESTED_CONTAINER'
        | 'WAIT_NESTED_CONTAINER'
        | 'KILL_NESTED_CONTAINER'
        | 'REMOVE_NESTED_CONTAINER'
      >;
    }
  | { readonly type: 'GET_METRICS'; readonly get_metrics?: Record<string, unknown> }
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
  | {
      readonly type: 'GET_CONTAINERS';
      readonly get_containers?: {
        readonly show_nested?: boolean;
        readonly show_standalone?: boolean;
      };
    }
  | {
      readonly type: 'LAUNCH_NESTED_CONTAINER_SESSION';
      readonly launch_nested_container_session: {
        readonly container_id: NestedContainerID;
        readonly command?: CommandInfo;
      };
    }
  | {
      /** The request body is a RecordIO stream: this call first, then PROCESS_IO records. */
      readonly type: 'ATTACH_CONTAINER_INPUT';
      readonly attach_container_input: {
        readonly type: 'CONTAINER_ID' | 'PROCESS_IO';
        readonly container_id?: NestedContainerID;
        readonly process_io?: ProcessIO;
      };
    }
  | {
      readonly type: 'ATTACH_CONTAINER_OUTPUT';
      readonly attach_container_output: { readonly container_id: NestedContainerID };
    }
  | {
      readonly type: 'LAUNCH_CONTAINER';
      readonly launch_container: {
        readonly container_id: NestedContainerID;
        readonly command?: CommandInfo;
        /** A standalone container's (no parent): what its isolation enforces. */
        readonly resources?: readonly Resource[];
        /** A standalone container's limits above its resources: `cpus` and `mem` (MB). */
        readonly limits?: Readonly<Record<string, { readonly value: number }>>;
        /** A standalone container's ContainerInfo: MESOS only. */
        readonly container?: Readonly<Record<string, unknown>>;
      };
    }
  | {
      readonly type: 'WAIT_CONTAINER';
      readonly wait_container: { readonly container_id: NestedContainerID };
    }
  | {
      readonly type: 'KILL_CONTAINER';
      readonly kill_container: {
        readonly container_id: NestedContainerID;
        readonly signal?: number;
      };
    }
  | {
      readonly type: 'REMOVE_CONTAINER';
      readonly remove_container: { readonly container_id: NestedContainerID };
    }
  | {
      readonly type: 'LAUNCH_NESTED_CONTAINER';
      readonly launch_nested_container: {
        readonly container_id: NestedContainerID;
        readonly command?: CommandInfo;
      };
    }
  | {
      readonly type: 'WAIT_NESTED_CONTAINER';
      readonly wait_nested_container: { readonly container_id: NestedContainerID };
    }
  | {
      readonly type: 'KILL_NESTED_CONTAINER';
      readonly kill_nested_container: {
        readonly container_id: NestedContainerID;
        readonly signal?: number;
      };
    }
  | {
      readonly type: 'REMOVE_NESTED_CONTAINER';
      readonly remove_nested_container: { readonly container_id: NestedContainerID };
    };

/** One record of a session's or an attach's stream (agent.proto ProcessIO). */
export type ProcessIO =
  | {
      readonly type: 'DATA';
      readonly data: { readonly type: 'STDIN' | 'STDOUT' | 'STDERR'; readonly data: string };
    }
  | {
      readonly type: 'CONTROL';
      readonly control: {
        readonly type: 'TTY_INFO' | 'HEARTBEAT';
        readonly heartbeat?: { readonly interval?: { readonly nanoseconds: number } };
      };
    };

/** The id of the container a nested one runs in: its outermost ancestor. */
export function rootContainerId(id: NestedContainerID): ContainerID {
  let current = id;
  while (current.parent !== undefined) current = current.parent;
  return { value: current.value } as ContainerID;
}
