// Long file: one command's whole life, in the order it happens (coordinator, masters,
// agents, the bundled frameworks, then the stop in reverse); the pure parts (host split,
// coordinator plans, restart policy, supervision) live in modules of their own.
// `agora up`: a whole local cluster from one command. The master and each agent
// run as real child processes; their logs are shown, pretty, with a prefix. A
// daemon that exits is restarted with the same arguments and work dir (see
// supervisor.ts); only Ctrl-C or SIGTERM stops the cluster, and stopping waits
// for every process by PID. The agents split the host between them rather than
// each offering all of it. With --ha, a local coordinator (ZooKeeper or etcd)
// and three masters electing a leader through it take the single master's place.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { prettyFactory } from 'pino-pretty';
import { detectHost, overrideByName, shareText, splitHost } from '../agent/index.js';
import { Resources } from '../resources/index.js';
import type { Clock } from '../runtime/index.js';
import { getJson } from '../sdk/index.js';
import {
  durationFlag,
  numberFlag,
  type ParsedValues,
  STOP_WITH_PARENT_ENV,
  stringFlag,
  UsageError,
} from './command.js';
import {
  type CoordinatorKind,
  DEFAULT_COORDINATOR_PORTS,
  freePort,
  isPortFree,
  isServing,
  type LocalCoordinatorPlan,
  missingCoordinator,
  planLocalCoordinator,
  STOP_WITH_PARENT_SHELL,
} from './local-coordinator.js';
import { masterNodeFlags } from './master-node-flags.js';
import { type Exit, type SupervisedProcess, Supervisor } from './supervisor.js';

const PINO_LEVELS: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/** How long the cluster may take to come up before `up` gives up. */
const START_TIMEOUT_MS = 30_000;
/** How long a coordinator may take to serve: a cold JVM on a busy machine takes its time. */
const COORDINATOR_START_TIMEOUT_MS = 60_000;
/** Lines of a coordinator's output kept for the message when it fails to start. */
const COORDINATOR_OUTPUT_LINES = 20;
/** How long processes get to stop after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;
/**
 * A second signal this soon after the first is the same Ctrl-C relayed: the
 * terminal signals its whole foreground group, and `npm start` forwards what it
 * got too. Taken as "force", it would SIGKILL agents before they stop their tasks.
 */
const SAME_SIGNAL_WINDOW_MS = 1000;

/**
 * Real time with timers that keep `up` alive: while every daemon waits out its
 * restart backoff, the pending restart is all there is (runtime's systemClock
 * unrefs its timers, which would let `up` exit in that gap).
 */
const refClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

/** What --ha and the flags that go with it asked for; undefined without --ha. */
interface HaFlags {
  readonly kind: CoordinatorKind;
  readonly masterCount: number;
  /** 0: any free port. */
  readonly coordinatorPort: number;
  readonly sessionTimeout: string;
}

