// --agent_removal_rate_limit: how fast agents that failed their health checks
// may be marked unreachable (Mesos' slave removal RateLimiter). The first
// removal goes at once; each one after waits until `durationMs / permits`
// has passed since the last, in the order they were asked for. A request can
// be withdrawn while it waits (the agent answered a PING, or re-registered),
// and then the next in line takes its turn. The point: when a network
// partition cuts off many agents at once, their tasks are reported lost a
// few at a time, not all at once (docs/configuration/master.md).
import type { Clock } from '../../runtime/index.js';
import type { Timers } from './timers.js';

/** `1/10mins`: at most `permits` removals per `durationMs`. */
export interface RemovalRate {
  readonly permits: number;
  readonly durationMs: number;
}

const TIMER = 'agent-removal-limiter';

export class RemovalLimiter {
  private readonly waiting: { readonly key: string; readonly grant: () => void }[] = [];
  private nextGrantAtMs = Number.NEGATIVE_INFINITY;

  /** Without a rate, every request is granted at once. */
  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly rate: RemovalRate | undefined,
  ) {}

  /**
   * Runs `grant` now if the rate allows, else once its turn comes. A key
   * already waiting keeps its place (the request is not queued twice).
   */
  acquire(key: string, grant: () => void): void {
    if (this.rate === undefined) {
      grant();
      return;
    }
    if (this.waiting.some((w) => w.key === key)) return;
    if (this.waiting.length === 0 && this.clock.monotonicMs() >= this.nextGrantAtMs) {
      this.granted();
      grant();
      return;
    }
    this.waiting.push({ key, grant });
    this.schedule();
  }

  /** Withdraws a waiting request. Returns whether one was waiting. */
  cancel(key: string): boolean {
    // Every agent's (re-)registration asks; almost always nothing waits.
    if (this.waiting.length === 0) return false;
    const i = this.waiting.findIndex((w) => w.key === key);
    if (i === -1) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  isWaiting(key: string): boolean {
    return this.waiting.length > 0 && this.waiting.some((w) => w.key === key);
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  private granted(): void {
    const rate = this.rate;
    if (rate !== undefined)
      this.nextGrantAtMs = this.clock.monotonicMs() + rate.durationMs / rate.permits;
  }

  private schedule(): void {
    if (this.timers.has(TIMER)) return;
    this.timers.arm(TIMER, Math.max(0, this.nextGrantAtMs - this.clock.monotonicMs()), () => {
      const next = this.waiting.shift();
      if (next === undefined) return;
      this.granted();
      next.grant();
      if (this.waiting.length > 0) this.schedule();
    });
  }
}
