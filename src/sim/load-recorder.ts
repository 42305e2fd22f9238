// What a load run measured inside a time window, as seen from the simulated frameworks:
// ACCEPT → TASK_RUNNING and → TASK_FINISHED per task, TASK_FINISHED → the next offer of that task's agent,
// and offers received. Samples are kept only for events that end inside the window.
import { type WaitStats, waitStats } from './stats.js';

export interface LoadSummary {
  readonly windowMs: number;
  readonly offers: number;
  /** From just before the ACCEPT call was sent to the TASK_RUNNING update reaching its framework. */
  readonly acceptToRunning: WaitStats;
  /** From just before the ACCEPT call was sent to the TASK_FINISHED update reaching its framework. */
  readonly acceptToFinished: WaitStats;
  /**
   * From a TASK_FINISHED update reaching its framework to the first offer of the same agent
   * (to any framework) after it. Several tasks of an agent finishing before one offer each
   * give a sample.
   */
  readonly finishedToOffer: WaitStats;
  /** When the first ACCEPT of the run went out, and the last TASK_FINISHED arrived (window or not). */
  readonly firstAcceptAtMs: number | undefined;
  readonly lastFinishedAtMs: number | undefined;
  /** When the last TASK_RUNNING arrived (window or not). */
  readonly lastRunningAtMs: number | undefined;
}

/**
 * Shared by every framework of a run, so an offer to one framework answers a task finished
 * by another. Times are the frameworks' clock (performance.now() unless injected).
 */
export class LoadRecorder {
  private windowStartMs = Number.POSITIVE_INFINITY;
  private windowEndMs = Number.POSITIVE_INFINITY;
  private offerCount = 0;
  private readonly acceptToRunningMs: number[] = [];
  private readonly acceptToFinishedMs: number[] = [];
  private readonly finishedToOfferMs: number[] = [];
  /** Per agent id, when tasks finished that no offer of the agent has followed yet. */
  private readonly finishedAtMs = new Map<string, number[]>();
  private firstAcceptAtMs: number | undefined;
  private lastFinishedAtMs: number | undefined;
  private lastRunningAtMs: number | undefined;

  startWindow(nowMs: number): void {
    this.windowStartMs = nowMs;
    this.windowEndMs = Number.POSITIVE_INFINITY;
  }

  endWindow(nowMs: number): void {
    this.windowEndMs = nowMs;
  }

  isInWindow(nowMs: number): boolean {
    return nowMs >= this.windowStartMs && nowMs <= this.windowEndMs;
  }

  acceptSent(nowMs: number): void {
    this.firstAcceptAtMs ??= nowMs;
  }

  taskRunning(acceptedAtMs: number, nowMs: number): void {
    this.lastRunningAtMs = nowMs;
    if (this.isInWindow(nowMs)) this.acceptToRunningMs.push(nowMs - acceptedAtMs);
  }

  /** `acceptedAtMs` when the framework still knows when the task's ACCEPT went out. */
  taskFinished(agentIdValue: string, nowMs: number, acceptedAtMs?: number): void {
    this.lastFinishedAtMs = nowMs;
    if (acceptedAtMs !== undefined && this.isInWindow(nowMs))
      this.acceptToFinishedMs.push(nowMs - acceptedAtMs);
    const pending = this.finishedAtMs.get(agentIdValue);
    if (pending === undefined) this.finishedAtMs.set(agentIdValue, [nowMs]);
    else pending.push(nowMs);
  }

  offerReceived(agentIdValue: string, nowMs: number): void {
    const isInWindow = this.isInWindow(nowMs);
    if (isInWindow) this.offerCount++;
    const pending = this.finishedAtMs.get(agentIdValue);
    if (pending === undefined) return;
    this.finishedAtMs.delete(agentIdValue);
    if (isInWindow)
      for (const finishedAtMs of pending) this.finishedToOfferMs.push(nowMs - finishedAtMs);
  }

  summary(): LoadSummary {
    return {
      windowMs: Number.isFinite(this.windowEndMs) ? this.windowEndMs - this.windowStartMs : 0,
      offers: this.offerCount,
      acceptToRunning: waitStats(this.acceptToRunningMs),
      acceptToFinished: waitStats(this.acceptToFinishedMs),
      finishedToOffer: waitStats(this.finishedToOfferMs),
      firstAcceptAtMs: this.firstAcceptAtMs,
      lastFinishedAtMs: this.lastFinishedAtMs,
      lastRunningAtMs: this.lastRunningAtMs,
    };
  }
}
