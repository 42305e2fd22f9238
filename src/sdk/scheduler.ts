// Long file: every scheduler call a framework makes, one short method each, and the
// subscription's life through failovers (re-subscribing to each new leader).
// The scheduler client: what a framework needs to speak POST /api/v1/scheduler
// (WIRE §2). `agora run` uses it exactly as a third-party framework would.
import {
  type AgentID,
  type CallBody,
  type Event,
  type Filters,
  type FrameworkID,
  type FrameworkInfo,
  type KillPolicy,
  type MasterInfo,
  type OfferConstraints,
  type OfferID,
  type OfferOperation,
  RecordIODecoder,
  type TaskID,
  type TaskStatus,
} from '../wire/index.js';
import { CallPipeline } from './call-pipeline.js';
import { type CodecName, type SchedulerCodec, schedulerCodec } from './codec.js';
import { baseUrl, ConnectionError, HttpStatusError } from './http-client.js';
import { type LeanResponse, leanRequest, preconnect } from './lean-http.js';
import { followLeader, type LeaderFollower, locateMaster, needsLeaderDetection } from './locate.js';
import { isMasterAwayNoticeDue, masterAwayNotice } from './master-away.js';

/** Mesos clients treat about five missed heartbeats as a dead link (WIRE §1.6). */
const MISSED_HEARTBEATS_ALLOWED = 5;
/** A redirect chain longer than this is a misconfigured cluster, not a leader change. */
const MAX_REDIRECTS = 3;
/** First re-subscription backoff; doubled per failed attempt up to the cap, fully jittered. */
const FAILOVER_BACKOFF_INITIAL_MS = 250;
/** A master that comes back is found within this (plus one attempt) once it listens. */
const FAILOVER_BACKOFF_MAX_MS = 4000;
/**
 * How many acknowledged updates a connection remembers, newest kept: enough for the
 * updates acknowledged in the seconds an agent or master takes to fail and come back.
 */
const ACKNOWLEDGED_REMEMBERED = 65_536;
/**
 * Automatic acknowledgements in flight at once. One POST per update, all at
 * once, opened a new connection for most of them (the keep-alive pool keeps 8):
 * at 2,000 updates in a second that was a quarter of the framework's CPU and
 * as many accepts on the master. A few workers reuse their sockets instead.
 */
const MAX_ACKS_IN_FLIGHT = 8;
/** Updates waiting for an automatic acknowledgement; beyond this the agent resends them. */
const MAX_ACKS_QUEUED = 100_000;

export interface SubscribeOptions {
  /**
   * Master address: `host:port` or `http://host:port`; or, to follow whichever
   * master leads, `host:port,host:port`, `zk://host:port,…/path` or `etcd://…/path`.
   */
  readonly master: string;
  readonly frameworkInfo: FrameworkInfo;
  readonly suppressedRoles?: readonly string[];
  /** Agents each role must (not) be offered, by attribute (OfferConstraints). */
  readonly offerConstraints?: OfferConstraints;
  /** Acknowledge every UPDATE that carries a uuid as it is delivered (default true). */
  readonly autoAcknowledge?: boolean;
  /**
   * Survive a lost master: when the stream breaks, ends, or its heartbeats
   * stop, SUBSCRIBE again with the framework id (a failover, as a Mesos
   * scheduler does) instead of ending `events()`. Without it, `events()` ends
   * or throws at the first loss.
   */
  readonly failover?: FailoverOptions;
  /** Aborts the first subscription only; `close()` ends the connection after that. */
  readonly signal?: AbortSignal;
  /** How the subscription and every call are encoded (default JSON). */
  readonly codec?: CodecName;
}

