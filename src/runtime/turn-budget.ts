// A FIFO of synchronous jobs run a time budget per event-loop turn. Node handles every
// request that is ready in one poll phase, and no timer runs until that phase ends: 10,000
// agents re-subscribing to a newly elected master within its registration backoff made one
// turn last 5 s, long enough for the coordinator session's keep-alive (a timer) to miss its
// deadline, and the leader lost its lease to the very storm it was serving (#10). Queued,
// the poll phase only reads bodies; the jobs run from setImmediate, at most `budgetMs` per
// turn, and between slices the timers and the I/O that waited get their turn.

/** One slice of jobs at most this long (the job that crosses it finishes). */
export const DEFAULT_TURN_BUDGET_MS = 20;

interface Job {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export interface TurnBudgetOptions {
  readonly budgetMs?: number;
  readonly now?: () => number;
}

export class TurnBudget {
  private jobs: (Job | undefined)[] = [];
  private head = 0;
  private isScheduled = false;
  private readonly budgetMs: number;
  private readonly now: () => number;
  private slices = 0;

  constructor(options: TurnBudgetOptions = {}) {
    this.budgetMs = options.budgetMs ?? DEFAULT_TURN_BUDGET_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Runs `job` after every job queued before it, in a later turn; resolves with what it
   * returns (a promise it returns is followed), rejects with what it throws.
   */
  run<T>(job: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ run: job, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Jobs waiting. */
  get queued(): number {
    return this.jobs.length - this.head;
  }

  /** Slices run so far (turns that ran jobs): for tests and logs. */
  get sliceCount(): number {
    return this.slices;
  }

  private schedule(): void {
    if (this.isScheduled) return;
    this.isScheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.isScheduled = false;
    this.slices++;
    const started = this.now();
    while (this.head < this.jobs.length) {
      const job = this.jobs[this.head];
      this.jobs[this.head] = undefined;
      this.head++;
      if (job !== undefined) {
        try {
          job.resolve(job.run());
        } catch (error) {
          job.reject(error);
        }
      }
      if (this.now() - started >= this.budgetMs) break;
    }
    if (this.head >= this.jobs.length) {
      this.jobs = [];
      this.head = 0;
    } else {
      // Compact now and then so a long storm does not keep every finished slot.
      if (this.head > 1024 && this.head * 2 > this.jobs.length) {
        this.jobs = this.jobs.slice(this.head);
        this.head = 0;
      }
      this.schedule();
    }
  }
}
