// The executor client: what a framework's own executor needs to speak
// POST /api/v1/executor on its agent (WIRE §5). It reads the MESOS_* variables
// the agent started it with, subscribes, yields the agent's events, and keeps
// every status update until the agent ACKNOWLEDGES it. With checkpointing on
// (MESOS_CHECKPOINT=1) it outlives an agent restart: when the stream breaks it
// subscribes again, within MESOS_RECOVERY_TIMEOUT, listing the tasks and
// updates it still holds, as Mesos' executor library does. JSON only.
import {
  type AgentInfo,
  type ContainerID,
  type ExecutorEvent,
  type ExecutorID,
  type ExecutorInfo,
  type FrameworkID,
  type FrameworkInfo,
  isTerminalState,
  executorId as mintExecutorId,
  frameworkId as mintFrameworkId,
  newStatusUuid,
  parseDuration,
  RecordIODecoder,
  type TaskInfo,
  type TaskStatus,
} from '../wire/index.js';
import { baseUrl, HttpStatusError } from './http-client.js';
import { type LeanResponse, leanRequest } from './lean-http.js';

/** First wait before subscribing again; doubled up to MESOS_SUBSCRIPTION_BACKOFF_MAX. */
const RESUBSCRIBE_BACKOFF_INITIAL_MS = 100;
/** Mesos' defaults when the variables are absent. */
const DEFAULT_BACKOFF_MAX_MS = 2000;
const DEFAULT_RECOVERY_TIMEOUT_MS = 15 * 60_000;
/** The agent sends HEARTBEAT every 30 s: five missed mean the link is dead. */
const HEARTBEAT_WATCHDOG_MS = 5 * 30_000;

export interface ExecutorOptions {
  /** Where the MESOS_* variables come from (process.env by default). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Aborts the first subscription. */
  readonly signal?: AbortSignal;
}

/** What the agent said in SUBSCRIBED. */
export interface ExecutorSubscribed {
  readonly executorInfo: ExecutorInfo;
  readonly frameworkInfo: FrameworkInfo;
  readonly agentInfo: AgentInfo;
  readonly containerId: ContainerID | undefined;
}

/** An update the executor sends: `uuid`, `source`, `executor_id` and `timestamp` are filled in. */
export type ExecutorUpdate = Omit<TaskStatus, 'uuid' | 'source' | 'executor_id' | 'timestamp'> &
  Partial<Pick<TaskStatus, 'timestamp'>>;

interface Environment {
  readonly agent: URL;
  readonly frameworkId: FrameworkID;
  readonly executorId: ExecutorID;
  readonly isCheckpointing: boolean;
  readonly backoffMaxMs: number;
  readonly recoveryTimeoutMs: number;
}

/** Reads the variables Mesos sets for executors; throws naming the one missing. */
export function executorEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Environment {
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`${name} is not set`);
    return value;
  };
  const durationMs = (name: string, fallbackMs: number): number => {
    const value = env[name];
    if (value === undefined || value === '') return fallbackMs;
    const parsed = parseDuration(value);
    return 'ms' in parsed ? parsed.ms : fallbackMs;
  };
  return {
    agent: baseUrl(required('MESOS_AGENT_ENDPOINT')),
    frameworkId: mintFrameworkId(required('MESOS_FRAMEWORK_ID')),
    executorId: mintExecutorId(required('MESOS_EXECUTOR_ID')),
    isCheckpointing: env.MESOS_CHECKPOINT === '1',
    backoffMaxMs: durationMs('MESOS_SUBSCRIPTION_BACKOFF_MAX', DEFAULT_BACKOFF_MAX_MS),
    recoveryTimeoutMs: durationMs('MESOS_RECOVERY_TIMEOUT', DEFAULT_RECOVERY_TIMEOUT_MS),
  };
}

/**
 * An executor's subscription. `events()` yields every event after the first SUBSCRIBED
 * (LAUNCH, KILL, MESSAGE, SHUTDOWN, …; HEARTBEAT and ACKNOWLEDGED too, already handled).
 */
