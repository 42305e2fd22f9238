// The master's in-memory truth about frameworks, agents, offers and tasks, and
// the indexes between them. The entity modules change records; Books keeps
// the indexes consistent and bounds what is remembered of the past.
import assert from 'node:assert';
import { Resources } from '../../resources/index.js';
import type { FrameworkID, MaintenanceSchedule, TaskID } from '../../wire/index.js';
import type {
  AgentRecord,
  ExecutorRecord,
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
  usedBy(framework: FrameworkRecord, executors?: readonly ExecutorRecord[]): Resources;
  executorsOf(framework?: FrameworkRecord): ExecutorRecord[];
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
  /** Kept sums of used and offered resources, by agent or framework record (keptSum). */
  private readonly usedSums = new WeakMap<object, KeptSum>();
  private readonly offeredSums = new WeakMap<object, KeptSum>();
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

  /**
   * addTask for a caller that holds the task's framework and agent records and has just
   * found the task id free in that framework's tasks (an agent re-registering after a
   * failover: its tasks by the thousand, each looked up by the check before): no look-up
   * again. A broken precondition still fails the assertion, after the set.
   */
  addFreeTask(framework: FrameworkRecord, agent: AgentRecord, task: TaskRecord): void {
    assert(
      framework.id.value === task.frameworkId.value && agent.id.value === task.agentId.value,
      "task given another framework's or agent's record",
    );
    const before = framework.tasks.size;
    framework.tasks.set(task.taskId.value, task);
    assert(framework.tasks.size > before, 'task id already in use');
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
    const parts: Resources[] = [];
    for (const task of agent.tasks) if (!task.isRecovered) parts.push(task.resources);
    for (const executor of agent.executors.values()) parts.push(executor.resources);
    return keptSum(this.usedSums, agent, parts);
  }

  offeredOn(agent: AgentRecord): Resources {
    return keptSum(this.offeredSums, agent, this.offeredParts(agent));
  }

  /**
   * Resources in use by a framework's tasks (not terminal) and executors, summed; pass its
   * `executors` when known, as a render of every framework does (each lookup here reads
   * every agent).
   */
  usedBy(framework: FrameworkRecord, executors?: readonly ExecutorRecord[]): Resources {
    const parts: Resources[] = [];
    for (const task of framework.tasks.values()) if (!task.isRecovered) parts.push(task.resources);
    for (const executor of executors ?? this.executorsOf(framework)) parts.push(executor.resources);
    return keptSum(this.usedSums, framework, parts);
  }

  /** The executors the master knows (of one framework, or all): every agent's, read. */
  executorsOf(framework?: FrameworkRecord): ExecutorRecord[] {
    const known: ExecutorRecord[] = [];
    const id = framework?.id.value;
    for (const agent of this.agents.values()) {
      if (agent.executors.size === 0) continue;
      for (const executor of agent.executors.values())
        if (id === undefined || executor.frameworkId.value === id) known.push(executor);
    }
    return known;
  }

  offeredTo(framework: FrameworkRecord): Resources {
    return keptSum(this.offeredSums, framework, this.offeredParts(framework));
  }

  private offeredParts(holder: { readonly offers: ReadonlySet<string> }): Resources[] {
    const parts: Resources[] = [];
    for (const id of holder.offers) {
      const offer = this.offers.get(id);
      if (offer !== undefined) parts.push(offer.resources);
    }
    return parts;
  }
}

interface KeptSum {
  readonly parts: readonly Resources[];
  readonly sum: Resources;
}

/**
 * The sum of `parts`, the very value of the last call for `holder` when the parts are the
 * same values in the same order (Resources are immutable): /master/state sums each agent's
 * and framework's tasks on every GET, and a kept rendering of an agent is valid while its
 * sums are the same value (http/fragments.ts). Read, not told: nothing to invalidate.
 */
function keptSum(
  sums: WeakMap<object, KeptSum>,
  holder: object,
  list: readonly Resources[],
): Resources {
  const kept = sums.get(holder);
  if (kept !== undefined && kept.parts.length === list.length) {
    let isSame = true;
    for (let i = 0; i < list.length && isSame; i++) isSame = kept.parts[i] === list[i];
    if (isSame) return kept.sum;
  }
  const sum = Resources.sum(list);
  sums.set(holder, { parts: list, sum });
  return sum;
}
