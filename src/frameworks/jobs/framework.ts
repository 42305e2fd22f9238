// The jobs framework's shell around its pure core: the scheduler subscription (SDK only, as a
// third-party framework would), the store, and timers. It acts on the core's decisions in one
// order: persist the core's writes, then ACCEPT launches, ACKNOWLEDGE statuses and send KILLs,
// so nothing the master or an agent knows of is unknown to the store after a crash. (A task's
// STARTING or RUNNING is acknowledged on arrival: its later updates still wait at the agent.)
import { userInfo } from 'node:os';
import { offerFree } from '../../placement/index.js';
import { Resources } from '../../resources/index.js';
import { type SchedulerConnection, SubscriptionError, subscribe } from '../../sdk/index.js';
import {
  type Attribute,
  type FrameworkID,
  agentId as mintAgentId,
  frameworkId as mintFrameworkId,
  offerId as mintOfferId,
  taskId as mintTaskId,
  type Offer,
  type OfferID,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
} from '../../wire/index.js';
import { domainAttributes } from '../domain-attributes.js';
import { CallQueue } from './call-queue.js';
import { JobsCore, JobsError, type Launch } from './core.js';
import {
  type JobsStore,
  type JobsStoreChange,
  MAX_STORE_BATCH_CHANGES,
  readLegacyJobLog,
  retireLegacyJobLog,
} from './store.js';
import { taskInfoOf } from './task-info.js';

/** The framework's failover_timeout: how long the master keeps its tasks while it is away. */
const FAILOVER_TIMEOUT_MS = 7 * 24 * 3600_000;
/** Offers that fit nothing while work waits come back this soon. */
const WAITING_REFUSE_SECONDS = 0.5;
/** Offers declined while nothing waits (the framework is also suppressed then). */
const IDLE_REFUSE_SECONDS = 60;
/** The core's clock ticks at least this often (deadlines, backoffs, schedules). */
const TICK_MS = 1000;
const FRAMEWORK_KEY = 'framework';
/** Calls to the master in flight at once: the SDK keeps this many connections alive. */
const CALLS_IN_FLIGHT = 8;
/** How long stop() waits for queued acknowledgements and kills to go out. */
const STOP_DRAIN_MS = 2000;

export interface JobsFrameworkOptions {
  readonly master: string;
  readonly store: JobsStore;
  /** Where a log of the framework's own older store may be, to import into an empty store. */
  readonly legacyDir?: string;
  readonly name?: string;
  readonly role?: string;
  readonly agingMs: number;
  readonly log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Debug lines: each status update as it arrives, each acknowledgement the master took. */
  readonly debug?: (msg: string, fields?: Record<string, unknown>) => void;
  readonly now?: () => number;
}

export class JobsFramework {
  core!: JobsCore;
  private connection: SchedulerConnection | undefined;
  private frameworkId: FrameworkID | undefined;
  private isSuppressed = false;
  private isStopping = false;
  private timer: NodeJS.Timeout | undefined;
  private pendingAcks: TaskStatus[] = [];
  private acksInFlight = 0;
  private acksDrained: (() => void)[] = [];
  private readonly calls = new CallQueue(CALLS_IN_FLIGHT);
  private flushing: Promise<void> = Promise.resolve();
  private isFlushWanted = false;
  private loop: Promise<void> | undefined;
  private readonly now: () => number;
  /** Agents' URLs by id, from offers: where sandboxes are read. */
  readonly agentUrls = new Map<string, string>();
  private markStoreFailed: (error: Error) => void = () => undefined;
  /**
   * Resolves once a write to the store failed (a full disk, a lost coordinator). The store
   * takes no write after that, so what the core does from then on would be forgotten at the
   * next start while the API said it was done: the daemon must stop and be started again from
   * what the store holds, as the master does when its registry fails.
   */
  readonly storeFailed = new Promise<Error>((resolve) => {
    this.markStoreFailed = resolve;
  });

  constructor(private readonly options: JobsFrameworkOptions) {
    this.now = options.now ?? Date.now;
  }

  get id(): string | undefined {
    return this.frameworkId?.value;
  }

  /** The one role the framework subscribes with: a job's tasks can only run as this role. */
  get role(): string {
    return this.options.role ?? '*';
  }

  get masterUrl(): URL | undefined {
    return this.connection?.master;
  }

