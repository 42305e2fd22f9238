// What the master knows about each framework, agent, offer and task: plain
// records the core's modules own and change (each through its lifecycle in
// lifecycle.ts). Nothing here does I/O: a connection is known by its stream
// id only, and the shell maps ids to sockets.
import type { Resources } from '../../resources/index.js';
import type {
  AgentID,
  AgentInfo,
  DrainConfig,
  DrainState,
  ExecutorID,
  ExecutorInfo,
  FrameworkID,
  FrameworkInfo,
  InverseOffer,
  MachineID,
  Offer,
  OfferConstraints,
  OfferOperation,
  OperationStatus,
  TaskID,
  TaskInfo,
  TaskState,
  TaskStatus,
  Unavailability,
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
  /** Inverse offer id values outstanding to this framework. */
  readonly inverseOffers: Set<string>;
  /**
   * Agent id values whose inverse offer filters may hold one of this framework's answers:
   * forgetting them at a (re)subscription or disconnection visits these, not every agent
   * (10,000 of them, twice per framework, in a newly elected master's first seconds, #10).
   */
  readonly inverseOfferFilterAgents: Set<string>;
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
  /** Health checks while connected: PINGs in a row that got no PONG in time. */
  missedPings: number;
  /** A PING is out and its PONG has not come back. */
  isPongAwaited: boolean;
  /**
   * The operator's DEACTIVATE_AGENT or DRAIN_AGENT: not offered until
   * REACTIVATE_AGENT. Kept while the agent is away, and across restarts.
   */
  isDeactivated: boolean;
  /** DRAIN_AGENT: draining until its tasks are gone and acknowledged, then drained. */
  drain: AgentDrain | undefined;
  /** Inverse offer id values outstanding for this agent. */
  readonly inverseOffers: Set<string>;
  /**
   * While its machine is scheduled for maintenance: each framework's latest
   * answer to an inverse offer for this agent, by framework id. Forgotten when
   * the unavailability changes, as Mesos' allocator forgets them.
   */
  readonly inverseOfferStatuses: Map<string, InverseOfferStatus>;
  /** Frameworks that answered an inverse offer with a filter: no new one until then (ms). */
  readonly inverseOfferFilters: Map<string, number>;
}

/** The key of an executor in AgentRecord.executors. */
export function executorKey(frameworkIdValue: string, executorIdValue: string): string {
  return `${frameworkIdValue}\u0000${executorIdValue}`;
}

export interface AgentDrain {
  state: DrainState;
  readonly config: DrainConfig;
  /** When the agent was told to drain (Mesos' estimated drain start); unset while it is away. */
  startedAtSec: number | undefined;
}

/** allocator.proto InverseOfferStatus: a framework's answer, and when it came. */
export interface InverseOfferStatus {
  readonly status: 'ACCEPT' | 'DECLINE';
  readonly frameworkId: FrameworkID;
  readonly timestampSec: number;
}

export interface InverseOfferRecord {
  readonly inverseOffer: InverseOffer;
  readonly frameworkId: FrameworkID;
  readonly agentId: AgentID;
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

/**
 * The large replies keep each task's and agent's rendering until a field it reads changes,
 * as http/fragments.ts's keys see it: so replace an agent's `info` or `total` and a status
 * rather than change one in place, change `statuses` only by push and pop, and add to the
 * key there any field a rendering comes to read.
 */
/**
 * The TaskInfo fields read after a launch (the task's renderings in /master/state, GET_STATE,
 * GET_TASKS; `limits` as Mesos' Task carries them). The rest (command, resources, data, checks,
 * kill policy) went to the agent in RUN_TASK; the record's `resources` are the allocated ones,
 * which is what the renderings show.
 */
export type KeptTaskInfo = Pick<
  TaskInfo,
  'name' | 'executor' | 'labels' | 'container' | 'health_check' | 'limits'
> & {
  /**
   * Mesos' Task.user: the task's command user, else its executor's; none when neither names
   * one (the framework's user is not copied, as Mesos' master does not). view_tasks judges a
   * task by it, else by its framework's user.
   */
  readonly user: string | undefined;
};

/**
 * The statuses of a task that has none yet: one list for all of them (statuses are replaced,
 * never changed in place), not one per task of a failover's 100,000.
 */
export const NO_STATUSES: readonly TaskStatus[] = Object.freeze([]);

export interface TaskRecord {
  readonly taskId: TaskID;
  readonly frameworkId: FrameworkID;
  readonly agentId: AgentID;
  /** Only the fields read after the launch (kept.ts). */
  readonly info: KeptTaskInfo;
  readonly role: string;
  readonly resources: Resources;
  state: TaskState;
  /** Replaced, never changed in place (tasks.ts appendStatus). */
  statuses: readonly TaskStatus[];
  /** State and uuid of the latest update forwarded to the framework and not yet acknowledged. */
  statusUpdateState: TaskState | undefined;
  statusUpdateUuid: string | undefined;
  /**
   * The last few updates the framework acknowledged through this master (uuids), so
   * that one resent by an agent that lost the acknowledgement is not delivered again.
   */
  acknowledgedUuids: readonly string[] | undefined;
  /** The allocator got this task's resources back (it reached a terminal state). */
  isRecovered: boolean;
  /** For a task of a group (LAUNCH_GROUP): its executor and the ids of all the group's tasks. */
  readonly group?: { readonly executorId: ExecutorID; readonly taskIds: readonly string[] };
}

/**
 * A machine in the maintenance schedule (Mesos' MachineInfo): DRAINING from
 * the moment it is scheduled, DOWN between START_MAINTENANCE and
 * STOP_MAINTENANCE. Machines not in the schedule are UP and not recorded.
 */
export interface MachineRecord {
  readonly id: MachineID;
  mode: 'DRAINING' | 'DOWN';
  unavailability: Unavailability;
}
