// The scheduler client: what a framework needs to speak POST /api/v1/scheduler
// (WIRE §2). `agora run` uses it exactly as a third-party framework would.
import type { IncomingMessage } from 'node:http';
import {
  type AgentID,
  type CallBody,
  type Event,
  type Filters,
  type FrameworkID,
  type FrameworkInfo,
  type MasterInfo,
  type OfferID,
  type OfferOperation,
  RecordIODecoder,
  type TaskID,
  type TaskStatus,
} from '../wire/index.js';
import {
  type CodecName,
  JSON_SCHEDULER_CODEC,
  type SchedulerCodec,
  schedulerCodec,
} from './codec.js';
import { baseUrl, HttpStatusError, openStream, postBody } from './http-client.js';

/** Mesos clients treat about five missed heartbeats as a dead link (WIRE §1.6). */
const MISSED_HEARTBEATS_ALLOWED = 5;
/** A redirect chain longer than this is a misconfigured cluster, not a leader change. */
const MAX_REDIRECTS = 3;

export interface SubscribeOptions {
  /** Master address: `host:port` or `http://host:port`. */
  readonly master: string;
  readonly frameworkInfo: FrameworkInfo;
  readonly suppressedRoles?: readonly string[];
  /** Acknowledge every UPDATE that carries a uuid as it is delivered (default true). */
  readonly autoAcknowledge?: boolean;
  readonly signal?: AbortSignal;
  /** How the subscription and every call are encoded (default JSON). */
  readonly codec?: CodecName;
}

export class SubscriptionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SubscriptionError';
  }
}

/** A live subscription: its events, and calls made on its behalf. */
export class SchedulerConnection {
  private readonly pendingAcks = new Set<Promise<void>>();
  private isClosed = false;

  constructor(
    readonly master: URL,
    readonly frameworkId: FrameworkID,
    readonly streamId: string,
    readonly heartbeatIntervalSeconds: number,
    readonly masterInfo: MasterInfo | undefined,
    private readonly response: IncomingMessage,
    private readonly decoder: RecordIODecoder,
    private readonly buffered: Buffer[],
    private readonly autoAcknowledge: boolean,
    private readonly codec: SchedulerCodec = JSON_SCHEDULER_CODEC,
  ) {}

  /**
   * Every event after SUBSCRIBED (whose fields are on this object). Ends when
   * the master closes the stream; throws SubscriptionError when heartbeats stop
   * or the stream breaks. An ERROR event is yielded, then the stream ends.
   */
  async *events(): AsyncGenerator<Event> {
    const watchdogMs = this.heartbeatIntervalSeconds * 1000 * MISSED_HEARTBEATS_ALLOWED;
    const watchdog = setTimeout(
      () => this.response.destroy(new SubscriptionError('heartbeats stopped')),
      watchdogMs,
    );
    watchdog.unref();
    try {
      for (const record of this.buffered.splice(0)) yield* this.deliver(record);
      for await (const chunk of this.response) {
        watchdog.refresh();
        for (const record of this.decoder.decode(chunk as Buffer)) yield* this.deliver(record);
      }
    } catch (error) {
      if (this.isClosed) return;
      throw error instanceof SubscriptionError
        ? error
        : new SubscriptionError('event stream broke', { cause: error });
    } finally {
      clearTimeout(watchdog);
    }
  }

  // Automatic acknowledgements go out as the update is handed over, not after
  // the consumer is done with it: a consumer that stops at a terminal update
  // would otherwise never acknowledge it.
  private *deliver(record: Buffer): Generator<Event> {
    const event = this.codec.decodeEvent(record);
    if (this.autoAcknowledge && event.type === 'UPDATE')
      this.acknowledgeInBackground(event.update.status);
    yield event;
  }

  private acknowledgeInBackground(status: TaskStatus): void {
    if (status.uuid === undefined || status.agent_id === undefined) return;
    const ack = this.acknowledge(status).catch(() => {
      // Unacknowledged updates are resent by the agent; the next copy is acknowledged again.
    });
    this.pendingAcks.add(ack);
    void ack.finally(() => this.pendingAcks.delete(ack));
  }

  /** Sends a call for this framework on this stream; resolves on 202 (or 200). */
  async call(body: CallBody, signal?: AbortSignal): Promise<void> {
    await postBody(
      new URL('/api/v1/scheduler', this.master),
      this.codec.encodeCall({ framework_id: this.frameworkId, ...body }),
      this.codec.mediaType,
      {
        headers: { 'mesos-stream-id': this.streamId },
        ...(signal !== undefined ? { signal } : {}),
      },
    );
  }