  /** Loads the store and subscribes (with the stored framework id, if any). */
  async start(): Promise<void> {
    const records = await this.load();
    const stored = records.get(FRAMEWORK_KEY);
    records.delete(FRAMEWORK_KEY);
    this.core = JobsCore.restore(records, { agingMs: this.options.agingMs });
    if (typeof stored === 'string') this.frameworkId = mintFrameworkId(stored);
    const role = this.options.role ?? '*';
    this.connection = await subscribe({
      master: this.options.master,
      frameworkInfo: {
        user: userInfo().username,
        name: this.options.name ?? 'agora-jobs',
        role,
        ...(this.frameworkId !== undefined ? { id: this.frameworkId } : {}),
        failover_timeout: FAILOVER_TIMEOUT_MS / 1000,
        capabilities: [{ type: 'TASK_KILLING_STATE' }, { type: 'PARTITION_AWARE' }],
      },
      autoAcknowledge: false,
      failover: {
        timeoutMs: FAILOVER_TIMEOUT_MS,
        onDisconnected: (reason) =>
          this.options.log('lost the master; re-subscribing', { reason: reason.message }),
      },
    });
    this.loop = this.follow(this.connection);
    await this.subscribed(this.connection);
    this.schedule();
  }

  /** The stored records, decoded; an empty store first imports a legacy log, if there is one. */
  private async load(): Promise<Map<string, unknown>> {
    const stored = await this.options.store.recover();
    const records = new Map<string, unknown>();
    for (const [key, text] of stored) records.set(key, JSON.parse(text) as unknown);
    const dir = this.options.legacyDir;
    if (records.size > 0 || dir === undefined) return records;
    const legacy = readLegacyJobLog(dir);
    if (legacy === undefined) return records;
    await this.persist([...legacy].map(([key, value]) => ({ key, value })));
    retireLegacyJobLog(dir);
    this.options.log('imported the legacy job log', { records: legacy.size });
    return legacy;
  }

  /** Writes (undefined deletes) as JSON, in as few store batches as its bound allows. */
  private async persist(writes: readonly { key: string; value: unknown }[]): Promise<void> {
    if (writes.length === 0) return;
    const changes: JobsStoreChange[] = writes.map((w) =>
      w.value === undefined
        ? { kind: 'delete', key: w.key }
        : { kind: 'put', key: w.key, value: JSON.stringify(w.value) },
    );
    // Split only past the bound (a 100,000-index run cancelled at once); each part is a set of
    // blind writes to distinct keys, so a crash between parts leaves each key old or new.
    const parts: Promise<void>[] = [];
    for (let i = 0; i < changes.length; i += MAX_STORE_BATCH_CHANGES)
      parts.push(this.options.store.write(changes.slice(i, i + MAX_STORE_BATCH_CHANGES)));
    try {
      await Promise.all(parts);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.options.log('the store failed: stopping, to start again from what it holds', {
        message: failure.message,
      });
      this.markStoreFailed(failure);
      throw new JobsError(
        503,
        undefined,
        `the change could not be stored (${failure.message}); the jobs daemon restarts from what it last stored: try again`,
      );
    }
  }

  /** Stops following the master; the framework stays registered (its tasks keep running). */
  async stop(): Promise<void> {
    this.isStopping = true;
    clearTimeout(this.timer);
    await this.flush().catch(() => undefined);
    // Unsent acknowledgements are resent by the agents; a kill not sent is retried on restart.
    await Promise.race([
      Promise.all([this.calls.idle(), this.acknowledgementsIdle()]),
      new Promise((r) => setTimeout(r, STOP_DRAIN_MS).unref()),
    ]);
    await this.connection?.close();
    await this.loop?.catch(() => undefined);
    await this.options.store.close();
  }

  /** After a command on the core (REST): persist, act, and revive if work arrived. */
  async changed(): Promise<void> {
    await this.flush();
  }

  private async follow(connection: SchedulerConnection): Promise<void> {
    try {
      for await (const event of connection.events()) {
        if (this.isStopping) return;
        switch (event.type) {
          case 'SUBSCRIBED':
            await this.subscribed(connection);
            break;
          case 'OFFERS':
            await this.offers(connection, event.offers.offers);
            break;
          case 'UPDATE':
            this.update(event.update.status);
            break;
          case 'ERROR':
            this.options.log('the master refused the framework', { message: event.error.message });
            return;
          default:
            break;
        }
      }
    } catch (error) {
      if (!(error instanceof SubscriptionError)) throw error;
      this.options.log('gave up on the master', { message: error.message });
    }
  }

