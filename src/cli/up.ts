// `agora up`: a whole local cluster from one command. The master and each agent
// run as real child processes; their logs are shown, pretty, with a prefix;
// Ctrl-C stops every process this started (and waits for each by PID). The
// agents split the host between them rather than each offering all of it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { prettyFactory } from 'pino-pretty';
import { detectHost, overrideByName, shareText, splitHost } from '../agent/index.js';
import { Resources } from '../resources/index.js';
import { getJson } from '../sdk/index.js';
import {
  numberFlag,
  type ParsedValues,
  STOP_WITH_PARENT_ENV,
  stringFlag,
  UsageError,
} from './command.js';

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

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
}

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
  const children: Child[] = [];
  const start = (
    name: string,
    args: readonly string[],
    onLine?: (entry: Record<string, unknown>) => void,
  ): Child => {
    // Each child holds a pipe from us on its stdin and stops when it closes: so even if
    // `up` is killed outright (SIGKILL), no master or agent outlives it.
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, [STOP_WITH_PARENT_ENV]: '1' },
    });
    const exited = once(child, 'exit').then(([code]) => code as number | null);
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
    const record = { name, process: child, exited };
    children.push(record);
    return record;
  };

  const stop = async () => {
    // Agents first, so their tasks end while the master can still hear about it.
    for (const group of [
      children.filter((c) => c.name !== 'master'),
      children.filter((c) => c.name === 'master'),
    ]) {
      for (const child of group) child.process.kill('SIGTERM');
      await Promise.all(
        group.map((child) =>
          Promise.race([
            child.exited,
            new Promise<void>((done) => setTimeout(done, STOP_TIMEOUT_MS).unref()).then(() =>
              child.process.kill('SIGKILL'),
            ),
          ]),
        ),
      );
      await Promise.all(group.map((child) => child.exited));
    }
  };

  const interrupted = new AbortController();
  const onSignal = () => {
    if (interrupted.signal.aborted) for (const child of children) child.process.kill('SIGKILL');
    interrupted.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let masterUrl: string | undefined;
    const master = start(
      'master',
      [
        'master',
        '--port',
        String(port),
        '--work_dir',
        join(workDir, 'master'),
        '--log_level',
        childLevel,
      ],
      (entry) => {
        if (entry.msg === 'listening' && typeof entry.url === 'string') masterUrl = entry.url;
      },
    );
    const url = await waitFor(
      'the master to listen',
      interrupted.signal,
      [master],
      async () => masterUrl,
    );
    for (const [i, resources] of agentResources.perAgent.entries())
      start(`agent-${i + 1}`, [
        'agent',
        '--master',
        url,
        '--port',
        '0',
        '--work_dir',
        join(workDir, `agent-${i + 1}`),
        '--log_level',
        childLevel,
        '--resources',
        resources,
      ]);
    await waitFor(`${agentCount} agents to register`, interrupted.signal, children, async () => {
      const { slaves } = await getJson<{ slaves: unknown[] }>(new URL('/master/slaves', url));
      return slaves.length >= agentCount ? true : undefined;
    });
    // The CLI finds a master on the default port by itself; elsewhere it must be told.
    const masterFlag = new URL(url).port === '5050' ? '' : ` --master ${new URL(url).host}`;
    process.stdout.write(
      [
        '',
        `Agora is up: master at ${url} with ${agentCount} agents (state in ${workDir}).`,
        agentResources.summary,
        `  npx agora run${masterFlag} -- echo hello`,
        `  npx agora tasks${masterFlag}`,
        `  curl -s ${url}/master/state`,
        'Ctrl-C stops the cluster.',
        '',
        '',
      ].join('\n'),
    );
    const ended = await Promise.race([
      once(interrupted.signal, 'abort').then(() => undefined),
      ...children.map((child) => child.exited.then(() => child)),
    ]);
    if (ended !== undefined) {
      process.stderr.write(`agora up: ${ended.name} exited unexpectedly; stopping the cluster\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    process.stderr.write(`agora up: ${(error as Error).message}\n`);
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

/** Polls `probe` until it yields a value; fails if a watched process exits, on interrupt, or at the deadline. */
async function waitFor<T>(
  what: string,
  interrupted: AbortSignal,
  watched: readonly Child[],
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited: string | undefined;
  for (const child of watched) void child.exited.then(() => (exited ??= child.name));
  while (Date.now() < deadline) {
    if (interrupted.aborted) throw new Error(`interrupted while waiting for ${what}`);
    if (exited !== undefined) throw new Error(`${exited} exited while waiting for ${what}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for ${what}`);
}
