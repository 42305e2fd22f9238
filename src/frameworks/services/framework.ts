// The services framework's shell: the SDK subscription, the store, the HTTP
// API, the DNS server and the tick timer around the pure ServiceCore. It uses
// only the public SDK, as a third-party framework would.
//
// Order of effects, so that a SIGKILL at any point loses nothing: a new
// instance is written to the store before the ACCEPT that launches it, and
// every command's changes are durable before its HTTP answer. After a restart
// the framework SUBSCRIBEs with its stored id (its failover_timeout is long,
// so the master kept it and its tasks) and reconciles every stored instance:
// those still running are kept as they are, those gone are replaced.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { userInfo } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { PlacementPolicy } from '../../placement/index.js';
import { type SchedulerConnection, SubscriptionError, subscribe } from '../../sdk/index.js';
import {
  AGORA_VERSION,
  type Event,
  type FrameworkID,
  type Offer,
  type OfferOperation,
} from '../../wire/index.js';
import { dnsLabelOf } from './app-definition.js';
import { ServiceCore } from './core.js';
import { Zone } from './dns.js';
import { DnsServer } from './dns-server.js';
import { EventHub } from './event-hub.js';
import { handleApi } from './http-api.js';
import { HttpError } from './http-io.js';
import { isHealthy } from './instance.js';
import { ReadinessProber } from './readiness-prober.js';
import { steadyEpochMs } from './steady-clock.js';
import { offerView, taskInfoOf } from './task-info.js';

/** The store the framework keeps its state in: the registry's FrameworkStore, narrowed. */
export interface ServicesStore {
  recover(): Promise<ReadonlyMap<string, string>>;
  write(
    changes: readonly (
      | { kind: 'put'; key: string; value: string }
      | { kind: 'delete'; key: string }
    )[],
  ): Promise<void>;
  close(): Promise<void>;
}

export interface ServicesLog {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface ServicesOptions {
  readonly master: string;
  readonly host: string;
  readonly port: number;
  readonly dnsHost: string;
  /** -1: no DNS server. */
  readonly dnsPort: number;
  readonly domain: string;
  /** The framework's name, and the DNS label under the domain. */
  readonly name: string;
  readonly role: string;
  readonly policy: PlacementPolicy;
  readonly stuckAfterMs: number;
  readonly failoverTimeoutMs: number;
  readonly store: ServicesStore;
  readonly log: ServicesLog;
  readonly tickIntervalMs?: number;
  /** Roll a stuck deploy back to the app's previous definition without an operator. */
  readonly autoRollback?: boolean;
}

const FRAMEWORK_ID_KEY = 'framework:id';
/** How long stop() lets API requests in flight finish before it cuts their connections. */
const STOP_ANSWERS_MS = 2000;
/** Offers are refused this long when nothing waits (and the framework suppresses). */
const IDLE_REFUSE_SECONDS = 30;
/** Offers that fit nothing waiting are refused briefly, so others are offered first. */
const MISFIT_REFUSE_SECONDS = 1;

export class ServicesFramework {
  readonly core: ServiceCore;
  private readonly readiness: ReadinessProber;
  private readonly events = new EventHub();
  private server: Server | undefined;
  private dns: DnsServer | undefined;
  private connection: SchedulerConnection | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;
  private committing: Promise<void> = Promise.resolve();
  private isSuppressed = false;
  private isStepSoon = false;
  private isStopped = false;
  private zone: Zone | undefined;
  private frameworkId: string | undefined;
  private url = '';
  private dnsPort = -1;
  private readonly counters = { launched: 0, killed: 0, updates: 0, offers: 0 };

  constructor(private readonly options: ServicesOptions) {
    this.core = new ServiceCore({
      frameworkRole: options.role,
      policy: options.policy,
      stuckAfterMs: options.stuckAfterMs,
      newId: () => `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`,
      autoRollback: options.autoRollback ?? false,
    });
    this.readiness = new ReadinessProber((result) => {
      this.core.readinessResult(result, steadyEpochMs());
      if (result.ready) this.stepSoon();
    });
  }

