import { pino } from 'pino';
import { clip } from '../wire/index.js';
import { HeldLogDestination } from './held-log-destination.js';

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
  const main = options.destination ?? new HeldLogDestination(1);
  if (options.file === undefined) return pino(settings, main);
  // Each stream takes every level: the logger's own level, which an operator may change
  // (SET_LOGGING_LEVEL), is the one filter.
  return pino(
    settings,
    pino.multistream([
      { stream: main, level: 'trace' },
      {
        stream: new HeldLogDestination(
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
