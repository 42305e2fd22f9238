// A scheduler that speaks the v1 HTTP API by hand, for the agent fault loop:
// it keeps every UPDATE exactly as it came off the stream (the SDK drops a
// copy of an update it already acknowledged, which would hide a duplicate
// terminal update from a test), acknowledges every copy, and times each call.
import { userInfo } from 'node:os';
import { RecordIODecoder } from '../../src/wire/index.js';

export interface RawUpdate {
  readonly taskIdValue: string;
  readonly state: string;
  readonly uuid: string | undefined;
  readonly source: string | undefined;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly agentIdValue: string | undefined;
  /** Date.now() when it came off the stream. */
  readonly atMs: number;
}

/** A task to launch: a shell command, and optionally a COMMAND health check. */
export interface RawTaskSpec {
  readonly id: string;
  readonly command: string;
  readonly healthCheck?: {
    readonly command: string;
    readonly intervalSeconds: number;
    readonly consecutiveFailures: number;
    readonly gracePeriodSeconds: number;
  };
}

export interface RawFrameworkHooks {
  /** Every update, as it came, before its acknowledgement is sent. */
  onUpdate?(update: RawUpdate): void;
  /** An acknowledgement the master accepted (202). */
  onAcknowledged?(update: RawUpdate): void;
  /** An ACCEPT the master accepted, with the tasks it launched. */
  onLaunched?(tasks: readonly RawTaskSpec[]): void;
}

interface JsonStatus {
  task_id: { value: string };
  state: string;
  uuid?: string;
  source?: string;
  reason?: string;
  message?: string;
  agent_id?: { value: string };
}

interface JsonOffer {
  id: { value: string };
  agent_id: { value: string };
  resources: { name: string; scalar?: { value: number } }[];
}

const TASK_CPUS = 0.1;
const TASK_MEM = 32;

export class RawFramework {
  readonly updates: RawUpdate[] = [];
  /** uuid -> Date.now() when the master accepted its acknowledgement. */
  readonly acknowledgedAt = new Map<string, number>();
  /** Ids of the tasks in ACCEPTs the master took (202). */
  readonly launched = new Set<string>();
  private readonly queue: RawTaskSpec[] = [];
  private readonly controller = new AbortController();
  private reading: Promise<void> = Promise.resolve();
  private frameworkIdValue = '';
  private streamId = '';
  hooks: RawFrameworkHooks = {};
  /** Errors of calls that failed (a 4xx is a finding; a refused connection is not). */
  readonly callErrors: string[] = [];

  private constructor(private readonly master: string) {}

  static async start(master: string, name: string): Promise<RawFramework> {
    const framework = new RawFramework(master);
    await framework.subscribe(name);
    return framework;
  }

  get frameworkId(): string {
    return this.frameworkIdValue;
  }

  /** Tasks to launch on the next offers that fit them, in order. */
  enqueue(...tasks: RawTaskSpec[]): void {
    this.queue.push(...tasks);
  }

  get queued(): number {
    return this.queue.length;
  }

