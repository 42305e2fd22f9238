// Many simulated agents in one process, each speaking Agora's real agent protocol
// (wire/agent-protocol.ts) to a real master over loopback: its own long-lived SUBSCRIBE
// stream for commands, and UPDATE calls for task statuses. Tasks run no process: each
// ends after the run time its framework put in a label (sim-task.ts).
// Long file: one pool class holds every agent's stream, tasks and update queue on a shared
// timing wheel; split, each part would reach into the same per-agent records.
import {
  type AgentCall,
  type AgentEvent,
  type AgentStatusUpdate,
  assertNever,
  type FrameworkInfo,
  isShapeRefused,
  isTerminalState,
  limits,
  agentId as mintAgentId,
  executorId as mintExecutorId,
  newStatusUuid,
  pongFoldWindowMs,
  type ReportShape,
  type Resource,
  shapeAfterRefusal,
  shapeAfterSubscribed,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
  taskId,
} from '../wire/index.js';
import { AgentHoldings, FrameworkInfos, type HeldTask } from './agent-holdings.js';
import type { Random } from './random.js';
import { type OpenedStream, readEvents, readText, type SimNetwork } from './sim-network.js';
import type { SimStream } from './sim-stream.js';
import { simulatedDurationMs } from './sim-task.js';
import type { TimingWheel, WheelTimer } from './timing-wheel.js';

const AGENT_API = '/master/api/v1/agent';
/** A real agent resends an unacknowledged update after 10 s, doubling to 10 min (WIRE §2.4). */
const RETRY_INITIAL_MS = 10_000;
const RETRY_MAX_MS = 10 * 60_000;
/** Subscriptions waiting for SUBSCRIBED at once: the master's accept queue is not flooded. */
const DEFAULT_SUBSCRIBE_CONCURRENCY = 200;
/** Backoff before a lost or refused subscription is tried again, doubling to the cap. */
const RESUBSCRIBE_INITIAL_MS = 500;
const RESUBSCRIBE_MAX_MS = 10_000;
/** Attempts start() makes per agent before it gives up. */
const SUBSCRIBE_ATTEMPTS = 5;

export interface SimAgentPoolOptions {
  readonly network: SimNetwork;
  readonly count: number;
  /** What each agent has, as on the wire (every agent alike). */
  readonly resources: readonly Resource[];
  readonly wheel: TimingWheel;
  /** For backoff jitter. */
  readonly random: Random;
  readonly now?: () => number;
  /** Hostname of agent i: `${hostnamePrefix}${i}`. */
  readonly hostnamePrefix?: string;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  readonly subscribeConcurrency?: number;
  /**
   * Whether an agent sends the updates its tasks report in one loop round as one UPDATES
   * call, as a real agent does (agent/master-link.ts); false: one UPDATE call each, as
   * agents did before. Default true.
   */
  readonly batchUpdates?: boolean;
}

/** An update waiting for its agent's next call, and what to do once that call is answered. */
interface OutgoingUpdate {
  readonly update: AgentStatusUpdate;
  readonly settle: (isAccepted: boolean) => void;
}

/** Counters over the pool's life; take two snapshots to count a window. */
export interface SimAgentStats {
  readonly agents: number;
  readonly subscribed: number;
  /** RUN_TASK events that started a task (duplicates not counted). */
  readonly tasksLaunched: number;
  readonly tasksRunning: number;
  readonly tasksFinished: number;
  readonly tasksKilled: number;
  /** Tasks whose terminal update was acknowledged, and so left the agent. */
  readonly tasksRetired: number;
  /** Status updates created (each counted once, however often it was sent). */
  readonly updatesCreated: number;
  readonly updatesSent: number;
  /** Sends of an update sent before: each is a retry after an acknowledgement was late. */
  readonly updatesResent: number;
  readonly updatesAcknowledged: number;
  /** Updates neither acknowledged nor dropped: created − acknowledged − dropped. */
  readonly updatesPending: number;
  /** Updates dropped unacknowledged because their framework was shut down. */
  readonly updatesDropped: number;
  /** ACKNOWLEDGE events that matched no pending update (a duplicate or a stale uuid). */
  readonly staleAcknowledgements: number;
  /** UPDATE calls answered with other than 202, or not answered. */
  readonly updateCallsFailed: number;
  /** UPDATE and UPDATES calls made: fewer than updatesSent when updates are batched. */
  readonly updateCalls: number;
  /** Subscription streams that ended while the pool was running. */
  readonly disconnects: number;
  readonly errorEvents: number;
}

