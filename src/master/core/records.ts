// What the master knows about each framework, agent, offer and task: plain
// records the core's modules own and change (each through its lifecycle in
// lifecycle.ts). Nothing here does I/O: a connection is known by its stream
// id only, and the shell maps ids to sockets.
import type { Resources } from '../../resources/index.js';
import type {
  AgentID,
  AgentInfo,
  FrameworkID,
  FrameworkInfo,
  Offer,
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
}