export interface FailoverOptions {
  /**
   * How long to keep re-subscribing after the link was lost, in ms: the
   * framework's failover_timeout, after which the master has removed it anyway.
   */
  readonly timeoutMs: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Jitter source in [0, 1); injected by tests. */
  readonly random?: () => number;
  /** Told once per lost link, before the first attempt to re-subscribe. */
  readonly onDisconnected?: (reason: Error) => void;
  /**
   * Told, as one line, that the first SUBSCRIBE of a framework failing over finds no master
   * and is retried until when: after the first few seconds of the wait, then at most once a
   * minute (master-away.ts). Default: the line on stderr.
   */
  readonly onMasterAway?: (notice: string) => void;
}

export class SubscriptionError extends Error {
  constructor(
    message: string,
    /** True when the master answered no (an ERROR event or a 4xx): trying again will not help. */
    readonly isRefused = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SubscriptionError';
  }
}

/** One SUBSCRIBE's stream, from its SUBSCRIBED on. */
interface Stream {
  readonly master: URL;
  readonly streamId: string;
  readonly subscribed: Extract<Event, { type: 'SUBSCRIBED' }>;
  readonly response: LeanResponse;
  readonly decoder: RecordIODecoder;
  readonly codec: SchedulerCodec;
  /** Records that arrived with SUBSCRIBED, not yet delivered. */
  readonly buffered: Buffer[];
}

/**
 * A subscription: its events, and calls made on its behalf. With the
 * `failover` option it outlives its master: the stream (and so `master` and
 * `streamId`) is replaced on each re-subscription, and the id stays.
 */
export class SchedulerConnection {
  private readonly pendingAcks = new Set<Promise<void>>();
  /**
   * The uuids of updates acknowledged (the call under way or answered 202), oldest first.
   * A master forwards an acknowledgement to the agent and forgets it; an agent killed
   * before reading it resends the update after a restart, and a master elected
   * meanwhile cannot know it was acknowledged. Such a copy is acknowledged again here
   * and not handed to the consumer, so no update comes twice after its acknowledgement.
   */
  private readonly acknowledgedUuids = new Set<string>();
  private readonly ackQueue: TaskStatus[] = [];
  /** ACKNOWLEDGEs pipelined to the current stream's master (call-pipeline.ts). */
  private pipeline: CallPipeline | undefined;
  /** ACCEPTs pipelined by acceptPipelined(), never sent twice, on a connection of their own. */
  private acceptPipeline: CallPipeline | undefined;
  private isClosed = false;
  /** Aborted by close(): stops a re-subscription's wait and request. */
  private readonly closing = new AbortController();
  /** Wakes a re-subscription's wait between attempts (a new leader was elected). */
  private wake: (() => void) | undefined;
  private hasNewLeader = false;
  private readonly unwatch: () => void;

  /**
   * @internal Made by subscribe(). `leader` follows the leading master for a
   * failover connection through a coordinator; the connection closes it.
   */
  constructor(
    private stream: Stream,
    private readonly options: SubscribeOptions,
    private readonly leader?: LeaderFollower,
  ) {
    this.unwatch = leader?.onLeaderChange((url) => this.leaderChanged(url)) ?? (() => {});
  }

  /**
   * A new leader: a stream to another master is dropped (that master may be
   * paused, its stream open and silent), and a wait to re-subscribe ends.
   */
  private leaderChanged(leader: URL): void {
    if (this.isClosed) return;
    if (this.stream.master.host !== leader.host)
      this.stream.response.destroy(new SubscriptionError(`another master leads: ${leader.host}`));
    this.hasNewLeader = true;
    this.wake?.();
  }

  get frameworkId(): FrameworkID {
    return this.stream.subscribed.subscribed.framework_id;
  }
  /** The master this connection's current stream is on (a leader may redirect elsewhere). */
  get master(): URL {
    return this.stream.master;
  }
  get streamId(): string {
    return this.stream.streamId;
  }
  get heartbeatIntervalSeconds(): number {
    return this.stream.subscribed.subscribed.heartbeat_interval_seconds;
  }
  get masterInfo(): MasterInfo | undefined {
    return this.stream.subscribed.subscribed.master_info;
  }

