// The per-agent and per-task gauges of /metrics/snapshot for a large master.
// Walking 10,000 agents and 100,000 tasks costs 50-300 ms of one core, and the
// snapshot is what health checks and failover tooling poll for `master/elected`:
// a newly elected leader busy with thousands of re-registrations answered that
// poll seconds late, and each poll made it busier (#10). Above SYNC_WALK_LIMIT
// a read is answered from the last complete walk, and a read that finds it
// older than maxAgeMs starts the next one, walked in slices of at most sliceMs
// between which the master's other work runs. Below the limit every read walks
// now (under a few ms), so small clusters and the tests see exact gauges.
import type { Clock } from '../runtime/index.js';
import { runToEnd, type WalkedGauges } from './core/snapshot.js';

/** Tasks plus agents up to which a read walks at once (about 1-5 ms on this hardware). */
export const SYNC_WALK_LIMIT = 5_000;

export interface GaugeCacheOptions {
  readonly clock: Clock;
  /** A fresh walk of the books. */
  readonly walk: () => Generator<void, WalkedGauges, void>;
  /** How many tasks and agents a walk would visit now (cheap). */
  readonly size: () => number;
  /** How old the served walk may be before a read starts the next one. */
  readonly maxAgeMs?: number;
  /** The longest one slice of a background walk holds the event loop. */
  readonly sliceMs?: number;
}

export class GaugeCache {
  private last: { readonly gauges: WalkedGauges; readonly atMs: number } | undefined;
  private isWalking = false;
  private isStopped = false;
  private readonly maxAgeMs: number;
  private readonly sliceMs: number;

  constructor(private readonly options: GaugeCacheOptions) {
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.sliceMs = options.sliceMs ?? 2;
  }

  /** The gauges to serve now: exact when the books are small, else at most a walk old. */
  read(): WalkedGauges {
    if (this.options.size() <= SYNC_WALK_LIMIT) {
      this.last = undefined;
      return runToEnd(this.options.walk());
    }
    const nowMs = this.options.clock.now();
    if (this.last === undefined) {
      // The first read of a large master pays one whole walk; the later ones never do.
      const gauges = runToEnd(this.options.walk());
      this.last = { gauges, atMs: nowMs };
      return gauges;
    }
    if (nowMs - this.last.atMs > this.maxAgeMs) this.walkInSlices(nowMs);
    return this.last.gauges;
  }

  /** Abandons a walk under way. Idempotent. */
  stop(): void {
    this.isStopped = true;
  }

  private walkInSlices(startedAtMs: number): void {
    if (this.isWalking || this.isStopped) return;
    this.isWalking = true;
    const walk = this.options.walk();
    const slice = (): void => {
      if (this.isStopped) {
        this.isWalking = false;
        return;
      }
      const until = performance.now() + this.sliceMs;
      for (;;) {
        const step = walk.next();
        if (step.done === true) {
          this.last = { gauges: step.value, atMs: startedAtMs };
          this.isWalking = false;
          return;
        }
        if (performance.now() >= until) break;
      }
      setImmediate(slice);
    };
    setImmediate(slice);
  }
}
