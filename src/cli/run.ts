// `agora run`: flags to a RunCommandOptions, signals to a kill.
import { EXIT_COULD_NOT_RUN, runCommand } from '../frameworks/index.js';
import { Resources } from '../resources/index.js';
import { AgoraError, type CommandInfo } from '../wire/index.js';
import { numberFlag, type ParsedValues, stringFlag, UsageError } from './command.js';

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

export async function run(values: ParsedValues, positionals: readonly string[]): Promise<number> {
  const env = values.env;
  const command = commandInfo(positionals, Array.isArray(env) ? env : []);
  const resources = taskResources(values);
  const quiet = values.quiet === true;
  const codec = stringFlag(values, 'codec') ?? 'json';
  if (codec !== 'json' && codec !== 'protobuf')
    throw new UsageError(`--codec: expected json or protobuf, got '${codec}'`);
  const kill = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    kill.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runCommand({
      master: defaultMaster(values),
      name: stringFlag(values, 'name') ?? 'agora-run',
      command,
      resources,
      role: stringFlag(values, 'role') ?? '*',
      stdout: process.stdout,
      stderr: process.stderr,
      ...(quiet ? {} : { report: (line: string) => process.stderr.write(`agora: ${line}\n`) }),
      kill: kill.signal,
      codec,
    });
    return result.exitStatus;
  } catch (error) {
    process.stderr.write(`agora run: ${(error as Error).message}\n`);
    return EXIT_COULD_NOT_RUN;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
