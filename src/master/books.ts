// The master's in-memory truth about frameworks, agents, offers and tasks. Each
// entity has explicit states; every change of state goes through one method.
import assert from 'node:assert';
import { Resources } from '../resources/index.js';
import type { EventStream, Timer } from '../runtime/index.js';
import {
  type AgentEvent,
  type AgentID,
  type AgentInfo,
  canTransition,
  type Event,
  type FrameworkID,
  type FrameworkInfo,
  isTerminalState,
  type Offer,
  type TaskID,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
} from '../wire/index.js';

/** How many completed tasks (per framework) and frameworks the master remembers (WIRE §9). */
export const MAX_COMPLETED_TASKS_PER_FRAMEWORK = 1000;
export const MAX_COMPLETED_FRAMEWORKS = 50;

export interface Connection<E> {
  readonly stream: EventStream<E>;
  readonly streamId: string;
}

export type FrameworkState = 'subscribed' | 'disconnected';

export interface FrameworkRecord {
  readonly id: FrameworkID;
  info: FrameworkInfo;
  state: FrameworkState;
  connection: Connection<Event> | undefined;
  readonly registeredTimeSec: number;
  reregisteredTimeSec: number | undefined;
  unregisteredTimeSec: number | undefined;
  failoverTimer: Timer | undefined;
  suppressedRoles: ReadonlySet<string>;
  /** Offer id values outstanding to this framework. */
  readonly offers: Set<string>;
  /** Active tasks, and terminal ones whose terminal update is not yet acknowledged. */
  readonly tasks: Map<string, TaskRecord>;
  readonly completedTasks: TaskRecord[];
}

export type AgentState = 'connected' | 'disconnected' | 'unreachable';

export interface AgentRecord {
  readonly id: AgentID;
  info: AgentInfo;
  /** The address the agent connected from; offers and `/files` clients reach it there. */
  ip: string;
  state: AgentState;
  connection: Connection<AgentEvent> | undefined;
  total: Resources;
  version: string;
  readonly registeredTimeSec: number;
  reregisteredTimeSec: number | undefined;
  reregisterTimer: Timer | undefined;
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

/** Applies a status to a task; returns false (and changes nothing) for an illegal transition. */
export function applyTaskStatus(task: TaskRecord, status: TaskStatus): boolean {
  if (status.state !== task.state && !canTransition(task.state, status.state)) return false;
  if (isTerminalState(task.state) && status.state === task.state && task.statuses.length > 0) {
    // A retried terminal update: nothing changes, but it still needs delivery.
    return true;
  }
  task.state = status.state;
  task.statuses.push(status);
  return true;
}

export class Books {
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly completedFrameworks: FrameworkRecord[] = [];
  /** Ids of frameworks that were torn down: they may not subscribe again. */
  readonly removedFrameworkIds = new Set<string>();
  readonly agents = new Map<string, AgentRecord>();
  readonly offers = new Map<string, OfferRecord>();
  private nextFrameworkNumber = 0;
  private nextAgentNumber = 0;
  private nextOfferNumber = 0;

  constructor(readonly masterId: string) {}

  newFrameworkId(): string {
    return `${this.masterId}-${String(this.nextFrameworkNumber++).padStart(4, '0')}`;
  }
  newAgentId(): string {
    return `${this.masterId}-S${this.nextAgentNumber++}`;
  }
  newOfferId(): string {
    return `${this.masterId}-O${this.nextOfferNumber++}`;
  }

  task(frameworkId: FrameworkID, taskId: TaskID): TaskRecord | undefined {
    return this.frameworks.get(frameworkId.value)?.tasks.get(taskId.value);
  }

  addOffer(record: OfferRecord): void {
    const framework = this.frameworks.get(record.frameworkId.value);
    const agent = this.agents.get(record.agentId.value);
    assert(
      framework !== undefined && agent !== undefined,
      'offer for an unknown framework or agent',
    );
    this.offers.set(record.offer.id.value, record);
    framework.offers.add(record.offer.id.value);
    agent.offers.add(record.offer.id.value);
  }

  removeOffer(offerIdValue: string): OfferRecord | undefined {
    const record = this.offers.get(offerIdValue);
    if (record === undefined) return undefined;
    this.offers.delete(offerIdValue);
    this.frameworks.get(record.frameworkId.value)?.offers.delete(offerIdValue);
    this.agents.get(record.agentId.value)?.offers.delete(offerIdValue);
    return record;
  }

  addTask(task: TaskRecord): void {
    const framework = this.frameworks.get(task.frameworkId.value);
    const agent = this.agents.get(task.agentId.value);
    assert(
      framework !== undefined && agent !== undefined,
      'task for an unknown framework or agent',
    );
    assert(!framework.tasks.has(task.taskId.value), 'task id already in use');
    framework.tasks.set(task.taskId.value, task);
    agent.tasks.add(task);
  }

  /** Moves a task from the active set to the framework's bounded completed list. */
  completeTask(task: TaskRecord): void {
    const framework = this.frameworks.get(task.frameworkId.value);
    if (framework?.tasks.get(task.taskId.value) === task) {
      framework.tasks.delete(task.taskId.value);
      framework.completedTasks.push(task);
      if (framework.completedTasks.length > MAX_COMPLETED_TASKS_PER_FRAMEWORK)
        framework.completedTasks.shift();
    }
    this.agents.get(task.agentId.value)?.tasks.delete(task);
  }

  completeFramework(framework: FrameworkRecord): void {
    this.frameworks.delete(framework.id.value);
    this.removedFrameworkIds.add(framework.id.value);
    this.completedFrameworks.push(framework);
    if (this.completedFrameworks.length > MAX_COMPLETED_FRAMEWORKS)
      this.completedFrameworks.shift();
  }

  /** Resources in use by tasks on an agent (not terminal), summed. */
  usedOn(agent: AgentRecord): Resources {
    let used = Resources.EMPTY;
    for (const task of agent.tasks) if (!task.isRecovered) used = used.plus(task.resources);
    return used;
  }

  offeredOn(agent: AgentRecord): Resources {
    let offered = Resources.EMPTY;
    for (const id of agent.offers) {
      const offer = this.offers.get(id);
      if (offer !== undefined) offered = offered.plus(offer.resources);
    }
    return offered;
  }

  usedBy(framework: FrameworkRecord): Resources {
    let used = Resources.EMPTY;
    for (const task of framework.tasks.values())
      if (!task.isRecovered) used = used.plus(task.resources);
    return used;
  }

  offeredTo(framework: FrameworkRecord): Resources {
    let offered = Resources.EMPTY;
    for (const id of framework.offers) {
      const offer = this.offers.get(id);
      if (offer !== undefined) offered = offered.plus(offer.resources);
    }
    return offered;
  }
}
