// A simulated framework: a plain v1 scheduler over node:http (no SDK), so it costs the
// simulator little and exercises exactly the wire. It accepts every offer with as many
// tasks of one shape as fit, and acknowledges every status update that carries a uuid.
import {
  assertNever,
  type Call,
  type CallBody,
  type Event,
  type FrameworkID,
  type FrameworkInfo,
  isTerminalState,
  frameworkId as mintFrameworkId,
  taskId as mintTaskId,
  type Offer,
  type Resource,
  type TaskInfo,
  type TaskStatus,
} from '../wire/index.js';
import type { LoadRecorder } from './load-recorder.js';
import type { Random } from './random.js';
import { type OpenedStream, readEvents, readText, type SimNetwork } from './sim-network.js';
import { durationLabel } from './sim-task.js';
import type { TimingWheel, WheelTimer } from './timing-wheel.js';

const SCHEDULER_API = '/master/api/v1/scheduler';
const RESUBSCRIBE_INITIAL_MS = 500;
const RESUBSCRIBE_MAX_MS = 10_000;
/** Long enough that a framework whose stream broke keeps its tasks while it comes back. */
const DEFAULT_FAILOVER_TIMEOUT_SECONDS = 3600;

/** Every task a framework launches is alike. */
export interface SimTaskShape {
  readonly cpus: number;
  readonly memMb: number;
  /** What a real agent runs; a simulated agent runs nothing. */
  readonly command: string;
}

export interface SimFrameworkOptions {
  readonly network: SimNetwork;
  readonly wheel: TimingWheel;
  readonly random: Random;
  readonly name: string;
  readonly task: SimTaskShape;
  /** Each task's simulated run time in ms (a label); undefined: it runs until killed. */
  readonly durationMs: () => number | undefined;
  /** Tasks to launch in all; unlimited by default. */
  readonly taskBudget?: number;
  readonly recorder?: LoadRecorder;
  readonly now?: () => number;
  /** refuse_seconds of declines (offers that fit no task) and of what ACCEPTs leave over. */
  readonly refuseSeconds?: number;
  readonly failoverTimeoutSeconds?: number;
}

export interface SimFrameworkStats {
  readonly offersReceived: number;
  readonly offersAccepted: number;
  readonly offersDeclined: number;
  readonly rescinds: number;
  /** Tasks in ACCEPT calls the master answered with 202. */
  readonly tasksLaunched: number;
  readonly acceptCallsFailed: number;
  readonly declineCallsFailed: number;
  readonly updatesReceived: number;
  /** Updates with a uuid, each of which must be acknowledged. */
  readonly updatesToAcknowledge: number;
  /** ACKNOWLEDGE calls answered with 202. */
  readonly acknowledged: number;
  readonly acknowledgeCallsFailed: number;
  readonly tasksFinished: number;
  /** Tasks that ended in a state other than TASK_FINISHED, by state. */
  readonly tasksFailed: Readonly<Record<string, number>>;
  /** Subscription streams lost while running (each is followed by a resubscription). */
  readonly disconnects: number;
  readonly errorEvents: number;
}

/**
 * One framework. start() subscribes and resolves at SUBSCRIBED; from then on it launches
 * on every offer until its budget is spent or stopLaunching() is called, after which it
 * declines. stop() ends the stream; nothing is torn down on the master.
 */