  /**
   * Every event after the first SUBSCRIBED (whose fields are on this object).
   * An ERROR event is yielded, then the events end: the master refused this
   * framework. Without `failover`, the events end when the master closes the
   * stream and throw SubscriptionError when heartbeats stop or the stream
   * breaks. With it, such a loss is followed by re-subscription and a new
   * SUBSCRIBED event, and SubscriptionError is thrown only when the failover
   * timeout passed or the master refused the framework.
   */
  async *events(): AsyncGenerator<Event> {
    for (;;) {
      const failover = this.options.failover;
      let lost: Error;
      try {
        const isRefused = yield* this.streamEvents(this.stream);
        if (this.isClosed || isRefused || failover === undefined) return;
        lost = new SubscriptionError('the master closed the event stream');
      } catch (error) {
        if (this.isClosed) return;
        lost =
          error instanceof SubscriptionError
            ? error
            : new SubscriptionError('event stream broke', false, { cause: error });
        if (failover === undefined) throw lost;
      }
      failover.onDisconnected?.(lost);
      const stream = await this.resubscribe(failover, lost);
      if (stream === undefined) return;
      this.stream = stream;
      yield stream.subscribed;
    }
  }

  /** One stream's events; resolves true if it ended with an ERROR event. */
  private async *streamEvents(stream: Stream): AsyncGenerator<Event, boolean> {
    const watchdogMs =
      stream.subscribed.subscribed.heartbeat_interval_seconds * 1000 * MISSED_HEARTBEATS_ALLOWED;
    // Bytes at the socket count, not events read: a consumer that stops reading for a
    // while has not lost its master.
    stream.response.hasHeardFrom();
    const watchdog = setTimeout(function check() {
      if (stream.response.hasHeardFrom()) watchdog.refresh();
      else stream.response.destroy(new SubscriptionError('heartbeats stopped'));
    }, watchdogMs);
    watchdog.unref();
    try {
      for (const record of stream.buffered.splice(0)) {
        const event = this.parse(record);
        if (event === undefined) continue;
        yield event;
        if (event.type === 'ERROR') return true;
      }
      // A consumer that stops reading may still call on (and tear down through) this
      // stream, so leaving the loop must not destroy it; close() does.
      for await (const chunk of stream.response) {
        for (const record of stream.decoder.decode(chunk)) {
          const event = this.parse(record);
          if (event === undefined) continue;
          yield event;
          if (event.type === 'ERROR') return true;
        }
      }
      return false;
    } finally {
      clearTimeout(watchdog);
    }
  }

  /**
   * SUBSCRIBEs again with the framework id until it works, the master refuses,
   * the failover timeout passes (SubscriptionError) or close() (undefined).
   * The wait before each attempt is random in [0, backoff) and the backoff
   * doubles up to a cap, so many frameworks of a dead master do not return
   * in one burst.
   */
  private async resubscribe(failover: FailoverOptions, lost: Error): Promise<Stream | undefined> {
    const random = failover.random ?? Math.random;
    const maxMs = failover.backoffMaxMs ?? FAILOVER_BACKOFF_MAX_MS;
    let backoffMs = failover.backoffInitialMs ?? FAILOVER_BACKOFF_INITIAL_MS;
    const deadlineMs = performance.now() + failover.timeoutMs;
    const info: FrameworkInfo = { ...this.options.frameworkInfo, id: this.frameworkId };
    let last: Error = lost;
    const initialMs = failover.backoffInitialMs ?? FAILOVER_BACKOFF_INITIAL_MS;
    while (!this.isClosed) {
      // A leader elected since the last attempt starts the backoff afresh.
      if (this.hasNewLeader) backoffMs = initialMs;
      this.hasNewLeader = false;
      const waitMs = random() * backoffMs;
      if (performance.now() + waitMs >= deadlineMs)
        throw new SubscriptionError(
          `gave up re-subscribing after ${Math.round(failover.timeoutMs / 1000)} s (the failover timeout): ${last.message}`,
          false,
          { cause: last },
        );
      const isWoken = await sleep(waitMs, this.closing.signal, (wake) => {
        this.wake = wake;
      });
      this.wake = undefined;
      // Woken by a new leader: wait again, from the initial backoff (the random part
      // still spreads the frameworks of a failed master).
      if (isWoken) continue;
      backoffMs = Math.min(backoffMs * 2, maxMs);
      if (this.isClosed) break;
      try {
        return await openSubscription(
          { ...this.options, frameworkInfo: info, signal: this.closing.signal },
          await (this.leader?.locate({ signal: this.closing.signal }) ??
            locateMaster(this.options.master, { signal: this.closing.signal })),
        );
      } catch (error) {
        if (this.isClosed) break;
        if (error instanceof SubscriptionError && error.isRefused) throw error;
        last = error instanceof Error ? error : new Error(String(error));
      }
    }
    return undefined;
  }