  /** (Re-)subscribed: remember the id, ask for every launched task's state, suppress or revive. */
  private async subscribed(connection: SchedulerConnection): Promise<void> {
    if (this.frameworkId?.value !== connection.frameworkId.value) {
      this.frameworkId = connection.frameworkId;
      await this.persist([{ key: FRAMEWORK_KEY, value: connection.frameworkId.value }]);
    }
    this.options.log('subscribed', { framework_id: connection.frameworkId.value });
    this.isSuppressed = false;
    const active = this.core.activeTasks();
    try {
      for (let i = 0; i < active.length; i += 1000)
        await connection.reconcile(
          active.slice(i, i + 1000).map((t) => ({
            task_id: mintTaskId(t.taskId),
            ...(t.agentId !== undefined ? { agent_id: mintAgentId(t.agentId) } : {}),
          })),
        );
      await this.adjustOffers(connection);
    } catch (error) {
      this.options.log('reconciliation failed; the next subscription retries', {
        message: (error as Error).message,
      });
    }
  }

  private async offers(connection: SchedulerConnection, offers: readonly Offer[]): Promise<void> {
    const now = this.now();
    this.core.tick(now);
    const slots = offers.map((offer) => {
      const url = `http://${offer.url.address.ip ?? offer.url.address.hostname}:${offer.url.address.port}`;
      this.agentUrls.set(offer.agent_id.value, url);
      const role = offer.allocation_info?.role ?? this.options.role ?? '*';
      return {
        offerId: offer.id.value,
        agentId: offer.agent_id.value,
        agentUrl: url,
        free: offerFree(Resources.fromWire(offer.resources)),
        attributes: { ...attributesOf(offer.attributes ?? []), ...domainAttributes(offer) },
        role: role === '*' ? (this.options.role ?? '*') : role,
      };
    });
    const launches = this.core.offers(slots, now);
    // Launches are persisted (as `staging`, with their task ids) before the master hears of them.
    await this.flush();
    const hasMore = this.core.hasLaunchable(this.now());
    const refuse = { refuse_seconds: hasMore ? WAITING_REFUSE_SECONDS : IDLE_REFUSE_SECONDS };
    const used = new Set(launches.map((l) => l.offerId));
    const unused = offers.filter((o) => !used.has(o.id.value)).map((o) => o.id);
    const byId = new Map<string, Offer>(offers.map((o) => [o.id.value, o]));
    // One ACCEPT per offer used, with all of that offer's tasks in one LAUNCH. Pipelined on a
    // connection of their own (a cycle's thousand go out in a few writes, never behind
    // acknowledgements, and never twice), and not awaited here: the events behind these
    // offers (the STARTINGs of the tasks just launched) are read, stored and acknowledged
    // meanwhile. Awaiting them held every UPDATE until the last ACCEPT was answered, so a
    // big run went in phases and, under load, its agents resent every STARTING
    // (bench/RESULTS.md, "Jobs framework, fifth pass"). The launches are durable already.
    const calls: Promise<unknown>[] = launches.map((launch) =>
      connection
        .acceptPipelined(
          [mintOfferId(launch.offerId)],
          [
            {
              type: 'LAUNCH',
              launch: { task_infos: this.taskInfos(launch, byId.get(launch.offerId)) },
            },
          ],
          refuse,
        )
        .catch((error: unknown) => this.acceptFailed(connection, launch, error)),
    );
    if (unused.length > 0)
      calls.push(this.calls.push(() => connection.decline(unused as OfferID[], refuse), true));
    void Promise.all(calls).then(() => this.adjustOffers(connection).catch(() => undefined));
  }

  /**
   * Whether the master took a failed ACCEPT is unknown (it is never sent twice): asking for
   * its tasks' states settles it (TASK_GONE or TASK_UNKNOWN for a launch it did not take:
   * launched again, no retry spent).
   */
  private acceptFailed(connection: SchedulerConnection, launch: Launch, error: unknown): void {
    this.options.log('accept failed; reconciling its tasks', {
      offer: launch.offerId,
      message: (error as Error).message,
    });
    const tasks = launch.tasks.map((task) => ({
      task_id: mintTaskId(task.taskId),
      agent_id: mintAgentId(launch.agentId),
    }));
    void this.calls.push(() => connection.reconcile(tasks), true);
  }

  private taskInfos(launch: Launch, offer: Offer | undefined): TaskInfo[] {
    const role = offer?.allocation_info?.role;
    return launch.tasks.map((task) => taskInfoOf(task, launch.agentId, role));
  }

  private update(status: TaskStatus): void {
    this.options.debug?.('status update', {
      task_id: status.task_id.value,
      state: status.state,
      uuid: status.uuid,
    });
    this.core.update(status.task_id.value, status.state, status.message, this.now());
    if (status.uuid !== undefined) {
      const connection = this.connection;
      if (connection !== undefined && isAcknowledgedAtOnce(status.state))
        this.acknowledge(connection, status);
      else this.pendingAcks.push(status);
    }
    this.requestFlush();
  }