export class SimFramework {
  private readonly now: () => number;
  private id: FrameworkID | undefined;
  private streamId: string | undefined;
  private isStopped = false;
  private isLaunching = true;
  private nextTaskNumber = 0;
  private resubscribeMs = RESUBSCRIBE_INITIAL_MS;
  private resubscribe: WheelTimer | undefined;
  private isSubscribing = false;
  private lastSubscribedMs: number | undefined;
  private stream: OpenedStream | undefined;
  /** When each launched task's ACCEPT went out, until it ends. */
  private readonly acceptedAtMs = new Map<string, number>();
  /** Tasks whose TASK_RUNNING was counted (an update resent must not count twice). */
  private readonly running = new Set<string>();
  private readonly counts = {
    offersReceived: 0,
    offersAccepted: 0,
    offersDeclined: 0,
    rescinds: 0,
    tasksLaunched: 0,
    acceptCallsFailed: 0,
    declineCallsFailed: 0,
    updatesReceived: 0,
    updatesToAcknowledge: 0,
    acknowledged: 0,
    acknowledgeCallsFailed: 0,
    tasksFinished: 0,
    disconnects: 0,
    errorEvents: 0,
  };
  private readonly failedByState: Record<string, number> = {};
  /** Calls sent (or queued in the network) and not yet answered. */
  private unanswered = 0;

