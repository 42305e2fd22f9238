// Agora's own master <-> agent protocol. Mesos uses libprocess messages here;
// Agora uses the same shape as the scheduler API instead: the agent opens one
// long-lived SUBSCRIBE call (POST /master/api/v1/agent) and the master streams
// commands back as RecordIO events, so an agent behind NAT or at the edge works.
// Status updates travel as separate UPDATE calls carrying the stream id.
import type { AgentID, ExecutorID, FrameworkID, TaskID } from './ids.js';
import type {
  AgentInfo,
  DrainConfig,
  ExecutorInfo,
  FrameworkInfo,
  KillPolicy,
  MasterInfo,
  Resource,
  TaskInfo,
  TaskState,
  TaskStatus,
} from './messages.js';

/** A task an agent still holds, as its SUBSCRIBE lists it (either shape, below). */
export interface ReportedTask {
  readonly framework_id: FrameworkID;
  readonly task: TaskInfo;
  readonly state: TaskState;
}

/**
 * A task as the per-task report lists it: with its framework's FrameworkInfo, repeated for
 * every task of the framework. What agents sent before the frameworks-once report, and what
 * an agent still sends to a master that has not said it takes the other.
 */
export interface AgentTask extends ReportedTask {
  readonly framework_info: FrameworkInfo;
}

/** A framework the frameworks-once report lists, once, for its tasks beside it. */
export interface ReportedFramework {
  readonly framework_id: FrameworkID;
  readonly framework_info: FrameworkInfo;
}

/**
 * A reported task's TaskInfo in the compact report: without `agent_id`, which is the
 * subscribing agent's (the master keeps no other), and without `resources`, given by index.
 * Both left out make an older master (whose TaskInfo needs agent_id) refuse the report with a
 * 400 rather than take its tasks as using nothing: the agent then falls back.
 */
export type CompactTaskInfo = Omit<TaskInfo, 'agent_id' | 'resources'>;

/**
 * A task as the compact report lists it: its resources are the report's
 * `task_resources[resources_index]` (no index: the task has no resources list).
 */
export interface CompactTask {
  readonly framework_id: FrameworkID;
  readonly task: CompactTaskInfo;
  readonly resources_index?: number;
  readonly state: TaskState;
}

/**
 * What the agent holds, in one of three shapes. Per task: each task carries its framework's
 * FrameworkInfo. Frameworks once (Mesos' ReregisterSlaveMessage lists `frameworks` beside
 * `tasks` the same way): each framework listed once in `frameworks`, every task's
 * framework_id among them, no framework twice. At 10,000 agents of 10 tasks re-registering
 * after a failover, the repeated FrameworkInfos were most of what the new leader parsed and
 * then collected (#10). Compact: frameworks once, and each distinct resources list of the
 * tasks given once in `task_resources`, which the tasks name by index, and no task's
 * agent_id: a framework's tasks mostly have one shape, and its list (with allocation_info)
 * was 40 % of a 10-task report and most of the objects the master's JSON.parse made of it.
 * The shapes tell apart by `frameworks` (absent or null: per task), then `task_resources`
 * (present: compact).
 */
export type AgentReport =
  | {
      readonly frameworks?: undefined;
      readonly task_resources?: undefined;
      readonly tasks?: readonly AgentTask[];
    }
  | {
      readonly frameworks: readonly ReportedFramework[];
      readonly task_resources?: undefined;
      readonly tasks?: readonly ReportedTask[];
    }
  | {
      readonly frameworks: readonly ReportedFramework[];
      readonly task_resources: readonly (readonly Resource[])[];
      readonly tasks?: readonly CompactTask[];
    };

/** What an agent reports when it (re-)subscribes. */
export type AgentSubscribe = {
  readonly agent_info: AgentInfo;
  readonly version: string;
  /** Dynamic reservations the master told the agent to keep (CHECKPOINT_RESOURCES). */
  readonly checkpointed_resources?: readonly Resource[];
} & AgentReport;

/** One task status an agent reports, for the framework to acknowledge. */
export interface AgentStatusUpdate {
  readonly framework_id: FrameworkID;
  readonly status: TaskStatus;
}

