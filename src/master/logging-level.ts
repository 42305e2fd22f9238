// GET_LOGGING_LEVEL / SET_LOGGING_LEVEL and `/logging/toggle` (WIRE §6.1):
// Mesos' verbosity, which glog calls FLAGS_v, over the master's pino logger.
//
// How the numbers map: glog has one severity for all of Mesos' chatter (INFO)
// and a verbosity on top, 0 by default, which lets VLOG(1), VLOG(2), ...
// through. Agora's detail is pino's `debug` (per offer, per request) and
// `trace`. So:
//   0  the level the master started with (--log_level, `info` by default)
//   1  debug
//   2+ trace (pino has nothing finer; the number itself is kept and reported)
// A master started with --log_level=debug reports 1 until told otherwise.
//
// As in libprocess (process/logging.hpp): a level other than the original
// reverts to it after `duration`; a later call replaces the pending revert,
// so the latest duration wins; setting the original level cancels it.
import type { Clock, Logger, Timer } from '../runtime/index.js';

/** The verbosity a pino level stands for. */
function verbosityOf(level: string): number {
  if (level === 'trace') return 2;
  if (level === 'debug') return 1;
  return 0;
}

export class LoggingLevel {
  private readonly originalLevel: string;
  private readonly originalVerbosity: number;
  private verbosity: number;
  private revert: Timer | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.originalLevel = logger.level;
    this.originalVerbosity = verbosityOf(logger.level);
    this.verbosity = this.originalVerbosity;
  }

  /** The current verbosity (glog's FLAGS_v). */
  get level(): number {
    return this.verbosity;
  }

  /** Sets the verbosity; anything but the original reverts after `durationMs`. */
  set(level: number, durationMs: number): void {
    this.revert?.cancel();
    this.revert = undefined;
    this.apply(level);
    if (level !== this.originalVerbosity)
      this.revert = this.clock.setTimeout(() => {
        this.revert = undefined;
        this.apply(this.originalVerbosity);
      }, durationMs);
  }

  /** Cancels a pending revert (the master is stopping). */
  stop(): void {
    this.revert?.cancel();
    this.revert = undefined;
  }

  private apply(level: number): void {
    const pinoLevel =
      level === this.originalVerbosity
        ? this.originalLevel
        : level >= 2
          ? 'trace'
          : level === 1
            ? 'debug'
            : 'info';
    if (level !== this.verbosity)
      this.logger.info(
        { from: this.verbosity, to: level, pino_level: pinoLevel },
        'logging level set',
      );
    this.verbosity = level;
    this.logger.level = pinoLevel;
  }
}
