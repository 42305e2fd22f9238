// Leader election through etcd: each master holds a lease (its session, kept
// alive while it runs) and puts `<path>/election/<lease id>` = its MasterInfo
// JSON under it; the key with the lowest create revision leads. A lease that
// expires takes the key with it, so a paused or dead leader is replaced after
// the TTL, and its fenced registry writes fail (their key no longer exists).
import { Etcd3, type Lease, type Watcher } from 'etcd3';
import type { MasterInfo } from '../wire/index.js';
import type { Candidacy, Coordinator } from './coordinator.js';
import { masterInfoJson, parseMasterInfo } from './master-info.js';
import type { CoordinatorUrl } from './url.js';

type EtcdUrl = Extract<CoordinatorUrl, { kind: 'etcd' }>;

export interface EtcdCoordinatorOptions {
  readonly url: EtcdUrl;
  readonly sessionTimeoutMs: number;
  readonly connectTimeoutMs?: number;
  readonly onLog?: (event: string, detail: Record<string, unknown>) => void;
}

export class EtcdCoordinator implements Coordinator {
  readonly kind = 'etcd';
  readonly client: Etcd3;
  private readonly lost = new AbortController();
  private readonly watchers = new Set<(leader: MasterInfo | undefined) => void>();
  private readonly electedWaiters = new Map<string, () => void>();
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private watcher: Promise<Watcher> | undefined;
  private current: MasterInfo | undefined;
  private hasCurrent = false;
  private isClosed = false;
  private closing: Promise<void> | undefined;
  private readonly prefix: string;

  constructor(private readonly options: EtcdCoordinatorOptions) {
    this.client = new Etcd3({
      hosts: [...options.url.endpoints],
      dialTimeout: options.connectTimeoutMs ?? options.sessionTimeoutMs,
    });
    this.prefix = `${options.url.path}/election/`;
  }

  get sessionLost(): AbortSignal {
    return this.lost.signal;
  }

  async connect(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? this.options.sessionTimeoutMs;
    // The lease is the session: etcd drops it (and the election key) one TTL
    // after the last keep-alive.
    const ttlSeconds = Math.max(2, Math.ceil(this.options.sessionTimeoutMs / 1000));
    const lease = this.client.lease(ttlSeconds);
    this.lease = lease;
    lease.on('lost', (error) => this.loseSession(`lease lost: ${error.message}`));
    let timer: NodeJS.Timeout | undefined;
    try {
      this.leaseId = await Promise.race([
        lease.grant(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `no etcd lease from ${this.options.url.endpoints.join(',')} within ${timeoutMs} ms`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  watchLeader(onLeader: (leader: MasterInfo | undefined) => void): () => void {
    this.watchers.add(onLeader);
    if (this.hasCurrent) onLeader(this.current);
    this.startWatching();
    return () => this.watchers.delete(onLeader);
  }

  async contend(info: MasterInfo): Promise<Candidacy> {
    const leaseId = this.leaseId;
    if (leaseId === undefined) throw new Error('connect() first');
    const key = `${this.prefix}${BigInt(leaseId).toString(16)}`;
    await this.client.put(key).value(masterInfoJson(info)).lease(leaseId).exec();
    this.log('contending', { key });
    const elected = new Promise<void>((resolve) => this.electedWaiters.set(key, resolve));
    this.startWatching();
    void this.refresh();
    return { elected, fence: key, stillLeads: () => this.holds(key, leaseId) };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.isClosed = true;
      this.watchers.clear();
      const watcher = await this.watcher?.catch(() => undefined);
      await watcher?.cancel().catch(() => undefined);
      // Revoking deletes our election key at once: the next master need not wait a TTL.
      await this.lease?.revoke().catch(() => undefined);
      this.client.close();
    })();
    return this.closing;
  }

  /**
   * Whether `key` is still there on this lease, renewing the lease on the way:
   * a key lives exactly as long as its lease, and only this master puts it, so
   * the lowest create revision is still this master's.
   */
  private async holds(key: string, leaseId: string): Promise<boolean> {
    const lease = this.lease;
    if (lease === undefined || this.lost.signal.aborted || this.isClosed) return false;
    // Rejects (and emits 'lost') when etcd says the lease expired.
    await lease.keepaliveOnce();
    const response = await this.client.get(key).exec();
    const kv = response.kvs[0];
    return kv !== undefined && kv.lease === leaseId;
  }

  private startWatching(): void {
    if (this.watcher !== undefined) return;
    this.watcher = this.client.watch().prefix(this.prefix).create();
    void this.watcher.then(
      (watcher) => {
        watcher.on('put', () => void this.refresh());
        watcher.on('delete', () => void this.refresh());
        watcher.on('connected', () => void this.refresh());
      },
      (error: Error) => this.log('watch failed', { err: error.message }),
    );
    void this.refresh();
  }

  /** Reads the leading key: the lowest create revision under the election prefix. */
  private async refresh(): Promise<void> {
    if (this.isClosed) return;
    try {
      const response = await this.client
        .getAll()
        .prefix(this.prefix)
        .sort('Create', 'Ascend')
        .limit(1)
        .exec();
      const first = response.kvs[0];
      const key = first?.key.toString();
      for (const [mine, resolve] of this.electedWaiters)
        if (key === mine && !this.lost.signal.aborted) {
          this.electedWaiters.delete(mine);
          this.log('elected', { key });
          resolve();
        }
      this.publish(first === undefined ? undefined : parseMasterInfo(first.value));
    } catch (error) {
      this.log('reading the election failed', { err: (error as Error).message });
    }
  }

  private publish(leader: MasterInfo | undefined): void {
    if (this.hasCurrent && this.current?.id === leader?.id) return;
    this.hasCurrent = true;
    this.current = leader;
    for (const watcher of [...this.watchers]) watcher(leader);
  }

  private loseSession(reason: string): void {
    if (this.lost.signal.aborted || this.isClosed) return;
    this.log('session lost', { reason });
    this.lost.abort(new Error(`etcd ${reason}`));
    this.publish(undefined);
  }

  private log(event: string, detail: Record<string, unknown>): void {
    this.options.onLog?.(event, detail);
  }
}
