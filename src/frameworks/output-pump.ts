// Copies a task's sandbox file to a local stream while the task runs, through
// `/files/read`: the agent's own first (output keeps flowing while the master
// is away), else the master's relay `/master/agents/<id>/files/read` (an agent
// behind NAT cannot be reached, and the master reaches it over its own link).
// Once a source fails for want of a connection, the next is used from then on.
import type { Writable } from 'node:stream';
import { HttpStatusError, readFile } from '../sdk/index.js';

const OUTPUT_POLL_MIN_MS = 25;
const OUTPUT_POLL_MAX_MS = 500;
/** A read that takes longer is taken for a source out of reach (a SYN into NAT goes nowhere). */
const READ_TIMEOUT_MS = 5000;

/** Follows one sandbox file through `/files/read`, polling faster while it grows. */
export class OutputPump {
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private isFinished = false;
  private delayMs = OUTPUT_POLL_MIN_MS;
  /** The source in use: an index into `sources`. */
  private current = 0;

  /** `sources`: bases that serve `files/read`, in order of preference (agent, then master). */
  constructor(
    private readonly sources: readonly URL[],
    private readonly path: string,
    private readonly sink: Writable,
  ) {
    if (sources.length === 0) throw new Error('OutputPump needs a source');
  }

  start(): void {
    this.schedule();
  }

  async finish(): Promise<void> {
    if (this.isFinished) return;
    this.isFinished = true;
    clearTimeout(this.timer);
    await this.polling;
    // Drain: read until a read comes back empty.
    let hadData = true;
    while (hadData) hadData = await this.readOnce();
  }

  private schedule(): void {
    if (this.isFinished) return;
    this.timer = setTimeout(() => {
      this.polling = this.readOnce().then((hadData) => {
        this.delayMs = hadData
          ? OUTPUT_POLL_MIN_MS
          : Math.min(this.delayMs * 2, OUTPUT_POLL_MAX_MS);
        this.schedule();
      });
    }, this.delayMs);
  }

  /** Reads once; true if it copied anything. Missing files (not created yet) read as empty. */
  private async readOnce(): Promise<boolean> {
    for (;;) {
      const source = this.sources[this.current];
      if (source === undefined) return false;
      try {
        const chunk = await readFile(source, this.path, this.offset, {
          signal: AbortSignal.timeout(READ_TIMEOUT_MS),
        });
        if (chunk.data.length === 0) return false;
        this.offset += Buffer.byteLength(chunk.data, 'utf8');
        if (!this.sink.write(chunk.data))
          await new Promise((resolve) => this.sink.once('drain', resolve));
        return true;
      } catch (error) {
        // An answer (a file not created yet, 404; a busy master, 503) is retried at the
        // next poll from the same source; no answer at all moves on to the next source.
        const isAnswer = error instanceof HttpStatusError;
        if (isAnswer || this.current >= this.sources.length - 1) return false;
        this.current++;
      }
    }
  }
}
