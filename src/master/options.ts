import type { Allocator } from '../allocator/index.js';
import type { Registry } from '../registry/index.js';
import type { Authenticator, Clock, Logger } from '../runtime/index.js';

export interface MasterOptions {
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
  /** --offer_timeout: outstanding offers are rescinded after this long; none by default, as in Mesos. */
  readonly offerTimeoutMs?: number;
  /** Heartbeats on scheduler and agent streams (15 s in Mesos). */
  readonly heartbeatIntervalMs: number;
  /** --agent_reregister_timeout: how long a disconnected agent has to come back. */
  readonly agentReregisterTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly authenticate?: Authenticator;
  /** What to do when an invariant breaks inside a request: the daemon exits. */
  readonly onInvariantFailure?: (error: Error) => void;
  /** --max_request_body: the largest body a request may carry (413 above it; 8 MiB by default). */
  readonly maxRequestBodyBytes?: number;
  /** Flags as given on the command line, for `/master/flags`. */
  readonly flags?: Readonly<Record<string, string>>;
}

export const MASTER_DEFAULTS = {
  ip: '127.0.0.1',
  port: 5050,
  allocationIntervalMs: 1000,
  heartbeatIntervalMs: 15_000,
  agentReregisterTimeoutMs: 10 * 60 * 1000,
} as const;
