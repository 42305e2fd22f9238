import type { Containerizer } from '../containerizer/index.js';
import type {
  Acls,
  Authenticator,
  Clock,
  Credential,
  HttpTimeouts,
  Logger,
  ServerTls,
} from '../runtime/index.js';
import type { DomainInfo } from '../wire/index.js';

export interface AgentOptions {
  /** Master address (--master): `host:port`, `http://host:port`, a list of them, `zk://…` or `etcd://…`. */
  readonly master: string;
  /** Address to listen on (--ip); 127.0.0.1 unless told otherwise. */
  readonly ip: string;
  /** Port to listen on (--port, default 5051); 0 picks a free one. */
  readonly port: number;
  /** Hostname advertised to the master (--hostname); defaults to the advertised IP. */
  readonly hostname?: string;
  /** IP advertised when `ip` is a wildcard (--advertise_ip). */
  readonly advertiseIp?: string;
  /** Where sandboxes and the agent's own state live (--work_dir). */
  readonly workDir: string;
  /** --resources, e.g. `cpus:2;mem:1024;ports:[31000-32000]`; overrides detection per name. */
  readonly resources?: string;
  /** --attributes, e.g. `rack:r1;zone:a`. */
  readonly attributes?: string;
  /** --domain: the agent's fault domain (region and zone), in its AgentInfo and offers. */
  readonly domain?: DomainInfo;
  readonly containerizer: Containerizer;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Grace between SIGTERM and SIGKILL when killing a task without a kill policy. */
  readonly killGracePeriodMs?: number;
  /** --recover: re-attach to the previous agent's tasks (reconnect, the default) or kill them. */
  readonly recover?: 'reconnect' | 'cleanup';
  /** First status update retry (10 s in Mesos). */
  readonly statusUpdateRetryMs?: number;
  /**
   * --registration_backoff_factor: the first (re-)registration attempt waits a
   * random time up to this, each retry up to twice as long (1 s in Mesos).
   */
  readonly registrationBackoffFactorMs?: number;
  /** Cap of the random registration backoff (1 min in Mesos). */
  readonly registrationBackoffMaxMs?: number;
  readonly random?: () => number;
  /** --fetcher_cache_dir: where the fetcher caches URIs; `<work_dir>/fetch` by default. */
  readonly fetcherCacheDir?: string;
  /** --fetcher_cache_size in bytes (2 GB in Mesos); 0 turns the cache off. */
  readonly fetcherCacheSizeBytes?: number;
  /** --gc_delay: how long a finished run's sandbox is kept (1 week in Mesos). */
  readonly gcDelayMs?: number;
  /** --gc_disk_headroom: the disk fraction kept free by removing sandboxes sooner (0.1). */
  readonly gcDiskHeadroom?: number;
  /** --disk_watch_interval: how often the work dir's disk usage is checked (1 min). */
  readonly diskWatchIntervalMs?: number;
  /** --executor_registration_timeout: how long a new executor has to subscribe (1 min). */
  readonly executorRegistrationTimeoutMs?: number;
  /** --executor_reregistration_timeout: how long a re-attached executor has to subscribe (2 s). */
  readonly executorReregistrationTimeoutMs?: number;
  /** --executor_shutdown_grace_period: an executor's time to stop after SHUTDOWN (5 s). */
  readonly executorShutdownGraceMs?: number;
  /** Authenticates requests to the agent's own endpoints (--authenticate_http_*). */
  readonly authenticate?: Authenticator;
  /**
   * --executor_secret_key: the HS256 key of executors' tokens; given, the executor API
   * serves only calls with a token for the caller's own container.
   */
  readonly executorSecretKey?: Buffer;
  /** --ssl_* (LIBPROCESS_SSL_*): every endpoint over HTTPS only (the executor API too). */
  readonly tls?: ServerTls;
  /** --http_headers_timeout, --http_body_timeout: how long a client may take to send a request. */
  readonly httpTimeouts?: HttpTimeouts;
  /**
   * --cgroups_enable_cfs, as the containerizer was given it: a custom executor whose tasks
   * mix CPU limits and none gets a CPU limit only with it (executor-limits.ts).
   */
  readonly enableCfs?: boolean;
  /** --switch_user: run tasks as their users (true by default, as in Mesos). */
  readonly switchUser?: boolean;
  /** --acls: who may use the agent's endpoints (get_endpoints); everything without. */
  readonly acls?: Acls;
  /** --credential: what the agent authenticates to the master with (--authenticate_agents). */
  readonly masterCredential?: Credential;
  /** Flags as given on the command line, for `/flags`. */
  readonly flags?: Readonly<Record<string, string>>;
}

export const AGENT_DEFAULTS = {
  ip: '127.0.0.1',
  port: 5051,
  /** Mesos' built-in executors wait 3 s before SIGKILL (WIRE §9). */
  killGracePeriodMs: 3000,
  registrationBackoffInitialMs: 1000,
  registrationBackoffMaxMs: 60_000,
} as const;
