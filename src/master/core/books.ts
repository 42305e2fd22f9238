// The master's in-memory truth about frameworks, agents, offers and tasks, and
// the indexes between them. The entity modules change records; Books keeps
// the indexes consistent and bounds what is remembered of the past.
import assert from 'node:assert';
import { Resources } from '../../resources/index.js';
import type { FrameworkID, MaintenanceSchedule, TaskID } from '../../wire/index.js';
import type {
  AgentRecord,
  FrameworkRecord,
  InverseOfferRecord,
  MachineRecord,
  OfferRecord,
  TaskRecord,
} from './records.js';

/** How many completed tasks (per framework) and frameworks the master remembers (WIRE §9). */
export const MAX_COMPLETED_TASKS_PER_FRAMEWORK = 1000;
export const MAX_COMPLETED_FRAMEWORKS = 50;

/** What the HTTP layer may read: the books, never to be changed from outside the core. */
export interface ReadonlyBooks {
  readonly frameworks: ReadonlyMap<string, Readonly<FrameworkRecord>>;
  readonly completedFrameworks: readonly Readonly<FrameworkRecord>[];
  readonly agents: ReadonlyMap<string, Readonly<AgentRecord>>;
  readonly offers: ReadonlyMap<string, Readonly<OfferRecord>>;
  readonly inverseOffers: ReadonlyMap<string, Readonly<InverseOfferRecord>>;
  readonly schedule: MaintenanceSchedule;
  readonly machines: ReadonlyMap<string, Readonly<MachineRecord>>;
  usedOn(agent: AgentRecord): Resources;
  offeredOn(agent: AgentRecord): Resources;
  usedBy(framework: FrameworkRecord): Resources;
  offeredTo(framework: FrameworkRecord): Resources;
}

export class Books implements ReadonlyBooks {
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly completedFrameworks: FrameworkRecord[] = [];
  /** Ids of frameworks that were torn down: they may not subscribe again. */
  readonly removedFrameworkIds = new Set<string>();
  /** Ids of agents an operator marked gone: they may not register again. */
  readonly goneAgentIds = new Set<string>();
  readonly agents = new Map<string, AgentRecord>();
  readonly offers = new Map<string, OfferRecord>();
  readonly inverseOffers = new Map<string, InverseOfferRecord>();
  /** The maintenance schedule: one, as Mesos keeps, replaced whole by each update. */
  schedule: MaintenanceSchedule = {};
  /** The schedule's machines, by machineKey (machines.ts), with their modes. */
  readonly machines = new Map<string, MachineRecord>();
  /**
   * Told when a task leaves its agent's books (its terminal update acknowledged,
   * or the master gave it up): a draining agent may be drained now.
   */
  onTaskRetired: (task: TaskRecord) => void = () => {};
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

  removeOffer(record: OfferRecord): void {
    const id = record.offer.id.value;
    this.offers.delete(id);
    this.frameworks.get(record.frameworkId.value)?.offers.delete(id);
    this.agents.get(record.agentId.value)?.offers.delete(id);
  }

  addInverseOffer(record: InverseOfferRecord): void {
    const framework = this.frameworks.get(record.frameworkId.value);
    const agent = this.agents.get(record.agentId.value);
    assert(
      framework !== undefined && agent !== undefined,
      'inverse offer for an unknown framework or agent',
    );
    this.inverseOffers.set(record.inverseOffer.id.value, record);
    framework.inverseOffers.add(record.inverseOffer.id.value);
    agent.inverseOffers.add(record.inverseOffer.id.value);
  }

  removeInverseOffer(record: InverseOfferRecord): void {
    const id = record.inverseOffer.id.value;
    this.inverseOffers.delete(id);
    this.frameworks.get(record.frameworkId.value)?.inverseOffers.delete(id);
    this.agents.get(record.agentId.value)?.inverseOffers.delete(id);
  }

  /** The outstanding inverse offers of a framework or for an agent, as records. */
  inverseOffersOf(holder: { readonly inverseOffers: ReadonlySet<string> }): InverseOfferRecord[] {
    const out: InverseOfferRecord[] = [];
    for (const id of holder.inverseOffers) {
      const record = this.inverseOffers.get(id);
      if (record !== undefined) out.push(record);
    }
    return out;
  }

  /** The outstanding offers of a framework or on an agent, as records. */
  offersOf(holder: { readonly offers: ReadonlySet<string> }): OfferRecord[] {
    const out: OfferRecord[] = [];
    for (const id of holder.offers) {
      const offer = this.offers.get(id);
      if (offer !== undefined) out.push(offer);
    }
    return out;
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
    if (this.agents.get(task.agentId.value)?.tasks.delete(task) === true) this.onTaskRetired(task);
  }

  completeFramework(framework: FrameworkRecord): void {
    this.frameworks.delete(framework.id.value);
    this.removedFrameworkIds.add(framework.id.value);
    this.completedFrameworks.push(framework);
    if (this.completedFrameworks.length > MAX_COMPLETED_FRAMEWORKS)
      this.completedFrameworks.shift();
  }

  /** Resources in use by tasks (not terminal) and executors on an agent, summed. */
  usedOn(agent: AgentRecord): Resources {
    return Resources.sum(usedOnParts(agent));
  }

  offeredOn(agent: AgentRecord): Resources {
    let offered = Resources.EMPTY;
    for (const offer of this.offersOf(agent)) offered = offered.plus(offer.resources);
    return offered;
  }

  usedBy(framework: FrameworkRecord): Resources {
    return Resources.sum(this.usedByParts(framework));
  }

  private *usedByParts(framework: FrameworkRecord): Generator<Resources> {
    for (const task of framework.tasks.values()) if (!task.isRecovered) yield task.resources;
    for (const agent of this.agents.values())
      for (const executor of agent.executors.values())
        if (executor.frameworkId.value === framework.id.value) yield executor.resources;
  }

  offeredTo(framework: FrameworkRecord): Resources {
    let offered = Resources.EMPTY;
    for (const offer of this.offersOf(framework)) offered = offered.plus(offer.resources);
    return offered;
  }
}

function* usedOnParts(agent: AgentRecord): Generator<Resources> {
  for (const task of agent.tasks) if (!task.isRecovered) yield task.resources;
  for (const executor of agent.executors.values()) yield executor.resources;
}
