// The agent's Docker flags, as Mesos names them: --containerizers, --docker,
// --docker_socket, --docker_stop_timeout, --docker_remove_delay, --docker_kill_orphans.
import { join, resolve } from 'node:path';
import {
  ComposingContainerizer,
  DockerContainerizer,
  DockerImageStore,
  type IsolationChoice,
  LinuxFilesystemContainerizer,
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
    info: (fields, message) => logger.info(fields, message),
    debug: (fields, message) => logger.debug(fields, message),
  });
}

/** The agent's containerizer: the Mesos one (with its isolation), and Docker beside it if asked. */
export async function composeContainerizers(
  values: ParsedValues,
  workDir: string,
  logger: Logger,
  isolation: IsolationChoice,
): Promise<ComposingContainerizer> {
  const mesos = new LinuxFilesystemContainerizer(
    new MesosContainerizer({
      isolation: isolation.isolation,
      ledgerDir: join(workDir, 'meta', 'cgroups'),
    }),
    imageOptions(values, workDir),
  );
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

/**
 * --image_providers, --docker_registry, --docker_store_dir, --image_provisioner_backend,
 * and the isolators images need, as Mesos checks them: docker images need
 * filesystem/linux (a root of their own) and docker/runtime (their Entrypoint, Env, …).
 * Without --isolation a root agent has filesystem/linux too (as it has cgroups): a
 * command task's persistent volumes are then bind mounts, not links.
 */
export function imageOptions(values: ParsedValues, workDir: string) {
  const flag = stringFlag(values, 'isolation');
  const isolators = (flag ?? '').split(',').map((i) => i.trim());
  const isRoot = process.getuid?.() === 0;
  const isLinuxFilesystem =
    isolators.includes('filesystem/linux') || (flag === undefined && isRoot);
  const providers = (stringFlag(values, 'image_providers') ?? '')
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
  for (const provider of providers)
    if (provider !== 'docker')
      throw new UsageError(`--image_providers: '${provider}' is not supported (only 'docker')`);
  const backend = stringFlag(values, 'image_provisioner_backend');
  if (backend !== undefined && backend !== 'overlay' && backend !== 'copy')
    throw new UsageError(`--image_provisioner_backend: expected overlay or copy, got '${backend}'`);
  const registry = stringFlag(values, 'docker_registry');
  let images: DockerImageStore | undefined;
  if (providers.includes('docker')) {
    if (!isLinuxFilesystem || !isolators.includes('docker/runtime'))
      throw new UsageError(
        '--image_providers=docker needs --isolation to include filesystem/linux and docker/runtime',
      );
    if (!isRoot)
      throw new UsageError('--image_providers=docker needs the agent to run as root (mounts)');
    if (registry === undefined || /^[a-z]+:\/\//i.test(registry))
      throw new UsageError(
        '--image_providers=docker: --docker_registry must be a local directory of docker save archives (no remote registry here)',
      );
    images = new DockerImageStore({
      registryDir: resolve(registry),
      storeDir: resolve(stringFlag(values, 'docker_store_dir') ?? '/tmp/mesos/store/docker'),
    });
  }
  return {
    isLinuxFilesystem,
    images,
    backend,
    provisionerDir: join(workDir, 'provisioner'),
  } as const;
}
