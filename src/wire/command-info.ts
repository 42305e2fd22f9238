import { isAbsolute } from 'node:path';
import type { CommandInfo } from './messages.js';

/**
 * Why a CommandInfo.URI's `output_file` cannot name a file in the sandbox, or undefined when
 * it can: the agent's fetcher refuses it, and a framework checks it up front to say so early.
 */
export function outputFileProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (isAbsolute(path)) return 'must be a relative path';
  if (path.split('/').includes('..')) return "must not contain '..'";
  if (path.endsWith('/')) return 'must name a file';
  if (path.includes('\0')) return 'must not contain a NUL byte';
  return undefined;
}

/**
 * The argv a CommandInfo runs, as Mesos reads it: with `shell` (the default) its value is a
 * `/bin/sh -c` line; without, the value is the executable and `arguments` the whole argv, the
 * first of which is argv[0] and is dropped (a shell launcher cannot set another argv[0]).
 * `missing` stands in for an absent value.
 */
export function commandArgv(command: CommandInfo | undefined, missing = ''): string[] {
  const value = command?.value ?? missing;
  if (command?.shell ?? true) return ['/bin/sh', '-c', value];
  return [value, ...(command?.arguments ?? []).slice(1)];
}

/**
 * Sets a CommandInfo's environment variables over `environment`, in place. SECRET variables
 * are left out: this agent has no secret resolver, and their value is a reference, not the secret.
 */
export function addCommandEnvironment(
  environment: Record<string, string>,
  command: CommandInfo | undefined,
): Record<string, string> {
  for (const variable of command?.environment?.variables ?? [])
    if (variable.type !== 'SECRET') environment[variable.name] = variable.value ?? '';
  return environment;
}
