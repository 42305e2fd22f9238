// Long file: both daemons' flags become options here, side by side, so they read alike.
// `agora master` and `agora agent`: build the component from flags, run it
// until SIGINT or SIGTERM, stop it cleanly. A second signal exits at once.
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  AGENT_DEFAULTS,
  Agent,
  DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS,
  DEFAULT_FETCHER_CACHE_SIZE_BYTES,
  GC_DEFAULTS,
} from '../agent/index.js';
import {
  type AgentSort,
  DEFAULT_AGENT_EXPECTED_UPTIME_MS,
  DEFAULT_MIN_ALLOCATABLE,
  HierarchicalAllocator,
} from '../allocator/index.js';
import {
  chooseIsolation,
  DEFAULT_CGROUPS_ROOT,
  DEFAULT_PIDS_MAX,
  detectHostCgroups,
  type IsolationChoice,
} from '../containerizer/index.js';
import {
  type Coordinator,
  type CoordinatorUrl,
  DEFAULT_SESSION_TIMEOUT_MS,
  EtcdCoordinator,
  parseCoordinatorUrl,
  ZooKeeperCoordinator,
} from '../coordination/index.js';
import {
  Contender,
  type Leadership,
  MASTER_DEFAULTS,
  Master,
  prepareRecovery,
  type RemovalRate,
} from '../master/index.js';
import {
  type ChunkStore,
  EmbeddedRegistry,
  EtcdChunks,
  EtcdRegistry,
  InMemoryRegistry,
  type Registry,
  RegistryWarmer,
  ZooKeeperChunks,
  ZooKeeperRegistry,
} from '../registry/index.js';
import { createLogger, type Logger, systemClock } from '../runtime/index.js';
import { AgoraError, type DomainInfo, DomainInfoSchema, limits, parseWith } from '../wire/index.js';
import {
  bytesFlag,
  type CommandSpec,
  durationFlag,
  flagsOf,
  numberFlag,
  type ParsedValues,
  STOP_WITH_PARENT_ENV,
  stringFlag,
  UsageError,
} from './command.js';
import { agentSecurity, daemonTls, masterSecurity } from './daemon-security.js';
import { composeContainerizers } from './docker-flags.js';

interface Stoppable {
  stop(): Promise<void>;
  /** An agent's: stop and leave its tasks running for the next agent on its work_dir. */
  detach?(): Promise<void>;
}

/** Exit status for a broken invariant: the process stops so a supervisor restarts it (or another master leads). */
const EXIT_INVARIANT_BROKEN = 70;

/**
 * The signals that stop an agent's process and leave its tasks running, as Mesos' agent does
 * (an operator restarting or upgrading it must not cost a task). SIGUSR1 stops the agent and
 * kills its tasks, as Mesos' does; so does its parent `agora up` going away.
 */
const AGENT_LEAVES_TASKS_ON: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT']);

/** Runs until a signal, or until `ended` resolves (the component stopped itself). */
async function runUntilSignalled(
  component: Stoppable,
  log: Logger,
  ended?: Promise<string>,
): Promise<number> {
  const reason = await new Promise<string>((resolveReason) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGUSR1'] as const)
      process.once(signal, () => resolveReason(signal));
    void ended?.then(resolveReason);
    if (process.env[STOP_WITH_PARENT_ENV] === '1') {
      process.stdin.once('close', () => resolveReason('parent gone'));
      process.stdin.resume();
    }
  });
  const detach = AGENT_LEAVES_TASKS_ON.has(reason) ? component.detach?.bind(component) : undefined;
  log.info(
    component.detach === undefined
      ? { reason }
      : { reason, tasks: detach === undefined ? 'killed' : 'left running' },
    'stopping',
  );
  if (process.env[STOP_WITH_PARENT_ENV] === '1') process.stdin.destroy();
  const forced = () => process.exit(1);
  process.once('SIGINT', forced);
  process.once('SIGTERM', forced);
  if (detach === undefined) {
    await component.stop();
    return 0;
  }
  await detach();
  // The tasks' shims still hold pipes to this process; they are the next agent's to follow.
  process.exit(0);
}

function failOnInvariant(getComponent: () => Stoppable | undefined) {
  return () => {
    process.exitCode = EXIT_INVARIANT_BROKEN;
    void (getComponent()?.stop() ?? Promise.resolve()).finally(() =>
      process.exit(EXIT_INVARIANT_BROKEN),
    );
  };
}