  constructor(private readonly options: SimFrameworkOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  async start(): Promise<void> {
    await this.subscribe();
  }

  /** From now on every offer is declined. */
  stopLaunching(): void {
    this.isLaunching = false;
  }

  /** Ends the subscription and cancels the framework's timers. Idempotent. */
  stop(): void {
    this.isStopped = true;
    this.resubscribe?.cancel();
    this.stream?.response.destroy();
  }

  /**
   * A new leader was detected (as an SDK framework's detector tells it): subscribe
   * to it after a random wait under `withinMs`, the backoff starting from there
   * again. A stream still open (to a paused old leader) is closed, and its end
   * schedules the subscription; one under way is left to fail or succeed.
   */
  leaderChanged(withinMs: number): void {
    if (this.isStopped) return;
    this.resubscribeMs = withinMs;
    if (this.isSubscribing) return;
    if (this.streamId !== undefined && this.stream !== undefined) {
      this.stream.response.destroy();
      return;
    }
    this.resubscribe?.cancel();
    this.scheduleResubscribe();
  }

  /**
   * Calls sent or waiting in the network's queue, not yet answered. A bench that kills the
   * master waits for 0 first: calls still queued then carry the old stream's id and reach
   * the next leader as a burst of refusals, which is the fill's tail, not the failover.
   */
  get callsUnanswered(): number {
    return this.unanswered;
  }

  /** When the last SUBSCRIBED came (by `now`); undefined before the first. */
  get subscribedAtMs(): number | undefined {
    return this.lastSubscribedMs;
  }

  get frameworkId(): string | undefined {
    return this.id?.value;
  }

  get stats(): SimFrameworkStats {
    return { ...this.counts, tasksFailed: { ...this.failedByState } };
  }

  /** Tasks launched and not yet ended (as far as this framework has heard). */
  get tasksActive(): number {
    let failed = 0;
    for (const count of Object.values(this.failedByState)) failed += count;
    return this.counts.tasksLaunched - this.counts.tasksFinished - failed;
  }

  private get budgetLeft(): number {
    if (!this.isLaunching) return 0;
    return (this.options.taskBudget ?? Number.POSITIVE_INFINITY) - this.nextTaskNumber;
  }

  // ------------------------------------------------------------ subscription

  private frameworkInfo(): FrameworkInfo {
    return {
      user: 'agora-sim',
      name: this.options.name,
      failover_timeout: this.options.failoverTimeoutSeconds ?? DEFAULT_FAILOVER_TIMEOUT_SECONDS,
      ...(this.id !== undefined ? { id: this.id } : {}),
    };
  }

  private async subscribe(): Promise<void> {
    const call: Call = {
      type: 'SUBSCRIBE',
      ...(this.id !== undefined ? { framework_id: this.id } : {}),
      subscribe: { framework_info: this.frameworkInfo() },
    };
    const opened = await this.options.network.openStream(SCHEDULER_API, JSON.stringify(call));
    if (opened.status !== 200) {
      const message = await readText(opened.response);
      throw new Error(
        `framework ${this.options.name}: SUBSCRIBE answered ${opened.status}: ${message}`,
      );
    }
    if (this.isStopped) {
      opened.response.destroy();
      return;
    }
    this.stream = opened;
    await new Promise<void>((resolve, reject) => {
      let isSubscribed = false;
      readEvents<Event>(
        opened.response,
        (event) => {
          if (event.type === 'SUBSCRIBED') {
            this.id = mintFrameworkId(event.subscribed.framework_id.value);
            this.streamId = opened.streamId;
            this.resubscribeMs = RESUBSCRIBE_INITIAL_MS;
            this.lastSubscribedMs = this.now();
            isSubscribed = true;
            resolve();
            return;
          }
          this.handle(event);
        },
        (error) => {
          if (this.stream === opened) this.streamId = undefined;
          if (!isSubscribed) {
            reject(
              new Error(`framework ${this.options.name}: stream ended before SUBSCRIBED`, {
                cause: error,
              }),
            );
            return;
          }
          if (this.isStopped) return;
          this.counts.disconnects++;
          // A newer subscription replaced this one (the master closes the old stream):
          // subscribing again would close that one in turn, and so on.
          if (this.stream !== opened) return;
          this.scheduleResubscribe();
        },
      );
    });
  }

  private scheduleResubscribe(): void {
    const delayMs = this.options.random() * this.resubscribeMs;
    this.resubscribeMs = Math.min(this.resubscribeMs * 2, RESUBSCRIBE_MAX_MS);
    this.resubscribe = this.options.wheel.schedule(this.now() + delayMs, () => {
      this.resubscribe = undefined;
      if (this.isStopped) return;
      this.isSubscribing = true;
      this.subscribe().then(
        () => {
          this.isSubscribing = false;
        },
        () => {
          this.isSubscribing = false;
          if (!this.isStopped) this.scheduleResubscribe();
        },
      );
    });
  }

  // ------------------------------------------------------------------ events

  private handle(event: Event): void {
    switch (event.type) {
      case 'OFFERS':
        this.offers(event.offers.offers);
        return;
      case 'UPDATE':
        this.update(event.update.status);
        return;
      case 'RESCIND':
        this.counts.rescinds++;
        return;
      case 'ERROR':
        this.counts.errorEvents++;
        return;
      case 'SUBSCRIBED':
      case 'MESSAGE':
      case 'FAILURE':
      case 'HEARTBEAT':
      case 'INVERSE_OFFERS':
      case 'RESCIND_INVERSE_OFFER':
      case 'UPDATE_OPERATION_STATUS':
        return;
      default:
        assertNever(event);
    }
  }

  private offers(offers: readonly Offer[]): void {
    const nowMs = this.now();
    const declined: Offer[] = [];
    for (const offer of offers) {
      this.counts.offersReceived++;
      this.options.recorder?.offerReceived(offer.agent_id.value, nowMs);
      const count = Math.min(this.fits(offer.resources), this.budgetLeft);
      if (count <= 0) declined.push(offer);
      else this.accept(offer, count, nowMs);
    }
    if (declined.length > 0) this.decline(declined);
  }

  /** How many tasks of the shape fit in the offered cpus and memory (integer thousandths, as Mesos keeps). */
  private fits(resources: readonly Resource[]): number {
    let cpusMillis = 0;
    let memMillis = 0;
    for (const resource of resources) {
      const value = resource.scalar?.value;
      if (value === undefined) continue;
      if (resource.name === 'cpus') cpusMillis += Math.round(value * 1000);
      else if (resource.name === 'mem') memMillis += Math.round(value * 1000);
    }
    const { cpus, memMb } = this.options.task;
    return Math.min(
      Math.floor(cpusMillis / Math.round(cpus * 1000)),
      Math.floor(memMillis / Math.round(memMb * 1000)),
    );
  }

  private accept(offer: Offer, count: number, nowMs: number): void {
    const { cpus, memMb, command } = this.options.task;
    const taskInfos: TaskInfo[] = [];
    for (let i = 0; i < count; i++) {
      const taskIdValue = `t${this.nextTaskNumber++}`;
      const labels = durationLabel(this.options.durationMs());
      taskInfos.push({
        name: taskIdValue,
        task_id: mintTaskId(taskIdValue),
        agent_id: offer.agent_id,
        resources: [
          { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
          { name: 'mem', type: 'SCALAR', scalar: { value: memMb } },
        ],
        command: { value: command },
        ...(labels.length > 0 ? { labels: { labels } } : {}),
      });
      this.acceptedAtMs.set(taskIdValue, nowMs);
    }
    this.counts.offersAccepted++;
    this.options.recorder?.acceptSent(nowMs);
    this.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [{ type: 'LAUNCH', launch: { task_infos: taskInfos } }],
        filters: { refuse_seconds: this.refuseSeconds },
      },
    }).then(
      (isAccepted) => {
        if (isAccepted) this.counts.tasksLaunched += count;
        else this.acceptFailed(taskInfos);
      },
      () => this.acceptFailed(taskInfos),
    );
  }

  private acceptFailed(taskInfos: readonly TaskInfo[]): void {
    this.counts.acceptCallsFailed++;
    for (const task of taskInfos) this.forget(task.task_id.value);
  }

  private forget(taskIdValue: string): void {
    this.acceptedAtMs.delete(taskIdValue);
    this.running.delete(taskIdValue);
  }

  private decline(offers: readonly Offer[]): void {
    this.counts.offersDeclined += offers.length;
    this.call({
      type: 'DECLINE',
      decline: {
        offer_ids: offers.map((offer) => offer.id),
        filters: { refuse_seconds: this.refuseSeconds },
      },
    }).then(
      (isAccepted) => {
        if (!isAccepted) this.counts.declineCallsFailed++;
      },
      () => {
        this.counts.declineCallsFailed++;
      },
    );
  }

  private update(status: TaskStatus): void {
    const nowMs = this.now();
    this.counts.updatesReceived++;
    const taskIdValue = status.task_id.value;
    if (status.state === 'TASK_RUNNING') {
      const acceptedAtMs = this.acceptedAtMs.get(taskIdValue);
      if (acceptedAtMs !== undefined && !this.running.has(taskIdValue)) {
        this.running.add(taskIdValue);
        this.options.recorder?.taskRunning(acceptedAtMs, nowMs);
      }
    } else if (status.state === 'TASK_FINISHED') {
      const acceptedAtMs = this.acceptedAtMs.get(taskIdValue);
      this.forget(taskIdValue);
      this.counts.tasksFinished++;
      if (status.agent_id !== undefined)
        this.options.recorder?.taskFinished(status.agent_id.value, nowMs, acceptedAtMs);
    } else if (isTerminalState(status.state)) {
      this.forget(taskIdValue);
      this.failedByState[status.state] = (this.failedByState[status.state] ?? 0) + 1;
    }
    const { uuid, agent_id } = status;
    if (uuid === undefined || agent_id === undefined) return;
    this.counts.updatesToAcknowledge++;
    this.call({
      type: 'ACKNOWLEDGE',
      acknowledge: { agent_id, task_id: status.task_id, uuid },
    }).then(
      (isAccepted) => {
        if (isAccepted) this.counts.acknowledged++;
        else this.counts.acknowledgeCallsFailed++;
      },
      () => {
        this.counts.acknowledgeCallsFailed++;
      },
    );
  }

  private get refuseSeconds(): number {
    return this.options.refuseSeconds ?? 5;
  }

  /** A call on the current stream; resolves true when answered 202, false for any other status. */
  private async call(call: CallBody): Promise<boolean> {
    const id = this.id;
    const streamId = this.streamId;
    if (id === undefined || streamId === undefined) return false;
    this.unanswered++;
    try {
      const result = await this.options.network.post(
        SCHEDULER_API,
        JSON.stringify({ framework_id: id, ...call }),
        { 'mesos-stream-id': streamId },
      );
      return result.status === 202;
    } finally {
      this.unanswered--;
    }
  }
}
