// From a task's ContainerInfo (type DOCKER) to the `docker run` argv that runs
// it, as Mesos' Docker containerizer builds it (docs/docker-containerizer.md,
// src/docker/docker.cpp): the image, the command as shell or entrypoint
// arguments, the sandbox mounted at /mnt/mesos/sandbox, volumes, the network
// and its port mappings, cpus and mem as cgroup limits, labels that tie the
// container to its agent, framework and task. Pure: every check a task can
// fail is made here, before anything runs, and named in the error.
import { isAbsolute, join, normalize, relative } from 'node:path';
import { z } from 'zod';
import type { Resources } from '../resources/index.js';
import type { CommandInfo, Resource } from '../wire/index.js';
import type { VolumeMount } from './types.js';

/** Where the sandbox appears inside the container (Mesos' mapped directory). */
export const CONTAINER_SANDBOX = '/mnt/mesos/sandbox';
/** Mesos' MIN_MEMORY: a container is never given less. */
export const DOCKER_MIN_MEMORY_BYTES = 32 * 1024 * 1024;
/** Shares per CPU, as Mesos gives them (CPU_SHARES_PER_CPU). */
const CPU_SHARES_PER_CPU = 1024;
const MIN_CPU_SHARES = 2;
/** The CFS period Mesos uses (100 ms); the quota is cpus times it. */
const CFS_PERIOD_US = 100_000;
const MIN_CFS_QUOTA_US = 1000;
/** Docker container names: Mesos' `mesos-` prefix, which also marks them as the agent's. */
export const DOCKER_NAME_PREFIX = 'mesos-';

/** Labels on every container the agent runs: recovery finds its containers by them. */
export const DOCKER_LABELS = {
  agentId: 'agora.agent_id',
  frameworkId: 'agora.framework_id',
  taskId: 'agora.task_id',
  containerId: 'agora.container_id',
  /** The agent's work dir: agents sharing a dockerd tell their containers apart by it. */
  workDir: 'agora.work_dir',
} as const;

const text = (max: number) => z.string().max(max);
const VolumeSchema = z.object({
  container_path: text(4096).min(1),
  host_path: text(4096).optional(),
  mode: z.enum(['RW', 'RO']).optional(),
  source: z.record(z.string(), z.unknown()).optional(),
});
const PortMappingSchema = z.object({
  host_port: z.number().int().min(1).max(65_535),
  container_port: z.number().int().min(1).max(65_535),
  protocol: text(16).optional(),
});
const DockerInfoSchema = z.object({
  image: text(1024).min(1),
  network: z.enum(['HOST', 'BRIDGE', 'NONE', 'USER']).optional(),
  port_mappings: z.array(PortMappingSchema).max(1024).optional(),
  privileged: z.boolean().optional(),
  parameters: z
    .array(z.object({ key: text(256), value: text(4096) }))
    .max(256)
    .optional(),
  force_pull_image: z.boolean().optional(),
  volume_driver: text(256).optional(),
});
const ContainerInfoSchema = z.object({
  type: z.enum(['DOCKER', 'MESOS']).optional(),
  docker: DockerInfoSchema.optional(),
  mesos: z.record(z.string(), z.unknown()).optional(),
  volumes: z.array(VolumeSchema).max(256).optional(),
  hostname: text(255).optional(),
  network_infos: z
    .array(z.object({ name: text(255).optional() }).loose())
    .max(16)
    .optional(),
});

export type DockerContainerInfo = z.infer<typeof ContainerInfoSchema> & {
  readonly docker: z.infer<typeof DockerInfoSchema>;
};

/** Whether a task's ContainerInfo asks for the Docker containerizer. */
export function isDockerContainer(
  container: Readonly<Record<string, unknown>> | undefined,
): boolean {
  return container?.type === 'DOCKER';
}

export interface DockerRunInput {
  readonly container: Readonly<Record<string, unknown>>;
  readonly command: CommandInfo;
  readonly containerId: string;
  readonly sandbox: string;
  readonly resources: Resources;
  /** Variables for inside the container: the MESOS_* ones and the task's own. */
  readonly environment: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly persistentVolumes: readonly VolumeMount[];
}

