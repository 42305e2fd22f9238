import type { Clock, Timer } from '../../runtime/index.js';

/** --allocation_batch_window's default: long enough to gather a burst, short enough to go unnoticed. */
export const DEFAULT_ALLOCATION_BATCH_WINDOW_MS = 5;

/**
 * When the allocator runs. Three triggers, all batched into as few cycles as
 * possible:
 * - someone asks for offers (a framework subscribes or revives, an agent
 *   joins): a cycle on the next turn of the event loop, as in Mesos, so a new
 *   framework is not kept waiting;
 * - resources come back (a task ended, an offer was declined) or an agent
 *   (re-)registers: a cycle once the batch window has passed since the first
 *   of them, so a thousand finished tasks make one cycle, not a thousand, and
 *   freed resources are offered again within milliseconds (#8, 3b; Mesos
 *   waits for the next interval, MESOS-3078). Agents coming back after a
 *   partition arrive spread by their registration jitter, one every
 *   millisecond or so: each asking for a cycle on the next tick made one cycle
 *   per agent (#15);
 * - every --allocation_interval regardless, as the backstop.
 * A cycle run for any reason satisfies every trigger pending at that moment.
 */
export class AllocationBatcher {
  private interval: Timer | undefined;
  private soon: Timer | undefined;
  private isStopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly run: () => void,
    private readonly batchWindowMs = DEFAULT_ALLOCATION_BATCH_WINDOW_MS,
  ) {}

  start(): void {
    this.schedule();
  }

  /** A cycle on the next tick: someone is waiting for offers. */
  runSoon(): void {
    this.arm(0);
  }

  /** Resources came back: a cycle within the batch window. */
  resourcesFreed(): void {
    this.arm(this.batchWindowMs);
  }

  /** An agent (re-)registered: its resources wait in the batch window like freed ones. */
  agentJoined(): void {
    this.arm(this.batchWindowMs);
  }

  stop(): void {
    this.isStopped = true;
    this.interval?.cancel();
    this.soon?.cancel();
  }

  /** Arms the early cycle for `ms` from now, unless one is armed that comes sooner. */
  private soonAtMs = Number.POSITIVE_INFINITY;
  private arm(ms: number): void {
    if (this.isStopped) return;
    const atMs = this.clock.monotonicMs() + ms;
    if (this.soon !== undefined && this.soonAtMs <= atMs) return;
    this.soon?.cancel();
    this.soonAtMs = atMs;
    this.soon = this.clock.setTimeout(() => this.cycle(), ms);
  }

  private schedule(): void {
    if (this.isStopped) return;
    this.interval?.cancel();
    this.interval = this.clock.setTimeout(() => this.cycle(), this.intervalMs);
  }

  /** One cycle; the next interval counts from here. */
  private cycle(): void {
    this.soon?.cancel();
    this.soon = undefined;
    this.soonAtMs = Number.POSITIVE_INFINITY;
    if (this.isStopped) return;
    this.run();
    this.schedule();
  }
}