export class ExecutorConnection {
  /** Updates sent and not yet acknowledged by the agent, by uuid, oldest first. */
  private readonly unacknowledged = new Map<string, TaskStatus>();
  /** Tasks launched whose latest update the agent has not acknowledged as terminal. */
  private readonly tasks = new Map<string, TaskInfo>();
  private isClosed = false;
  private readonly closing = new AbortController();

  /** @internal Made by subscribeExecutor(). */
  constructor(
    private readonly environment: Environment,
    private response: LeanResponse,
    private decoder: RecordIODecoder,
    private buffered: Buffer[],
    private current: ExecutorSubscribed,
  ) {}

  get subscribed(): ExecutorSubscribed {
    return this.current;
  }
  get frameworkId(): FrameworkID {
    return this.environment.frameworkId;
  }
  get executorId(): ExecutorID {
    return this.environment.executorId;
  }

  /**
   * The agent's events. When the stream breaks and checkpointing is on, the executor
   * subscribes again (yielding the new SUBSCRIBED); without it, the events end, as a Mesos
   * executor without checkpointing exits with its agent.
   */
  async *events(): AsyncGenerator<ExecutorEvent> {
    for (;;) {
      try {
        yield* this.streamEvents();
      } catch (error) {
        if (this.isClosed) return;
        if (!this.environment.isCheckpointing) throw error;
      }
      if (this.isClosed || !this.environment.isCheckpointing) return;
      const event = await this.resubscribe();
      if (event === undefined) return;
      yield event;
    }
  }