/** An agent's call to the master, keyed on `type`. */
export type AgentCall =
  | { readonly type: 'SUBSCRIBE'; readonly agent_id?: AgentID; readonly subscribe: AgentSubscribe }
  | {
      readonly type: 'UPDATE';
      readonly agent_id: AgentID;
      readonly update: AgentStatusUpdate;
      /** Also the answer to the master's last PING (see `pong` on UPDATES). */
      readonly pong?: boolean;
    }
  | {
      /**
       * Several status updates in one call, in order, each handled as an UPDATE: an agent
       * sends what its tasks reported in one loop round together, so a burst of updates is
       * one HTTP call rather than one each (Mesos' agents send them as libprocess
       * messages, with no answer per message). Each task still has one unacknowledged
       * update at a time: a batch spans tasks, never two updates of one task.
       */
      readonly type: 'UPDATES';
      readonly agent_id: AgentID;
      readonly updates: { readonly updates: readonly AgentStatusUpdate[] };
      /**
       * Also the answer to the master's last PING, sent after it arrived: an agent that
       * has updates to send anyway folds its PONG into them rather than making a call of
       * its own (at 10,000 agents PONGs alone were 667 calls a second). Only to a master
       * that said `folds_pongs` in SUBSCRIBED; an older one would drop the field.
       */
      readonly pong?: boolean;
    }
  | {
      /**
       * An executor ended (Mesos' ExitedExecutorMessage): the master frees its resources and
       * tells the framework (FAILURE). `status` is the raw wait status, -1 when there is none
       * (an executor that never launched). Command tasks have no executor of their own here,
       * so this is only sent for executors the master knows of (custom ones, task groups').
       */
      readonly type: 'EXECUTOR_EXITED';
      readonly agent_id: AgentID;
      readonly executor_exited: {
        readonly framework_id: FrameworkID;
        readonly executor_id: ExecutorID;
        readonly status: number;
      };
    }
  | {
      /**
       * An executor's MESSAGE for its framework (Mesos' ExecutorToFrameworkMessage): the
       * master passes it on as a MESSAGE event; best effort.
       */
      readonly type: 'EXECUTOR_MESSAGE';
      readonly agent_id: AgentID;
      readonly executor_message: {
        readonly framework_id: FrameworkID;
        readonly executor_id: ExecutorID;
        readonly data: string;
      };
    }
  /** The answer to a PING: the agent is alive and its event loop turns. */
  | { readonly type: 'PONG'; readonly agent_id: AgentID }
  /** The agent's answer to a FILES_REQUEST: what its own endpoint answered. */
  | {
      readonly type: 'FILES_RESPONSE';
      readonly agent_id: AgentID;
      readonly files_response: FilesResponse;
    };

/**
 * A sandbox read the master relays for a client that cannot reach the agent
 * (behind NAT): the agent runs `path` (`/files/read?…` or `/files/browse?…`,
 * built by the master from checked parameters) against its own endpoint with
 * the client's credential, so its own checks apply, and POSTs the answer back.
 */
export interface FilesRequest {
  readonly request_id: string;
  readonly path: string;
  /** The client's Authorization header, judged by the agent as on a direct request. */
  readonly authorization?: string;
}

export interface FilesResponse {
  readonly request_id: string;
  readonly status: number;
  readonly content_type?: string;
  readonly body: string;
}

/** The longest an agent holds a PONG back for an update call to carry it. */
const MAX_PONG_FOLD_MS = 1_000;

/**
 * How long an agent may hold a PONG back waiting for updates to fold it into: a small
 * part of the time the master allows (total_ping_timeout_seconds), at most a second.
 */
export function pongFoldWindowMs(totalPingTimeoutSeconds: number | undefined): number {
  if (totalPingTimeoutSeconds === undefined || !(totalPingTimeoutSeconds > 0)) return 0;
  return Math.min(MAX_PONG_FOLD_MS, (totalPingTimeoutSeconds * 1000) / 20);
}

/**
 * Agent re-registrations the master takes per millisecond of spread: one, about the master's
 * CPU cost of one (bench/RESULTS.md, #10 and #15), so a whole cluster healing at once reaches
 * the master about as fast as it handles them, and a few agents come back at once.
 */
const REREGISTER_SPREAD_MS_PER_AGENT = 1;

/**
 * The window over which agents whose link to the master came back spread their
 * re-registrations (each waits a random part of it): the number of agents the master knows
 * times REREGISTER_SPREAD_MS_PER_AGENT. An agent bounds it by its own
 * --registration_backoff_factor.
 */
export function reregisterSpreadMs(knownAgents: number): number {
  return Math.max(0, Math.ceil(knownAgents * REREGISTER_SPREAD_MS_PER_AGENT));
}

