// Follows the leading master through the coordinator for as long as a client
// runs, as Mesos' agents and scheduler drivers do with their MasterDetector:
// one session, one watch, and a call for every change of leader. A client that
// only looked the leader up when its connection broke would not notice a
// leader that is paused (its connections stay open) until heartbeats stop, and
// while a new leader is being elected it would back off further with each
// failed attempt. With the detector it moves as soon as the election says so.
import type { MasterInfo } from '../wire/index.js';
import type { Coordinator } from './coordinator.js';
import { DEFAULT_SESSION_TIMEOUT_MS } from './coordinator.js';
import { makeCoordinator } from './detect.js';
import { masterUrl } from './master-info.js';

/** Waits between attempts to (re)open a session with an unreachable coordinator. */
const RECONNECT_INITIAL_MS = 250;
const RECONNECT_MAX_MS = 5000;
/** How long leader() waits for one by default. */
const DEFAULT_LEADER_TIMEOUT_MS = 15_000;

export interface MasterDetectorOptions {
  readonly sessionTimeoutMs?: number;
  readonly onLog?: (event: string, detail: Record<string, unknown>) => void;
}

export class MasterDetector {
  private current: MasterInfo | undefined;
  private readonly listeners = new Set<(leader: MasterInfo | undefined) => void>();
  private readonly closing = new AbortController();
  private readonly loop: Promise<void>;

  /** Starts following the leader of `address` (zk://… or etcd://…) at once. */
  constructor(
    private readonly address: string,
    private readonly options: MasterDetectorOptions = {},
  ) {
    this.loop = this.run();
  }

  /** The leading master now, waiting up to `timeoutMs` for one to be elected. */
  leader(options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}) {
    const current = this.current;
    if (current !== undefined) return Promise.resolve(masterUrl(current));
    const timeoutMs = options.timeoutMs ?? DEFAULT_LEADER_TIMEOUT_MS;
    return new Promise<URL>((resolve, reject) => {
      const done = (outcome: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        options.signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const listener = (leader: MasterInfo | undefined) => {
        if (leader !== undefined) done(() => resolve(masterUrl(leader)));
      };
      const onAbort = () => done(() => reject(options.signal?.reason));
      const timer = setTimeout(
        () => done(() => reject(new Error(`no leading master elected within ${timeoutMs} ms`))),
        timeoutMs,
      );
      this.listeners.add(listener);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.closing.signal.aborted) onAbort();
    });
  }

  /** Calls `listener` with each new leader (undefined: none known). Returns the unsubscribe. */
  onChange(listener: (leader: URL | undefined) => void): () => void {
    const wrapped = (leader: MasterInfo | undefined) =>
      listener(leader === undefined ? undefined : masterUrl(leader));
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  /** Ends the session and the watch. Idempotent. */
  async close(): Promise<void> {
    this.closing.abort(new Error('detector closed'));
    await this.loop;
  }

  private set(leader: MasterInfo | undefined): void {
    if (this.current?.id === leader?.id) return;
    this.current = leader;
    for (const listener of [...this.listeners]) listener(leader);
  }

  /** One session after another: a lost session (the coordinator was down) is replaced. */
  private async run(): Promise<void> {
    const closing = this.closing.signal;
    let backoffMs = RECONNECT_INITIAL_MS;
    while (!closing.aborted) {
      const coordinator: Coordinator = makeCoordinator(
        this.address,
        this.options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      );
      try {
        await coordinator.connect();
        backoffMs = RECONNECT_INITIAL_MS;
        coordinator.watchLeader((leader) => this.set(leader));
        await untilAborted([coordinator.sessionLost, closing]);
        if (!closing.aborted)
          this.log('session lost', { err: (coordinator.sessionLost.reason as Error)?.message });
      } catch (error) {
        this.log('cannot reach the coordinator', { err: (error as Error).message });
      } finally {
        await coordinator.close().catch(() => undefined);
      }
      if (closing.aborted) break;
      // Whoever led may be gone by the time a session is back: say none is known.
      this.set(undefined);
      await untilAborted([closing, AbortSignal.timeout(backoffMs)]);
      backoffMs = Math.min(backoffMs * 2, RECONNECT_MAX_MS);
    }
  }

  private log(event: string, detail: Record<string, unknown>): void {
    this.options.onLog?.(event, { coordinator: this.address, ...detail });
  }
}

/** Resolves once any of `signals` aborts. */
function untilAborted(signals: readonly AbortSignal[]): Promise<void> {
  const any = AbortSignal.any([...signals]);
  if (any.aborted) return Promise.resolve();
  return new Promise((resolve) => any.addEventListener('abort', () => resolve(), { once: true }));
}
