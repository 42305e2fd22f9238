// `agora run`: flags to a RunCommandOptions, signals to a kill.
import {
  EXIT_COULD_NOT_RUN,
  type LaunchedAhead,
  type RunDockerOptions,
  runCommand,
} from '../frameworks/index.js';
import { Resources } from '../resources/index.js';
import { AgoraError, type CommandInfo } from '../wire/index.js';
import { durationFlag, numberFlag, type ParsedValues, stringFlag, UsageError } from './command.js';

export function defaultMaster(values: ParsedValues): string {
  return stringFlag(values, 'master') ?? process.env.AGORA_MASTER ?? '127.0.0.1:5050';
}

export function commandInfo(positionals: readonly string[], env: readonly string[]): CommandInfo {
  const [first, ...rest] = positionals;
  if (first === undefined) throw new UsageError('missing the command to run (after --)');
  const variables = env.map((pair) => {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--env: expected NAME=VALUE, got '${pair}'`);
    return { name: pair.slice(0, equals), value: pair.slice(equals + 1) };
  });
  const environment = variables.length > 0 ? { environment: { variables } } : {};
  // One argument is a shell command line; several are an argv executed directly.
  return rest.length === 0
    ? { shell: true, value: first, ...environment }
    : { shell: false, value: first, arguments: [first, ...rest], ...environment };
}

export function taskResources(values: ParsedValues): Resources {
  const text = stringFlag(values, 'resources');
  if (text !== undefined) {
    try {
      return Resources.parse(text);
    } catch (error) {
      throw new UsageError(
        `--resources: ${error instanceof AgoraError ? error.message : String(error)}`,
      );
    }
  }
  const quantities: Record<string, number> = {
    cpus: numberFlag(values, 'cpus', 0.1),
    mem: numberFlag(values, 'mem', 32),
  };
  const disk = numberFlag(values, 'disk', 0);
  if (disk > 0) quantities.disk = disk;
  if (quantities.cpus === 0 && quantities.mem === 0)
    throw new UsageError('the task needs some --cpus or --mem');
  return Resources.scalars(quantities);
}

/** bin/code-cache.js writes a cache at exit only once this is set (its COMPLETE_MARK). */
function markCodeCacheComplete(): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for('agora.code-cache.complete')] = true;
}

/**
 * bin/run-ahead.js holds signals from the moment it sent the SUBSCRIBE until these handlers
 * are on: the first one that came then, if any, which this run acts on as on its own.
 */
function releaseEarlySignals(): NodeJS.Signals | undefined {
  const early = Reflect.get(globalThis, Symbol.for('agora.run.earlySignals')) as
    | { release(): NodeJS.Signals | undefined }
    | undefined;
  return early?.release();
}

/** The task bin/run-ahead.js launched before this bundle loaded, if any (taken once). */
function takeLaunchedAhead(): LaunchedAhead | undefined {
  const key = Symbol.for('agora.run.launchedAhead');
  const ahead = Reflect.get(globalThis, key) as LaunchedAhead | undefined;
  Reflect.deleteProperty(globalThis, key);
  return ahead;
}

/** Signal numbers for the exit status 128+n, as shells report a signalled process. */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
/** How often to look whether `npx`'s process is gone (see watchParent). */
const PARENT_CHECK_MS = 200;

/**
 * `npx agora` (npm exec) starts this process through `sh -c`, and on SIGTERM
 * npm exits without passing the signal on; the shell dies and this process
 * would run on as an orphan, its task with it. Started that way, the parent
 * going away counts as a signal. Only then: a shell that exits after
 * `agora run … &` must not end the run.
 */
function watchParent(onGone: () => void): () => void {
  if (process.env.npm_command !== 'exec') return () => undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, PARENT_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** `--docker-image`, `--network`, `-p`: the container the command runs in, if any. */
export function dockerOptions(values: ParsedValues): RunDockerOptions | undefined {
  const image = stringFlag(values, 'docker-image');
  const network = (stringFlag(values, 'network') ?? 'host').toUpperCase();
  const publish = Array.isArray(values.publish) ? values.publish : [];
  if (image === undefined) {
    if (publish.length > 0 || stringFlag(values, 'network') !== undefined)
      throw new UsageError('--network and -p need --docker-image');
    return undefined;
  }
  if (image === '') throw new UsageError('--docker-image: empty image name');
  if (network !== 'HOST' && network !== 'BRIDGE' && network !== 'NONE')
    throw new UsageError(
      `--network: expected host, bridge or none, got '${network.toLowerCase()}'`,
    );
  const containerPorts = publish.map((text) => {
    const port = Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      throw new UsageError(`-p: expected a port from 1 to 65535, got '${text}'`);
    return port;
  });
  if (containerPorts.length > 0 && network !== 'BRIDGE')
    throw new UsageError('-p needs --network bridge');
  const containerizer = (stringFlag(values, 'containerizer') ?? 'docker').toUpperCase();
  if (containerizer !== 'DOCKER' && containerizer !== 'MESOS')
    throw new UsageError(
      `--containerizer: expected docker or mesos, got '${containerizer.toLowerCase()}'`,
    );
  if (containerizer === 'MESOS' && (network !== 'HOST' || values['force-pull'] === true))
    throw new UsageError('--containerizer mesos runs on the host network, without --force-pull');
  return {
    image,
    network,
    containerPorts,
    forcePull: values['force-pull'] === true,
    containerizer,
  };
}

export async function run(values: ParsedValues, positionals: readonly string[]): Promise<number> {
  const env = values.env;
  const docker = dockerOptions(values);
  // A container may run its image's own command: no command given is no command value.
  const command =
    docker !== undefined && positionals.length === 0
      ? { shell: false }
      : commandInfo(positionals, Array.isArray(env) ? env : []);
  const resources = taskResources(values);
  const timeout = stringFlag(values, 'timeout');
  const timeoutMs = timeout === undefined ? undefined : durationFlag(values, 'timeout', 0);
  const quiet = values.quiet === true;
  const codec = stringFlag(values, 'codec') ?? 'json';
  if (codec !== 'json' && codec !== 'protobuf')
    throw new UsageError(`--codec: expected json or protobuf, got '${codec}'`);
  // The first signal ends the run at whatever stage it is (tearing down, or killing the
  // task and waiting for it); a second one exits at once.
  const interrupt = new AbortController();
  let firstSignal: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignal !== undefined) process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 15));
    firstSignal = signal;
    interrupt.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const early = releaseEarlySignals();
  if (early !== undefined) onSignal(early);
  const stopWatching = watchParent(() => onSignal('SIGHUP'));
  const launchedAhead = takeLaunchedAhead();
  try {
    const result = await runCommand({
      master: defaultMaster(values),
      name: stringFlag(values, 'name') ?? 'agora-run',
      command,
      resources,
      role: stringFlag(values, 'role') ?? '*',
      // Read when first written to: making a pipe's stream (a net.Socket each) is not work
      // for the path to the first request; the first line goes out once the task is launched.
      get stdout() {
        return process.stdout;
      },
      get stderr() {
        return process.stderr;
      },
      ...(quiet ? {} : { report: (line: string) => process.stderr.write(`agora: ${line}\n`) }),
      interrupt: interrupt.signal,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      codec,
      ...(docker !== undefined ? { docker } : {}),
      ...(launchedAhead !== undefined ? { launchedAhead } : {}),
    });
    // The code cache of `agora run`'s bundle (bin/code-cache.js) is made from a run that
    // went the whole way, so that it holds the path to a task's start.
    if (result.outcome === 'task-ended') markCodeCacheComplete();
    if (result.outcome === 'interrupted' && firstSignal !== undefined)
      return 128 + (SIGNAL_NUMBERS[firstSignal] ?? 15);
    return result.exitStatus;
  } catch (error) {
    // main.ts words an unreachable master for every command alike.
    if (error instanceof Error && error.name === 'ConnectionError') throw error;
    process.stderr.write(`agora run: ${(error as Error).message}\n`);
    return EXIT_COULD_NOT_RUN;
  } finally {
    stopWatching();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}