export type DockerRunPlan =
  | {
      readonly kind: 'run';
      readonly name: string;
      readonly image: string;
      readonly isForcePull: boolean;
      /** The network to check exists first (a USER network, or `bridge`). */
      readonly network: string | undefined;
      /** Everything after `docker run`. Variables are passed by name (`-e NAME`), values in `env`. */
      readonly args: readonly string[];
      readonly env: Readonly<Record<string, string>>;
      /** Volumes' relative host paths, in the sandbox: to be made refusing links first. */
      readonly sandboxPaths: readonly string[];
      /** Where in `args` each sandbox path's `-v` value is (`PATH:CONTAINER_PATH:MODE`). */
      readonly sandboxPathArgs: readonly number[];
    }
  | { readonly kind: 'invalid'; readonly message: string };

/** The container's Docker name for an Agora container id. */
export function dockerName(containerId: string): string {
  return `${DOCKER_NAME_PREFIX}${containerId}`;
}

export function parseDockerContainerInfo(
  container: Readonly<Record<string, unknown>>,
): DockerContainerInfo | string {
  const parsed = ContainerInfoSchema.safeParse(container);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    return `Invalid ContainerInfo: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`;
  }
  const docker = parsed.data.docker;
  if (docker === undefined) return "DockerInfo 'docker' is not set in ContainerInfo";
  return { ...parsed.data, docker };
}

/** Plans `docker run` for a DOCKER task, or says which part of its input is wrong. */
export function planDockerRun(input: DockerRunInput): DockerRunPlan {
  const info = parseDockerContainerInfo(input.container);
  if (typeof info === 'string') return invalid(info);
  const { docker } = info;
  const name = dockerName(input.containerId);
  const args: string[] = ['--name', name];
  for (const [key, value] of Object.entries(input.labels)) args.push('--label', `${key}=${value}`);

  // Network and ports.
  const network = docker.network ?? 'HOST';
  let networkName: string | undefined;
  switch (network) {
    case 'HOST':
      args.push('--net', 'host');
      break;
    case 'NONE':
      args.push('--net', 'none');
      break;
    case 'BRIDGE':
      networkName = 'bridge';
      args.push('--net', 'bridge');
      break;
    case 'USER': {
      const names = (info.network_infos ?? []).map((n) => n.name);
      if (names.length !== 1 || names[0] === undefined || names[0] === '')
        return invalid('Network USER needs exactly one NetworkInfo with a name');
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(names[0]))
        return invalid(`Invalid network name '${names[0]}'`);
      networkName = names[0];
      args.push('--net', names[0]);
      break;
    }
  }
  const mappings = docker.port_mappings ?? [];
  if (mappings.length > 0 && network !== 'BRIDGE' && network !== 'USER')
    return invalid(`Port mappings are only supported for BRIDGE and USER networks, not ${network}`);
  const portRanges = portRangesOf(input.resources.toWire());
  for (const mapping of mappings) {
    const protocol = (mapping.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp')
      return invalid(`Port mapping protocol '${mapping.protocol}' is not tcp or udp`);
    if (!portRanges.some(([begin, end]) => mapping.host_port >= begin && mapping.host_port <= end))
      return invalid(
        `Port mapping host port ${mapping.host_port} is not in the task's port resources`,
      );
    args.push('-p', `${mapping.host_port}:${mapping.container_port}/${protocol}`);
  }
  if (info.hostname !== undefined && network !== 'HOST') args.push('--hostname', info.hostname);

  // Limits: shares always, the CFS quota too (cpus are a cap as well as a weight), and
  // memory without swap, so that exceeding it is an OOM kill and not a slow crawl.
  const cpus = input.resources.scalar('cpus');
  if (cpus > 0) {
    args.push(
      '--cpu-shares',
      String(Math.max(MIN_CPU_SHARES, Math.round(cpus * CPU_SHARES_PER_CPU))),
    );
    args.push('--cpu-period', String(CFS_PERIOD_US));
    args.push('--cpu-quota', String(Math.max(MIN_CFS_QUOTA_US, Math.round(cpus * CFS_PERIOD_US))));
  }
  const memMb = input.resources.scalar('mem');
  if (memMb > 0) {
    const bytes = Math.max(DOCKER_MIN_MEMORY_BYTES, Math.round(memMb * 1024 * 1024));
    args.push('--memory', String(bytes), '--memory-swap', String(bytes));
  }
  if (docker.privileged === true) args.push('--privileged');

  // Volumes: the sandbox first, then the task's own and its persistent volumes.
  args.push('-v', `${input.sandbox}:${CONTAINER_SANDBOX}`);
  const sandboxPaths: string[] = [];
  const sandboxPathArgs: number[] = [];
  for (const volume of info.volumes ?? []) {
    if (volume.source !== undefined || volume.host_path === undefined)
      return invalid(
        `Volume '${volume.container_path}' has no host_path: only host path volumes are supported`,
      );
    const hostPath = isAbsolute(volume.host_path)
      ? normalize(volume.host_path)
      : insideOf(input.sandbox, volume.host_path);
    if (hostPath === undefined)
      return invalid(`Volume host path '${volume.host_path}' escapes the sandbox`);
    if (!isAbsolute(volume.host_path)) {
      sandboxPaths.push(hostPath);
      sandboxPathArgs.push(args.length + 1);
    }
    const containerPath = containerPathOf(volume.container_path);
    if (containerPath === undefined)
      return invalid(`Volume container path '${volume.container_path}' escapes the sandbox`);
    if (hostPath.includes(':') || containerPath.includes(':'))
      return invalid(`Volume path '${volume.host_path}' contains ':'`);
    args.push('-v', `${hostPath}:${containerPath}:${volume.mode === 'RO' ? 'ro' : 'rw'}`);
  }
  for (const volume of input.persistentVolumes) {
    const containerPath = containerPathOf(volume.containerPath);
    if (containerPath === undefined)
      return invalid(`Persistent volume path '${volume.containerPath}' escapes the sandbox`);
    args.push('-v', `${volume.hostPath}:${containerPath}:${volume.mode === 'RO' ? 'ro' : 'rw'}`);
  }

  // Environment by name: the values stay out of the argv (and so out of `ps`).
  const env: Record<string, string> = {
    ...input.environment,
    MESOS_SANDBOX: CONTAINER_SANDBOX,
    MESOS_CONTAINER_NAME: name,
  };
  for (const key of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      return invalid(`Environment variable name '${key}' is not a valid name`);
    args.push('-e', key);
  }

  // Parameters go in as Mesos passes them, `--key=value`; a key is a docker run option name.
  for (const { key, value } of docker.parameters ?? []) {
    if (!/^[a-z][a-z0-9-]*$/.test(key)) return invalid(`Invalid docker parameter key '${key}'`);
    args.push(`--${key}=${value}`);
  }

  // The command: with a shell, `/bin/sh -c value` as the entrypoint; without, the value
  // and arguments go to the image's own entrypoint. No value: the image's default command.
  const { command } = input;
  const isShell = command.shell !== false;
  if (isShell && command.value !== undefined && command.value !== '')
    args.push('--entrypoint', '/bin/sh', docker.image, '-c', command.value);
  else {
    args.push(docker.image);
    if (!isShell && command.value !== undefined && command.value !== '') args.push(command.value);
    if (!isShell) args.push(...(command.arguments ?? []));
  }
  return {
    kind: 'run',
    name,
    image: docker.image,
    isForcePull: docker.force_pull_image === true,
    network: networkName,
    args,
    env,
    sandboxPaths,
    sandboxPathArgs,
  };
}

