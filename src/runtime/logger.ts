import { pino } from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; defaults to stdout. */
  readonly destination?: pino.DestinationStream;
}

/**
 * One JSON line per event on stdout (ARCHITECTURE principle 6). People read it
 * through `agora up`, which pretty-prints, or `pino-pretty`.
 */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? process.env.AGORA_LOG_LEVEL ?? 'info',
    base: { component, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination === undefined
    ? pino(settings, pino.destination({ dest: 1, sync: true }))
    : pino(settings, options.destination);
}

/** A logger that drops everything, for unit tests of components that require one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