  private async *streamEvents(): AsyncGenerator<ExecutorEvent> {
    const watchdog = setTimeout(
      () => this.response.destroy(new Error('heartbeats stopped')),
      HEARTBEAT_WATCHDOG_MS,
    );
    watchdog.unref();
    try {
      for (const record of this.buffered.splice(0)) yield this.parse(record);
      for await (const chunk of this.response) {
        watchdog.refresh();
        for (const record of this.decoder.decode(chunk)) yield this.parse(record);
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  private parse(record: Buffer): ExecutorEvent {
    const event = JSON.parse(record.toString('utf8')) as ExecutorEvent;
    if (event.type === 'LAUNCH') this.tasks.set(event.launch.task.task_id.value, event.launch.task);
    else if (event.type === 'LAUNCH_GROUP')
      for (const task of event.launch_group.task_group.tasks)
        this.tasks.set(task.task_id.value, task);
    else if (event.type === 'ACKNOWLEDGED') {
      const status = this.unacknowledged.get(event.acknowledged.uuid);
      this.unacknowledged.delete(event.acknowledged.uuid);
      if (status !== undefined && isTerminalState(status.state))
        this.tasks.delete(status.task_id.value);
    }
    return event;
  }

  /** Subscribes again with what the executor holds, backing off, until the recovery timeout. */
  private async resubscribe(): Promise<ExecutorEvent | undefined> {
    const { recoveryTimeoutMs, backoffMaxMs } = this.environment;
    const deadlineMs = performance.now() + recoveryTimeoutMs;
    let backoffMs = RESUBSCRIBE_BACKOFF_INITIAL_MS;
    let last: unknown;
    while (!this.isClosed && performance.now() < deadlineMs) {
      await sleep(backoffMs, this.closing.signal);
      // Half the cap: the agent waits MESOS_SUBSCRIPTION_BACKOFF_MAX (its
      // --executor_reregistration_timeout) once it listens, so two attempts fall in it.
      backoffMs = Math.min(backoffMs * 2, backoffMaxMs / 2);
      if (this.isClosed) return undefined;
      try {
        const opened = await open(this.environment, this.subscribeBody(), this.closing.signal);
        this.response = opened.response;
        this.decoder = opened.decoder;
        this.buffered = opened.buffered;
        this.current = opened.subscribed;
        return opened.event;
      } catch (error) {
        last = error;
      }
    }
    if (this.isClosed) return undefined;
    throw new Error('could not subscribe again within the recovery timeout', { cause: last });
  }

  private subscribeBody(): unknown {
    return {
      type: 'SUBSCRIBE',
      framework_id: this.environment.frameworkId,
      executor_id: this.environment.executorId,
      subscribe: {
        unacknowledged_tasks: [...this.tasks.values()],
        unacknowledged_updates: [...this.unacknowledged.values()].map((status) => ({ status })),
      },
    };
  }

  /**
   * Sends a status update; it is kept (and resent on the next SUBSCRIBE) until the agent
   * ACKNOWLEDGES it. Resolves with the update as sent.
   */
  async update(update: ExecutorUpdate): Promise<TaskStatus> {
    const status: TaskStatus = {
      ...update,
      source: 'SOURCE_EXECUTOR',
      executor_id: this.environment.executorId,
      uuid: newStatusUuid(),
      timestamp: update.timestamp ?? Date.now() / 1000,
    };
    this.unacknowledged.set(status.uuid ?? '', status);
    await this.call({ type: 'UPDATE', update: { status } });
    return status;
  }

  /** Sends `data` (bytes, base64) to the framework as a MESSAGE event; best effort. */
  async message(data: string): Promise<void> {
    await this.call({ type: 'MESSAGE', message: { data } });
  }

  /** How many updates wait for the agent's ACKNOWLEDGED. */
  get pendingUpdates(): number {
    return this.unacknowledged.size;
  }

  private async call(body: Record<string, unknown>): Promise<void> {
    const url = new URL('/api/v1/executor', this.environment.agent);
    const response = await leanRequest(url, {
      method: 'POST',
      body: JSON.stringify({
        framework_id: this.environment.frameworkId,
        executor_id: this.environment.executorId,
        ...body,
      }),
      headers: executorHeaders(),
    });
    const text = await response.text();
    if (response.status < 200 || response.status >= 300)
      throw new HttpStatusError(response.status, text, url.href);
  }

  /** Closes the stream. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closing.abort();
    this.response.destroy();
  }
}

/**
 * Subscribes to the agent named by MESOS_AGENT_ENDPOINT as the executor MESOS_EXECUTOR_ID
 * of MESOS_FRAMEWORK_ID, and waits for SUBSCRIBED.
 */
export async function subscribeExecutor(
  options: ExecutorOptions = {},
): Promise<ExecutorConnection> {
  const environment = executorEnvironment(options.env);
  const opened = await open(
    environment,
    {
      type: 'SUBSCRIBE',
      framework_id: environment.frameworkId,
      executor_id: environment.executorId,
      subscribe: {},
    },
    options.signal,
  );
  return new ExecutorConnection(
    environment,
    opened.response,
    opened.decoder,
    opened.buffered,
    opened.subscribed,
  );
}

async function open(
  environment: Environment,
  body: unknown,
  signal: AbortSignal | undefined,
): Promise<{
  response: LeanResponse;
  decoder: RecordIODecoder;
  buffered: Buffer[];
  subscribed: ExecutorSubscribed;
  event: ExecutorEvent;
}> {
  const url = new URL('/api/v1/executor', environment.agent);
  const response = await leanRequest(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: executorHeaders(),
    ...(signal !== undefined ? { signal } : {}),
    isStream: true,
  });
  if (response.status !== 200) {
    const text = await response.text();
    throw new HttpStatusError(response.status, text, url.href);
  }
  const decoder = new RecordIODecoder();
  for await (const chunk of response) {
    const [first, ...rest] = decoder.decode(chunk);
    if (first === undefined) continue;
    const event = JSON.parse(first.toString('utf8')) as ExecutorEvent;
    if (event.type !== 'SUBSCRIBED') {
      response.destroy();
      throw new Error(`expected SUBSCRIBED first, got ${event.type}`);
    }
    return {
      response,
      decoder,
      buffered: rest,
      event,
      subscribed: {
        executorInfo: event.subscribed.executor_info,
        frameworkInfo: event.subscribed.framework_info,
        agentInfo: event.subscribed.agent_info,
        containerId: event.subscribed.container_id,
      },
    };
  }
  throw new Error('the agent closed the stream before SUBSCRIBED');
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * JSON headers, and the agent's token for this executor when it gave one
 * (MESOS_EXECUTOR_AUTHENTICATION_TOKEN, --executor_secret_key): sent as a bearer token.
 */
function executorHeaders(): Record<string, string> {
  const token = process.env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN;
  return {
    'content-type': 'application/json',
    accept: 'application/json',
    ...(token !== undefined && token !== '' ? { authorization: `Bearer ${token}` } : {}),
  };
}