  /** Flushes soon, batching what arrives meanwhile into one commit. */
  private requestFlush(): void {
    if (this.isFlushWanted) return;
    this.isFlushWanted = true;
    setImmediate(() => {
      this.isFlushWanted = false;
      void this.flush().catch((error: unknown) =>
        this.options.log('flush failed', { message: (error as Error).message }),
      );
    });
  }

  /** Persists the core's writes, then acknowledges, kills, and suppresses or revives. One at a time. */
  private flush(): Promise<void> {
    const run = async () => {
      const writes = this.core.drainWrites();
      const acks = this.pendingAcks;
      this.pendingAcks = [];
      const kills = this.core.drainKills();
      await this.persist(writes);
      const connection = this.connection;
      if (connection === undefined) return;
      // Sent once durable, but not awaited: the next flush need not wait for the master to
      // answer thousands of acknowledgements, and an unanswered one is resent by its agent.
      // They go pipelined on the SDK's connections of their own (sdk/call-pipeline.ts), not
      // through the call queue: one write carries a batch, and ACCEPTs do not wait behind.
      for (const status of acks) this.acknowledge(connection, status);
      for (const kill of kills)
        void this.calls.push(
          () =>
            connection.kill(
              mintTaskId(kill.taskId),
              kill.agentId !== undefined ? mintAgentId(kill.agentId) : undefined,
            ),
          true,
        );
      await this.adjustOffers(connection).catch(() => undefined);
    };
    // One at a time, in order: a flush's writes are durable before a later one acts.
    const flushing = this.flushing.then(run);
    this.flushing = flushing.catch(() => undefined);
    return flushing;
  }

  private acknowledge(connection: SchedulerConnection, status: TaskStatus): void {
    this.acksInFlight++;
    // A failure needs nothing: unacknowledged, the update is resent by its agent.
    connection.acknowledge(status).then(() => {
      // Once the master has taken it: what an update seen after this line is checked against.
      this.options.debug?.('status update acknowledged', {
        task_id: status.task_id.value,
        uuid: status.uuid,
      });
      this.ackSettled();
    }, this.ackSettled);
  }

  private readonly ackSettled = (): void => {
    this.acksInFlight--;
    if (this.acksInFlight === 0) for (const resolve of this.acksDrained.splice(0)) resolve();
  };

  /** Resolves once no acknowledgement is under way. */
  private acknowledgementsIdle(): Promise<void> {
    if (this.acksInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.acksDrained.push(resolve));
  }

  /** SUPPRESS when nothing can launch, REVIVE when something can. */
  private async adjustOffers(connection: SchedulerConnection): Promise<void> {
    const wants = this.core.hasLaunchable(this.now());
    if (wants && this.isSuppressed) {
      this.isSuppressed = false;
      await connection.revive();
    } else if (!wants && !this.isSuppressed) {
      this.isSuppressed = true;
      await connection.suppress();
    }
  }

  /** Ticks the core at its next due time (at most TICK_MS apart). */
  private schedule(): void {
    if (this.isStopping) return;
    const next = this.core.nextWakeMs();
    const delayMs = Math.max(
      10,
      Math.min(TICK_MS, next === undefined ? TICK_MS : next - this.now()),
    );
    this.timer = setTimeout(() => {
      this.core.tick(this.now());
      void this.flush()
        .catch((error: unknown) =>
          this.options.log('tick failed', { message: (error as Error).message }),
        )
        .finally(() => this.schedule());
    }, delayMs);
  }
}

/**
 * A task's word that it is starting or running is acknowledged when it arrives, before the
 * store has its `running` record: the agent sends the task's next update only once this one
 * is acknowledged, so waiting for the store's write (a turn of the loop and an fdatasync,
 * behind any write under way) held each task two writes longer on the way to its end
 * (STARTING, then RUNNING) — on one real agent, where a task's slot is the bound, that is
 * time per task. Nothing is lost if the framework dies before the write: the index's record
 * says `staging`, the agent still holds the task's later updates unacknowledged, and
 * reconciliation on restart reports the task's state. Every other update (terminal ones,
 * TASK_UNREACHABLE) is acknowledged only once what it changed is durable.
 */
function isAcknowledgedAtOnce(state: TaskState): boolean {
  return (
    state === 'TASK_STAGING' ||
    state === 'TASK_STARTING' ||
    state === 'TASK_RUNNING' ||
    state === 'TASK_KILLING'
  );
}

function attributesOf(attributes: readonly Attribute[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of attributes) {
    if (a.text !== undefined) out[a.name] = a.text.value;
    else if (a.scalar !== undefined) out[a.name] = String(a.scalar.value);
  }
  return out;
}
