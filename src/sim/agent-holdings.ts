// What a simulated agent reports in its SUBSCRIBE (its id, its tasks and their states, its
// checkpointed resources), and that SUBSCRIBE's body as bytes, rendered again only after a
// change. In a failover storm every agent subscribes at once; rendering 10,000 bodies of 10
// tasks each (~7 KB) was a third of the simulator's CPU, taken from the master on the bench
// machine. Everything the body says changes only through the methods here, and each of them
// calls changed(): a body kept from before a change can never be sent after it, so an agent
// never reports a task it no longer holds, or a state it has left. The body is kept per
// shape of the report (wire/agent-report.ts): per task, each framework listed once, or compact.
import {
  type AgentCall,
  type AgentTask,
  type FrameworkID,
  type FrameworkInfo,
  MESOS_API_VERSION,
  agentId as mintAgentId,
  type ReportShape,
  type Resource,
  reportIn,
  type TaskInfo,
  type TaskState,
} from '../wire/index.js';

/** A task as its SUBSCRIBE lists it; the state changes only through AgentHoldings.setState. */
export interface HeldTask {
  readonly key: string;
  readonly frameworkId: FrameworkID;
  readonly info: TaskInfo;
  readonly state: TaskState;
}

/**
 * The FrameworkInfo each task's entry carries, shared by a pool's agents: a change here
 * changes every body listing one of that framework's tasks, so the bodies are kept under
 * this version too.
 */
export class FrameworkInfos {
  private readonly infos = new Map<string, FrameworkInfo>();
  private changes = 0;

  get version(): number {
    return this.changes;
  }

  get(frameworkIdValue: string): FrameworkInfo | undefined {
    return this.infos.get(frameworkIdValue);
  }

  has(frameworkIdValue: string): boolean {
    return this.infos.has(frameworkIdValue);
  }

  set(frameworkIdValue: string, info: FrameworkInfo): void {
    if (this.infos.get(frameworkIdValue) === info) return;
    this.infos.set(frameworkIdValue, info);
    this.changes++;
  }
}

export class AgentHoldings<T extends HeldTask> {
  private idValue: string | undefined;
  private readonly held = new Map<string, T>();
  private checkpointedResources: readonly Resource[] = [];
  /** Bumped by changed(), the one place every mutator below goes through. */
  private version = 0;
  private rendered:
    | {
        readonly version: number;
        readonly frameworksVersion: number;
        readonly shape: ReportShape;
        readonly body: Buffer;
      }
    | undefined;

  constructor(
    readonly hostname: string,
    private readonly resources: readonly Resource[],
    private readonly frameworks: FrameworkInfos,
  ) {}

  get agentIdValue(): string | undefined {
    return this.idValue;
  }

  get tasks(): ReadonlyMap<string, T> {
    return this.held;
  }

  get checkpointed(): readonly Resource[] {
    return this.checkpointedResources;
  }

  /** The id SUBSCRIBED gave the agent (the same again changes nothing). */
  setAgentId(value: string): void {
    if (this.idValue === value) return;
    this.idValue = value;
    this.changed();
  }

  addTask(task: T): void {
    this.held.set(task.key, task);
    this.changed();
  }

  removeTask(key: string): void {
    if (this.held.delete(key)) this.changed();
  }

  setState(task: T, state: TaskState): void {
    if (task.state === state) return;
    // The one write of a task's state: `state` is readonly everywhere else.
    (task as { state: TaskState }).state = state;
    this.changed();
  }

  setCheckpointed(resources: readonly Resource[]): void {
    this.checkpointedResources = resources;
    this.changed();
  }

  /**
   * The SUBSCRIBE's body as sent, its tasks reported in `shape`: the bytes kept since the
   * last change, or rendered now.
   */
  body(shape: ReportShape): Buffer {
    const frameworksVersion = this.frameworks.version;
    const kept = this.rendered;
    if (
      kept?.version === this.version &&
      kept.frameworksVersion === frameworksVersion &&
      kept.shape === shape
    )
      return kept.body;
    const body = Buffer.from(JSON.stringify(this.subscribeCall(shape)), 'utf8');
    this.rendered = { version: this.version, frameworksVersion, shape, body };
    return body;
  }

  /** The SUBSCRIBE's body rendered afresh, nothing kept (what body(shape) must equal). */
  renderAfresh(shape: ReportShape): string {
    return JSON.stringify(this.subscribeCall(shape));
  }

  private changed(): void {
    this.version++;
  }

  private subscribeCall(shape: ReportShape): AgentCall {
    const id = this.idValue === undefined ? undefined : mintAgentId(this.idValue);
    return {
      type: 'SUBSCRIBE',
      ...(id !== undefined ? { agent_id: id } : {}),
      subscribe: {
        agent_info: {
          hostname: this.hostname,
          port: 5051,
          resources: this.resources,
          ...(id !== undefined ? { id } : {}),
        },
        version: MESOS_API_VERSION,
        // The report the real agent makes from the same tasks (the pool keeps one info per
        // framework, so which task's info frameworks-once lists makes no difference here).
        ...reportIn(shape, this.reportedTasks()),
        ...(this.checkpointedResources.length > 0
          ? { checkpointed_resources: this.checkpointedResources }
          : {}),
      },
    };
  }

  /** Each task with its framework's info (tasks of a framework whose info is unknown left out). */
  private reportedTasks(): AgentTask[] {
    const tasks: AgentTask[] = [];
    for (const task of this.held.values()) {
      const frameworkInfo = this.frameworks.get(task.frameworkId.value);
      if (frameworkInfo !== undefined)
        tasks.push({
          framework_id: task.frameworkId,
          framework_info: frameworkInfo,
          task: task.info,
          state: task.state,
        });
    }
    return tasks;
  }
}
