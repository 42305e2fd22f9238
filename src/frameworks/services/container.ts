// Marathon's `container` (docs/docs/native-docker.md, application-basics.md):
// checked against Marathon's shape for the parts this framework maps, then
// turned into the Mesos ContainerInfo the agent reads (snake_case names). Host
// path volumes are allowed as Mesos allows them; only their types are checked.
// A port mapping takes the instance's host port of the same index (the app's
// portDefinitions), as `agora run --docker` does; with Marathon 1.5's `networks`,
// the container-level `portMappings` give the ports instead (networks.ts). Pure.
import { z } from 'zod';
import {
  containerPortMappingSchema,
  dockerNetworkOf,
  type Network,
  networkingOf,
} from './networks.js';

const portMappingSchema = z
  .object({
    containerPort: z.number().int().min(1).max(65_535),
    /** 0: the instance's dynamically taken port of the same index. */
    hostPort: z.number().int().min(0).max(65_535).default(0),
    servicePort: z.number().int().min(0).max(65_535).optional(),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
    name: z.string().max(63).optional(),
  })
  .strict();

const volumeSchema = z
  .object({
    containerPath: z.string().min(1).max(4096),
    hostPath: z.string().min(1).max(4096),
    mode: z.enum(['RO', 'RW']),
  })
  .strict();

const dockerSchema = z
  .object({
    image: z.string().min(1).max(1024),
    // USER networks need a named network (Marathon's `networks`), which is not supported.
    network: z.enum(['HOST', 'BRIDGE', 'NONE']).default('HOST'),
    portMappings: z.array(portMappingSchema).max(100).optional(),
    privileged: z.boolean().default(false),
    parameters: z
      .array(z.object({ key: z.string().min(1).max(256), value: z.string().max(4096) }).strict())
      .max(256)
      .default([]),
    forcePullImage: z.boolean().default(false),
  })
  .strict();

export const containerSchema = z
  .object({
    type: z.enum(['DOCKER', 'MESOS']).default('DOCKER'),
    docker: dockerSchema.optional(),
    volumes: z.array(volumeSchema).max(256).default([]),
    /** Marathon 1.5's form, with `networks` (networks.ts). */
    portMappings: z.array(containerPortMappingSchema).max(100).optional(),
  })
  .strict();

export type MarathonContainer = z.infer<typeof containerSchema>;

export interface ContainerIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** What the container asks that the rest of the app (its ports, the containerizer) cannot give. */
export function containerIssues(app: {
  readonly container?: MarathonContainer | undefined;
  readonly portDefinitions?: readonly { readonly port: number }[] | undefined;
  readonly ports?: readonly number[] | undefined;
  readonly requirePorts: boolean;
}): ContainerIssue[] {
  const { container, requirePorts } = app;
  if (container === undefined) return [];
  const ports = app.portDefinitions ?? (app.ports ?? []).map((port) => ({ port }));
  const issues: ContainerIssue[] = [];
  const docker = container.docker;
  if (container.type === 'DOCKER' && docker === undefined)
    issues.push({
      path: ['container', 'docker'],
      message: 'a DOCKER container needs docker.image',
    });
  if (docker === undefined) return issues;
  if (container.type === 'MESOS') {
    if (docker.privileged || docker.parameters.length > 0 || docker.network !== 'HOST')
      issues.push({
        path: ['container', 'docker'],
        message: 'privileged, parameters and network need the DOCKER containerizer',
      });
  }
  for (const [i, mapping] of (docker.portMappings ?? []).entries()) {
    const path = ['container', 'docker', 'portMappings', i];
    if (docker.network !== 'BRIDGE' || container.type !== 'DOCKER') {
      issues.push({ path, message: 'port mappings need a DOCKER container on the BRIDGE network' });
      break;
    }
    const definition = ports[i];
    if (definition === undefined)
      issues.push({
        path,
        message: `takes the app's host port ${i}: give portDefinitions with an entry for it`,
      });
    else if (mapping.hostPort !== 0 && (!requirePorts || mapping.hostPort !== definition.port))
      issues.push({
        path: [...path, 'hostPort'],
        message: `must be 0 or portDefinitions(${i}).port with requirePorts`,
      });
  }
  return issues;
}

/**
 * The Mesos ContainerInfo for a validated container; `hostPorts` are the instance's ports,
 * `networks` the app's.
 */
export function mesosContainerOf(
  stored: MarathonContainer,
  hostPorts: readonly number[],
  networks?: readonly Network[],
): Record<string, unknown> {
  // An app stored before containers were checked holds whatever was sent (a Mesos
  // ContainerInfo then worked): it is launched as given, as it was before.
  const parsed = containerSchema.safeParse(stored);
  if (!parsed.success) return stored as unknown as Record<string, unknown>;
  const container = parsed.data;
  const volumes = container.volumes.map((v) => ({
    container_path: v.containerPath,
    host_path: v.hostPath,
    mode: v.mode,
  }));
  const withVolumes = volumes.length > 0 ? { volumes } : {};
  const docker = container.docker;
  if (container.type === 'MESOS')
    return {
      type: 'MESOS',
      ...(docker !== undefined
        ? { mesos: { image: { type: 'DOCKER', docker: { name: docker.image } } } }
        : {}),
      ...withVolumes,
    };
  if (docker === undefined) return { type: 'DOCKER', ...withVolumes };
  const networking = networkingOf(networks);
  // With `networks` the container-level mappings; without, docker's own network and mappings.
  const network =
    networking.kind !== 'host'
      ? dockerNetworkOf(networking, container.portMappings, hostPorts)
      : legacyDockerNetwork(docker, hostPorts);
  return {
    type: 'DOCKER',
    docker: {
      image: docker.image,
      ...network.docker,
      privileged: docker.privileged,
      force_pull_image: docker.forcePullImage,
      ...(docker.parameters.length > 0 ? { parameters: docker.parameters } : {}),
    },
    ...withVolumes,
    ...(network.networkInfos.length > 0 ? { network_infos: network.networkInfos } : {}),
  };
}

/** docker.network and docker.portMappings (Marathon before 1.5): a mapping takes the host port of its index. */
function legacyDockerNetwork(
  docker: NonNullable<MarathonContainer['docker']>,
  hostPorts: readonly number[],
): ReturnType<typeof dockerNetworkOf> {
  const mappings = (docker.portMappings ?? []).map((m, i) => ({
    container_port: m.containerPort,
    host_port: hostPorts[i] ?? m.hostPort,
    protocol: m.protocol,
  }));
  return {
    docker: {
      network: docker.network,
      ...(mappings.length > 0 ? { port_mappings: mappings } : {}),
    },
    networkInfos: [],
  };
}
