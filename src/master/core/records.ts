// What the master knows about each framework, agent, offer and task: plain
// records the core's modules own and change (each through its lifecycle in
// lifecycle.ts). Nothing here does I/O: a connection is known by its stream
// id only, and the shell maps ids to sockets.
import type { Resources } from '../../resources/index.js';
import type {
  AgentID,
  AgentInfo,
  ExecutorID,
  ExecutorInfo,
  FrameworkID,
  FrameworkInfo,
  Offer,
  OfferConstraints,
  OfferOperation,
  OperationStatus,
  TaskID,
  TaskInfo,
  TaskState,
  TaskStatus,
} from '../../wire/index.js';
import type { AgentState, FrameworkState, OfferState } from './lifecycle.js';

/** Where a framework is in its lifecycle; it has a stream exactly while connected. */
export type FrameworkLink =
  | { readonly state: 'connected'; readonly streamId: string }
  | { readonly state: Exclude<FrameworkState, 'connected'> };

export interface FrameworkRecord {
  readonly id: FrameworkID;
  info: FrameworkInfo;
  link: FrameworkLink;
  readonly registeredTimeSec: number;
  reregisteredTimeSec: number | undefined;
  unregisteredTimeSec: number | undefined;
  suppressedRoles: ReadonlySet<string>;
  /** Offer id values outstanding to this framework. */
  readonly offers: Set<string>;
  /** Active tasks, and terminal ones whose terminal update is not yet acknowledged. */
  readonly tasks: Map<string, TaskRecord>;
  readonly completedTasks: TaskRecord[];
  /**
   * Operations that asked for feedback (an `id`), by id value, until their terminal status
   * is acknowledged (ACKNOWLEDGE_OPERATION_STATUS).
   */
  readonly operations: Map<string, OperationRecord>;
  /** The offer constraints it subscribed with, as given (state shows them), and compiled. */
  offerConstraintsGiven: OfferConstraints | undefined;
  offerConstraints: CompiledConstraints;
  /** Per role, the agents its constraints exclude, as the allocator was told. */
  readonly excludedAgents: Map<string, Set<string>>;
}

/** One compiled attribute constraint: whether an agent meets it. */
export type AgentTest = (info: AgentInfo) => boolean;

/** Per role, groups (any may hold) of constraints (all must hold), compiled (offer-constraints.ts). */
export type CompiledConstraints = ReadonlyMap<string, readonly (readonly AgentTest[])[]>;

/** An offer operation with an `id`: its statuses, as the framework was told them. */
export interface OperationRecord {
  readonly frameworkId: FrameworkID;
  readonly agentId: AgentID;
  readonly info: OfferOperation;
  /** The operation's own UUID (base64 of 16 bytes), as GET_OPERATIONS shows it. */
  readonly uuid: string;
  /** Oldest first; the last is the latest. */
  readonly statuses: OperationStatus[];
  /** The uuid of the latest status while the framework has not acknowledged it. */
  unacknowledgedUuid: string | undefined;
}

/**
 * An executor the master launched for a framework on an agent (LAUNCH_GROUP's DEFAULT
 * executor). Command tasks have none here: the agent runs them itself, as Mesos' agent
 * generates their command executors.
 */
export interface ExecutorRecord {
  readonly executorId: ExecutorID;
  readonly frameworkId: FrameworkID;
  readonly agentId: AgentID;
  readonly info: ExecutorInfo;
  readonly role: string;
  /** With allocation_info; held until the agent reports the executor exited. */
  readonly resources: Resources;
}

/** Where an agent is in its lifecycle: a stream while connected, a time once unreachable. */
export type AgentLink =
  | { readonly state: 'connected'; readonly streamId: string }
  | { readonly state: 'unreachable'; readonly sinceSec: number }
  | { readonly state: Exclude<AgentState, 'connected' | 'unreachable'> };

export interface AgentRecord {
  readonly id: AgentID;
  info: AgentInfo;
  /** The address the agent connected from; offers and `/files` clients reach it there. */
  ip: string;
  link: AgentLink;
  total: Resources;
  version: string;
  readonly registeredTimeSec: number;
  reregisteredTimeSec: number | undefined;
  /** Offer id values outstanding on this agent. */
  readonly offers: Set<string>;
  /** The tasks on this agent, active or awaiting acknowledgement of their terminal update. */
  readonly tasks: Set<TaskRecord>;
  /** Executors running here, by executorKey(framework id, executor id). */
  readonly executors: Map<string, ExecutorRecord>;
}

/** The key of an executor in AgentRecord.executors. */
export function executorKey(frameworkIdValue: string, executorIdValue: string): string {
  return `${frameworkIdValue}\u0000${executorIdValue}`;
}

export interface OfferRecord {
  readonly offer: Offer;
  readonly frameworkId: FrameworkID;
  readonly agentId: AgentID;
  readonly role: string;
  /** With allocation_info; what the allocator handed out. */
  readonly resources: Resources;
  /** When the offer was made (ms since the epoch), for offer-to-accept latency. */
  readonly madeAtMs: number;
  state: OfferState;
}

export interface TaskRecord {
  readonly taskId: TaskID;
  readonly frameworkId: FrameworkID;
  readonly agentId: AgentID;
  readonly info: TaskInfo;
  readonly role: string;
  readonly resources: Resources;
  state: TaskState;
  readonly statuses: TaskStatus[];
  /** State and uuid of the latest update forwarded to the framework and not yet acknowledged. */
  statusUpdateState: TaskState | undefined;
  statusUpdateUuid: string | undefined;
  /** The allocator got this task's resources back (it reached a terminal state). */
  isRecovered: boolean;
  /** For a task of a group (LAUNCH_GROUP): its executor and the ids of all the group's tasks. */
  readonly group?: { readonly executorId: ExecutorID; readonly taskIds: readonly string[] };
}