  private async subscribe(name: string): Promise<void> {
    const response = await fetch(new URL('/api/v1/scheduler', this.master), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        type: 'SUBSCRIBE',
        subscribe: {
          framework_info: {
            user: userInfo().username,
            name,
            failover_timeout: 60,
            checkpoint: true,
          },
        },
      }),
      signal: this.controller.signal,
    });
    if (response.status !== 200 || response.body === null)
      throw new Error(`SUBSCRIBE answered ${response.status}: ${await response.text()}`);
    this.streamId = response.headers.get('mesos-stream-id') ?? '';
    const decoder = new RecordIODecoder();
    const reader = response.body.getReader();
    let subscribed: () => void = () => {};
    const isSubscribed = new Promise<void>((resolve) => (subscribed = resolve));
    this.reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const record of decoder.decode(value)) {
          const event = JSON.parse(record.toString('utf8')) as {
            type: string;
            subscribed?: { framework_id: { value: string } };
            offers?: { offers: JsonOffer[] };
            update?: { status: JsonStatus };
          };
          if (event.type === 'SUBSCRIBED' && event.subscribed !== undefined) {
            this.frameworkIdValue = event.subscribed.framework_id.value;
            subscribed();
          } else if (event.type === 'OFFERS' && event.offers !== undefined)
            this.offered(event.offers.offers);
          else if (event.type === 'UPDATE' && event.update !== undefined)
            this.updated(event.update.status);
        }
      }
    })().catch(() => undefined);
    await isSubscribed;
  }

  private offered(offers: readonly JsonOffer[]): void {
    for (const offer of offers) {
      const scalar = (name: string) =>
        offer.resources
          .filter((r) => r.name === name)
          .reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);
      const fits = Math.min(
        Math.floor((scalar('cpus') + 1e-9) / TASK_CPUS),
        Math.floor(scalar('mem') / TASK_MEM),
        6,
      );
      const tasks = this.queue.splice(0, Math.max(0, fits));
      if (tasks.length === 0) {
        void this.call({
          type: 'DECLINE',
          decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0.2 } },
        });
        continue;
      }
      void this.call({
        type: 'ACCEPT',
        accept: {
          offer_ids: [offer.id],
          operations: [
            {
              type: 'LAUNCH',
              launch: { task_infos: tasks.map((task) => taskInfo(task, offer.agent_id)) },
            },
          ],
          filters: { refuse_seconds: 0 },
        },
      }).then((ok) => {
        // Refused outright: never launched, so they go back to the front of the queue.
        if (ok) {
          for (const task of tasks) this.launched.add(task.id);
          this.hooks.onLaunched?.(tasks);
        } else this.queue.unshift(...tasks);
      });
    }
  }

  private updated(status: JsonStatus): void {
    const update: RawUpdate = {
      taskIdValue: status.task_id.value,
      state: status.state,
      uuid: status.uuid,
      source: status.source,
      reason: status.reason,
      message: status.message,
      agentIdValue: status.agent_id?.value,
      atMs: Date.now(),
    };
    this.updates.push(update);
    this.hooks.onUpdate?.(update);
    if (update.uuid === undefined || update.agentIdValue === undefined) return;
    // Every copy is acknowledged, as a Mesos scheduler does: the agent resends until one is.
    const { uuid } = update;
    void this.call({
      type: 'ACKNOWLEDGE',
      acknowledge: {
        agent_id: { value: update.agentIdValue },
        task_id: status.task_id,
        uuid,
      },
    }).then((ok) => {
      if (!ok) return;
      if (!this.acknowledgedAt.has(uuid)) this.acknowledgedAt.set(uuid, Date.now());
      this.hooks.onAcknowledged?.(update);
    });
  }

  async kill(taskIdValue: string, agentIdValue: string): Promise<boolean> {
    return this.call({
      type: 'KILL',
      kill: { task_id: { value: taskIdValue }, agent_id: { value: agentIdValue } },
    });
  }

  /** POSTs a call; true when the master accepted it (202). */
  async call(body: Record<string, unknown>): Promise<boolean> {
    try {
      const response = await fetch(new URL('/api/v1/scheduler', this.master), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'mesos-stream-id': this.streamId,
        },
        body: JSON.stringify({ framework_id: { value: this.frameworkIdValue }, ...body }),
        signal: this.controller.signal,
      });
      const text = await response.text();
      if (response.status === 202) return true;
      this.callErrors.push(`${String(body.type)} answered ${response.status}: ${text}`);
      return false;
    } catch (error) {
      if (!this.controller.signal.aborted)
        this.callErrors.push(`${String(body.type)}: ${(error as Error).message}`);
      return false;
    }
  }

  async stop(): Promise<void> {
    await this.call({ type: 'TEARDOWN' });
    this.controller.abort();
    await this.reading;
  }
}

function taskInfo(task: RawTaskSpec, agentId: { value: string }): Record<string, unknown> {
  return {
    name: task.id,
    task_id: { value: task.id },
    agent_id: agentId,
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: TASK_CPUS } },
      { name: 'mem', type: 'SCALAR', scalar: { value: TASK_MEM } },
    ],
    command: { value: task.command },
    ...(task.healthCheck !== undefined
      ? {
          health_check: {
            type: 'COMMAND',
            command: { value: task.healthCheck.command },
            delay_seconds: 0,
            interval_seconds: task.healthCheck.intervalSeconds,
            timeout_seconds: 5,
            grace_period_seconds: task.healthCheck.gracePeriodSeconds,
            consecutive_failures: task.healthCheck.consecutiveFailures,
          },
        }
      : {}),
  };
}