/**
 * dist/webui of the checkout or package this CLI runs from: bin/agora.js is the
 * entry (process.argv[1]), and the build puts the UI next to the bundles.
 */
function defaultWebUiDir(): string {
  const entry = process.argv[1];
  if (entry === undefined) return resolve('dist', 'webui');
  return resolve(dirname(realpathSync(entry)), '..', 'dist', 'webui');
}

export async function runMaster(
  values: ParsedValues,
  options: CommandSpec['options'] = {},
): Promise<number> {
  const logDir = stringFlag(values, 'log_dir');
  // Mesos' master writes mesos-master.INFO there; one file holds every level here.
  const logFile = logDir === undefined ? undefined : resolve(logDir, 'agora-master.log');
  const logger = createLogger('master', {
    level: stringFlag(values, 'log_level') ?? 'info',
    ...optional('file', logFile),
  });
  const flags = flagsOf(values, options);
  const coordination = coordinationFlags(values);
  if (coordination !== undefined)
    return runContender(values, coordination, { logger, logFile, flags });

  const workDir = stringFlag(values, 'work_dir');
  const registryKind = stringFlag(values, 'registry') ?? 'embedded';
  let registry: Registry;
  if (registryKind === 'in_memory') registry = new InMemoryRegistry();
  else if (registryKind === 'embedded') {
    if (workDir === undefined)
      throw new UsageError('--work_dir is required unless --registry=in_memory');
    registry = new EmbeddedRegistry({ directory: resolve(workDir, 'registry') });
  } else throw new UsageError(`--registry: expected embedded or in_memory, got '${registryKind}'`);

  let master: Master | undefined;
  master = buildMaster(values, {
    registry,
    logger,
    logFile,
    flags,
    onInvariantFailure: failOnInvariant(() => master),
  });
  try {
    await master.start();
  } catch (error) {
    await master.stop();
    return startFailure(logger, 'master', error);
  }
  return runUntilSignalled(master, logger);
}

/**
 * HA mode: a standby that contends through the coordinator and becomes the
 * master once elected, with the registry in the coordinator, fenced by its
 * candidacy. Losing the session ends the process (a supervisor restarts it).
 */
async function runContender(
  values: ParsedValues,
  coordination: CoordinationFlags,
  { logger, logFile, flags }: Pick<BuildMasterParts, 'logger' | 'logFile' | 'flags'>,
): Promise<number> {
  const { url, sessionTimeoutMs } = coordination;
  const onLog = (event: string, detail: Record<string, unknown>) =>
    logger.info(detail, `${url.kind}: ${event}`);
  const registryPath = `${url.path}/registry`;
  let coordinator: Coordinator;
  let registryFor: (fence: string) => Registry;
  // While standing by, the master keeps the registry read and its agents' totals parsed:
  // elected, it reads only what changed since (#10).
  const warmFrom = (store: ChunkStore) =>
    new RegistryWarmer({
      store,
      prepared: prepareRecovery,
      onError: (error) => logger.debug({ err: error.message }, 'registry: standby read failed'),
    });
  let warmer: RegistryWarmer;
  if (url.kind === 'zookeeper') {
    const zk = new ZooKeeperCoordinator({ url, sessionTimeoutMs, onLog });
    coordinator = zk;
    // Only its reads are used: no fence.
    warmer = warmFrom(new ZooKeeperChunks(zk.client, registryPath, ''));
    registryFor = (fence) =>
      new ZooKeeperRegistry({ client: zk.client, path: registryPath, fence, warm: warmer });
  } else {
    const etcd = new EtcdCoordinator({ url, sessionTimeoutMs, onLog });
    coordinator = etcd;
    warmer = warmFrom(new EtcdChunks(etcd.client, registryPath, ''));
    registryFor = (fence) =>
      new EtcdRegistry({ client: etcd.client, path: registryPath, fence, warm: warmer });
  }
  let contender: Contender | undefined;
  const lost = failOnInvariant(() => contender);
  contender = new Contender({
    coordinator,
    ip: stringFlag(values, 'ip') ?? MASTER_DEFAULTS.ip,
    port: numberFlag(values, 'port', MASTER_DEFAULTS.port),
    ...optional('hostname', stringFlag(values, 'hostname')),
    ...optional('advertiseIp', stringFlag(values, 'advertise_ip')),
    ...optional('domain', domainFlag(values)),
    logger,
    flags,
    ...optional('tls', daemonTls(values)),
    sessionTimeoutMs,
    clock: systemClock,
    warmer,
    makeMaster: (id, port, fence, leadership) =>
      buildMaster(values, {
        id,
        port,
        leadership,
        registry: registryFor(fence),
        logger,
        logFile,
        flags,
        onInvariantFailure: lost,
      }),
    onLost: () => lost(),
  });
  try {
    await contender.start();
  } catch (error) {
    await contender.stop();
    return startFailure(logger, 'master', error);
  }
  return runUntilSignalled(contender, logger);
}

