// Long file: the agent's one link to the master, whole: subscription, stream, health checks,
// updates, and when to try again.
import type { IncomingMessage } from 'node:http';
import type { Clock, Logger } from '../runtime/index.js';
import { ConnectionError, HttpStatusError, openStream, postJson } from '../sdk/index.js';
import {
  type AgentCall,
  type AgentEvent,
  type AgentID,
  type AgentStatusUpdate,
  isShapeRefused,
  limits,
  type MasterInfo,
  agentId as mintAgentId,
  pongFoldWindowMs,
  RecordIODecoder,
  type ReportShape,
  shapeAfterRefusal,
  shapeAfterSubscribed,
} from '../wire/index.js';
import { isLinkDownError, probeUntilReachable } from './link-probe.js';

/** Missed heartbeats after which the agent treats the master as gone and reconnects. */
const MISSED_HEARTBEATS_ALLOWED = 5;
/** A redirect chain longer than this is a misconfigured cluster, not a leader change. */
const MAX_REDIRECTS = 3;
/**
 * A SUBSCRIBE whose TCP connection is not up by then is given up: a SYN dropped by a partition
 * is otherwise retried by the kernel for about two minutes (tcp_syn_retries 6), and the link
 * may heal long before that. Wide enough for a slow, lossy edge link's SYN retransmits.
 */
const SUBSCRIBE_CONNECT_TIMEOUT_MS = 10_000;

export interface MasterLinkOptions {
  /** Where the leading master is now: asked again before every subscription attempt. */
  readonly locate: (signal: AbortSignal) => Promise<URL>;
  /**
   * Tells of each new leader the coordinator elects (when the agent follows one):
   * a link to another master is dropped, and a wait between attempts is cut
   * short, so the agent moves to the new leader without waiting for heartbeats
   * to stop or for a backoff grown while no master led. Returns the unsubscribe.
   */
  readonly onLeaderChange?: (listener: (leader: URL) => void) => () => void;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Built afresh for every attempt: it carries the agent's id and current tasks, in `shape`. */
  readonly subscribeCall: (shape: ReportShape) => AgentCall;
  readonly onSubscribed: (agentId: AgentID, master: MasterInfo) => void;
  readonly onEvent: (event: AgentEvent) => void;
  readonly onDisconnected: () => void;
  /** Sent with every request to the master: the agent's credential (--credential). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The agent's connection to the master, opened by the agent (so agents behind
 * NAT or at the edge work): SUBSCRIBE, then commands stream back. A broken or
 * silent stream is replaced after a random, doubling backoff (capped), as
 * Mesos agents do.
 */
export class MasterLink {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private streamId: string | undefined;
  private agentIdValue: string | undefined;
  /** The master the current (or last) subscription went to; calls go there. */
  private master: URL | undefined;
  /** The current subscription's stream, while one is open. */
  private stream: IncomingMessage | undefined;
  /** Wakes the wait between attempts: a new leader was elected, or the link came back. */
  private wake: ((reason: 'leader' | 'link') => void) | undefined;
  /** Probing the master with bare TCP connections: the link was down at the last attempt. */
  private linkWatch: { stop(): void } | undefined;
  /** A probe got through while an attempt was under way: the next wait is only the jitter. */
  private isLinkBack = false;
  /** Aborted by a probe that got through: the attempt's connection, if still not up, is given up. */
  private attemptConnecting: AbortController | undefined;
  /** reregister_spread_ms from the master's last SUBSCRIBED or PING. */
  private masterSpreadMs: number | undefined;
  /** A new leader was elected since the last attempt: the next wait starts from the initial backoff. */
  private hasNewLeader = false;
  /** The leader the coordinator last named (only when following one). */
  private leader: URL | undefined;
  /** Status updates asked for in this loop round: sent together at its end. */
  private readonly pendingUpdates: {
    readonly update: AgentStatusUpdate;
    readonly resolve: () => void;
    readonly reject: (error: unknown) => void;
  }[] = [];