  // Automatic acknowledgements go out as the update is handed over, not after
  // the consumer is done with it: a consumer that stops at a terminal update
  // would otherwise never acknowledge it.
  // An update acknowledged before is acknowledged again and not handed over (undefined).
  private parse(record: Buffer): Event | undefined {
    const event = this.stream.codec.decodeEvent(record);
    if (event.type !== 'UPDATE') return event;
    const { status } = event.update;
    const isAcknowledged = status.uuid !== undefined && this.acknowledgedUuids.has(status.uuid);
    if (isAcknowledged || (this.options.autoAcknowledge ?? true))
      this.acknowledgeInBackground(status);
    return isAcknowledged ? undefined : event;
  }

  private acknowledgeInBackground(status: TaskStatus): void {
    if (status.uuid === undefined || status.agent_id === undefined) return;
    // Dropped when full: unacknowledged updates are resent by the agent.
    if (this.ackQueue.length >= MAX_ACKS_QUEUED) return;
    this.ackQueue.push(status);
    if (this.pendingAcks.size >= MAX_ACKS_IN_FLIGHT) return;
    const worker = this.acknowledgeQueued();
    this.pendingAcks.add(worker);
    void worker.finally(() => this.pendingAcks.delete(worker));
  }

  /** One of the acknowledgement workers: sends queued acknowledgements one at a time. */
  private async acknowledgeQueued(): Promise<void> {
    for (let status = this.ackQueue.shift(); status !== undefined; status = this.ackQueue.shift())
      await this.acknowledge(status).catch(() => {
        // Unacknowledged updates are resent by the agent; the next copy is acknowledged again.
      });
  }

  /** Sends a call for this framework on the current stream; resolves on 202 (or 200). */
  async call(body: CallBody, signal?: AbortSignal): Promise<void> {
    const url = new URL('/api/v1/scheduler', this.master);
    const response = await leanRequest(url, {
      method: 'POST',
      body: this.stream.codec.encodeCall({ framework_id: this.frameworkId, ...body }),
      headers: {
        'content-type': this.stream.codec.mediaType,
        accept: this.stream.codec.mediaType,
        'mesos-stream-id': this.streamId,
      },
      ...(signal !== undefined ? { signal } : {}),
    });
    const text = await response.text();
    if (response.status < 200 || response.status >= 300)
      throw new HttpStatusError(response.status, text, url.href);
  }

