// Keeps one daemon of `agora up` running: restarts it with the same arguments
// when it exits, with the backoff and the give-up rule of restart-policy.ts,
// and says so in one line each time. Only stop() ends it for good, and once
// stop() is called no restart can happen, not even one already waiting.
import type { Clock, Timer } from '../runtime/index.js';
import {
  DEFAULT_RESTART_POLICY,
  decideRestart,
  freshHistory,
  type RestartHistory,
  type RestartPolicyOptions,
} from './restart-policy.js';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One run of the daemon, as the supervisor needs to see it. */
export interface SupervisedProcess {
  readonly exited: Promise<Exit>;
  kill(signal: NodeJS.Signals): void;
}

export interface SupervisorOptions {
  /** As the daemon is called in messages: `master`, `agent-2`. */
  readonly name: string;
  /** Starts the daemon; called for the first run and for every restart. */
  readonly spawn: () => SupervisedProcess;
  readonly clock: Clock;
  /** Where the supervisor's one-line messages go (the person at the terminal). */
  readonly say: (line: string) => void;
  readonly policy?: RestartPolicyOptions;
  /** Between the stop signal and SIGKILL when stopping. */
  readonly stopTimeoutMs: number;
  /** What stop() sends first: SIGTERM, or SIGUSR1 for an agent whose tasks must go with it. */
  readonly stopSignal?: NodeJS.Signals;
}

/** How a run ended, for messages: `signal SIGKILL`, `code 1`. */
export function describeExit(exit: Exit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code ?? 'unknown'}`;
}

/** A wait as people read it: `1 s`, `2.5 s`, `10 min`. */
export function describeDuration(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0
    ? `${ms / 60_000} min`
    : `${Number((ms / 1000).toFixed(1))} s`;
}

export class Supervisor {
  private readonly policy: RestartPolicyOptions;
  private history: RestartHistory;
  private current: SupervisedProcess | undefined;
  private restartTimer: Timer | undefined;
  private isRestarting = false;
  private isStopping = false;
  private resolveEnded: (why: string) => void = () => {};
  /**
   * Resolves (with the reason) when the daemon is gone for good without stop():
   * it exited before restarts were enabled, or the policy gave up on it.
   */
  readonly ended: Promise<string>;

  constructor(private readonly options: SupervisorOptions) {
    this.policy = options.policy ?? DEFAULT_RESTART_POLICY;
    this.history = freshHistory(this.policy);
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** Runs the daemon. An exit ends it for good until enableRestarts(). */
  start(): void {
    if (this.isStopping || this.current !== undefined) return;
    this.run();
  }

  /** From now on an exit is followed by a restart (as the policy allows). */
  enableRestarts(): void {
    this.isRestarting = true;
  }

  /**
   * Stops the daemon for good: no restart after this call, not even one already
   * scheduled. The stop signal (SIGTERM unless told), then SIGKILL after stopTimeoutMs;
   * resolves once it exited.
   * Idempotent.
   */
  async stop(): Promise<void> {
    this.stopRestarting();
    const running = this.current;
    if (running === undefined) return;
    running.kill(this.options.stopSignal ?? 'SIGTERM');
    const forced = this.options.clock.setTimeout(
      () => running.kill('SIGKILL'),
      this.options.stopTimeoutMs,
    );
    try {
      await running.exited;
    } finally {
      forced.cancel();
    }
  }

  /** No restart from now on, not even one already scheduled; a running daemon keeps running. */
  stopRestarting(): void {
    this.isStopping = true;
    this.restartTimer?.cancel();
    this.restartTimer = undefined;
  }

  /** SIGKILLs the daemon now (a second Ctrl-C); restarts stay off. */
  kill(): void {
    this.stopRestarting();
    this.current?.kill('SIGKILL');
  }

  private run(): void {
    const startedAtMs = this.options.clock.now();
    const child = this.options.spawn();
    this.current = child;
    void child.exited.then((exit) => {
      if (this.current === child) this.current = undefined;
      this.exited(exit, startedAtMs);
    });
  }

  private exited(exit: Exit, startedAtMs: number): void {
    if (this.isStopping) return;
    const { name, say } = this.options;
    if (!this.isRestarting) {
      this.resolveEnded(`${name} exited (${describeExit(exit)})`);
      return;
    }
    const decision = decideRestart(
      this.history,
      startedAtMs,
      this.options.clock.now(),
      this.policy,
    );
    if (decision.kind === 'giveUp') {
      const why = `${name} exited (${describeExit(exit)}) after ${decision.restartsInWindow} restarts in ${describeDuration(this.policy.windowMs)}`;
      say(`agora up: ${why}; giving up on it`);
      this.resolveEnded(why);
      return;
    }
    this.history = decision.history;
    say(
      `agora up: ${name} exited (${describeExit(exit)}); restarting it in ${describeDuration(decision.delayMs)} (restart ${decision.number})`,
    );
    this.restartTimer = this.options.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.isStopping) this.run();
    }, decision.delayMs);
  }
}