/** A task and its updates' delivery; its state changes only through its agent's holdings. */
interface SimTask extends HeldTask {
  /** Unacknowledged updates, oldest first; only the oldest is sent. */
  readonly queue: TaskStatus[];
  /** Whether the oldest has been sent before (a send now is a retry). */
  isHeadSent: boolean;
  /** The uuid of the update whose UPDATE call is waiting for its answer, if any. */
  inFlightUuid: string | undefined;
  retryMs: number;
  retry: WheelTimer | undefined;
  end: WheelTimer | undefined;
}

interface SimAgent {
  readonly index: number;
  readonly hostname: string;
  /** Its id, tasks and checkpointed resources: what its SUBSCRIBE says, and that body. */
  readonly holdings: AgentHoldings<SimTask>;
  /** Set while subscribed: UPDATE calls carry it. */
  streamId: string | undefined;
  response: SimStream | undefined;
  resubscribeMs: number;
  resubscribe: WheelTimer | undefined;
  /**
   * Counts the agent's subscription attempts; only the latest one's stream is the agent's.
   * A real agent runs one attempt at a time (agent/master-link.ts): an older attempt that
   * still reaches SUBSCRIBED, or ends, must neither keep its stream nor schedule another,
   * or two streams replace each other at the master forever.
   */
  attempt: number;
  /** Updates sent in this loop round: one call at its end. */
  outgoing: OutgoingUpdate[];
  /** How long a PONG may wait for an update call to carry it (0: not at all). */
  pongFoldMs: number;
  /** A PING's answer waiting for the next update call, or for this timer to send it alone. */
  owedPong: WheelTimer | undefined;
  /** reregister_spread_ms from the master's last SUBSCRIBED or PING (healing('master')). */
  spreadMs: number | undefined;
  /** The shape of its next report, by the real agent's rule (wire/agent-report.ts). */
  reportShape: ReportShape;
}

/** What prepareSubscriptions rendered. */
export interface PreparedSubscriptions {
  readonly bytes: number;
  /** How many agents report in each shape. */
  readonly shapes: Readonly<Record<ReportShape, number>>;
  /** Every SHAPE_SAMPLE_EVERY-th agent's body rendered in each shape: their bytes. */
  readonly sampled: {
    readonly agents: number;
    readonly bytes: Readonly<Record<ReportShape, number>>;
  };
}

const REPORT_SHAPES: readonly ReportShape[] = ['perTask', 'frameworksOnce', 'compact'];

const SHAPE_SAMPLE_EVERY = 100;

/**
 * `count` simulated agents. start() subscribes them all (a bounded number at a time)
 * and resolves when each has its agent id. Status updates are delivered as a real
 * agent's status update manager does: per task in order, the oldest resent with
 * backoff until the ACKNOWLEDGE event for its uuid arrives, and only then the next.
 */
export class SimAgentPool {
  private readonly agents: SimAgent[];
  private readonly frameworkInfos = new FrameworkInfos();
  private readonly now: () => number;
  private isStopped = false;
  /** Cut off from the master (partition()): no stream, no PONG, no new subscription. */
  private isPartitioned = false;
  /** Agents with outgoing updates, sent at the end of this loop round. */
  private flushing: SimAgent[] = [];
  /** Set once a leader is followed (leaderChanged): its registration backoff. */
  private leaderBackoffMs: number | undefined;
  private readonly counts = {
    subscribed: 0,
    tasksLaunched: 0,
    tasksRunning: 0,
    tasksFinished: 0,
    tasksKilled: 0,
    tasksRetired: 0,
    updatesCreated: 0,
    updatesSent: 0,
    updatesResent: 0,
    updatesAcknowledged: 0,
    updatesDropped: 0,
    staleAcknowledgements: 0,
    updateCallsFailed: 0,
    updateCalls: 0,
    disconnects: 0,
    errorEvents: 0,
  };

