import type { Allocator } from '../allocator/index.js';
import type { Registry } from '../registry/index.js';
import type {
  Acls,
  Authenticator,
  Clock,
  HttpTimeouts,
  Logger,
  ServerTls,
} from '../runtime/index.js';
import type { DomainInfo } from '../wire/index.js';
import { DEFAULT_ALLOCATION_BATCH_WINDOW_MS } from './core/allocation-batcher.js';
import type { RemovalRate } from './core/removal-limiter.js';
import type { Leadership } from './stall-watch.js';

export interface MasterOptions {
  /** The master's id; a fresh UUID unless given (a contender publishes it before leading). */
  readonly id?: string;
  /** Address to listen on (Mesos' --ip); 127.0.0.1 unless told otherwise. */
  readonly ip: string;
  /** Port to listen on (--port, default 5050); 0 picks a free one. */
  readonly port: number;
  /** Hostname advertised to frameworks and agents (--hostname); defaults to the advertised IP. */
  readonly hostname?: string;
  /** IP advertised when `ip` is a wildcard (--advertise_ip). */
  readonly advertiseIp?: string;
  readonly registry: Registry;
  readonly allocator: Allocator;
  /** --allocation_interval: the longest an allocation waits for its batch of events. */
  readonly allocationIntervalMs: number;
  /** --allocation_batch_window: how long freed resources wait for others before a cycle. */
  readonly allocationBatchWindowMs?: number;
  /** --offer_timeout: outstanding offers are rescinded after this long; none by default, as in Mesos. */
  readonly offerTimeoutMs?: number;
  /** Heartbeats on scheduler and agent streams (15 s in Mesos). */
  readonly heartbeatIntervalMs: number;
  /** --agent_reregister_timeout: how long an agent has to re-register after a master restart. */
  readonly agentReregisterTimeoutMs: number;
  /**
   * --agent_ping_timeout × --max_agent_ping_timeouts: how long an agent whose
   * link broke may stay silent before it is unreachable and its tasks are
   * reported (Mesos: 15 s × 5).
   */
  readonly agentPingTimeoutMs: number;
  readonly maxAgentPingTimeouts: number;
  /**
   * --agent_removal_rate_limit (e.g. 1/10mins): how fast agents that fail
   * their health checks are marked unreachable; as fast as they fail if unset.
   */
  readonly agentRemovalRateLimit?: RemovalRate;
  /**
   * --domain: the master's fault domain. Agents in another region are offered
   * only to REGION_AWARE frameworks; without it, agents with a domain are refused.
   */
  readonly domain?: DomainInfo;
  /**
   * --framework_reregister_timeout: the least time a framework learnt of after
   * a master restart gets to resubscribe, counted from the master's recovery;
   * its own failover_timeout counts when longer. Then it is removed and its
   * tasks killed (Mesos orphans them instead, MESOS-4659).
   */
  readonly frameworkReregisterTimeoutMs: number;
  /**
   * The most time one loop turn spends on agent calls (runtime/turn-budget.ts); tests set
   * Infinity to see a storm handled in one turn. Default DEFAULT_TURN_BUDGET_MS.
   */
  readonly agentCallBudgetMs?: number;
  /** --max_operator_event_stream_subscribers (1000): past it, the oldest stream is dropped. */
  readonly maxOperatorSubscribers?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly authenticate?: Authenticator;
  /** --ssl_* (LIBPROCESS_SSL_*): every endpoint over HTTPS only. */
  readonly tls?: ServerTls;
  /** --http_headers_timeout, --http_body_timeout: how long a client may take to send a request. */
  readonly httpTimeouts?: HttpTimeouts;
  /** --acls: who may do what (docs/authorization.md); everything is allowed without. */
  readonly acls?: Acls;
  /**
   * HA mode: whether this master may act as the leader now (stall-watch.ts).
   * Asked before every request (503 unless 'leading') and before the outbox
   * delivers anything (it waits while 'confirming', and drops all once 'lost').
   */
  readonly leadership?: Leadership;
  /** What to do when an invariant breaks inside a request: the daemon exits. */
  readonly onInvariantFailure?: (error: Error) => void;
  /** --max_request_body: the largest body a request may carry (413 above it; 8 MiB by default). */
  readonly maxRequestBodyBytes?: number;
  /**
   * Whether a connection front reads Agora's agents' SUBSCRIBEs and writes their streams
   * itself (runtime/http-front.ts; default true). Off, node:http takes every request: the
   * same answers, for tests that compare the two.
   */
  readonly isAgentFrontOn?: boolean;
  /** The file the master's log is also written to (--log_dir), served as `/master/log`. */
  readonly logFile?: string;
  /** --external_log_file: a log someone else writes, served as `/master/log` without --log_dir. */
  readonly externalLogFile?: string;
  /**
   * --webui_dir: the built web UI (index.html, assets/) served at `/`; read once at
   * start. Without it, `/` answers 503 saying how to build one.
   */
  readonly webUiDir?: string;
  /** Flags as given on the command line, for `/master/flags`. */
  readonly flags?: Readonly<Record<string, string>>;
}

export const MASTER_DEFAULTS = {
  ip: '127.0.0.1',
  port: 5050,
  allocationIntervalMs: 1000,
  allocationBatchWindowMs: DEFAULT_ALLOCATION_BATCH_WINDOW_MS,
  heartbeatIntervalMs: 15_000,
  agentReregisterTimeoutMs: 10 * 60 * 1000,
  agentPingTimeoutMs: 15_000,
  maxAgentPingTimeouts: 5,
  frameworkReregisterTimeoutMs: 10_000,
} as const;