  /** Recovers, listens, subscribes; resolves with the API's URL and the DNS port. */
  async start(): Promise<{ url: string; dnsPort: number }> {
    const entries = await this.options.store.recover();
    this.core.restore(entries);
    this.frameworkId = entries.get(FRAMEWORK_ID_KEY);
    // A slow client is cut: 20 s for its headers, 60 s for its whole request (checked
    // each second); answers, such as the event stream, are not timed.
    const server = createServer(
      { headersTimeout: 20_000, requestTimeout: 60_000, connectionsCheckingInterval: 1000 },
      (req, res) => void handleApi(this.apiHost(), req, res),
    );
    server.listen(this.options.port, this.options.host);
    await once(server, 'listening');
    this.server = server;
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.options.port;
    this.url = `http://${this.options.host}:${port}`;
    if (this.options.dnsPort >= 0) {
      this.dns = new DnsServer(() => this.currentZone());
      this.dnsPort = await this.dns.start(this.options.dnsHost, this.options.dnsPort);
    }
    const connection = await subscribe({
      master: this.options.master,
      frameworkInfo: {
        user: userInfo().username,
        name: this.options.name,
        role: this.options.role,
        failover_timeout: this.options.failoverTimeoutMs / 1000,
        capabilities: [{ type: 'TASK_KILLING_STATE' }, { type: 'PARTITION_AWARE' }],
        ...(this.frameworkId !== undefined
          ? { id: { value: this.frameworkId } as FrameworkID }
          : {}),
      },
      failover: {
        timeoutMs: this.options.failoverTimeoutMs,
        onDisconnected: (reason) =>
          this.options.log.warn({ reason: reason.message }, 'lost the master; re-subscribing'),
      },
    });
    this.connection = connection;
    this.options.log.info(
      {
        framework_id: connection.frameworkId.value,
        recovered_apps: this.core.apps.size,
        recovered_instances: this.core.instances.size,
      },
      'subscribed',
    );
    if (this.frameworkId !== connection.frameworkId.value) {
      this.frameworkId = connection.frameworkId.value;
      await this.options.store.write([
        { kind: 'put', key: FRAMEWORK_ID_KEY, value: this.frameworkId },
      ]);
    }
    await this.reconcile();
    this.following = this.follow(connection);
    this.ticker = setInterval(() => void this.step(), this.options.tickIntervalMs ?? 500);
    await this.step();
    return { url: this.url, dnsPort: this.dnsPort };
  }

  private markStoreFailed: (error: Error) => void = () => undefined;
  /**
   * Resolves once a write to the store failed (a full disk, a lost coordinator). The store
   * takes no write after that, so what the core does from then on would be forgotten at the
   * next start while the API said it was done: the daemon must stop and be started again
   * from what the store holds, as the master does when its registry fails.
   */
  readonly storeFailed = new Promise<Error>((resolve) => {
    this.markStoreFailed = resolve;
  });

  /** Disconnects (the master keeps the framework and its tasks for the failover timeout). */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    clearInterval(this.ticker);
    this.readiness.stop();
    await this.committing.catch(() => undefined);
    await this.connection?.close();
    await this.following?.catch(() => undefined);
    this.events.close();
    await this.dns?.stop();
    const server = this.server;
    if (server !== undefined) {
      // Answers being written go out first (the 503 of the call whose write failed the
      // store), within a bound; idle keep-alive connections close at once.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const bound = new AbortController();
      await Promise.race([
        closed,
        delay(STOP_ANSWERS_MS, undefined, { signal: bound.signal }).catch(() => undefined),
      ]);
      bound.abort();
      server.closeAllConnections();
      await closed;
    }
    await this.options.store.close();
  }

