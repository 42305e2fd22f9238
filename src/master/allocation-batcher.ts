import type { Clock, Timer } from '../runtime/index.js';

/**
 * When the allocator runs (#4): every --allocation_interval, and on events,
 * batched. Events that only give resources back (declines, finished tasks)
 * wait for the next interval, so a burst of them costs one cycle; events
 * where someone asks for offers (a framework subscribes or revives, an agent
 * joins) run a cycle on the next turn of the event loop, as Mesos does, so a
 * new framework is not kept waiting. Either way, several events arriving
 * together are one cycle.
 */
export class AllocationBatcher {
  private interval: Timer | undefined;
  private soon: Timer | undefined;
  private isStopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly run: () => void,
  ) {}

  start(): void {
    this.schedule();
  }

  /** A cycle on the next tick: someone is waiting for offers. */
  runSoon(): void {
    if (this.isStopped || this.soon !== undefined) return;
    this.soon = this.clock.setTimeout(() => this.cycle(), 0);
  }

  stop(): void {
    this.isStopped = true;
    this.interval?.cancel();
    this.soon?.cancel();
  }

  private schedule(): void {
    if (this.isStopped) return;
    this.interval?.cancel();
    this.interval = this.clock.setTimeout(() => this.cycle(), this.intervalMs);
  }

  /** One cycle; the next interval counts from here, so cycles are at least an interval apart unless asked. */
  private cycle(): void {
    this.soon?.cancel();
    this.soon = undefined;
    if (this.isStopped) return;
    this.run();
    this.schedule();
  }
}