  /**
   * A PING waits for its PONG on this stream: the next update call carries it (`pong`),
   * or a PONG of its own goes when the fold window ends first.
   */
  private owedPong: { readonly streamId: string; readonly timer: { cancel(): void } } | undefined;
  /** Set at SUBSCRIBED: how long a PONG may wait for updates (0: the master cannot fold). */
  private pongFoldMs = 0;
  /**
   * The shape of the tasks' report in the next SUBSCRIBE: what the last master to answer
   * said it takes, kept across leader changes (wire/agent-report.ts says why).
   */
  private reportShape: ReportShape = 'perTask';
  /** The last attempt's master refused the report's shape: the next goes at once, a shape down. */
  private isShapeFallback = false;

  constructor(private readonly options: MasterLinkOptions) {}

  start(): void {
    if (this.loop !== undefined) return;
    const unwatch = this.options.onLeaderChange?.((leader) => this.leaderChanged(leader));
    this.loop = this.run().finally(() => unwatch?.());
  }

  private leaderChanged(leader: URL): void {
    this.leader = leader;
    const master = this.master;
    if (this.stream !== undefined && master !== undefined && master.host !== leader.host) {
      this.options.logger.info(
        { master: master.host, leader: leader.host },
        'another master leads; leaving this one',
      );
      this.stream.destroy(new Error(`another master leads: ${leader.host}`));
    }
    this.hasNewLeader = true;
    this.wake?.('leader');
  }

  get isConnected(): boolean {
    return this.streamId !== undefined;
  }

