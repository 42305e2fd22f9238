// dockerd's `die` events for the agent's containers: a container's exit code as soon as dockerd
// has it. Why not the wait alone: dockerd 20.10 answers a wait only once it lets go of the
// container after the exit, that is after unmounting its root filesystem and releasing its
// network (its Cleanup), and it sends `die`, with the exit code, before that: 20-70 ms earlier
// under load here (bench/docker-steps.ts), time on the way to the terminal status update. The
// wait stays beside it and whichever answers first wins, so a missed event (the stream not yet
// open, dropped, dockerd restarting) costs only that time, never the exit.
import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';

/** The part of an event line read here. */
interface DieEvent {
  readonly Action?: string;
  readonly Actor?: { readonly Attributes?: Readonly<Record<string, string>> };
}

export class DieEvents {
  private stream: IncomingMessage | undefined;
  private opening: Promise<IncomingMessage> | undefined;
  private isClosed = false;
  /** Containers whose next `die` someone waits for, by name. */
  private readonly waiting = new Map<string, (exitCode: number) => void>();

  /** `open` asks dockerd for the stream of `die` events of this agent's containers. */
  constructor(private readonly open: () => Promise<IncomingMessage>) {}

  /** Opens the stream if it is not open: before a launch, so that it is open by the exit. */
  ensureOpen(): void {
    if (this.isClosed || this.stream !== undefined || this.opening !== undefined) return;
    const opening = this.open();
    this.opening = opening;
    opening.then(
      (stream) => {
        this.opening = undefined;
        if (this.isClosed) {
          stream.destroy();
          return;
        }
        this.stream = stream;
        // Following events must not keep a stopping agent alive.
        stream.socket?.unref();
        const drop = () => {
          if (this.stream === stream) this.stream = undefined;
        };
        stream.on('error', drop).on('close', drop);
        createInterface({ input: stream })
          .on('error', drop)
          .on('line', (line) => this.onLine(line));
      },
      () => {
        // No events (an old or a busy daemon): the waits alone tell the exits.
        this.opening = undefined;
      },
    );
  }

  /**
   * The exit code of the next `die` of the container `name` seen on the stream; it never
   * settles if none is seen. forget() ends the interest.
   */
  next(name: string): Promise<number> {
    this.ensureOpen();
    return new Promise<number>((resolve) => {
      this.waiting.set(name, (exitCode) => {
        this.waiting.delete(name);
        resolve(exitCode);
      });
    });
  }

  forget(name: string): void {
    this.waiting.delete(name);
  }

  close(): void {
    this.isClosed = true;
    this.stream?.destroy();
    this.stream = undefined;
    this.waiting.clear();
  }

  private onLine(line: string): void {
    let event: DieEvent;
    try {
      event = JSON.parse(line) as DieEvent;
    } catch {
      return;
    }
    if (event.Action !== 'die') return;
    const name = event.Actor?.Attributes?.name;
    const exitCode = Number(event.Actor?.Attributes?.exitCode);
    if (name === undefined || !Number.isInteger(exitCode)) return;
    this.waiting.get(name)?.(exitCode);
  }
}