  /**
   * A call pipelined with others on a few kept-alive connections; resolves on 202 (or 200).
   * 'acknowledge': a call that may go out twice (ACKNOWLEDGE). 'accept': one that must not
   * (ACCEPT), on a connection of its own so it never waits behind acknowledgements.
   */
  private async callPipelined(kind: 'acknowledge' | 'accept', body: CallBody): Promise<void> {
    const master = this.master;
    let pipeline = kind === 'accept' ? this.acceptPipeline : this.pipeline;
    if (pipeline === undefined || pipeline.origin !== master.origin) {
      // A new leader: what was pipelined to the old one fails (its agents resend; an
      // ACCEPT's fate is for the caller's reconciliation).
      pipeline?.close();
      pipeline =
        kind === 'accept'
          ? new CallPipeline(master, { connections: 1, resend: 'never' })
          : new CallPipeline(master);
      if (kind === 'accept') this.acceptPipeline = pipeline;
      else this.pipeline = pipeline;
    }
    const answer = await pipeline.post(
      '/api/v1/scheduler',
      {
        'content-type': this.stream.codec.mediaType,
        accept: this.stream.codec.mediaType,
        'mesos-stream-id': this.streamId,
      },
      this.stream.codec.encodeCall({ framework_id: this.frameworkId, ...body }),
    );
    if (answer.status < 200 || answer.status >= 300)
      throw new HttpStatusError(
        answer.status,
        answer.body,
        new URL('/api/v1/scheduler', master).href,
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

  /**
   * ACCEPT for a framework that sends many at once (a big offer cycle): pipelined on a
   * connection of their own (one write carries a burst, and they never queue behind
   * acknowledgements). Never sent twice: if the connection closes before the answer, the
   * call fails with ConnectionError and whether the master took it is unknown — reconcile
   * (a launch it did not take comes back TASK_GONE or TASK_UNKNOWN).
   */
  acceptPipelined(
    offerIds: readonly OfferID[],
    operations: readonly OfferOperation[],
    filters?: Filters,
  ): Promise<void> {
    return this.callPipelined('accept', {
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

  /** KILL; `killPolicy` overrides the task's own grace period for this kill. */
  kill(taskId: TaskID, agentId?: AgentID, killPolicy?: KillPolicy): Promise<void> {
    return this.call({
      type: 'KILL',
      kill: {
        task_id: taskId,
        ...(agentId !== undefined ? { agent_id: agentId } : {}),
        ...(killPolicy !== undefined ? { kill_policy: killPolicy } : {}),
      },
    });
  }

  /**
   * ACKNOWLEDGE. The update counts as acknowledged from the call on (a copy that comes
   * while it is under way is not handed over again); if the call fails, a copy is.
   */
  async acknowledge(status: TaskStatus): Promise<void> {
    const { uuid, agent_id } = status;
    if (uuid === undefined || agent_id === undefined) return;
    const wasAcknowledged = this.acknowledgedUuids.delete(uuid);
    this.acknowledgedUuids.add(uuid);
    if (this.acknowledgedUuids.size > ACKNOWLEDGED_REMEMBERED) {
      const oldest = this.acknowledgedUuids.values().next().value;
      if (oldest !== undefined) this.acknowledgedUuids.delete(oldest);
    }
    try {
      await this.callPipelined('acknowledge', {
        type: 'ACKNOWLEDGE',
        acknowledge: { agent_id, task_id: status.task_id, uuid },
      });
    } catch (error) {
      if (!wasAcknowledged) this.acknowledgedUuids.delete(uuid);
      throw error;
    }
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
   * Disconnects after waiting up to `drainMs` for acknowledgements already in
   * flight. The framework stays registered for its failover timeout unless
   * `teardown` is set: then TEARDOWN goes out first (best effort, within
   * `drainMs` too), so the master forgets it and kills what it still runs.
   * Idempotent.
   */
  async close(options: { readonly drainMs?: number; readonly teardown?: boolean } = {}) {
    if (this.isClosed) return;
    const drainMs = options.drainMs ?? 2000;
    if (
      this.pendingAcks.size > 0 ||
      (this.pipeline?.size ?? 0) > 0 ||
      (this.acceptPipeline?.size ?? 0) > 0
    )
      await Promise.race([
        Promise.allSettled([
          ...this.pendingAcks,
          this.pipeline?.idle(),
          this.acceptPipeline?.idle(),
        ]),
        sleepUnref(drainMs),
      ]);
    this.pipeline?.close();
    this.acceptPipeline?.close();
    // Closed before TEARDOWN: the master ends the stream on it, which is no loss to recover from.
    this.isClosed = true;
    if (options.teardown === true)
      await this.call({ type: 'TEARDOWN' }, AbortSignal.timeout(drainMs)).catch(() => {
        // The master is gone or already forgot the framework: nothing left to tear down.
      });
    this.closing.abort();
    this.stream.response.destroy();
    this.unwatch();
    await this.leader?.close();
  }
}

function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects); or
 * when the function handed to `onWake` is called, then with true.
 */
function sleep(
  ms: number,
  signal: AbortSignal,
  onWake: (wake: () => void) => void = () => {},
): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const finish = (isWoken: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve(isWoken);
    };
    const done = () => finish(false);
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    onWake(() => finish(true));
  });
}

/**
 * SUBSCRIBEs and waits for SUBSCRIBED. Follows a non-leading master's 307 to
 * the leader. Throws SubscriptionError on an ERROR event or a refused call,
 * and the http client's ConnectionError when no master answers.
 */
export async function subscribe(options: SubscribeOptions): Promise<SchedulerConnection> {
  // A connection that fails over follows the leader for its whole life (one coordinator
  // session); one that ends at the first loss only needs to find it once.
  const leader =
    options.failover !== undefined && needsLeaderDetection(options.master)
      ? await followLeader(options.master)
      : undefined;
  try {
    return new SchedulerConnection(await firstSubscription(options, leader), options, leader);
  } catch (error) {
    await leader?.close();
    throw error;
  }
}

/**
 * The first SUBSCRIBE. A framework failing over (it has an id and the failover option) that
 * finds no master keeps trying within its failover timeout, as it would after losing one: its
 * master is being restarted, and a framework restarted by its supervisor meanwhile (the chaos
 * test's master and framework down together) must not exit for it. A fresh framework finding
 * none fails at once: a mistyped --master is reported, not waited on.
 */
async function firstSubscription(
  options: SubscribeOptions,
  leader: LeaderFollower | undefined,
): Promise<Stream> {
  const signal = options.signal !== undefined ? { signal: options.signal } : {};
  const failover = options.frameworkInfo.id !== undefined ? options.failover : undefined;
  const startedAtMs = performance.now();
  const deadlineMs = startedAtMs + (failover?.timeoutMs ?? 0);
  // The deadline on the wall clock, for the notice only (the wait itself is monotonic).
  const untilEpochMs = Date.now() + (failover?.timeoutMs ?? 0);
  const maxMs = failover?.backoffMaxMs ?? FAILOVER_BACKOFF_MAX_MS;
  let backoffMs = failover?.backoffInitialMs ?? FAILOVER_BACKOFF_INITIAL_MS;
  let lastNoticeAtMs: number | undefined;
  for (;;) {
    try {
      const master = await (leader?.locate(signal) ?? locateMaster(options.master, signal));
      return await openSubscription(options, master);
    } catch (error) {
      const waitMs = (failover?.random ?? Math.random)() * backoffMs;
      // A certificate refused is a misconfiguration, not a master away: reported at once.
      const isAway =
        (error instanceof ConnectionError && !error.reason.startsWith('TLS')) ||
        (error instanceof SubscriptionError && !error.isRefused);
      if (
        failover === undefined ||
        !isAway ||
        options.signal?.aborted === true ||
        performance.now() + waitMs >= deadlineMs
      )
        throw error;
      const waitedMs = performance.now() - startedAtMs;
      if (isMasterAwayNoticeDue(waitedMs, lastNoticeAtMs)) {
        lastNoticeAtMs = waitedMs;
        const notice = masterAwayNotice(options.master, untilEpochMs);
        if (failover.onMasterAway !== undefined) failover.onMasterAway(notice);
        else process.stderr.write(`${notice}\n`);
      }
      await sleep(waitMs, options.signal ?? new AbortController().signal);
      backoffMs = Math.min(backoffMs * 2, maxMs);
    }
  }
}

async function openSubscription(options: SubscribeOptions, master: URL): Promise<Stream> {
  const codec = await schedulerCodec(options.codec);
  const body = codec.encodeCall({
    type: 'SUBSCRIBE',
    ...(options.frameworkInfo.id !== undefined ? { framework_id: options.frameworkInfo.id } : {}),
    subscribe: {
      framework_info: options.frameworkInfo,
      ...(options.suppressedRoles !== undefined
        ? { suppressed_roles: options.suppressedRoles }
        : {}),
      ...(options.offerConstraints !== undefined
        ? { offer_constraints: options.offerConstraints }
        : {}),
    },
  });
  // The caller's signal may abort the wait for SUBSCRIBED, not the stream after it.
  const waiting = new AbortController();
  const onAbort = () => waiting.abort(options.signal?.reason);
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await follow(master, body, codec, waiting.signal);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function follow(
  first: URL,
  body: string | Uint8Array,
  codec: SchedulerCodec,
  signal: AbortSignal,
): Promise<Stream> {
  let master = first;
  for (let redirects = 0; ; redirects++) {
    const request = leanRequest(new URL('/api/v1/scheduler', master), {
      method: 'POST',
      body,
      headers: { 'content-type': codec.mediaType, accept: codec.mediaType },
      signal,
      isStream: true,
    });
    // The first call (ACCEPT) is written on a connection made while the master answers: its
    // first offers come with SUBSCRIBED, and a connection made only then (or by the ACCEPT
    // itself) put a connect and a turn of the event loop before the ACCEPT's write. One
    // made to a master that redirects or refuses is closed unused (lean-http.ts). Made at
    // once, not after the SUBSCRIBE's write (a turn of the loop later): then it was often
    // not up when the offers came (traced at load 16: offers to ACCEPT 2.6-3.5 ms against
    // 3.6-5.7 ms).
    void preconnect(master);
    const response = await request;
    const status = response.status;
    const location = response.headers.location;
    if (status === 307 && redirects < MAX_REDIRECTS && location !== undefined) {
      response.destroy();
      // `//host:port/…`: the leader is reached with the scheme this master was (http or https).
      master = baseUrl(new URL(location, master).origin);
      continue;
    }
    if (status !== 200) {
      const text = await response.text();
      throw new SubscriptionError(
        `subscription refused: ${new HttpStatusError(status, text, master.href).message}`,
        // A 5xx (a master still starting, a leader not elected yet) may pass; a 4xx will not.
        status >= 400 && status < 500,
      );
    }
    return await awaitSubscribed(master, response, codec);
  }
}

async function awaitSubscribed(
  master: URL,
  response: LeanResponse,
  codec: SchedulerCodec,
): Promise<Stream> {
  const streamId = response.headers['mesos-stream-id'];
  const decoder = new RecordIODecoder();
  // Leaving this loop does not close the stream: events() reads on from here.
  for await (const chunk of response) {
    const [first, ...rest] = decoder.decode(chunk);
    if (first === undefined) continue;
    const event = codec.decodeEvent(first);
    if (event.type === 'ERROR') {
      response.destroy();
      throw new SubscriptionError(`subscription refused: ${event.error.message}`, true);
    }
    if (event.type !== 'SUBSCRIBED' || typeof streamId !== 'string') {
      response.destroy();
      throw new SubscriptionError(`expected SUBSCRIBED first, got ${event.type}`);
    }
    return { master, streamId, subscribed: event, response, decoder, codec, buffered: rest };
  }
  throw new SubscriptionError('the master closed the stream before SUBSCRIBED');
}
