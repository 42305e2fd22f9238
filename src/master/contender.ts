// A master in HA mode: it serves as a standby (redirecting to the leader) while
// it contends through the coordinator, and becomes the Master on the same port
// once elected. Losing the coordinator session ends it: another master may lead
// by then, so it must not act on anything (Mesos' master aborts the same way).
import { randomUUID } from 'node:crypto';
import type { Candidacy, Coordinator } from '../coordination/index.js';
import { type Clock, type Logger, type ServerTls, schemeOf } from '../runtime/index.js';
import type { MasterInfo } from '../wire/index.js';
import type { Master } from './master.js';
import { type Advertised, buildMasterInfo } from './master-info.js';
import { type Leadership, StallWatch } from './stall-watch.js';
import { StandbyServer } from './standby.js';
import { rehearseReregistration } from './warm-up.js';
import { rehearseReregistrationHttp } from './warm-up-http.js';

export interface ContenderOptions extends Advertised {
  readonly coordinator: Coordinator;
  readonly ip: string;
  readonly port: number;
  readonly logger: Logger;
  /** --ssl_*: the standby's endpoints over HTTPS only, as the leader's. */
  readonly tls?: ServerTls;
  readonly flags: Readonly<Record<string, string>>;
  /** The coordinator session's timeout: how long a stall the leadership may survive. */
  readonly sessionTimeoutMs: number;
  readonly clock: Clock;
  /**
   * Builds the leading master once elected: same id, on the port the standby held.
   * `leadership` is 'confirming' after the process stood still, until the
   * coordinator says whether the session survived, and then 'leading' or 'lost'.
   */
  readonly makeMaster: (id: string, port: number, fence: string, leadership: Leadership) => Master;
  /**
   * Keeps a copy of the registry while this master stands by (warm-registry.ts), so that
   * once elected it reads only what changed; stopped when it leads or stops.
   */
  readonly warmer?: { start(): void; stop(): void };
  /**
   * Run once on standing by, aborted when elected or stopped: the re-registration path
   * rehearsed on scratch state (warm-up.ts), so that the new leader's code is optimized
   * before every agent comes back at once. Default rehearseStandby; false: none.
   */
  readonly rehearse?: ((signal: AbortSignal) => Promise<unknown>) | false;
  /** The session is gone: stop now, as a deposed leader or a standby without a coordinator. */
  readonly onLost: (reason: Error) => void;
}

export type ContenderPhase =
  | { readonly kind: 'new' }
  | { readonly kind: 'standby'; readonly candidacy: Candidacy }
  | { readonly kind: 'leading'; readonly master: Master }
  | { readonly kind: 'stopped' };

export class Contender {
  readonly id = randomUUID();
  private phase: ContenderPhase = { kind: 'new' };
  private readonly standby: StandbyServer;
  private info: MasterInfo | undefined;
  private unwatch: (() => void) | undefined;
  private watch: StallWatch | undefined;
  private readonly rehearsal = new AbortController();

