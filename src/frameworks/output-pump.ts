// Copies a task's sandbox file to a local stream while the task runs, through
// the agent's `/files/read`. It talks to the agent, not the master, so output
// keeps flowing while the master is away.
import type { Writable } from 'node:stream';
import { readFile } from '../sdk/index.js';

const OUTPUT_POLL_MIN_MS = 25;
const OUTPUT_POLL_MAX_MS = 500;

/** Follows one sandbox file through `/files/read`, polling faster while it grows. */
export class OutputPump {
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private isFinished = false;
  private delayMs = OUTPUT_POLL_MIN_MS;

  constructor(
    private readonly agent: URL,
    private readonly path: string,
    private readonly sink: Writable,
  ) {}

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
    try {
      const chunk = await readFile(this.agent, this.path, this.offset);
      if (chunk.data.length === 0) return false;
      this.offset += Buffer.byteLength(chunk.data, 'utf8');
      if (!this.sink.write(chunk.data))
        await new Promise((resolve) => this.sink.once('drain', resolve));
      return true;
    } catch {
      // A file not created yet (404) or an agent briefly unreachable: the next poll retries.
      return false;
    }
  }
}