/**
 * `plan` with each sandbox path's volume taken from `staged` instead (its staged mount,
 * docker-volume-staging.ts), in the order of `sandboxPaths`.
 */
export function withStagedVolumes(
  plan: Extract<DockerRunPlan, { kind: 'run' }>,
  staged: readonly string[],
): Extract<DockerRunPlan, { kind: 'run' }> {
  const args = [...plan.args];
  plan.sandboxPathArgs.forEach((at, i) => {
    const path = plan.sandboxPaths[i];
    const stagedPath = staged[i];
    const value = args[at];
    if (path === undefined || stagedPath === undefined || !value?.startsWith(`${path}:`))
      throw new Error(`volume ${i} of the plan is not where it was planned`);
    args[at] = `${stagedPath}${value.slice(path.length)}`;
  });
  return { ...plan, args };
}

function invalid(message: string): DockerRunPlan {
  return { kind: 'invalid', message };
}

/** A relative path under `base`, resolved; undefined if it leads out of it. */
function insideOf(base: string, path: string): string | undefined {
  const full = join(base, path);
  const rel = relative(base, full);
  return rel.startsWith('..') || isAbsolute(rel) ? undefined : full;
}

function containerPathOf(path: string): string | undefined {
  return isAbsolute(path) ? normalize(path) : insideOf(CONTAINER_SANDBOX, path);
}

function portRangesOf(resources: readonly Resource[]): [number, number][] {
  return resources
    .filter((r) => r.name === 'ports')
    .flatMap((r) => (r.ranges?.range ?? []).map((x): [number, number] => [x.begin, x.end]));
}