  private apiHost() {
    return {
      core: this.core,
      events: this.events,
      nowMs: steadyEpochMs,
      commit: () => this.step(),
      info: () => ({
        name: 'agora-services',
        version: AGORA_VERSION,
        frameworkId: this.frameworkId,
        leader: new URL(this.url).host,
        elected: true,
        marathon_config: {
          master: this.options.master,
          failover_timeout: this.options.failoverTimeoutMs / 1000,
          mesos_role: this.options.role,
          framework_name: this.options.name,
        },
        http_config: { http_port: Number(new URL(this.url).port) },
        agora: {
          dns_port: this.dnsPort,
          domain: `${this.options.name}.${this.options.domain}`,
          placement: this.options.policy,
        },
      }),
      metrics: () => this.metrics(),
    };
  }

  private async follow(connection: SchedulerConnection): Promise<void> {
    try {
      for await (const event of connection.events()) await this.handle(event);
    } catch (error) {
      if (error instanceof SubscriptionError && !this.isStopped) {
        this.options.log.error({ reason: error.message }, 'the master ended the subscription');
        process.exitCode = 1;
      }
    }
  }

  private async handle(event: Event): Promise<void> {
    switch (event.type) {
      case 'OFFERS':
        await this.offers(event.offers.offers);
        return;
      case 'UPDATE': {
        const status = event.update.status;
        this.counters.updates += 1;
        const verdict = this.core.statusUpdate(
          {
            taskId: status.task_id.value,
            state: status.state,
            healthy: status.healthy,
            message: status.message,
            agentId: status.agent_id?.value,
          },
          steadyEpochMs(),
        );
        this.options.log.debug(
          {
            task_id: status.task_id.value,
            state: status.state,
            healthy: status.healthy,
            reason: status.reason,
            message: status.message,
            // The SDK acknowledges it as it hands it over: a copy seen later is a resend.
            uuid: status.uuid,
          },
          'task status',
        );
        if (verdict === 'kill')
          void this.connection?.kill(status.task_id, status.agent_id).catch(() => undefined);
        this.stepSoon();
        return;
      }
      case 'SUBSCRIBED':
        this.isSuppressed = false;
        await this.reconcile();
        return;
      case 'RESCIND':
      case 'HEARTBEAT':
        return;
      case 'ERROR':
        this.options.log.error(
          { message: event.error.message },
          'the master refused the framework',
        );
        return;
      default:
        return;
    }
  }

  private async offers(offers: readonly Offer[]): Promise<void> {
    this.counters.offers += offers.length;
    this.options.log.debug({ offers: offers.length }, 'offers');
    const connection = this.connection;
    if (connection === undefined) return;
    await this.step();
    const { launches, byOffer } = this.core.offers(offers.map(offerView), steadyEpochMs());
    if (launches.length > 0) await this.commitNow();
    const declined = offers.filter((o) => !byOffer.has(o.id.value)).map((o) => o.id);
    const calls: Promise<unknown>[] = [];
    for (const offer of offers) {
      const instances = byOffer.get(offer.id.value);
      if (instances === undefined) continue;
      const taskInfos = instances.flatMap((instance) => {
        const app = this.core.apps.get(instance.appId);
        return app === undefined ? [] : [taskInfoOf(app.def, instance, offer)];
      });
      const operations: OfferOperation[] = [{ type: 'LAUNCH', launch: { task_infos: taskInfos } }];
      this.counters.launched += taskInfos.length;
      for (const instance of instances)
        this.options.log.debug(
          { task_id: instance.id, app_id: instance.appId, agent_id: instance.agentId },
          'launching instance',
        );
      calls.push(
        connection.accept([offer.id], operations, { refuse_seconds: MISFIT_REFUSE_SECONDS }),
      );
    }
    if (declined.length > 0)
      calls.push(
        connection.decline(declined, {
          refuse_seconds: this.core.wantsOffers() ? MISFIT_REFUSE_SECONDS : IDLE_REFUSE_SECONDS,
        }),
      );
    // A lost ACCEPT shows up as TASK_DROPPED or in reconciliation; nothing to retry here.
    await Promise.allSettled(calls);
    await this.step();
  }

  /**
   * A step after the updates that arrived together: a burst of status updates
   * (a thousand instances starting) makes one tick and one store write, not one
   * per update, each over every instance.
   */
  private stepSoon(): void {
    if (this.isStepSoon) return;
    this.isStepSoon = true;
    setImmediate(() => {
      this.isStepSoon = false;
      void this.step();
    });
  }