  constructor(private readonly options: SimAgentPoolOptions) {
    this.now = options.now ?? (() => performance.now());
    const prefix = options.hostnamePrefix ?? 'sim-agent-';
    this.agents = Array.from({ length: options.count }, (_, index) => {
      const hostname = `${prefix}${index}`;
      return {
        index,
        hostname,
        holdings: new AgentHoldings<SimTask>(hostname, options.resources, this.frameworkInfos),
        streamId: undefined,
        response: undefined,
        resubscribeMs: RESUBSCRIBE_INITIAL_MS,
        resubscribe: undefined,
        attempt: 0,
        outgoing: [],
        pongFoldMs: 0,
        owedPong: undefined,
        spreadMs: undefined,
        reportShape: 'perTask',
      };
    });
  }

  /** Subscribes every agent; resolves once all are subscribed. Rejects if one is refused. */
  async start(): Promise<void> {
    const concurrency = this.options.subscribeConcurrency ?? DEFAULT_SUBSCRIBE_CONCURRENCY;
    let next = 0;
    const worker = async () => {
      while (next < this.agents.length && !this.isStopped) {
        const agent = this.agents[next++];
        if (agent !== undefined) await this.subscribeWithRetries(agent);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, this.agents.length) }, worker));
  }

  /**
   * Renders now every agent's SUBSCRIBE body that changed since it was last rendered, so
   * that the subscriptions that follow (after an election) send bytes kept, not rendered
   * then. A later change still renders its agent's body again. Returns their bytes, how
   * many report in each shape, and every shape's bytes for a sample of the agents.
   */
  prepareSubscriptions(): PreparedSubscriptions {
    let bytes = 0;
    const shapes = { perTask: 0, frameworksOnce: 0, compact: 0 };
    const sampledBytes = { perTask: 0, frameworksOnce: 0, compact: 0 };
    let sampledAgents = 0;
    for (const agent of this.agents) {
      bytes += agent.holdings.body(agent.reportShape).length;
      shapes[agent.reportShape]++;
      if (agent.index % SHAPE_SAMPLE_EVERY !== 0) continue;
      sampledAgents++;
      for (const shape of REPORT_SHAPES)
        sampledBytes[shape] += Buffer.byteLength(agent.holdings.renderAfresh(shape));
    }
    return { bytes, shapes, sampled: { agents: sampledAgents, bytes: sampledBytes } };
  }

  /**
   * Agent `index`'s SUBSCRIBE body rendered afresh in the shape it would send now, nothing
   * kept: a check compares what the agent sends (kept bytes) with it.
   */
  renderSubscribeBody(index: number): string | undefined {
    const agent = this.agents[index];
    return agent?.holdings.renderAfresh(agent.reportShape);
  }

  /** Ends every subscription and forgets every timer of the pool. Idempotent. */
  stop(): void {
    if (this.isStopped) return;
    this.isStopped = true;
    for (const agent of this.agents) {
      agent.resubscribe?.cancel();
      for (const task of agent.holdings.tasks.values()) {
        task.retry?.cancel();
        task.end?.cancel();
      }
      agent.response?.destroy();
    }
  }

  get stats(): SimAgentStats {
    return {
      agents: this.agents.length,
      ...this.counts,
      updatesPending:
        this.counts.updatesCreated - this.counts.updatesAcknowledged - this.counts.updatesDropped,
    };
  }

  /** The agents' current stream ids, in agent order (undefined while not subscribed). */
  get agentStreamIds(): readonly (string | undefined)[] {
    return this.agents.map((agent) => agent.streamId);
  }

  /** The ids the master gave the agents, in agent order (undefined until subscribed). */
  get agentIds(): readonly (string | undefined)[] {
    return this.agents.map((agent) => agent.holdings.agentIdValue);
  }

  /**
   * Another master was elected (the caller's detector said so, as each real agent's
   * does): every agent leaves a stream to another master and subscribes again after a
   * random wait under `withinMs`, its backoff starting afresh, as a real agent does.
   */
  leaderChanged(withinMs: number): void {
    this.leaderBackoffMs = withinMs;
    for (const agent of this.agents) {
      agent.resubscribe?.cancel();
      agent.resubscribe = undefined;
      agent.resubscribeMs = withinMs;
      // Whatever the agent had open or under way went to another master: it is superseded
      // (its end schedules nothing) and one new subscription is scheduled here.
      agent.attempt++;
      agent.response?.destroy();
      // Its stream id and an owed PONG were the old master's: sent to the new one, each is a
      // call refused (thousands in a storm, the new leader's CPU spent on the bench's error).
      agent.streamId = undefined;
      agent.owedPong?.cancel();
      agent.owedPong = undefined;
      this.scheduleResubscribe(agent);
    }
  }

  /**
   * Every agent is cut off from the master at once, as by a network partition: its
   * stream ends (the master counts missed pings from there and marks it unreachable)
   * and it tries nothing until heal(). Its tasks run on.
   */
  partition(): void {
    this.isPartitioned = true;
    for (const agent of this.agents) {
      agent.resubscribe?.cancel();
      agent.resubscribe = undefined;
      agent.attempt++;
      agent.response?.destroy();
    }
  }

  /**
   * The partition heals: every agent subscribes again with its id and tasks after a
   * random wait under `withinMs` (a real agent's registration backoff jitter), or all
   * in the same instant with 0 (no jitter: the burst the jitter is there to prevent).
   * With 'master', the wait is under the master's reregister_spread_ms instead, if smaller.
   */
  heal(withinMs: number, spread: 'factor' | 'master' = 'factor'): void {
    this.isPartitioned = false;
    for (const agent of this.agents) {
      agent.resubscribe?.cancel();
      agent.resubscribe = undefined;
      // 'master': as a real agent once its probe gets through (agent/master-link.ts), a
      // random part of the spread the master last told, at most the factor.
      agent.resubscribeMs =
        spread === 'master' ? Math.min(agent.spreadMs ?? withinMs, withinMs) : withinMs;
      this.scheduleResubscribe(agent);
      // Retries after a refused attempt grow from the initial backoff, as a real agent's.
      agent.resubscribeMs = Math.max(withinMs * 2, RESUBSCRIBE_INITIAL_MS);
    }
  }

  /**
   * Gives every subscribed agent `perAgent` more tasks of `frameworkInfo` (which has its id),
   * running and with nothing left to report, as if launched before: the master learns of
   * them only from the agents' next SUBSCRIBEs, as a newly elected one does (bench:reregister).
   */
  holdTasks(perAgent: number, frameworkInfo: FrameworkInfo, resources: readonly Resource[]): void {
    const frameworkId = frameworkInfo.id;
    if (frameworkId === undefined) throw new Error('holdTasks: the framework needs its id');
    this.frameworkInfos.set(frameworkId.value, frameworkInfo);
    for (const agent of this.agents) {
      if (agent.holdings.agentIdValue === undefined) continue;
      for (let i = 0; i < perAgent; i++) {
        const info: TaskInfo = {
          name: `held-${agent.index}-${agent.holdings.tasks.size}`,
          task_id: taskId(`held-${agent.index}-${agent.holdings.tasks.size}`),
          agent_id: mintAgentId(agent.holdings.agentIdValue),
          resources: [...resources],
          command: { value: 'true' },
        };
        const key = taskKey(frameworkId.value, info.task_id.value);
        agent.holdings.addTask({
          key,
          frameworkId,
          info,
          state: 'TASK_RUNNING',
          queue: [],
          isHeadSent: false,
          inFlightUuid: undefined,
          retryMs: this.retryInitialMs,
          retry: undefined,
          end: undefined,
        });
        this.counts.tasksLaunched++;
        this.counts.tasksRunning++;
      }
    }
  }

  // ------------------------------------------------------------ subscription

  /** A burst of connections can be reset by the master's full accept queue: try a few times. */
  private async subscribeWithRetries(agent: SimAgent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.subscribe(agent);
        return;
      } catch (error) {
        // Superseded: a new leader's subscription, scheduled by leaderChanged, goes on.
        if (error instanceof Superseded) return;
        if (this.isStopped || attempt >= SUBSCRIBE_ATTEMPTS) throw error;
        const delayMs = this.options.random() * RESUBSCRIBE_INITIAL_MS * 2 ** attempt;
        await new Promise<void>((resolve) => {
          this.options.wheel.schedule(this.now() + delayMs, resolve);
        });
      }
    }
  }

  /**
   * One subscription, superseding any earlier attempt of the agent's: resolves at
   * SUBSCRIBED, rejects if the master refuses or the stream fails first, or if a later
   * attempt (or a new leader) supersedes this one first.
   */
  private async subscribe(agent: SimAgent): Promise<void> {
    const attempt = ++agent.attempt;
    const shape = agent.reportShape;
    try {
      const opened = await this.options.network.openStream(AGENT_API, agent.holdings.body(shape));
      if (attempt !== agent.attempt) {
        opened.response.destroy();
        throw new Superseded(agent.hostname);
      }
      if (opened.status !== 200 && isShapeRefused(shape, opened.status)) {
        // As a real agent: a master that refuses the report's shape is asked again at once,
        // in the next shape down (once: that shape is not sent again).
        opened.response.destroy();
        agent.reportShape = shapeAfterRefusal(shape, opened.status);
        return await this.subscribe(agent);
      }
      if (opened.status !== 200) {
        const message = await readText(opened.response);
        throw new Error(`agent ${agent.hostname}: SUBSCRIBE answered ${opened.status}: ${message}`);
      }
      await this.follow(agent, opened, attempt);
    } catch (error) {
      // An attempt that fails once a later one is under way (one to the old master, refused
      // or answered late) must not schedule another: that one would supersede the attempt
      // in flight, whose SUBSCRIBE still reaches the master, seconds later if its SYN was
      // dropped, and replaces the agent's stream there.
      if (attempt !== agent.attempt && !(error instanceof Superseded))
        throw new Superseded(agent.hostname);
      throw error;
    }
  }

  /** Reads the stream until it ends; resolves at SUBSCRIBED (or rejects if it ends before). */
  private follow(agent: SimAgent, opened: OpenedStream, attempt: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let isSubscribed = false;
      agent.response = opened.response;
      readEvents<AgentEvent>(
        opened.response,
        (event) => {
          if (attempt !== agent.attempt) {
            // Superseded while open: the agent's later attempt owns it from here.
            opened.response.destroy();
            return;
          }
          if (event.type === 'SUBSCRIBED') {
            if (opened.streamId === undefined) {
              opened.response.destroy();
              return;
            }
            agent.holdings.setAgentId(event.subscribed.agent_id.value);
            agent.streamId = opened.streamId;
            agent.owedPong?.cancel();
            agent.owedPong = undefined;
            // As a real agent: PONGs ride on update calls when the master takes them so.
            agent.pongFoldMs =
              event.subscribed.folds_pongs === true && this.options.batchUpdates !== false
                ? pongFoldWindowMs(event.subscribed.total_ping_timeout_seconds)
                : 0;
            agent.resubscribeMs = RESUBSCRIBE_INITIAL_MS;
            agent.spreadMs = event.subscribed.reregister_spread_ms ?? agent.spreadMs;
            agent.reportShape = shapeAfterSubscribed(event.subscribed);
            if (!isSubscribed) this.counts.subscribed++;
            isSubscribed = true;
            // As a real agent does on (re)connecting: each task's oldest update goes out now.
            for (const task of agent.holdings.tasks.values()) this.sendHead(agent, task);
            resolve();
            return;
          }
          this.handle(agent, event);
        },
        (error) => {
          if (agent.response === opened.response) {
            agent.response = undefined;
            agent.streamId = undefined;
          }
          if (isSubscribed) this.counts.subscribed--;
          if (!isSubscribed) {
            reject(
              attempt !== agent.attempt
                ? new Superseded(agent.hostname)
                : new Error(`agent ${agent.hostname}: stream ended before SUBSCRIBED`, {
                    cause: error,
                  }),
            );
            return;
          }
          if (this.isStopped) return;
          this.counts.disconnects++;
          // A superseded stream's end is expected: the attempt that superseded it goes on.
          if (attempt === agent.attempt) this.scheduleResubscribe(agent);
        },
      );
    });
  }

  /** After a lost stream: subscribe again with the agent's id and tasks, with backoff. */
  private scheduleResubscribe(agent: SimAgent): void {
    // One subscription pending per agent: a failed attempt and a new leader may both ask.
    agent.resubscribe?.cancel();
    if (this.isPartitioned) return;
    const delayMs = this.options.random() * agent.resubscribeMs;
    agent.resubscribeMs = Math.min(agent.resubscribeMs * 2, RESUBSCRIBE_MAX_MS);
    agent.resubscribe = this.options.wheel.schedule(this.now() + delayMs, () => {
      agent.resubscribe = undefined;
      if (this.isStopped) return;
      this.subscribe(agent).catch((error: unknown) => {
        if (this.isStopped || error instanceof Superseded || agent.streamId !== undefined) return;
        // As a real agent: the elected master refusing or answering 503 is still
        // recovering, and the wait does not grow for it (agent/master-link.ts).
        if (this.leaderBackoffMs !== undefined && isLeaderStarting(error))
          agent.resubscribeMs = this.leaderBackoffMs;
        this.scheduleResubscribe(agent);
      });
    });
  }

  // ------------------------------------------------------------------ events

  private handle(agent: SimAgent, event: AgentEvent): void {
    switch (event.type) {
      case 'RUN_TASK':
        this.runTask(agent, event.run_task.framework_info, event.run_task.task);
        return;
      case 'KILL_TASK': {
        const { framework_id, task_id } = event.kill_task;
        const task = agent.holdings.tasks.get(taskKey(framework_id.value, task_id.value));
        if (task !== undefined) this.kill(agent, task);
        return;
      }
      case 'ACKNOWLEDGE': {
        const { framework_id, task_id, uuid } = event.acknowledge;
        this.acknowledge(agent, taskKey(framework_id.value, task_id.value), uuid);
        return;
      }
      case 'SHUTDOWN_FRAMEWORK':
        this.shutdownFramework(agent, event.shutdown_framework.framework_id.value);
        return;
      case 'CHECKPOINT_RESOURCES':
        agent.holdings.setCheckpointed(event.checkpoint_resources.resources);
        return;
      case 'ERROR':
        this.counts.errorEvents++;
        return;
      case 'RUN_TASK_GROUP':
        for (const task of event.run_task_group.task_group.tasks)
          this.runTask(agent, event.run_task_group.framework_info, task);
        return;
      case 'PING':
        agent.spreadMs = event.ping?.reregister_spread_ms ?? agent.spreadMs;
        // Unanswered PINGs would mark every simulated agent unreachable within minutes.
        this.answerPing(agent);
        return;
      case 'SUBSCRIBED':
      case 'HEARTBEAT':
      case 'SHUTDOWN_EXECUTOR':
      case 'FRAMEWORK_MESSAGE':
      case 'DRAIN':
      case 'SHUTDOWN':
      case 'FILES_REQUEST': // simulated tasks have no sandbox; the master times the read out
        return;
      default:
        assertNever(event);
    }
  }

  private runTask(agent: SimAgent, frameworkInfo: FrameworkInfo, info: TaskInfo): void {
    const frameworkId = frameworkInfo.id;
    if (frameworkId === undefined) return;
    const key = taskKey(frameworkId.value, info.task_id.value);
    if (agent.holdings.tasks.has(key)) return; // a duplicate RUN_TASK
    if (!this.frameworkInfos.has(frameworkId.value))
      this.frameworkInfos.set(frameworkId.value, frameworkInfo);
    const task: SimTask = {
      key,
      frameworkId,
      info,
      state: 'TASK_STAGING',
      queue: [],
      isHeadSent: false,
      inFlightUuid: undefined,
      retryMs: this.retryInitialMs,
      retry: undefined,
      end: undefined,
    };
    agent.holdings.addTask(task);
    this.counts.tasksLaunched++;
    this.counts.tasksRunning++;
    this.report(agent, task, 'TASK_STARTING');
    this.report(agent, task, 'TASK_RUNNING');
    const durationMs = simulatedDurationMs(info);
    if (durationMs !== undefined)
      task.end = this.options.wheel.schedule(this.now() + durationMs, () => {
        task.end = undefined;
        this.counts.tasksFinished++;
        this.counts.tasksRunning--;
        this.report(agent, task, 'TASK_FINISHED');
      });
  }

  private kill(agent: SimAgent, task: SimTask): void {
    if (isTerminalState(task.state)) return;
    task.end?.cancel();
    task.end = undefined;
    this.counts.tasksKilled++;
    this.counts.tasksRunning--;
    this.report(agent, task, 'TASK_KILLED');
  }

  /** As a real agent: kill the framework's tasks and drop their updates (nobody will acknowledge them). */
  private shutdownFramework(agent: SimAgent, frameworkIdValue: string): void {
    for (const task of [...agent.holdings.tasks.values()]) {
      if (task.frameworkId.value !== frameworkIdValue) continue;
      if (!isTerminalState(task.state)) {
        this.counts.tasksKilled++;
        this.counts.tasksRunning--;
      }
      task.end?.cancel();
      task.retry?.cancel();
      this.counts.updatesDropped += task.queue.length;
      agent.holdings.removeTask(task.key);
    }
  }

  // ---------------------------------------------------- status update delivery

  private report(agent: SimAgent, task: SimTask, state: TaskState): void {
    agent.holdings.setState(task, state);
    task.queue.push({
      task_id: task.info.task_id,
      state,
      source: 'SOURCE_EXECUTOR',
      agent_id: mintAgentId(agent.holdings.agentIdValue ?? ''),
      executor_id: mintExecutorId(task.info.task_id.value),
      timestamp: Date.now() / 1000,
      uuid: newStatusUuid(),
    });
    this.counts.updatesCreated++;
    if (task.queue.length === 1) this.sendHead(agent, task);
  }

  /** Sends the task's oldest update and arms its retry. Not connected: the retry (or reconnecting) sends it. */
  private sendHead(agent: SimAgent, task: SimTask): void {
    const head = task.queue[0];
    if (head === undefined || this.isStopped) return;
    task.retry?.cancel();
    task.retry = this.options.wheel.schedule(this.now() + task.retryMs, () => {
      task.retry = undefined;
      task.retryMs = Math.min(task.retryMs * 2, this.options.retryMaxMs ?? RETRY_MAX_MS);
      this.sendHead(agent, task);
    });
    const streamId = agent.streamId;
    const agentIdValue = agent.holdings.agentIdValue;
    if (streamId === undefined || agentIdValue === undefined) return;
    // One process holds every agent's calls in one pool, where a call can wait its turn
    // for seconds under load; a real agent's call would be at the master by then. So a
    // retry waits for the previous call's answer instead of queueing a duplicate.
    const uuid = head.uuid;
    if (uuid !== undefined && task.inFlightUuid === uuid) return;
    if (task.isHeadSent) this.counts.updatesResent++;
    task.isHeadSent = true;
    task.inFlightUuid = uuid;
    this.counts.updatesSent++;
    const outgoing: OutgoingUpdate = {
      update: { framework_id: task.frameworkId, status: head },
      settle: (isAccepted) => {
        if (task.inFlightUuid === uuid) task.inFlightUuid = undefined;
        if (!isAccepted) this.counts.updateCallsFailed++;
      },
    };
    if (this.options.batchUpdates === false) {
      this.postUpdates(agentIdValue, streamId, [outgoing]);
      return;
    }
    agent.outgoing.push(outgoing);
    if (agent.outgoing.length > 1) return;
    this.flushing.push(agent);
    if (this.flushing.length === 1) setImmediate(() => this.flushUpdates());
  }

  /** Each agent's updates of this loop round, as one call (UPDATE when alone). */
  private flushUpdates(): void {
    const agents = this.flushing;
    this.flushing = [];
    for (const agent of agents) {
      const outgoing = agent.outgoing;
      agent.outgoing = [];
      const { streamId } = agent;
      const { agentIdValue } = agent.holdings;
      if (this.isStopped || streamId === undefined || agentIdValue === undefined) {
        // Disconnected since: the retry timer sends the update again once subscribed.
        for (const one of outgoing) one.settle(false);
        continue;
      }
      const isPongOwed = agent.owedPong !== undefined;
      agent.owedPong?.cancel();
      agent.owedPong = undefined;
      for (let i = 0; i < outgoing.length; i += limits.MAX_AGENT_UPDATES)
        this.postUpdates(
          agentIdValue,
          streamId,
          outgoing.slice(i, i + limits.MAX_AGENT_UPDATES),
          isPongOwed && i === 0 ? agent : undefined,
        );
    }
  }

  /** `pongOf`: the agent whose owed PONG this call carries, sent alone if the call fails. */
  private postUpdates(
    agentIdValue: string,
    streamId: string,
    outgoing: readonly OutgoingUpdate[],
    pongOf?: SimAgent,
  ): void {
    const [only] = outgoing;
    if (only === undefined) return;
    this.counts.updateCalls++;
    const pong = pongOf !== undefined ? { pong: true } : {};
    const call: AgentCall =
      outgoing.length === 1
        ? { type: 'UPDATE', agent_id: mintAgentId(agentIdValue), update: only.update, ...pong }
        : {
            type: 'UPDATES',
            agent_id: mintAgentId(agentIdValue),
            updates: { updates: outgoing.map((one) => one.update) },
            ...pong,
          };
    this.options.network
      .post(AGENT_API, JSON.stringify(call), { 'mesos-stream-id': streamId })
      .then(
        (result) => {
          for (const one of outgoing) one.settle(result.status === 202);
          if (result.status !== 202 && pongOf !== undefined) this.pong(pongOf);
        },
        () => {
          for (const one of outgoing) one.settle(false);
          if (pongOf !== undefined) this.pong(pongOf);
        },
      );
  }

  /** A PING: answered by the agent's next update call within the fold window, else alone. */
  private answerPing(agent: SimAgent): void {
    if (agent.pongFoldMs <= 0) {
      this.pong(agent);
      return;
    }
    if (agent.owedPong !== undefined) return; // one answer covers every PING before it
    const streamId = agent.streamId;
    agent.owedPong = this.options.wheel.schedule(this.now() + agent.pongFoldMs, () => {
      agent.owedPong = undefined;
      if (agent.streamId === streamId) this.pong(agent);
    });
  }

  private pong(agent: SimAgent): void {
    const { streamId } = agent;
    const { agentIdValue } = agent.holdings;
    if (this.isPartitioned || streamId === undefined || agentIdValue === undefined) return;
    const call: AgentCall = { type: 'PONG', agent_id: mintAgentId(agentIdValue) };
    this.options.network
      // Ahead of every waiting update: a real agent answers on its own connection, so its
      // PONG never waits behind 10,000 other agents' updates; behind them, a busy master
      // marked thousands of simulated agents unreachable and re-admitted them.
      .post(AGENT_API, JSON.stringify(call), { 'mesos-stream-id': streamId }, { isUrgent: true })
      .catch(() => {
        // A lost PONG is a missed ping, as for a real agent.
      });
  }

  private acknowledge(agent: SimAgent, key: string, uuid: string): void {
    const task = agent.holdings.tasks.get(key);
    const head = task?.queue[0];
    if (task === undefined || head?.uuid !== uuid) {
      this.counts.staleAcknowledgements++;
      return;
    }
    task.queue.shift();
    this.counts.updatesAcknowledged++;
    task.retry?.cancel();
    task.retry = undefined;
    task.retryMs = this.retryInitialMs;
    task.isHeadSent = false;
    if (task.queue.length > 0) this.sendHead(agent, task);
    else if (isTerminalState(head.state)) {
      agent.holdings.removeTask(key);
      this.counts.tasksRetired++;
    }
  }

  private get retryInitialMs(): number {
    return this.options.retryInitialMs ?? RETRY_INITIAL_MS;
  }
}

function taskKey(frameworkIdValue: string, taskIdValue: string): string {
  return `${frameworkIdValue}\u0000${taskIdValue}`;
}

/** An attempt given up for a later one of the same agent's: nothing to retry. */
class Superseded extends Error {
  constructor(hostname: string) {
    super(`agent ${hostname}: subscription superseded by a later attempt`);
  }
}

/** A subscription the elected master refused (not listening yet) or answered 503. */
function isLeaderStarting(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    (error as NodeJS.ErrnoException).code === 'ECONNREFUSED' ||
    / answered 503: /.test(error.message)
  );
}