export type AgentEvent =
  | {
      readonly type: 'SUBSCRIBED';
      readonly subscribed: {
        readonly agent_id: AgentID;
        readonly heartbeat_interval_seconds: number;
        readonly master_info: MasterInfo;
        /**
         * --agent_ping_timeout × --max_agent_ping_timeouts: the master has marked
         * an agent unreachable once it missed this long of PINGs, so an agent that
         * got none for as long re-registers (Mesos' total_ping_timeout_seconds).
         */
        readonly total_ping_timeout_seconds?: number;
        /** The master takes `pong: true` on UPDATE and UPDATES as a PONG. */
        readonly folds_pongs?: boolean;
        /** The master takes a SUBSCRIBE that lists each framework once (AgentReport). */
        readonly takes_frameworks_once?: boolean;
        /** The master takes the compact SUBSCRIBE too (AgentReport, `task_resources`). */
        readonly takes_compact_report?: boolean;
        /** reregisterSpreadMs of the agents the master knows (Agora's; #15). */
        readonly reregister_spread_ms?: number;
      };
    }
  | {
      readonly type: 'RUN_TASK';
      readonly run_task: { readonly framework_info: FrameworkInfo; readonly task: TaskInfo };
    }
  | {
      /** LAUNCH_GROUP: the tasks run together under the (DEFAULT) executor. */
      readonly type: 'RUN_TASK_GROUP';
      readonly run_task_group: {
        readonly framework_info: FrameworkInfo;
        readonly executor: ExecutorInfo;
        readonly task_group: { readonly tasks: readonly TaskInfo[] };
      };
    }
  | {
      /** SHUTDOWN from the framework: the executor is to stop, its tasks with it. */
      readonly type: 'SHUTDOWN_EXECUTOR';
      readonly shutdown_executor: {
        readonly framework_id: FrameworkID;
        readonly executor_id: ExecutorID;
      };
    }
  | {
      /** MESSAGE from the framework for one of its executors; best effort. */
      readonly type: 'FRAMEWORK_MESSAGE';
      readonly framework_message: {
        readonly framework_id: FrameworkID;
        readonly executor_id: ExecutorID;
        readonly data: string;
      };
    }
  | {
      readonly type: 'KILL_TASK';
      readonly kill_task: {
        readonly framework_id: FrameworkID;
        readonly task_id: TaskID;
        readonly kill_policy?: KillPolicy;
      };
    }
  | {
      readonly type: 'ACKNOWLEDGE';
      readonly acknowledge: {
        readonly framework_id: FrameworkID;
        readonly task_id: TaskID;
        readonly uuid: string;
      };
    }
  | {
      readonly type: 'SHUTDOWN_FRAMEWORK';
      readonly shutdown_framework: { readonly framework_id: FrameworkID };
    }
  | {
      /**
       * The agent's dynamic reservations, whole (Mesos' CheckpointResourcesMessage):
       * the agent keeps them on disk and reports them when it subscribes again.
       */
      readonly type: 'CHECKPOINT_RESOURCES';
      readonly checkpoint_resources: { readonly resources: readonly Resource[] };
    }
  | {
      /**
       * Kill every task (grace capped by the config), report kills with
       * REASON_AGENT_DRAINING, and refuse new tasks until nothing is left
       * (Mesos' DrainSlaveMessage). Sent again when a draining agent re-registers.
       */
      readonly type: 'DRAIN';
      readonly drain: { readonly config: DrainConfig };
    }
  | {
      /**
       * The master removed this agent (MARK_AGENT_GONE, its machine DOWN): it
       * kills its tasks, forgets its id and exits (Mesos' ShutdownMessage).
       */
      readonly type: 'SHUTDOWN';
      readonly shutdown: { readonly message: string };
    }
  /**
   * The master's health check (Mesos' PingSlaveMessage): the agent answers
   * with a PONG call. A HEARTBEAT proves the master alive to the agent; only a
   * PONG proves the agent alive to the master, since a stopped process keeps
   * its TCP connection open.
   */
  | {
      readonly type: 'PING';
      /** Sent again with every PING: the cluster may have grown since SUBSCRIBED. */
      readonly ping?: { readonly reregister_spread_ms?: number };
    }
  | { readonly type: 'FILES_REQUEST'; readonly files_request: FilesRequest }
  | { readonly type: 'ERROR'; readonly error: { readonly message: string } }
  | { readonly type: 'HEARTBEAT' };

export type AgentEventType = AgentEvent['type'];
