// A hashed timing wheel: one Node timer drives every simulated task's end and every
// status-update retry, instead of one setTimeout each. At 10,000 simulated agents with
// 100,000 tasks, per-task timers would cost the simulator more than the master it measures.
import assert from 'node:assert';

/** A scheduled callback; cancel() is idempotent and safe after it ran. */
export interface WheelTimer {
  cancel(): void;
}

interface Entry extends WheelTimer {
  readonly tick: number;
  readonly run: () => void;
  isCancelled: boolean;
}

/**
 * Callbacks bucketed by tick (`tickMs` wide) in `slotCount` slots; a callback due
 * beyond one turn of the wheel stays in its slot and is skipped until its turn.
 * Pure: time goes in through advance(), so a test drives it without a clock.
 */
export class TimingWheel {
  private readonly slots: Entry[][];
  /** The last tick advance() has run; callbacks are due at ticks after it. */
  private tick: number;
  private size = 0;

  constructor(
    readonly tickMs: number,
    startMs: number,
    private readonly slotCount = 1024,
  ) {
    assert(tickMs > 0 && Number.isInteger(slotCount) && slotCount > 0, 'bad wheel shape');
    this.slots = Array.from({ length: slotCount }, () => []);
    this.tick = Math.floor(startMs / tickMs);
  }

  /** Callbacks scheduled and neither run nor cancelled. */
  get pending(): number {
    return this.size;
  }

  /**
   * Runs `run` at the first advance() that reaches the tick holding `atMs`: up to one
   * tick early, never during this call (a time already past runs at the next tick).
   */
  schedule(atMs: number, run: () => void): WheelTimer {
    const tick = Math.max(Math.floor(atMs / this.tickMs), this.tick + 1);
    const entry: Entry = {
      tick,
      run,
      isCancelled: false,
      cancel: () => {
        if (entry.isCancelled) return;
        entry.isCancelled = true;
        this.size--;
      },
    };
    this.slotOf(tick).push(entry);
    this.size++;
    return entry;
  }

  /** Runs, in order of ticks, every callback due at or before `nowMs`. Returns how many ran. */
  advance(nowMs: number): number {
    const target = Math.floor(nowMs / this.tickMs);
    let ran = 0;
    // A long stall (a paused process) need not visit each tick: one turn visits every slot.
    const first = Math.max(this.tick + 1, target - this.slotCount + 1);
    for (let tick = first; tick <= target && this.size > 0; tick++) {
      // Set first: a callback that schedules another for "now" puts it in the next tick.
      this.tick = tick;
      const slot = this.slotOf(tick);
      if (slot.length === 0) continue;
      const due: Entry[] = [];
      const later: Entry[] = [];
      for (const entry of slot) {
        if (entry.isCancelled) continue;
        (entry.tick <= target ? due : later).push(entry);
      }
      this.slots[this.indexOf(tick)] = later;
      for (const entry of due) {
        // A callback may cancel one that is due in the same tick.
        if (entry.isCancelled) continue;
        entry.isCancelled = true;
        this.size--;
        ran++;
        entry.run();
      }
    }
    this.tick = Math.max(this.tick, target);
    return ran;
  }

  /** Forgets every callback. */
  clear(): void {
    for (const slot of this.slots)
      for (const entry of slot) if (!entry.isCancelled) entry.isCancelled = true;
    for (let i = 0; i < this.slots.length; i++) this.slots[i] = [];
    this.size = 0;
  }

  private indexOf(tick: number): number {
    return ((tick % this.slotCount) + this.slotCount) % this.slotCount;
  }

  private slotOf(tick: number): Entry[] {
    const slot = this.slots[this.indexOf(tick)];
    assert(slot !== undefined, 'slot index out of range');
    return slot;
  }
}

/** Turns a wheel with one interval timer of its tick. stop() is idempotent. */
export class WheelDriver {
  private interval: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly wheel: TimingWheel,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    this.interval ??= setInterval(() => this.wheel.advance(this.now()), this.wheel.tickMs);
  }

  stop(): void {
    clearInterval(this.interval);
    this.interval = undefined;
  }
}