  constructor(private readonly options: ContenderOptions) {
    this.standby = new StandbyServer({
      logger: options.logger,
      flags: options.flags,
      startTimeSec: Date.now() / 1000,
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
  }

  get master(): Master | undefined {
    return this.phase.kind === 'leading' ? this.phase.master : undefined;
  }

  /** Listens as a standby and enters the election. Resolves with the URL; leading comes later. */
  async start(): Promise<string> {
    const { coordinator, logger } = this.options;
    const address = await this.standby.listen(this.options.ip, this.options.port);
    const info = buildMasterInfo(this.id, address, this.options);
    this.info = info;
    this.standby.setSelf(info);
    await coordinator.connect();
    coordinator.sessionLost.addEventListener(
      'abort',
      () => this.lose(coordinator.sessionLost.reason as Error),
      { once: true },
    );
    this.unwatch = coordinator.watchLeader((leader) => {
      this.standby.leader = leader;
      logger.info({ leader: leader?.pid, leader_id: leader?.id }, 'leader detected');
      // Our node was removed while we lead (by an operator, or a session we never
      // heard expire): someone else may lead, so stop.
      if (this.phase.kind === 'leading' && leader !== undefined && leader.id !== this.id)
        this.lose(new Error(`another master leads: ${leader.pid}`));
    });
    const candidacy = await coordinator.contend(info);
    this.phase = { kind: 'standby', candidacy };
    this.options.warmer?.start();
    this.startRehearsal();
    const url = `${schemeOf(this.options.tls)}://${info.address?.ip}:${address.port}`;
    logger.info({ url, master_id: this.id, port: address.port }, 'listening');
    void candidacy.elected.then(() => this.lead(candidacy));
    return url;
  }

  private async lead(candidacy: Candidacy): Promise<void> {
    if (this.phase.kind !== 'standby' || this.info === undefined) return;
    const { logger } = this.options;
    logger.info({ master_id: this.id }, 'elected leader');
    this.options.warmer?.stop();
    this.rehearsal.abort();
    const { sessionTimeoutMs } = this.options;
    const watch = new StallWatch({
      limitMs: sessionTimeoutMs / 2,
      clock: this.options.clock,
      // The session may have survived the stall (on a loaded machine it nearly always
      // does): the coordinator says, within a session timeout, or it is taken as lost.
      confirm: async (gapMs) => {
        logger.warn(
          { master_id: this.id, gap_ms: Math.round(gapMs), session_timeout_ms: sessionTimeoutMs },
          'stood still: confirming the leadership with the coordinator',
        );
        let timer: NodeJS.Timeout | undefined;
        try {
          return await Promise.race([
            candidacy.stillLeads(),
            new Promise<boolean>((resolve) => {
              timer = setTimeout(() => resolve(false), sessionTimeoutMs);
            }),
          ]);
        } finally {
          clearTimeout(timer);
        }
      },
      onConfirmed: (gapMs) =>
        logger.warn(
          { master_id: this.id, gap_ms: Math.round(gapMs) },
          'the coordinator confirmed the leadership after a stall',
        ),
      onLost: (gapMs, reason) =>
        this.lose(
          new Error(
            `the process stood still for ${Math.round(gapMs)} ms (session ${sessionTimeoutMs} ms) and the coordinator did not confirm the leadership: ${reason.message}`,
            { cause: reason },
          ),
        ),
    });
    watch.start();
    this.watch = watch;
    await this.standby.close();
    const master = this.options.makeMaster(this.id, this.info.port, candidacy.fence, watch);
    this.phase = { kind: 'leading', master };
    try {
      await master.start();
    } catch (error) {
      this.lose(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** In slices between the loop's other work (a standby's /health and redirects answer). */
  private startRehearsal(): void {
    const rehearse = this.options.rehearse ?? rehearseStandby;
    if (rehearse === false) return;
    rehearse(this.rehearsal.signal).catch((error: unknown) =>
      this.options.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'standby: the re-registration rehearsal failed',
      ),
    );
  }

  private lose(reason: Error): void {
    if (this.phase.kind === 'stopped') return;
    this.options.logger.fatal(
      { err: reason.message, master_id: this.id },
      'lost leadership or session',
    );
    this.options.onLost(reason);
  }

  /** Stops leading or standing by, and leaves the election. Idempotent. */
  async stop(): Promise<void> {
    const phase = this.phase;
    this.phase = { kind: 'stopped' };
    this.unwatch?.();
    this.options.warmer?.stop();
    this.rehearsal.abort();
    this.watch?.stop();
    if (phase.kind === 'leading') await phase.master.stop();
    await this.standby.close();
    await this.options.coordinator.close();
  }
}

/**
 * What a standby rehearses by default: the core's path first (cheap, no socket: most of
 * the functions to optimize), then the HTTP side through a scratch master on loopback
 * (`bench/reregister.ts --cold`: round 1 compiled 173 functions with the first alone,
 * 90 with both; bench/RESULTS.md).
 */
export async function rehearseStandby(signal: AbortSignal): Promise<unknown> {
  const core = await rehearseReregistration({ signal });
  if (core.aborted) return core;
  return rehearseReregistrationHttp({ signal });
}