  /** Ends the connection and the retry loop. Idempotent. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('agent stopping'));
    await this.loop;
  }

  /**
   * Sends a status update on the current stream; rejects when not connected or refused.
   * Updates asked for in one loop round go in one call (UPDATES; UPDATE when alone): a
   * burst of task updates costs the master one HTTP call, not one per task.
   */
  sendUpdate(update: AgentStatusUpdate): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pendingUpdates.push({ update, resolve, reject });
      if (this.pendingUpdates.length === 1) setImmediate(() => this.flushUpdates());
    });
  }

  private flushUpdates(): void {
    const batch = this.pendingUpdates.splice(0, limits.MAX_AGENT_UPDATES);
    if (this.pendingUpdates.length > 0) setImmediate(() => this.flushUpdates());
    const [only] = batch;
    if (only === undefined) return;
    const updates = batch.map((pending) => pending.update);
    const owed = this.owedPong;
    const pong = owed !== undefined && owed.streamId === this.streamId;
    if (owed !== undefined) {
      owed.timer.cancel();
      this.owedPong = undefined;
    }
    this.send((agent_id) => {
      const call: AgentCall =
        batch.length === 1
          ? { type: 'UPDATE', agent_id, update: only.update }
          : { type: 'UPDATES', agent_id, updates: { updates } };
      return pong ? { ...call, pong } : call;
    }).then(
      () => {
        for (const pending of batch) pending.resolve();
      },
      (error: unknown) => {
        for (const pending of batch) pending.reject(error);
        // The master did not take the call: the PONG it carried goes alone.
        if (pong) this.pong();
      },
    );
  }

  /** Tells the master an executor ended (EXECUTOR_EXITED); best effort, as Mesos sends it. */
  async sendExecutorExited(
    exited: Extract<AgentCall, { type: 'EXECUTOR_EXITED' }>['executor_exited'],
  ): Promise<void> {
    await this.send((agent_id) => ({ type: 'EXECUTOR_EXITED', agent_id, executor_exited: exited }));
  }

  /** Relays an executor's MESSAGE to its framework (EXECUTOR_MESSAGE); best effort. */
  async sendExecutorMessage(
    message: Extract<AgentCall, { type: 'EXECUTOR_MESSAGE' }>['executor_message'],
  ): Promise<void> {
    await this.send((agent_id) => ({
      type: 'EXECUTOR_MESSAGE',
      agent_id,
      executor_message: message,
    }));
  }

  /** Answers a FILES_REQUEST the master relayed; best effort (the master times out). */
  async sendFilesResponse(
    response: Extract<AgentCall, { type: 'FILES_RESPONSE' }>['files_response'],
  ): Promise<void> {
    await this.send((agent_id) => ({ type: 'FILES_RESPONSE', agent_id, files_response: response }));
  }

  /** A call on the current stream. Throws when not connected or refused. */
  private async send(build: (agentId: AgentID) => AgentCall): Promise<void> {
    const streamId = this.streamId;
    const agentIdValue = this.agentIdValue;
    const master = this.master;
    if (streamId === undefined || agentIdValue === undefined || master === undefined)
      throw new Error('not connected to a master');
    await postJson(new URL('/master/api/v1/agent', master), build(mintAgentId(agentIdValue)), {
      headers: { ...this.options.headers, 'mesos-stream-id': streamId },
      signal: this.abort.signal,
    });
  }

  /**
   * Answers the master's PING at once. A stopped or wedged agent cannot, and
   * that is what the master watches for (its link may look healthy).
   */
  private pong(): void {
    this.owedPong?.timer.cancel();
    this.owedPong = undefined;
    this.send((agentId) => ({ type: 'PONG', agent_id: agentId })).catch((error: unknown) => {
      // The next PING gets another answer; the master allows several to go missing.
      this.options.logger.debug({ err: describe(error) }, 'pong not delivered');
    });
  }

  /**
   * A PING came: answer it with the next update call if one goes within the fold window
   * (a master with thousands of agents is spared a call each), else with a PONG.
   */
  private answerPing(): void {
    const streamId = this.streamId;
    if (this.pongFoldMs <= 0 || streamId === undefined) {
      this.pong();
      return;
    }
    // One answer covers every PING before it on the same stream.
    if (this.owedPong?.streamId === streamId) return;
    this.owedPong?.timer.cancel();
    const timer = this.options.clock.setTimeout(() => {
      if (this.owedPong?.timer !== timer) return;
      this.owedPong = undefined;
      if (this.streamId === streamId) this.pong();
    }, this.pongFoldMs);
    this.owedPong = { streamId, timer };
  }

  private async run(): Promise<void> {
    const { logger, backoffInitialMs, backoffMaxMs, random } = this.options;
    let backoffMs = backoffInitialMs;
    try {
      while (!this.abort.signal.aborted) {
        this.hasNewLeader = false;
        let isLeaderStarting = false;
        let isLinkDown = false;
        try {
          await this.connectOnce();
        } catch (error) {
          if (this.abort.signal.aborted) break;
          isLeaderStarting = this.isLeaderStarting(error);
          isLinkDown = isLinkDownError(error);
          logger.warn(
            { err: describe(error), master: this.master?.host },
            'master connection failed',
          );
        }
        // A link that got as far as SUBSCRIBED was healthy: the next attempt starts afresh
        // (a stream that broke with an error counts, as one that ended does).
        const wasSubscribed = this.streamId !== undefined;
        if (wasSubscribed) {
          this.streamId = undefined;
          this.options.onDisconnected();
        }
        if (this.abort.signal.aborted) break;
        if (wasSubscribed || this.hasNewLeader || isLeaderStarting) backoffMs = backoffInitialMs;
        // Each new leader starts the wait again from the initial backoff; the random part
        // stays, so the agents of a failed master do not all come back in one burst. A
        // master that refused only the report's shape is asked again at once (once: the
        // shape it refused is not sent again).
        let waitMs = this.isShapeFallback ? 0 : random() * backoffMs;
        if (!this.isShapeFallback) backoffMs = Math.min(backoffMs * 2, backoffMaxMs);
        this.isShapeFallback = false;
        // The probe runs from the first failure that says the link is down until a bare
        // connection gets through, across the waits and the attempts between them.
        if (!isLinkDown) this.stopLinkWatch();
        else if (this.linkWatch === undefined && !this.isLinkBack)
          this.linkWatch = this.watchLink();
        if (this.isLinkBack) {
          // The link came back while an attempt was waiting on a SYN the partition dropped.
          this.isLinkBack = false;
          backoffMs = Math.min(backoffInitialMs * 2, backoffMaxMs);
          waitMs = random() * this.reregisterSpreadMs();
        }
        for (;;) {
          const woken = await this.sleep(waitMs);
          if (woken === false) break;
          // Woken by a new leader or by the link coming back: only the jitter is left.
          // (A probe of the old master is no use once another leads.)
          this.isLinkBack = false;
          if (woken === 'leader') this.stopLinkWatch();
          backoffMs = Math.min(backoffInitialMs * 2, backoffMaxMs);
          waitMs = random() * (woken === 'link' ? this.reregisterSpreadMs() : backoffInitialMs);
        }
      }
    } finally {
      this.stopLinkWatch();
    }
  }

  /**
   * The jitter before re-registering once the link is back: a random part of what the master
   * last said (reregisterSpreadMs of the agents it knows: a few agents come back at once, a
   * thousand spread over a second), at most --registration_backoff_factor. A master that did
   * not say gets the factor, as before.
   */
  private reregisterSpreadMs(): number {
    const { backoffInitialMs } = this.options;
    return Math.min(this.masterSpreadMs ?? backoffInitialMs, backoffInitialMs);
  }

  private stopLinkWatch(): void {
    this.linkWatch?.stop();
    this.linkWatch = undefined;
  }

  /** Probes the master: the first probe through ends the wait, or a stuck attempt. */
  private watchLink(): { stop(): void } {
    const master = this.master;
    if (master === undefined) return { stop: () => {} };
    const watch = probeUntilReachable(master, this.options.clock, () => {
      if (this.linkWatch === watch) this.linkWatch = undefined;
      this.options.logger.info({ master: master.host }, 'master reachable again');
      if (this.wake !== undefined) {
        this.wake('link');
        return;
      }
      // An attempt is under way: if its connection is still not up, it is given up.
      this.isLinkBack = true;
      this.attemptConnecting?.abort();
    });
    return watch;
  }

  /**
   * The master the coordinator elected refused the connection or answered 503: it
   * is recovering its registry before it serves (or it died, and the election will
   * say so). Not a reason to wait longer each time: it comes up within moments.
   */
  private isLeaderStarting(error: unknown): boolean {
    const leader = this.leader;
    if (leader === undefined || this.master?.host !== leader.host) return false;
    return (
      (error instanceof HttpStatusError && error.status === 503) ||
      (error instanceof ConnectionError && error.reason === 'connection refused')
    );
  }

  /** One subscription, until its stream ends. Returns whether it got as far as SUBSCRIBED. */
  private async connectOnce(): Promise<boolean> {
    // Only while the link is down is a probe there to give the connection up.
    this.attemptConnecting = this.linkWatch !== undefined ? new AbortController() : undefined;
    let master = await this.options.locate(this.abort.signal);
    let response: IncomingMessage;
    const shape = this.reportShape;
    for (let redirects = 0; ; redirects++) {
      this.master = master;
      response = await openStream(new URL('/master/api/v1/agent', master), {
        method: 'POST',
        body: JSON.stringify(this.options.subscribeCall(shape)),
        headers: {
          ...this.options.headers,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        signal: this.abort.signal,
        connectTimeoutMs: SUBSCRIBE_CONNECT_TIMEOUT_MS,
        // Not when a probe got through already: this connection is then a fresh one.
        ...(this.attemptConnecting?.signal.aborted === false
          ? { connectAbort: this.attemptConnecting.signal }
          : {}),
      });
      // A master that does not lead names the one that does (`//host:port/…`).
      const location = response.headers.location;
      if (response.statusCode !== 307 || location === undefined || redirects >= MAX_REDIRECTS)
        break;
      response.destroy();
      // Relative to this master, so an https master's redirect stays https.
      master = new URL(new URL(location, master).origin);
    }
    // Through to the master: the link is up, whatever a probe was still trying.
    this.attemptConnecting = undefined;
    this.isLinkBack = false;
    this.stopLinkWatch();
    if (response.statusCode !== 200) {
      const error = await statusError(response, master);
      if (isShapeRefused(shape, error.status)) {
        this.reportShape = shapeAfterRefusal(shape, error.status);
        this.isShapeFallback = true;
        this.options.logger.warn(
          { master: master.host, status: error.status, refused: shape, next: this.reportShape },
          'master refused the report shape; reporting in the next one down',
        );
      }
      throw error;
    }
    this.stream = response;
    const streamId = response.headers['mesos-stream-id'];
    const decoder = new RecordIODecoder();
    let watchdog: ReturnType<Clock['setTimeout']> | undefined;
    let watchdogMs = 0;
    const arm = () => {
      watchdog?.cancel();
      if (watchdogMs > 0)
        watchdog = this.options.clock.setTimeout(
          () => response.destroy(new Error('master heartbeats stopped')),
          watchdogMs,
        );
    };
    // The master's PINGs stop once it has marked this agent unreachable; its
    // stream's end may not get through a partition until long after it heals (a
    // FIN retransmitted with TCP's backoff), so the agent watches the PINGs too
    // and is already re-registering when the link comes back (#15).
    let pingWatchdog: ReturnType<Clock['setTimeout']> | undefined;
    let pingWatchdogMs = 0;
    const armPings = () => {
      pingWatchdog?.cancel();
      if (pingWatchdogMs > 0)
        pingWatchdog = this.options.clock.setTimeout(
          () => response.destroy(new Error('master pings stopped')),
          pingWatchdogMs,
        );
    };
    let isSubscribed = false;
    try {
      for await (const chunk of response) {
        arm();
        for (const record of decoder.decode(chunk as Buffer)) {
          const event = JSON.parse(record.toString('utf8')) as AgentEvent;
          if (event.type === 'SUBSCRIBED') {
            if (typeof streamId !== 'string')
              throw new Error('SUBSCRIBED without a Mesos-Stream-Id');
            this.streamId = streamId;
            this.agentIdValue = event.subscribed.agent_id.value;
            watchdogMs =
              event.subscribed.heartbeat_interval_seconds * 1000 * MISSED_HEARTBEATS_ALLOWED;
            arm();
            // A PING late by a whole ping timeout is still in time: the master allows as much.
            pingWatchdogMs = (event.subscribed.total_ping_timeout_seconds ?? 0) * 1000 * 1.5;
            this.noteSpread(event.subscribed.reregister_spread_ms);
            this.reportShape = shapeAfterSubscribed(event.subscribed);
            this.pongFoldMs =
              event.subscribed.folds_pongs === true
                ? pongFoldWindowMs(event.subscribed.total_ping_timeout_seconds)
                : 0;
            armPings();
            isSubscribed = true;
            this.options.onSubscribed(event.subscribed.agent_id, event.subscribed.master_info);
          } else if (event.type === 'ERROR') {
            this.options.logger.error({ reason: event.error.message }, 'master refused the agent');
          } else if (event.type === 'PING') {
            this.noteSpread(event.ping?.reregister_spread_ms);
            armPings();
            this.answerPing();
          } else if (event.type !== 'HEARTBEAT') {
            this.options.onEvent(event);
          }
        }
      }
    } finally {
      watchdog?.cancel();
      pingWatchdog?.cancel();
      this.stream = undefined;
      response.destroy();
    }
    return isSubscribed;
  }

  /**
   * Waits `ms` (resolves false), or until stop() (false), or until a new leader is elected
   * or a probe gets through (resolves why). The abort listener goes when the timer fires: an
   * agent retrying an absent master for hours added one per attempt
   * (MaxListenersExceededWarning after ten, #9).
   */
  private sleep(ms: number): Promise<false | 'leader' | 'link'> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const finish = (woken: false | 'leader' | 'link') => {
        timer.cancel();
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve(woken);
      };
      const done = () => finish(false);
      const timer = this.options.clock.setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = (reason) => finish(reason);
    });
  }

  private noteSpread(spreadMs: number | undefined): void {
    if (typeof spreadMs === 'number' && Number.isFinite(spreadMs) && spreadMs >= 0)
      this.masterSpreadMs = spreadMs;
  }
}

async function statusError(response: IncomingMessage, master: URL): Promise<HttpStatusError> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return new HttpStatusError(
    response.statusCode ?? 0,
    Buffer.concat(chunks).toString('utf8'),
    master.href,
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