interface CoordinationFlags {
  readonly url: CoordinatorUrl;
  readonly sessionTimeoutMs: number;
}

/** --zk (or --etcd), --zk_session_timeout and --quorum; undefined without a coordinator. */
function coordinationFlags(values: ParsedValues): CoordinationFlags | undefined {
  const zk = stringFlag(values, 'zk');
  const etcd = stringFlag(values, 'etcd');
  if (zk === undefined && etcd === undefined) {
    if (stringFlag(values, 'quorum') !== undefined)
      throw new UsageError('--quorum needs --zk or --etcd');
    return undefined;
  }
  if (zk !== undefined && etcd !== undefined) throw new UsageError('give --zk or --etcd, not both');
  const quorum = stringFlag(values, 'quorum');
  if (quorum !== undefined) wholeNumberFlag(values, 'quorum', 1);
  const flag = zk !== undefined ? '--zk' : '--etcd';
  let url: CoordinatorUrl;
  try {
    url = parseCoordinatorUrl(
      readIndirection(zk ?? etcd ?? '', flag),
      flag,
      zk === undefined ? 'etcd' : undefined,
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if ((url.kind === 'zookeeper') !== (zk !== undefined))
    throw new UsageError(
      `${flag}: expected ${zk !== undefined ? 'a zk://' : 'an http:// or etcd://'} URL`,
    );
  const sessionTimeoutMs = durationFlag(values, 'zk_session_timeout', DEFAULT_SESSION_TIMEOUT_MS);
  if (sessionTimeoutMs < 1000 || sessionTimeoutMs > 600_000)
    throw new UsageError('--zk_session_timeout: expected 1secs to 10mins');
  return { url, sessionTimeoutMs };
}

/** `file://<path>`: the flag's value is in that file (as Mesos takes --zk). */
function readIndirection(value: string, flag: string): string {
  if (!value.startsWith('file://')) return value;
  const path = value.slice('file://'.length);
  try {
    return readFileSync(path, 'utf8').trim().slice(0, 4096);
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

interface BuildMasterParts {
  readonly id?: string;
  readonly port?: number;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly logFile: string | undefined;
  /** What /flags shows: every flag with its effective value. */
  readonly flags: Readonly<Record<string, string>>;
  readonly onInvariantFailure: (error: Error) => void;
  readonly leadership?: Leadership;
}

function buildMaster(values: ParsedValues, parts: BuildMasterParts): Master {
  const { registry, logger, logFile } = parts;
  const externalLogFile = stringFlag(values, 'external_log_file');
  return new Master({
    ...optional('id', parts.id),
    ip: stringFlag(values, 'ip') ?? MASTER_DEFAULTS.ip,
    port: parts.port ?? numberFlag(values, 'port', MASTER_DEFAULTS.port),
    ...optional('hostname', stringFlag(values, 'hostname')),
    ...optional('advertiseIp', stringFlag(values, 'advertise_ip')),
    registry,
    allocator: new HierarchicalAllocator({
      random: Math.random,
      agentSort: agentSortFlag(values),
      agentExpectedUptimeMs: durationFlag(
        values,
        'agent_expected_uptime',
        DEFAULT_AGENT_EXPECTED_UPTIME_MS,
      ),
      minAllocatableResources:
        stringFlag(values, 'min_allocatable_resources') ?? DEFAULT_MIN_ALLOCATABLE,
    }),
    ...optional(
      'offerTimeoutMs',
      stringFlag(values, 'offer_timeout') === undefined
        ? undefined
        : durationFlag(values, 'offer_timeout', 0),
    ),
    allocationIntervalMs: durationFlag(
      values,
      'allocation_interval',
      MASTER_DEFAULTS.allocationIntervalMs,
    ),
    allocationBatchWindowMs: durationFlag(
      values,
      'allocation_batch_window',
      MASTER_DEFAULTS.allocationBatchWindowMs,
    ),
    heartbeatIntervalMs: MASTER_DEFAULTS.heartbeatIntervalMs,
    agentReregisterTimeoutMs: durationFlag(
      values,
      'agent_reregister_timeout',
      MASTER_DEFAULTS.agentReregisterTimeoutMs,
    ),
    agentPingTimeoutMs: durationFlag(
      values,
      'agent_ping_timeout',
      MASTER_DEFAULTS.agentPingTimeoutMs,
    ),
    maxAgentPingTimeouts: wholeNumberFlag(
      values,
      'max_agent_ping_timeouts',
      MASTER_DEFAULTS.maxAgentPingTimeouts,
    ),
    ...optional('agentRemovalRateLimit', removalRateFlag(values)),
    maxOperatorSubscribers: wholeNumberFlag(values, 'max_operator_event_stream_subscribers', 1000),
    ...optional('domain', domainFlag(values)),
    frameworkReregisterTimeoutMs: durationFlag(
      values,
      'framework_reregister_timeout',
      MASTER_DEFAULTS.frameworkReregisterTimeoutMs,
    ),
    maxRequestBodyBytes: bytesFlag(
      values,
      'max_request_body',
      limits.DEFAULT_MAX_REQUEST_BODY_BYTES,
    ),
    clock: systemClock,
    logger,
    onInvariantFailure: parts.onInvariantFailure,
    ...optional('leadership', parts.leadership),
    flags: parts.flags,
    ...optional('logFile', logFile),
    ...optional(
      'externalLogFile',
      externalLogFile === undefined ? undefined : resolve(externalLogFile),
    ),
    webUiDir: resolve(stringFlag(values, 'webui_dir') ?? defaultWebUiDir()),
    ...masterSecurity(values),
  });
}

export async function runAgent(
  values: ParsedValues,
  options: CommandSpec['options'] = {},
): Promise<number> {
  const masterAddress = stringFlag(values, 'master');
  if (masterAddress === undefined) throw new UsageError('--master is required');
  const workDir = stringFlag(values, 'work_dir');
  if (workDir === undefined) throw new UsageError('--work_dir is required');
  const logger = createLogger('agent', { level: stringFlag(values, 'log_level') ?? 'info' });
  let choice: IsolationChoice;
  try {
    choice = chooseIsolation(
      {
        flag: stringFlag(values, 'isolation'),
        cgroupsRoot: stringFlag(values, 'cgroups_root') ?? DEFAULT_CGROUPS_ROOT,
        enableCfs: values.cgroups_enable_cfs === true,
        pidsMax: numberFlag(values, 'cgroups_max_pids', DEFAULT_PIDS_MAX, 1),
      },
      detectHostCgroups(() => readFileSync('/proc/self/mountinfo', 'utf8')),
      process.getuid?.() === 0,
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (choice.warning !== undefined) logger.warn({ reason: choice.warning }, 'isolation fallback');
  const switchUser = stringFlag(values, 'switch_user') ?? 'true';
  if (switchUser !== 'true' && switchUser !== 'false')
    throw new UsageError(`--switch_user: expected true or false, got '${switchUser}'`);
  const recover = stringFlag(values, 'recover') ?? 'reconnect';
  if (recover !== 'reconnect' && recover !== 'cleanup')
    throw new UsageError(`--recover: expected reconnect or cleanup, got '${recover}'`);
  const gcDiskHeadroom = numberFlag(values, 'gc_disk_headroom', GC_DEFAULTS.diskHeadroom);
  if (gcDiskHeadroom > 1)
    throw new UsageError(
      `--gc_disk_headroom: expected a number from 0 to 1, got '${gcDiskHeadroom}'`,
    );
  const fetcherCacheDir = stringFlag(values, 'fetcher_cache_dir');
  const containerizer = await composeContainerizers(values, resolve(workDir), logger, choice);
  const agent = new Agent({
    master: masterAddress,
    ip: stringFlag(values, 'ip') ?? '127.0.0.1',
    port: numberFlag(values, 'port', 5051),
    ...optional('hostname', stringFlag(values, 'hostname')),
    ...optional('advertiseIp', stringFlag(values, 'advertise_ip')),
    workDir: resolve(workDir),
    ...optional('resources', stringFlag(values, 'resources')),
    ...optional('attributes', stringFlag(values, 'attributes')),
    ...optional('domain', domainFlag(values)),
    containerizer,
    recover,
    enableCfs: values.cgroups_enable_cfs === true,
    switchUser: switchUser === 'true',
    ...optional(
      'fetcherCacheDir',
      fetcherCacheDir === undefined ? undefined : resolve(fetcherCacheDir),
    ),
    fetcherCacheSizeBytes: bytesFlag(
      values,
      'fetcher_cache_size',
      DEFAULT_FETCHER_CACHE_SIZE_BYTES,
      { allowZero: true },
    ),
    registrationBackoffFactorMs: registrationBackoffFlag(values),
    gcDelayMs: durationFlag(values, 'gc_delay', GC_DEFAULTS.gcDelayMs),
    gcDiskHeadroom,
    diskWatchIntervalMs: durationFlag(
      values,
      'disk_watch_interval',
      GC_DEFAULTS.diskWatchIntervalMs,
    ),
    executorRegistrationTimeoutMs: durationFlag(
      values,
      'executor_registration_timeout',
      DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
    ),
    executorReregistrationTimeoutMs: durationFlag(
      values,
      'executor_reregistration_timeout',
      DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
    ),
    executorShutdownGraceMs: durationFlag(
      values,
      'executor_shutdown_grace_period',
      DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS,
    ),
    clock: systemClock,
    logger,
    flags: flagsOf(values, options),
    ...agentSecurity(values),
  });
  try {
    await agent.start();
  } catch (error) {
    await agent.stop();
    return startFailure(logger, 'agent', error);
  }
  // A master that removed the agent (gone, or its machine DOWN) shuts it down, as Mesos does.
  return runUntilSignalled(agent, logger, agent.terminated);
}

/** --registration_backoff_factor: above zero, so that a master that is gone is not retried in a hot loop. */
function registrationBackoffFlag(values: ParsedValues): number {
  const ms = durationFlag(
    values,
    'registration_backoff_factor',
    AGENT_DEFAULTS.registrationBackoffInitialMs,
  );
  if (ms < 10 || ms > 60_000)
    throw new UsageError('--registration_backoff_factor: expected 10ms to 1mins');
  return ms;
}

function wholeNumberFlag(values: ParsedValues, name: string, fallback: number): number {
  const value = numberFlag(values, name, fallback, 1);
  if (!Number.isInteger(value)) throw new UsageError(`--${name}: expected a whole number`);
  return value;
}

/** --agent_removal_rate_limit: `(number of agents)/(duration)`, e.g. `1/10mins`, as Mesos takes it. */
function removalRateFlag(values: ParsedValues): RemovalRate | undefined {
  const raw = stringFlag(values, 'agent_removal_rate_limit');
  if (raw === undefined) return undefined;
  const [permitsText, durationText, ...rest] = raw.split('/');
  const permits = Number(permitsText);
  const usage = `--agent_removal_rate_limit: expected (number of agents)/(duration) such as 1/10mins, got '${raw}'`;
  if (durationText === undefined || rest.length > 0 || !Number.isInteger(permits) || permits <= 0)
    throw new UsageError(usage);
  const durationMs = durationFlag({ duration: durationText }, 'duration', 0);
  if (durationMs <= 0) throw new UsageError(usage);
  return { permits, durationMs };
}

/**
 * --domain: a DomainInfo with a fault domain, as JSON or in a file (a path,
 * or `file://` and a path), as Mesos takes it (docs/fault-domains.md).
 */
function domainFlag(values: ParsedValues): DomainInfo | undefined {
  const raw = stringFlag(values, 'domain');
  if (raw === undefined) return undefined;
  let text = raw;
  if (!raw.trimStart().startsWith('{')) {
    const path = raw.startsWith('file://') ? raw.slice('file://'.length) : raw;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`--domain: cannot read ${path}: ${(error as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--domain: not JSON: ${(error as Error).message}`);
  }
  let domain: DomainInfo;
  try {
    domain = parseWith(DomainInfoSchema, json);
  } catch (error) {
    throw new UsageError(`--domain: ${(error as Error).message}`);
  }
  if (domain.fault_domain === undefined)
    throw new UsageError(
      `--domain: expected {"fault_domain":{"region":{"name":…},"zone":{"name":…}}}`,
    );
  return domain;
}

function agentSortFlag(values: ParsedValues): AgentSort {
  const value = stringFlag(values, 'agent_sort') ?? 'random';
  if (value !== 'random' && value !== 'uptime')
    throw new UsageError(`--agent_sort: expected random or uptime, got '${value}'`);
  return value;
}

function startFailure(logger: Logger, component: string, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  logger.error({ err: message }, `${component} failed to start`);
  process.stderr.write(`agora ${component}: ${message}\n`);
  return error instanceof AgoraError && error.code === 'BAD_REQUEST' ? 2 : 1;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