function haFlags(values: ParsedValues): HaFlags | undefined {
  const ha = stringFlag(values, 'ha');
  if (ha === undefined) {
    for (const flag of ['masters', 'coordinator_port', 'zk_session_timeout'])
      if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --ha`);
    return undefined;
  }
  if (ha !== 'zookeeper' && ha !== 'etcd')
    throw new UsageError(`--ha: expected zookeeper or etcd, got '${ha}'`);
  const masterCount = numberFlag(values, 'masters', 3, 1);
  if (!Number.isInteger(masterCount)) throw new UsageError('--masters: expected a whole number');
  const coordinatorPort = numberFlag(values, 'coordinator_port', DEFAULT_COORDINATOR_PORTS[ha]);
  if (!Number.isInteger(coordinatorPort) || coordinatorPort > 65_535)
    throw new UsageError('--coordinator_port: expected a port number');
  const sessionTimeout = stringFlag(values, 'zk_session_timeout') ?? '10secs';
  // Checked here so a typo is a usage error, not three masters exiting at once.
  const sessionMs = durationFlag(values, 'zk_session_timeout', 10_000);
  if (sessionMs < 1000 || sessionMs > 600_000)
    throw new UsageError('--zk_session_timeout: expected 1secs to 10mins');
  return { kind: ha, masterCount, coordinatorPort, sessionTimeout };
}

export async function up(values: ParsedValues): Promise<number> {
  const agentCount = numberFlag(values, 'agents', 2, 1);
  if (!Number.isInteger(agentCount)) throw new UsageError('--agents: expected a whole number');
  const ha = haFlags(values);
  const port = numberFlag(values, 'port', 5050);
  const workDir = resolve(stringFlag(values, 'work_dir') ?? '.agora');
  const logLevel = stringFlag(values, 'log_level') ?? 'info';
  const shownLevel = PINO_LEVELS[logLevel];
  if (shownLevel === undefined)
    throw new UsageError(
      `--log_level: expected one of ${Object.keys(PINO_LEVELS).join(', ')}, got '${logLevel}'`,
    );
  // The children log at info at least: \`up\` reads the master's URL from its 'listening'
  // line. --log_level only decides what is shown.
  const childLevel = shownLevel < (PINO_LEVELS.info ?? 30) ? logLevel : 'info';
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot tell which script is running');
  mkdirSync(workDir, { recursive: true });
  const agentResources = shareHost(workDir, agentCount, stringFlag(values, 'agent_resources'));

  const pretty = prettyFactory({
    colorize: process.stdout.isTTY,
    ignore: 'pid,hostname,component',
    translateTime: 'HH:MM:ss.l',
  });
  const say = (line: string) => process.stderr.write(`${line}\n`);

  /** One run of a daemon: `agora <args>` with its log lines shown under `name`. */
  const startChild = (
    name: string,
    args: readonly string[],
    onLine?: (entry: Record<string, unknown>) => void,
    nodeFlags: readonly string[] = [],
  ): SupervisedProcess => {
    // Each child holds a pipe from us on its stdin and stops when it closes: so even if
    // `up` is killed outright (SIGKILL), no master or agent outlives it. Each runs in a
    // process group of its own, so a Ctrl-C at the terminal reaches `up` alone, which then
    // stops the agents before the master and knows no exit in between is a crash.
    const child = spawn(process.execPath, [...nodeFlags, script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, [STOP_WITH_PARENT_ENV]: '1' },
      detached: true,
    });
    const prefix = `${name.padEnd(8)}|`;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        let entry: Record<string, unknown> | undefined;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          entry = undefined;
        }
        if (entry !== undefined) onLine?.(entry);
        const level = typeof entry?.level === 'number' ? entry.level : Number.POSITIVE_INFINITY;
        if (level < shownLevel) return;
        process.stdout.write(`${prefix} ${entry === undefined ? `${line}\n` : pretty(entry)}`);
      });
    }
    return { exited: exitOf(child), kill: (signal) => killChild(child, signal) };
  };

  /**
   * One run of the coordinator: its own program under a shell that stops it when `up`
   * is gone (local-coordinator.ts). Its output is shown at debug level only (it is
   * not ours, and chatty), and its last lines are kept for the message if it fails.
   */
  const coordinatorOutput: string[] = [];
  const startCoordinator = (plan: LocalCoordinatorPlan, name: string): SupervisedProcess => {
    const child = spawn(
      '/bin/sh',
      ['-c', STOP_WITH_PARENT_SHELL, 'sh', plan.command, ...plan.args],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const prefix = `${name.padEnd(8)}|`;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        coordinatorOutput.push(line);
        if (coordinatorOutput.length > COORDINATOR_OUTPUT_LINES) coordinatorOutput.shift();
        if (shownLevel <= (PINO_LEVELS.debug ?? 20)) process.stdout.write(`${prefix} ${line}\n`);
      });
    }
    // Signals go to its process group: the shell and the coordinator both.
    return { exited: exitOf(child), kill: (signal) => killGroup(child, signal) };
  };

  const supervise = (
    name: string,
    spawnRun: () => SupervisedProcess,
    stopSignal: NodeJS.Signals = 'SIGTERM',
  ) =>
    new Supervisor({
      name,
      spawn: spawnRun,
      clock: refClock,
      say,
      stopTimeoutMs: STOP_TIMEOUT_MS,
      stopSignal,
    });

  let coordinator:
    | { readonly plan: LocalCoordinatorPlan; readonly supervisor: Supervisor }
    | undefined;
  const masters: Master[] = [];
  const agents: Supervisor[] = [];
  // The bundled frameworks (issues #12 and #13) run beside the cluster, supervised like the
  // daemons: started once the agents are in, stopped first. With the master on any free
  // port (tests, several clusters), so are they (and the services framework's DNS server).
  // Either framework is left out the same two ways: --no_<name>, or its port 'off'.
  const frameworkPort = (name: 'jobs' | 'services', fixed: number): number | undefined =>
    values[`no_${name}`] === true || stringFlag(values, `${name}_port`) === 'off'
      ? undefined
      : numberFlag(values, `${name}_port`, port === 0 ? 0 : fixed);
  const jobsPort = frameworkPort('jobs', 8090);
  let jobsUrl: string | undefined;
  const servicesPort = frameworkPort('services', 8080);
  let servicesUrl: string | undefined;
  const frameworks: Supervisor[] = [];
  const all = () => [
    ...(coordinator !== undefined ? [coordinator.supervisor] : []),
    ...masters.map((m) => m.supervisor),
    ...agents,
    ...frameworks,
  ];

  const stop = async () => {
    // No daemon may come back while the others stop, even one whose backoff ends meanwhile.
    for (const supervisor of all()) supervisor.stopRestarting();
    // The frameworks first: they stay registered, and their tasks end with the agents.
    await Promise.all(frameworks.map((framework) => framework.stop()));
    // Agents next, so their tasks end while the master can still hear about it; the
    // coordinator last, so no master loses its session (and exits 70) on the way out.
    await Promise.all(agents.map((agent) => agent.stop()));
    await Promise.all(masters.map((master) => master.supervisor.stop()));
    await coordinator?.supervisor.stop();
  };

  const interrupted = new AbortController();
  let firstSignalAtMs: number | undefined;
  const onSignal = () => {
    const nowMs = performance.now();
    if (firstSignalAtMs === undefined) {
      firstSignalAtMs = nowMs;
      say('agora up: stopping the cluster (Ctrl-C again to kill every process at once)');
      interrupted.abort();
    } else if (nowMs - firstSignalAtMs >= SAME_SIGNAL_WINDOW_MS) {
      say(
        'agora up: killing every process; tasks left running are cleaned up when the cluster next starts here',
      );
      for (const supervisor of all()) supervisor.kill();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let masterFlags: readonly string[] = ['--work_dir', join(workDir, 'master')];
    if (ha !== undefined) {
      const plan = await planCoordinator(ha, workDir);
      const name = ha.kind === 'zookeeper' ? 'zk' : 'etcd';
      const supervisor = supervise(name, () => startCoordinator(plan, name));
      coordinator = { plan, supervisor };
      supervisor.start();
      await waitFor(
        `${plan.title} to serve`,
        interrupted.signal,
        all(),
        async () =>
          (await isServing(ha.kind, Number(plan.address.split(':')[1]))) ? true : undefined,
        COORDINATOR_START_TIMEOUT_MS,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; it said:\n${coordinatorOutput.join('\n')}`);
      });
      const quorum = Math.floor(ha.masterCount / 2) + 1;
      masterFlags = [
        ...plan.masterFlag,
        '--quorum',
        String(quorum),
        '--zk_session_timeout',
        ha.sessionTimeout,
      ];
    }
    const masterCount = ha?.masterCount ?? 1;
    for (let i = 0; i < masterCount; i++) {
      const name = ha === undefined ? 'master' : `master-${i + 1}`;
      const master: Master = {
        name,
        // Restarts reuse the port each master bound first: agents and clients were told it.
        port: port === 0 ? 0 : port + i,
        url: undefined,
        supervisor: supervise(name, () =>
          startChild(
            name,
            ['master', '--port', String(master.port), ...masterFlags, '--log_level', childLevel],
            (entry) => {
              if (entry.msg === 'listening' && typeof entry.url === 'string') {
                master.url = entry.url;
                master.port = Number(new URL(entry.url).port);
              }
            },
            masterNodeFlags(process.env.NODE_OPTIONS, process.execArgv),
          ),
        ),
      };
      masters.push(master);
      master.supervisor.start();
    }
    const urls = await waitFor(
      `the ${masterCount === 1 ? 'master' : 'masters'} to listen`,
      interrupted.signal,
      all(),
      async () => {
        const listening = masters.flatMap((m) => (m.url !== undefined ? [m.url] : []));
        return listening.length === masterCount ? listening : undefined;
      },
    );
    const findLeader = async () => (ha === undefined ? urls[0] : await leaderAmong(urls));
    const leader = await waitFor('a master to lead', interrupted.signal, all(), findLeader);
    // Agents follow the leader through the coordinator; alone, they know the one master.
    const agentMaster = coordinator?.plan.clientUrl ?? leader;
    agentResources.perAgent.forEach((resources, i) => {
      const name = `agent-${i + 1}`;
      const agent = supervise(
        name,
        () =>
          startChild(name, [
            'agent',
            '--master',
            agentMaster,
            '--port',
            '0',
            '--work_dir',
            join(workDir, name),
            '--log_level',
            childLevel,
            '--resources',
            resources,
          ]),
        // A local cluster stops with its tasks: an agent leaves them running on SIGTERM.
        'SIGUSR1',
      );
      agents.push(agent);
      agent.start();
    });
    await waitFor(`${agentCount} agents to register`, interrupted.signal, all(), async () => {
      const at = await findLeader();
      if (at === undefined) return undefined;
      const { slaves } = await getJson<{ slaves: unknown[] }>(new URL('/master/slaves', at));
      return slaves.length >= agentCount ? true : undefined;
    });
    // The frameworks find the leader as the agents do.
    if (jobsPort !== undefined) {
      // Restarts reuse the port bound first, as the master's do.
      let boundJobsPort = jobsPort;
      const framework = supervise('jobs', () =>
        startChild(
          'jobs',
          [
            'jobs',
            'serve',
            '--master',
            agentMaster,
            '--port',
            String(boundJobsPort),
            '--work_dir',
            join(workDir, 'jobs'),
            // With --ha its state is in the coordinator, beside the masters' registry.
            ...(coordinator !== undefined ? ['--state', coordinator.plan.clientUrl] : []),
          ],
          (entry) => {
            if (entry.msg === 'listening' && typeof entry.url === 'string') {
              jobsUrl = entry.url;
              boundJobsPort = Number(new URL(entry.url).port);
            }
          },
        ),
      );
      frameworks.push(framework);
      framework.start();
      await waitFor('the jobs framework to listen', interrupted.signal, all(), async () => jobsUrl);
    }
    if (servicesPort !== undefined) {
      const services = supervise('services', () =>
        startChild(
          'services',
          [
            'services',
            'serve',
            '--master',
            agentMaster,
            '--port',
            String(servicesPort),
            '--dns_port',
            servicesPort === 0 ? '0' : '8053',
            '--work_dir',
            workDir,
            '--log_level',
            childLevel,
          ],
          (entry) => {
            if (entry.msg === 'listening' && typeof entry.url === 'string') servicesUrl = entry.url;
          },
        ),
      );
      frameworks.push(services);
      services.start();
      await waitFor(
        'the services framework to listen',
        interrupted.signal,
        all(),
        async () => servicesUrl,
      );
    }
    for (const supervisor of all()) supervisor.enableRestarts();
    process.stdout.write(
      banner({
        workDir,
        agentCount,
        urls,
        leader,
        ha,
        coordinator: coordinator?.plan,
        summary: agentResources.summary,
        jobsUrl,
        servicesUrl,
      }),
    );
    // An agent that is given up on leaves the others running; without a master (or its
    // coordinator) the cluster can do nothing, so that ends it.
    const gone = await Promise.race([
      new Promise<undefined>((done) =>
        interrupted.signal.addEventListener('abort', () => done(undefined), { once: true }),
      ),
      ...(coordinator !== undefined ? [coordinator.supervisor.ended] : []),
      Promise.all(masters.map((m) => m.supervisor.ended)).then(([first]) => first),
    ]);
    if (gone !== undefined) {
      say(
        `agora up: the cluster cannot run without ${coordinator !== undefined ? 'its coordinator and masters' : 'its master'}; stopping it`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    say(`agora up: ${(error as Error).message}`);
    return 1;
  } finally {
    await stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Each local agent's `--resources`: its share of the host, with the names the
 * user gave in `--agent_resources` taken as given. And one line saying so.
 */
function shareHost(
  workDir: string,
  agentCount: number,
  given: string | undefined,
): { readonly perAgent: readonly string[]; readonly summary: string } {
  let shares: ReturnType<typeof splitHost>;
  try {
    shares = splitHost(detectHost(workDir), agentCount);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`--agents: ${error.message}`);
    throw error;
  }
  const perAgent = shares.map((share) => overrideByName(Resources.parse(shareText(share)), given));
  const first = perAgent[0] ?? Resources.EMPTY;
  const scalars = first.filter((r) => r.name !== 'ports').toString();
  const ports = perAgent
    .map((r) =>
      r
        .filter((p) => p.name === 'ports')
        .toString()
        .replace(/^ports:/, ''),
    )
    .join(' / ');
  const summary =
    agentCount === 1
      ? `The agent has this host: ${scalars}; ports ${ports}.`
      : `${agentCount} agents share this host: each ${scalars}; ports ${ports}.`;
  return { perAgent: perAgent.map((r) => r.toString()), summary };
}

/** Resolves when the child has exited, or at once if it could not be started at all. */
function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
    // 'error' also reports a failed kill(); only a child that never got a PID is over.
    child.once('error', () => {
      if (child.pid === undefined) resolveExit({ code: null, signal: null });
    });
  });
}

function killChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

/** Signals the child's process group (it was started detached, so it leads one). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** One master of the cluster, as `up` follows it across restarts. */
interface Master {
  readonly name: string;
  /** The port it is started on: given, then the one it bound first (0 picks any). */
  port: number;
  /** Its URL once it said it listens. */
  url: string | undefined;
  readonly supervisor: Supervisor;
}

/**
 * Where the coordinator runs: the port asked for, which must be free (a
 * ZooKeeper already there would answer our probes while ours fails to bind),
 * or any free one, kept across its restarts.
 */
async function planCoordinator(ha: HaFlags, workDir: string): Promise<LocalCoordinatorPlan> {
  const missing = missingCoordinator(ha.kind);
  if (missing !== undefined) throw new Error(missing);
  let port = ha.coordinatorPort;
  if (port === 0) port = await freePort();
  else if (!(await isPortFree(port)))
    throw new UsageError(
      `--coordinator_port: ${port} is in use (another ${ha.kind === 'zookeeper' ? 'ZooKeeper' : 'etcd'}?); give another port, or 0 for any free one`,
    );
  const peerPort =
    ha.coordinatorPort === DEFAULT_COORDINATOR_PORTS.etcd ? port + 1 : await freePort();
  const dir = join(workDir, ha.kind);
  const plan = planLocalCoordinator(ha.kind, { dir, port, peerPort });
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(plan.files)) writeFileSync(path, content);
  return plan;
}