  /** One turn of the loop: tick the core, persist, publish, kill, revive or suppress. Serialized. */
  private step(): Promise<void> {
    const next = this.committing.then(async () => {
      if (this.isStopped) return;
      const kills = this.core.tick(steadyEpochMs());
      this.readiness.run(this.core.readinessCandidates(), steadyEpochMs());
      await this.persist();
      for (const event of this.core.takeEvents()) this.events.publish(event);
      const connection = this.connection;
      if (connection === undefined) return;
      for (const instance of kills) {
        this.counters.killed += 1;
        this.options.log.debug(
          { task_id: instance.id, app_id: instance.appId },
          'killing instance',
        );
        void connection
          .kill({ value: instance.id } as never, { value: instance.agentId } as never)
          .catch(() => undefined);
      }
      const wants = this.core.wantsOffers();
      if (wants && this.isSuppressed) {
        this.isSuppressed = false;
        this.options.log.debug({}, 'reviving offers');
        await connection.revive().catch(() => undefined);
      } else if (!wants && !this.isSuppressed) {
        this.isSuppressed = true;
        this.options.log.debug({}, 'suppressing offers');
        await connection.suppress().catch(() => undefined);
      }
    });
    this.committing = next.catch((error: unknown) => {
      this.options.log.error({ reason: (error as Error).message }, 'services loop failed');
    });
    return next;
  }

  private commitNow(): Promise<void> {
    return this.persist();
  }

  private async persist(): Promise<void> {
    const dirty = this.core.takeDirty();
    if (dirty.size === 0) return;
    this.zone = undefined;
    const changes = [...dirty].map((key) => {
      const value = this.core.serialize(key);
      return value === undefined
        ? { kind: 'delete' as const, key }
        : { kind: 'put' as const, key, value };
    });
    try {
      await this.options.store.write(changes);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.options.log.error(
        { reason: failure.message },
        'the store failed: stopping, to start again from what it holds',
      );
      this.markStoreFailed(failure);
      throw new HttpError(503, {
        message: `the change could not be stored (${failure.message}); the services framework restarts from what it last stored: try again`,
      });
    }
  }

  private async reconcile(): Promise<void> {
    const tasks = [...this.core.instances.values()].map((i) => ({
      task_id: { value: i.id } as never,
      agent_id: { value: i.agentId } as never,
    }));
    // Explicit reconciliation of every stored instance; in slices, the master's calls are bounded.
    for (let i = 0; i < tasks.length; i += 1000)
      await this.connection?.reconcile(tasks.slice(i, i + 1000)).catch(() => undefined);
  }

  private currentZone(): Zone {
    this.zone ??= new Zone(
      `${this.options.name}.${this.options.domain}`,
      [...this.core.instances.values()].filter(isHealthy).map((i) => ({
        appLabel: dnsLabelOf(i.appId),
        id: i.id,
        ip: i.ip,
        ports: i.ports,
      })),
    );
    return this.zone;
  }

  private metrics(): string {
    const instances = [...this.core.instances.values()];
    const lines = [
      '# TYPE services_apps gauge',
      `services_apps ${this.core.apps.size}`,
      '# TYPE services_instances gauge',
      `services_instances ${instances.length}`,
      `services_instances_healthy ${instances.filter(isHealthy).length}`,
      '# TYPE services_deployments gauge',
      `services_deployments ${this.core.deployments.size}`,
      `services_deployments_stuck ${[...this.core.deployments.values()].filter((d) => d.stuck !== undefined).length}`,
      '# TYPE services_launched_total counter',
      `services_launched_total ${this.counters.launched}`,
      `services_killed_total ${this.counters.killed}`,
      `services_status_updates_total ${this.counters.updates}`,
      `services_offers_total ${this.counters.offers}`,
      `services_queue_waiting ${[...this.core.queue().values()].reduce((n, u) => n + u.count, 0)}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}
