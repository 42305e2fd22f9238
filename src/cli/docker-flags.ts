// The agent's Docker flags, as Mesos names them: --containerizers, --docker,
// --docker_socket, --docker_stop_timeout, --docker_remove_delay, --docker_kill_orphans.
import { join, resolve } from 'node:path';
import {
  ComposingContainerizer,
  DockerContainerizer,
  type IsolationChoice,
  MesosContainerizer,
} from '../containerizer/index.js';
import type { Logger } from '../runtime/index.js';
import { durationFlag, type ParsedValues, stringFlag, UsageError } from './command.js';

/** Mesos' default --docker_remove_delay. */
const DEFAULT_REMOVE_DELAY_MS = 6 * 3600_000;

/** The Docker containerizer, when --containerizers names it (Mesos' flags). */
export function dockerContainerizer(
  values: ParsedValues,
  workDir: string,
  logger: Logger,
): DockerContainerizer | undefined {
  const names = (stringFlag(values, 'containerizers') ?? 'mesos').split(',').map((n) => n.trim());
  for (const name of names)
    if (name !== 'mesos' && name !== 'docker')
      throw new UsageError(`--containerizers: unknown containerizer '${name}'`);
  if (!names.includes('mesos'))
    throw new UsageError("--containerizers: 'mesos' is needed for command tasks");
  if (!names.includes('docker')) return undefined;
  const killOrphans = stringFlag(values, 'docker_kill_orphans') ?? 'true';
  if (killOrphans !== 'true' && killOrphans !== 'false')
    throw new UsageError(`--docker_kill_orphans: expected true or false, got '${killOrphans}'`);
  const stopTimeout = stringFlag(values, 'docker_stop_timeout');
  return new DockerContainerizer({
    docker: stringFlag(values, 'docker') ?? 'docker',
    socket: resolve(stringFlag(values, 'docker_socket') ?? '/var/run/docker.sock'),
    removeDelayMs: durationFlag(values, 'docker_remove_delay', DEFAULT_REMOVE_DELAY_MS),
    killOrphans: killOrphans === 'true',
    workDir,
    ...(stopTimeout === undefined
      ? {}
      : { stopTimeoutMs: durationFlag(values, 'docker_stop_timeout', 0) }),
    warn: (fields, message) => logger.warn(fields, message),
  });
}

/** The agent's containerizer: the Mesos one (with its isolation), and Docker beside it if asked. */
export async function composeContainerizers(
  values: ParsedValues,
  workDir: string,
  logger: Logger,
  isolation: IsolationChoice,
): Promise<ComposingContainerizer> {
  const mesos = new MesosContainerizer({
    isolation: isolation.isolation,
    ledgerDir: join(workDir, 'meta', 'cgroups'),
  });
  const docker = dockerContainerizer(values, workDir, logger);
  if (docker !== undefined) {
    try {
      await docker.check();
    } catch (error) {
      throw new UsageError(
        `--containerizers=docker: the Docker daemon does not answer: ${(error as Error).message}`,
      );
    }
  }
  return new ComposingContainerizer(mesos, docker);
}