/** The URL of the one master among `urls` that says it leads (master/elected), if any. */
async function leaderAmong(urls: readonly string[]): Promise<string | undefined> {
  const elected = await Promise.all(
    urls.map(async (url) => {
      const response = await fetch(new URL('/metrics/snapshot', url), {
        signal: AbortSignal.timeout(2000),
      }).catch(() => undefined);
      if (response?.ok !== true) return false;
      const metrics = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      return metrics['master/elected'] === 1;
    }),
  );
  const leading = urls.filter((_, i) => elected[i] === true);
  return leading.length === 1 ? leading[0] : undefined;
}

/** What `up` prints once the cluster is up: where things are, and what to try. */
function banner(parts: {
  readonly workDir: string;
  readonly agentCount: number;
  readonly urls: readonly string[];
  readonly leader: string;
  readonly ha: HaFlags | undefined;
  readonly coordinator: LocalCoordinatorPlan | undefined;
  readonly summary: string;
  readonly jobsUrl: string | undefined;
  readonly servicesUrl: string | undefined;
}): string {
  const { workDir, agentCount, urls, leader, ha, coordinator, summary, jobsUrl, servicesUrl } =
    parts;
  let headline: string;
  let masterFlag: string;
  if (ha === undefined || coordinator === undefined) {
    headline = `Agora is up: master at ${leader} with ${agentCount} agents (state in ${workDir}).`;
    // The CLI finds a master on the default port by itself; elsewhere it must be told.
    masterFlag = new URL(leader).port === '5050' ? '' : ` --master ${new URL(leader).host}`;
  } else {
    headline = [
      `Agora is up, highly available: ${urls.length} masters electing a leader through ${coordinator.title}, with ${agentCount} agents (state in ${workDir}).`,
      `Masters: ${urls.map((url) => (url === leader ? `${url} (leading)` : url)).join(', ')}.`,
    ].join('\n');
    masterFlag = ` --master ${coordinator.clientUrl}`;
  }
  return [
    '',
    headline,
    summary,
    `  npx agora run${masterFlag} -- echo hello`,
    `  npx agora tasks${masterFlag}`,
    ...(jobsUrl !== undefined
      ? [
          `  npx agora jobs submit${new URL(jobsUrl).port === '8090' ? '' : ` --jobs ${new URL(jobsUrl).host}`} --array 0-9 -- 'echo $AGORA_JOB_INDEX'`,
          `  curl -s ${jobsUrl}/v1/jobs`,
        ]
      : []),
    `  curl -s ${leader}/master/state`,
    ...(servicesUrl !== undefined
      ? [`Services (Marathon's API) at ${servicesUrl}: npx agora services apply -f web.json`]
      : []),
    ha === undefined
      ? 'A master or agent that exits is restarted; Ctrl-C stops the cluster.'
      : 'A coordinator, master or agent that exits is restarted (a master that loses its session exits); Ctrl-C stops the cluster.',
    '',
    '',
  ].join('\n');
}

/** Polls `probe` until it yields a value; fails if a watched daemon exits, on interrupt, or at the deadline. */
async function waitFor<T>(
  what: string,
  interrupted: AbortSignal,
  watched: readonly Supervisor[],
  probe: () => Promise<T | undefined>,
  timeoutMs = START_TIMEOUT_MS,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let exited: string | undefined;
  for (const supervisor of watched) void supervisor.ended.then((why) => (exited ??= why));
  while (performance.now() < deadline) {
    if (interrupted.aborted) throw new Error(`interrupted while waiting for ${what}`);
    if (exited !== undefined) throw new Error(`${exited} while waiting for ${what}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
