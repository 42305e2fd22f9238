import { pino } from 'pino';
import { clip } from '../wire/index.js';

export type Logger = pino.Logger;

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; defaults to stdout. */
  readonly destination?: pino.DestinationStream;
  /**
   * A file that gets every line too (appended, its directory made if missing): Mesos'
   * --log_dir, so the master can serve its own log at /master/log.
   */
  readonly file?: string;
}

/**
 * One JSON line per event on stdout (ARCHITECTURE principle 6). People read it
 * through `agora up`, which pretty-prints, or `pino-pretty`.
 */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? process.env.AGORA_LOG_LEVEL ?? 'info',
    base: { component, pid: process.pid },
    timestamp: isoTime,
  };
  const main = options.destination ?? new RoundBufferedDestination(1);
  if (options.file === undefined) return pino(settings, main);
  // Each stream takes every level: the logger's own level, which an operator may change
  // (SET_LOGGING_LEVEL), is the one filter.
  return pino(
    settings,
    pino.multistream([
      { stream: main, level: 'trace' },
      {
        stream: new RoundBufferedDestination(
          pino.destination({ dest: options.file, sync: true, mkdir: true }),
        ),
        level: 'trace',
      },
    ]),
  );
}

let isoTimeMs = Number.NaN;
let isoTimeText = '';

/**
 * pino's isoTime, made once per millisecond: a busy master writes several lines a task, and
 * a Date and its ISO string for each were a percent or two of its CPU.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== isoTimeMs) {
    isoTimeMs = now;
    isoTimeText = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoTimeText;
}

/** A logger that drops everything, for unit tests of components that require one. */
/** Every buffered destination, written out when the process exits. */
const buffered = new Set<RoundBufferedDestination>();

function flushAllLogs(): void {
  for (const destination of buffered) destination.flush();
}

/** Lines held past this many characters are written at once, without waiting for the round. */
const LOG_FLUSH_CHARS = 64 * 1024;

/**
 * Log lines written once per loop round (setImmediate) rather than one write(2) each: a busy
 * master logs every task state change, and a synchronous write per line was a few percent
 * of its CPU. Lines keep their order; the process's 'exit' writes what is still held, so a
 * crash, process.exit or fatal error loses nothing (only SIGKILL can lose one round).
 */
class RoundBufferedDestination {
  private held = '';
  private isScheduled = false;
  private readonly target: { write(text: string): unknown };

  constructor(target: 1 | pino.DestinationStream) {
    this.target = target === 1 ? pino.destination({ dest: 1, sync: true }) : target;
    if (buffered.size === 0) process.once('exit', () => flushAllLogs());
    buffered.add(this);
  }

  write(line: string): void {
    this.held += line;
    if (this.held.length >= LOG_FLUSH_CHARS) this.flush();
    else if (!this.isScheduled) {
      this.isScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.isScheduled = false;
    if (this.held === '') return;
    const text = this.held;
    this.held = '';
    this.target.write(text);
  }
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** How many entries of a list a log line names; the line also gives the list's length. */
export const MAX_LOGGED_ENTRIES = 5;
/** How much of one logged value taken from a request a log line keeps. */
export const MAX_LOGGED_VALUE_LENGTH = 256;

/**
 * The first few entries of a list from a request, each cut short, for a log line. Log a
 * request's list through this, never whole: one UPDATE_WEIGHTS once logged 100,000 weights.
 */
export function firstFew(entries: readonly string[]): string[] {
  return entries.slice(0, MAX_LOGGED_ENTRIES).map((entry) => clipForLog(entry));
}

/** A value from a request, cut to MAX_LOGGED_VALUE_LENGTH for a log line. */
export function clipForLog(value: string): string {
  return clip(value, MAX_LOGGED_VALUE_LENGTH);
}
