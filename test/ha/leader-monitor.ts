// "At most one leader at any moment", watched from outside: every 100 ms each
// master's /master/state is asked at once, and a round in which two masters
// claim to lead (`leader` is their own `pid`) is a violation. A master that
// does not answer (restarting) claims nothing in that round; a paused one
// answers when it wakes, as it then sees itself.
import type { BedDaemon } from './bed.js';

const SAMPLE_INTERVAL_MS = 100;
/**
 * A round waits this long for its answers: longer than any pause, so a paused
 * master answers the requests that waited for it as soon as it wakes. A deposed
 * leader that answered them as leader while another leads is what this catches.
 */
const ANSWER_TIMEOUT_MS = 15_000;

export interface LeaderRound {
  readonly atMs: number;
  /** Names of the masters that said they lead. */
  readonly claims: readonly string[];
}

export class LeaderMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<void>>();
  readonly violations: LeaderRound[] = [];
  rounds = 0;
  /** Rounds in which exactly one master led: a check that the monitor saw anything. */
  roundsWithLeader = 0;

  constructor(private readonly masters: readonly BedDaemon[]) {}

  start(): void {
    this.timer ??= setInterval(() => {
      const round = this.sample();
      this.pending.add(round);
      void round.finally(() => this.pending.delete(round));
    }, SAMPLE_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.pending]);
  }

  private async sample(): Promise<void> {
    const atMs = performance.now();
    const answers = await Promise.all(
      this.masters.map(async (master) => {
        let url: string;
        try {
          url = master.url;
        } catch {
          return undefined;
        }
        return (await claimsToLead(url)) ? master.name : undefined;
      }),
    );
    const claims = answers.filter((name): name is string => name !== undefined);
    this.rounds++;
    if (claims.length === 1) this.roundsWithLeader++;
    if (claims.length > 1) this.violations.push({ atMs, claims });
  }
}

async function claimsToLead(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/master/state', url), {
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    if (!response.ok) return false;
    const state = (await response.json()) as {
      id?: unknown;
      pid?: unknown;
      leader?: unknown;
      leader_info?: { id?: unknown };
    };
    // The pid is master@host:port, which a master restarted on its port shares with
    // its previous run: a standby that still sees that (dead) run leading claims
    // nothing itself. The ids tell them apart.
    return (
      typeof state.pid === 'string' &&
      state.pid === state.leader &&
      (state.leader_info?.id === undefined || state.leader_info.id === state.id)
    );
  } catch {
    return false;
  }
}
