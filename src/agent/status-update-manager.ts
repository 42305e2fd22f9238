import type { Clock, Timer } from '../runtime/index.js';
import { type FrameworkID, isTerminalState, type TaskStatus } from '../wire/index.js';

/** Mesos retries an unacknowledged update after 10 s, doubling up to 10 min (WIRE §9). */
export const STATUS_UPDATE_RETRY_INITIAL_MS = 10_000;
export const STATUS_UPDATE_RETRY_MAX_MS = 10 * 60_000;
/** Updates a single task may have queued; a task cannot produce more than a handful legitimately. */
const MAX_QUEUED_PER_TASK = 1000;

export interface PendingUpdate {
  readonly frameworkId: FrameworkID;
  readonly status: TaskStatus;
}

interface TaskStream {
  readonly queue: PendingUpdate[];
  retryMs: number;
  timer: Timer | undefined;
}

export interface StatusUpdateManagerOptions {
  readonly clock: Clock;
  /** Delivers one update to the master; a failure is retried by the timer, not by the caller. */
  readonly send: (update: PendingUpdate) => void;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/**
 * Reliable, ordered delivery of each task's status updates (WIRE §2.4): the
 * oldest unacknowledged update of a task is sent, and resent with a capped
 * exponential backoff, until the framework acknowledges it; only then is the
 * next one sent. A partitioned framework still learns every terminal state.
 */
export class StatusUpdateManager {
  private readonly streams = new Map<string, TaskStream>();
  private isConnected = false;

  constructor(private readonly options: StatusUpdateManagerOptions) {}

  /** Queues an update; it goes out now if it is the task's oldest. */
  update(frameworkId: FrameworkID, status: TaskStatus): void {
    const key = streamKey(frameworkId.value, status.task_id.value);
    let stream = this.streams.get(key);
    if (stream === undefined) {
      stream = { queue: [], retryMs: this.initialMs, timer: undefined };
      this.streams.set(key, stream);
    }
    if (stream.queue.length >= MAX_QUEUED_PER_TASK)
      throw new Error(
        `task ${status.task_id.value} has ${MAX_QUEUED_PER_TASK} unacknowledged updates`,
      );
    stream.queue.push({ frameworkId, status });
    if (stream.queue.length === 1) this.sendHead(stream);
  }

  /**
   * Updates of a task a previous agent recorded and the framework did not
   * acknowledge, oldest first: queued ahead of anything new for the task, and
   * sent once connected.
   */
  recover(frameworkId: FrameworkID, pending: readonly TaskStatus[]): void {
    for (const status of pending) this.update(frameworkId, status);
  }

  /**
   * The framework acknowledged `uuid`. Returns the acknowledged update, or
   * undefined if it was not the task's pending one (a duplicate, or stale).
   */
  acknowledge(
    frameworkIdValue: string,
    taskIdValue: string,
    uuid: string,
  ): PendingUpdate | undefined {
    const key = streamKey(frameworkIdValue, taskIdValue);
    const stream = this.streams.get(key);
    const head = stream?.queue[0];
    if (stream === undefined || head?.status.uuid !== uuid) return undefined;
    stream.queue.shift();
    stream.timer?.cancel();
    stream.timer = undefined;
    stream.retryMs = this.initialMs;
    if (stream.queue.length > 0) this.sendHead(stream);
    else this.streams.delete(key);
    return head;
  }

  /** How many of a task's updates wait for acknowledgement (the first may be in flight). */
  queuedCount(frameworkIdValue: string, taskIdValue: string): number {
    return this.streams.get(streamKey(frameworkIdValue, taskIdValue))?.queue.length ?? 0;
  }

  /** Whether a task still has updates waiting for acknowledgement. */
  hasPending(frameworkIdValue: string, taskIdValue: string): boolean {
    return this.streams.has(streamKey(frameworkIdValue, taskIdValue));
  }

  /** True once a task's terminal update is queued (it may still await acknowledgement). */
  hasTerminal(frameworkIdValue: string, taskIdValue: string): boolean {
    return (
      this.streams
        .get(streamKey(frameworkIdValue, taskIdValue))
        ?.queue.some((u) => isTerminalState(u.status.state)) ?? false
    );
  }

  /** Drops every update of a framework (it was torn down: nobody will acknowledge them). */
  dropFramework(frameworkIdValue: string): void {
    for (const [key, stream] of this.streams)
      if (key.startsWith(`${frameworkIdValue}\u0000`)) {
        stream.timer?.cancel();
        this.streams.delete(key);
      }
  }

  /** Connected to a master: every task's oldest update goes out at once. */
  connected(): void {
    this.isConnected = true;
    for (const stream of this.streams.values()) {
      stream.timer?.cancel();
      stream.retryMs = this.initialMs;
      this.sendHead(stream);
    }
  }

  /** No master: sending waits for the next connected(). */
  disconnected(): void {
    this.isConnected = false;
    for (const stream of this.streams.values()) {
      stream.timer?.cancel();
      stream.timer = undefined;
    }
  }

  /** Cancels every retry timer. */
  stop(): void {
    this.disconnected();
    this.streams.clear();
  }

  get pendingCount(): number {
    let count = 0;
    for (const stream of this.streams.values()) count += stream.queue.length;
    return count;
  }

  private get initialMs(): number {
    return this.options.retryInitialMs ?? STATUS_UPDATE_RETRY_INITIAL_MS;
  }

  private sendHead(stream: TaskStream): void {
    const head = stream.queue[0];
    if (head === undefined || !this.isConnected) return;
    // The retry is armed first: a send that throws is retried like one that was lost.
    stream.timer = this.options.clock.setTimeout(() => {
      stream.retryMs = Math.min(
        stream.retryMs * 2,
        this.options.retryMaxMs ?? STATUS_UPDATE_RETRY_MAX_MS,
      );
      this.sendHead(stream);
    }, stream.retryMs);
    try {
      this.options.send(head);
    } catch {
      // Delivery is the timer's job; the next attempt goes out when it fires.
    }
  }
}

function streamKey(frameworkIdValue: string, taskIdValue: string): string {
  return `${frameworkIdValue}\u0000${taskIdValue}`;
}
