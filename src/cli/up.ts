// `agora up`: a whole local cluster from one command. The master and each agent
// run as real child processes; their logs are shown, pretty, with a prefix. A
// daemon that exits is restarted with the same arguments and work dir (see
// supervisor.ts); only Ctrl-C or SIGTERM stops the cluster, and stopping waits
// for every process by PID. The agents split the host between them rather than
// each offering all of it.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { prettyFactory } from 'pino-pretty';
import { detectHost, overrideByName, shareText, splitHost } from '../agent/index.js';
import { Resources } from '../resources/index.js';
import type { Clock } from '../runtime/index.js';
import { getJson } from '../sdk/index.js';
import {
  numberFlag,
  type ParsedValues,
  STOP_WITH_PARENT_ENV,
  stringFlag,
  UsageError,
} from './command.js';
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
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

export async function up(values: ParsedValues): Promise<number> {
  const agentCount = numberFlag(values, 'agents', 2, 1);
  if (!Number.isInteger(agentCount)) throw new UsageError('--agents: expected a whole number');
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
  ): SupervisedProcess => {
    // Each child holds a pipe from us on its stdin and stops when it closes: so even if
    // `up` is killed outright (SIGKILL), no master or agent outlives it. Each runs in a
    // process group of its own, so a Ctrl-C at the terminal reaches `up` alone, which then
    // stops the agents before the master and knows no exit in between is a crash.
    const child = spawn(process.execPath, [script, ...args], {
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

  const supervise = (name: string, spawnRun: () => SupervisedProcess) =>
    new Supervisor({
      name,
      spawn: spawnRun,
      clock: refClock,
      say,
      stopTimeoutMs: STOP_TIMEOUT_MS,
    });

  let masterUrl: string | undefined;
  // Restarts reuse the port the master bound first: the agents were told that address.
  let masterPort = port;
  const master = supervise('master', () =>
    startChild(
      'master',
      [
        'master',
        '--port',
        String(masterPort),
        '--work_dir',
        join(workDir, 'master'),
        '--log_level',
        childLevel,
      ],
      (entry) => {
        if (entry.msg === 'listening' && typeof entry.url === 'string') masterUrl = entry.url;
      },
    ),
  );
  const agents: Supervisor[] = [];
  // The bundled frameworks (issues #12 and #13) run beside the cluster, supervised like the
  // daemons: started once the agents are in, stopped first. With the master on any free
  // port (tests, several clusters), so are they (and the services framework's DNS server).
  const jobsPortFlag = stringFlag(values, 'jobs_port');
  const jobsPort =
    jobsPortFlag === 'off' ? undefined : numberFlag(values, 'jobs_port', port === 0 ? 0 : 8090);
  let jobsUrl: string | undefined;
  const servicesPort = numberFlag(values, 'services_port', port === 0 ? 0 : 8080);
  const withServices = values.no_services !== true;
  let servicesUrl: string | undefined;
  const frameworks: Supervisor[] = [];
  const all = () => [master, ...agents, ...frameworks];

  const stop = async () => {
    // No daemon may come back while the others stop, even one whose backoff ends meanwhile.
    for (const supervisor of all()) supervisor.stopRestarting();
    // The frameworks first: they stay registered, and their tasks end with the agents.
    await Promise.all(frameworks.map((framework) => framework.stop()));
    // Agents first, so their tasks end while the master can still hear about it.
    await Promise.all(agents.map((agent) => agent.stop()));
    await master.stop();
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
    master.start();
    const url = await waitFor(
      'the master to listen',
      interrupted.signal,
      all(),
      async () => masterUrl,
    );
    masterPort = Number(new URL(url).port);
    agentResources.perAgent.forEach((resources, i) => {
      const name = `agent-${i + 1}`;
      const agent = supervise(name, () =>
        startChild(name, [
          'agent',
          '--master',
          url,
          '--port',
          '0',
          '--work_dir',
          join(workDir, name),
          '--log_level',
          childLevel,
          '--resources',
          resources,
        ]),
      );
      agents.push(agent);
      agent.start();
    });
    await waitFor(`${agentCount} agents to register`, interrupted.signal, all(), async () => {
      const { slaves } = await getJson<{ slaves: unknown[] }>(new URL('/master/slaves', url));
      return slaves.length >= agentCount ? true : undefined;
    });
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
            url,
            '--port',
            String(boundJobsPort),
            '--work_dir',
            join(workDir, 'jobs'),
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
    if (withServices) {
      const services = supervise('services', () =>
        startChild(
          'services',
          [
            'services',
            'serve',
            '--master',
            url,
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
    // The CLI finds a master on the default port by itself; elsewhere it must be told.
    const masterFlag = new URL(url).port === '5050' ? '' : ` --master ${new URL(url).host}`;
    process.stdout.write(
      [
        '',
        `Agora is up: master at ${url} with ${agentCount} agents (state in ${workDir}).`,
        agentResources.summary,
        `  npx agora run${masterFlag} -- echo hello`,
        `  npx agora tasks${masterFlag}`,
        ...(jobsUrl !== undefined
          ? [
              `  npx agora jobs submit${new URL(jobsUrl).port === '8090' ? '' : ` --jobs ${new URL(jobsUrl).host}`} --array 0-9 -- 'echo $AGORA_JOB_INDEX'`,
              `  curl -s ${jobsUrl}/v1/jobs`,
            ]
          : []),
        `  curl -s ${url}/master/state`,
        ...(servicesUrl !== undefined
          ? [`Services (Marathon's API) at ${servicesUrl}: npx agora services apply -f web.json`]
          : []),
        'A master or agent that exits is restarted; Ctrl-C stops the cluster.',
        '',
        '',
      ].join('\n'),
    );
    // An agent that is given up on leaves the others running; without its master the
    // cluster can do nothing, so that ends it.
    const masterGone = await Promise.race([
      new Promise<undefined>((done) =>
        interrupted.signal.addEventListener('abort', () => done(undefined), { once: true }),
      ),
      master.ended,
    ]);
    if (masterGone !== undefined) {
      say('agora up: the cluster cannot run without its master; stopping it');
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

/** Polls `probe` until it yields a value; fails if a watched daemon exits, on interrupt, or at the deadline. */
async function waitFor<T>(
  what: string,
  interrupted: AbortSignal,
  watched: readonly Supervisor[],
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited: string | undefined;
  for (const supervisor of watched) void supervisor.ended.then((why) => (exited ??= why));
  while (Date.now() < deadline) {
    if (interrupted.aborted) throw new Error(`interrupted while waiting for ${what}`);
    if (exited !== undefined) throw new Error(`${exited} while waiting for ${what}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for ${what}`);
}