  accept(
    offerIds: readonly OfferID[],
    operations: readonly OfferOperation[],
    filters?: Filters,
  ): Promise<void> {
    return this.call({
      type: 'ACCEPT',
      accept: { offer_ids: offerIds, operations, ...(filters !== undefined ? { filters } : {}) },
    });
  }

  decline(offerIds: readonly OfferID[], filters?: Filters): Promise<void> {
    return this.call({
      type: 'DECLINE',
      decline: { offer_ids: offerIds, ...(filters !== undefined ? { filters } : {}) },
    });
  }

  kill(taskId: TaskID, agentId?: AgentID): Promise<void> {
    return this.call({
      type: 'KILL',
      kill: { task_id: taskId, ...(agentId !== undefined ? { agent_id: agentId } : {}) },
    });
  }

  acknowledge(status: TaskStatus): Promise<void> {
    if (status.uuid === undefined || status.agent_id === undefined) return Promise.resolve();
    return this.call({
      type: 'ACKNOWLEDGE',
      acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
    });
  }

  reconcile(
    tasks: readonly { readonly task_id: TaskID; readonly agent_id?: AgentID }[] = [],
  ): Promise<void> {
    return this.call({ type: 'RECONCILE', reconcile: { tasks } });
  }

  revive(roles: readonly string[] = []): Promise<void> {
    return this.call({ type: 'REVIVE', revive: { roles } });
  }

  suppress(roles: readonly string[] = []): Promise<void> {
    return this.call({ type: 'SUPPRESS', suppress: { roles } });
  }

  teardown(): Promise<void> {
    return this.call({ type: 'TEARDOWN' });
  }

  /**
   * Disconnects (the framework stays registered for its failover timeout),
   * after waiting up to `drainMs` for acknowledgements already in flight.
   */
  async close(drainMs = 2000): Promise<void> {
    if (this.pendingAcks.size > 0) {
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, drainMs).unref());
      await Promise.race([Promise.allSettled([...this.pendingAcks]), deadline]);
    }
    this.isClosed = true;
    this.response.destroy();
  }
}

/**
 * SUBSCRIBEs and waits for SUBSCRIBED. Follows a non-leading master's 307 to
 * the leader. Throws SubscriptionError on an ERROR event or a refused call.
 */
export async function subscribe(options: SubscribeOptions): Promise<SchedulerConnection> {
  let master = baseUrl(options.master);
  const codec = await schedulerCodec(options.codec);
  const body = codec.encodeCall({
    type: 'SUBSCRIBE',
    ...(options.frameworkInfo.id !== undefined ? { framework_id: options.frameworkInfo.id } : {}),
    subscribe: {
      framework_info: options.frameworkInfo,
      ...(options.suppressedRoles !== undefined
        ? { suppressed_roles: options.suppressedRoles }
        : {}),
    },
  });
  for (let redirects = 0; ; redirects++) {
    const response = await openStream(new URL('/api/v1/scheduler', master), {
      method: 'POST',
      body,
      headers: { 'content-type': codec.mediaType, accept: codec.mediaType },
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    const status = response.statusCode ?? 0;
    if (status === 307 && redirects < MAX_REDIRECTS && response.headers.location !== undefined) {
      response.resume();
      master = baseUrl(new URL(response.headers.location, `http:${master.host}`).host);
      continue;
    }
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      throw new SubscriptionError(
        `subscription refused: ${new HttpStatusError(status, Buffer.concat(chunks).toString('utf8'), master.href).message}`,
      );
    }
    return await awaitSubscribed(master, response, options.autoAcknowledge ?? true, codec);
  }
}

async function awaitSubscribed(
  master: URL,
  response: IncomingMessage,
  autoAcknowledge: boolean,
  codec: SchedulerCodec,
): Promise<SchedulerConnection> {
  const streamId = response.headers['mesos-stream-id'];
  const decoder = new RecordIODecoder();
  // Leaving this loop must not destroy the stream: events() reads on from here.
  for await (const chunk of response.iterator({ destroyOnReturn: false })) {
    const [first, ...rest] = decoder.decode(chunk as Buffer);
    if (first === undefined) continue;
    const event = codec.decodeEvent(first);
    if (event.type === 'ERROR') {
      response.destroy();
      throw new SubscriptionError(`subscription refused: ${event.error.message}`);
    }
    if (event.type !== 'SUBSCRIBED' || typeof streamId !== 'string') {
      response.destroy();
      throw new SubscriptionError(`expected SUBSCRIBED first, got ${event.type}`);
    }
    return new SchedulerConnection(
      master,
      event.subscribed.framework_id,
      streamId,
      event.subscribed.heartbeat_interval_seconds,
      event.subscribed.master_info,
      response,
      decoder,
      rest,
      autoAcknowledge,
      codec,
    );
  }
  throw new SubscriptionError('the master closed the stream before SUBSCRIBED');
}
