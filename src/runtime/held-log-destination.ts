// Where a daemon's log lines wait before their write(2): held for a few milliseconds and written
// together, as glog holds Mesos' INFO lines (--logbufsecs, --logbuflevel).
import { pino } from 'pino';

/**
 * How long an info line may wait for the lines after it. A newly elected master logs a line
 * per re-registering agent, 10,000 within seconds, and lines written once per loop round still
 * went out one write(2) each whenever a round handled one agent (#10): held this long, a storm
 * is a few hundred writes. Short enough that someone tailing the log sees it as live.
 */
export const LOG_HOLD_MS = 20;

/** Lines held past this many characters are written at once, without waiting. */
export const LOG_FLUSH_CHARS = 64 * 1024;

/**
 * pino's level number for `error`: this and above are written at once, with what was held.
 * Warnings are held as info is: a master whose 10,000 agents lose their link logs a warning
 * for each, and a crash writes what is held anyway (see HeldLogDestination).
 */
const WRITTEN_AT_ONCE_LEVEL = 50;

/** Every held destination, written out when the process exits. */
const held = new Set<HeldLogDestination>();

/** Writes every line still held, synchronously: at exit, or for a caller that needs the log whole now. */
export function flushLogs(): void {
  for (const destination of held) destination.flush();
}

/** What lines are written to: a synchronous pino destination (stdout or a file), or a test's. */
export interface LogTarget {
  write(text: string): unknown;
}

/**
 * A pino destination that holds lines up to LOG_HOLD_MS (or LOG_FLUSH_CHARS) and writes them in
 * one write, in order. An error or a fatal line is written at once, with every line before it,
 * so the line that explains a crash is out before the crash. The process's 'exit'
 * (process.exit, an uncaught exception, the loop running dry) writes what is still held: only a
 * SIGKILL loses lines, those of the last LOG_HOLD_MS.
 */
export class HeldLogDestination {
  /** pino sets `lastLevel` before each write on a destination that asks for it. */
  readonly [pino.symbols.needsMetadataGsym] = true;
  lastLevel = 0;
  private text = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly target: LogTarget;
  /** The timer's callback, made once: a storm arms the timer every LOG_HOLD_MS. */
  private readonly onHeld = () => {
    this.timer = undefined;
    this.flush();
  };

  constructor(target: 1 | LogTarget) {
    this.target = target === 1 ? pino.destination({ dest: 1, sync: true }) : target;
    if (held.size === 0) process.once('exit', flushLogs);
    held.add(this);
  }

  write(line: string): void {
    this.text += line;
    if (this.lastLevel >= WRITTEN_AT_ONCE_LEVEL || this.text.length >= LOG_FLUSH_CHARS) {
      this.flush();
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(this.onHeld, LOG_HOLD_MS);
      // Held lines never keep a process alive: 'exit' writes them.
      this.timer.unref();
    }
  }

  /** Writes what is held now. pino's logger.flush(cb) calls this with a callback. */
  flush(done?: (error?: Error) => void): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.text !== '') {
      const text = this.text;
      this.text = '';
      this.target.write(text);
    }
    done?.();
  }

  /** pino.multistream's flushSync(): the same, as every write here is synchronous. */
  flushSync(): void {
    this.flush();
  }
}
