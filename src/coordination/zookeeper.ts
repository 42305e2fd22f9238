// Leader election through ZooKeeper with Mesos' znode layout (WIRE §8): each
// master creates an ephemeral sequential `<path>/json.info_<seq>` holding its
// MasterInfo JSON; the lowest sequence leads. Clients find the leader the same way.
import zookeeper from 'node-zookeeper-client';
import type { MasterInfo } from '../wire/index.js';
import type { Candidacy, Coordinator } from './coordinator.js';
import { candidates, leaderNode } from './election.js';
import { masterInfoJson, parseMasterInfo } from './master-info.js';
import type { CoordinatorUrl } from './url.js';

type ZkUrl = Extract<CoordinatorUrl, { kind: 'zookeeper' }>;
export type ZooKeeperClient = zookeeper.Client;
type ZkCallback<T> = (error: Error | zookeeper.Exception | null, result: T) => void;

/** A client call as a promise; a ZooKeeper Exception becomes an Error naming its code. */
export function zkCall<T>(run: (done: ZkCallback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    run((error, result) =>
      error
        ? reject(
            error instanceof Error ? error : new ZooKeeperError(error.getCode(), error.toString()),
          )
        : resolve(result),
    ),
  );
}

export class ZooKeeperError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ZooKeeperCoordinatorOptions {
  readonly url: ZkUrl;
  readonly sessionTimeoutMs: number;
  /** How long connect() waits for a first session. */
  readonly connectTimeoutMs?: number;
  readonly onLog?: (event: string, detail: Record<string, unknown>) => void;
}

export class ZooKeeperCoordinator implements Coordinator {
  readonly kind = 'zookeeper';
  readonly client: ZooKeeperClient;
  private readonly lost = new AbortController();
  private readonly watchers = new Set<(leader: MasterInfo | undefined) => void>();
  private readonly electedWaiters = new Map<string, () => void>();
  private current: MasterInfo | undefined;
  private hasCurrent = false;
  private isClosed = false;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private isWatching = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: ZooKeeperCoordinatorOptions) {
    this.client = zookeeper.createClient(options.url.servers, {
      sessionTimeout: options.sessionTimeoutMs,
      spinDelay: 200,
      retries: 0,
    });
    if (options.url.credentials !== undefined) {
      const { user, password } = options.url.credentials;
      this.client.addAuthInfo('digest', Buffer.from(`${user}:${password}`));
    }
    // A disconnected client cannot know whether its session still lives; past the
    // session timeout it must assume not (another master may lead by now).
    this.client.on('disconnected', () => {
      if (this.isClosed || this.disconnectTimer !== undefined) return;
      this.log('disconnected', {});
      this.disconnectTimer = setTimeout(
        () => this.loseSession('disconnected past the session timeout'),
        options.sessionTimeoutMs,
      );
      this.disconnectTimer.unref();
    });
    this.client.on('connected', () => {
      clearTimeout(this.disconnectTimer);
      this.disconnectTimer = undefined;
    });
    this.client.on('expired', () => this.loseSession('session expired'));
  }

  get sessionLost(): AbortSignal {
    return this.lost.signal;
  }

  async connect(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? this.options.sessionTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`no ZooKeeper session with ${this.options.url.servers} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.connect();
    });
    await this.call<string>((done) => this.client.mkdirp(this.options.url.path, this.acl(), done));
  }

  watchLeader(onLeader: (leader: MasterInfo | undefined) => void): () => void {
    this.watchers.add(onLeader);
    if (this.hasCurrent) onLeader(this.current);
    if (!this.isWatching) {
      this.isWatching = true;
      this.readChildren();
    }
    return () => this.watchers.delete(onLeader);
  }

  async contend(info: MasterInfo): Promise<Candidacy> {
    const created = await this.call<string>((done) =>
      this.client.create(
        `${this.options.url.path}/json.info_`,
        Buffer.from(masterInfoJson(info)),
        this.acl(),
        zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
        done,
      ),
    );
    const name = created.slice(created.lastIndexOf('/') + 1);
    this.log('contending', { node: created });
    const elected = new Promise<void>((resolve) => this.electedWaiters.set(name, resolve));
    if (!this.isWatching) {
      this.isWatching = true;
      this.readChildren();
    } else this.readChildren();
    return { elected, fence: created, stillLeads: () => this.owns(created) };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.isClosed = true;
      clearTimeout(this.disconnectTimer);
      this.watchers.clear();
      this.client.close();
    })();
    return this.closing;
  }

  // ------------------------------------------------------------------ internals

  /**
   * Whether `node` still exists as an ephemeral node of this session. The server
   * answers only a live session (an expired one gets SESSION_EXPIRED, and the
   * client then says 'expired'), and the node lives exactly as long as the
   * session: there, no lower node can have appeared since this master led.
   */
  private async owns(node: string): Promise<boolean> {
    if (this.lost.signal.aborted || this.isClosed) return false;
    const stat = await this.call<zookeeper.Stat | null>((done) => this.client.exists(node, done));
    if (stat === null || stat === undefined) return false;
    const owner: unknown = stat.ephemeralOwner;
    return Buffer.isBuffer(owner) && owner.equals(this.client.getSessionId());
  }

  private loseSession(reason: string): void {
    if (this.lost.signal.aborted || this.isClosed) return;
    this.log('session lost', { reason });
    this.lost.abort(new Error(`ZooKeeper ${reason}`));
    this.publish(undefined);
  }

  /** Lists the election path with a watch; every change lists it again. */
  private readChildren(): void {
    if (this.isClosed || this.lost.signal.aborted) return;
    this.client.getChildren(
      this.options.url.path,
      () => this.readChildren(),
      (error, children) => {
        if (error !== null && error !== undefined) {
          this.log('listing the election path failed', { err: String(error) });
          // The watch is not set when the call failed: try again shortly.
          setTimeout(() => this.readChildren(), 500).unref();
          return;
        }
        void this.settle(children);
      },
    );
  }

  private async settle(children: string[]): Promise<void> {
    const leader = leaderNode(children);
    for (const [name, resolve] of this.electedWaiters)
      if (leader?.name === name) {
        this.electedWaiters.delete(name);
        this.log('elected', { node: name });
        resolve();
      }
    // Mesos' detectors read the lowest JSON node; legacy nodes are skipped here.
    const jsonLeader = candidates(children).find((node) => node.format === 'json');
    if (jsonLeader === undefined) return this.publish(undefined);
    try {
      const data = await this.call<Buffer>((done) =>
        this.client.getData(`${this.options.url.path}/${jsonLeader.name}`, done),
      );
      this.publish(parseMasterInfo(data));
    } catch {
      // Gone between the listing and the read: the watch lists again.
    }
  }

  private publish(leader: MasterInfo | undefined): void {
    if (this.hasCurrent && this.current?.id === leader?.id) return;
    this.hasCurrent = true;
    this.current = leader;
    for (const watcher of [...this.watchers]) watcher(leader);
  }

  private acl(): zookeeper.ACL[] {
    // With credentials: everyone reads, the creator does all (WIRE §8); else open.
    return this.options.url.credentials !== undefined
      ? [
          new zookeeper.ACL(zookeeper.Permission.READ, new zookeeper.Id('world', 'anyone')),
          new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('auth', '')),
        ]
      : [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];
  }

  private call<T>(run: (done: ZkCallback<T>) => void): Promise<T> {
    return zkCall(run);
  }

  private log(event: string, detail: Record<string, unknown>): void {
    this.options.onLog?.(event, detail);
  }
}
