// Marathon 1.5's networking (docs/docs/networking.md): an app's `networks` says
// how its instances are reached, and with container networking its ports are the
// container's `portMappings` instead of `portDefinitions`. Host networking is the
// default; `container/bridge` maps host ports into a Docker bridge network;
// `container` joins a named (USER) network, where a mapping without `hostPort`
// is a container port only. What this file decides: which host ports an
// instance takes, what names its ports have, and the Mesos network a Docker task
// gets. Pure.
import { z } from 'zod';
import { labelsSchema } from './labels.js';

export const networkSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('host'), labels: labelsSchema.optional() }).strict(),
  z
    .object({
      mode: z.literal('container/bridge'),
      name: z.string().min(1).max(255).optional(),
      labels: labelsSchema.optional(),
    })
    .strict(),
  z
    .object({
      mode: z.literal('container'),
      name: z
        .string()
        .min(1)
        .max(255)
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a Docker network name'),
      labels: labelsSchema.optional(),
    })
    .strict(),
]);

export type Network = z.infer<typeof networkSchema>;

/** What Marathon shows for an app that names no network. */
export const HOST_NETWORKS: readonly Network[] = [{ mode: 'host' }];

/** A container-level port mapping (Marathon 1.5+: `container.portMappings`). */
export const containerPortMappingSchema = z
  .object({
    /** 0: the host port's number (Marathon's rule for bridge mode). */
    containerPort: z.number().int().min(0).max(65_535).default(0),
    /** Absent: no host port (container networks only); 0: one taken from the offer. */
    hostPort: z.number().int().min(0).max(65_535).optional(),
    servicePort: z.number().int().min(0).max(65_535).optional(),
    protocol: z.enum(['tcp', 'udp', 'udp,tcp', 'tcp,udp']).default('tcp'),
    name: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes')
      .max(63)
      .optional(),
    labels: labelsSchema.optional(),
    networkNames: z.array(z.string().min(1).max(255)).max(16).optional(),
  })
  .strict();

export type ContainerPortMapping = z.infer<typeof containerPortMappingSchema>;

/** The networking an app's instances get, from its `networks`. */
export type Networking =
  | { readonly kind: 'host' }
  | { readonly kind: 'bridge' }
  | { readonly kind: 'user'; readonly name: string };

export function networkingOf(networks: readonly Network[] | undefined): Networking {
  const first = networks?.[0];
  if (first === undefined || first.mode === 'host') return { kind: 'host' };
  if (first.mode === 'container/bridge') return { kind: 'bridge' };
  return { kind: 'user', name: first.name };
}

export interface NetworkIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** What an app's `networks` and port fields ask that cannot go together (Marathon's rules). */
export function networkIssues(app: {
  readonly networks?: readonly Network[] | undefined;
  readonly containerType: 'DOCKER' | 'MESOS' | undefined;
  readonly dockerNetwork: string | undefined;
  readonly hasDockerPortMappings: boolean;
  readonly portMappings: readonly ContainerPortMapping[] | undefined;
  readonly portDefinitionCount: number;
}): NetworkIssue[] {
  const networks = app.networks ?? HOST_NETWORKS;
  const issues: NetworkIssue[] = [];
  const modes = new Set(networks.map((n) => n.mode));
  if (networks.length === 0)
    issues.push({ path: ['networks'], message: 'give at least one network, or leave it out' });
  if (modes.size > 1)
    issues.push({ path: ['networks'], message: 'host, container and container/bridge do not mix' });
  else if (networks.length > 1)
    issues.push({
      path: ['networks'],
      message: 'one network per app: a Docker container joins one network',
    });
  const networking = networkingOf(networks);
  const mappings = app.portMappings ?? [];
  if (networking.kind === 'host') {
    if (mappings.length > 0)
      issues.push({
        path: ['container', 'portMappings'],
        message: 'port mappings need container or container/bridge networking: use portDefinitions',
      });
    return issues;
  }
  if (app.containerType !== 'DOCKER')
    issues.push({
      path: ['networks'],
      message: 'container networking needs a DOCKER container (container.docker.image)',
    });
  if (app.portDefinitionCount > 0)
    issues.push({
      path: ['portDefinitions'],
      message: 'with container networking the ports are container.portMappings',
    });
  if (app.dockerNetwork !== undefined && app.dockerNetwork !== 'HOST')
    issues.push({
      path: ['container', 'docker', 'network'],
      message: 'give networks or container.docker.network, not both',
    });
  if (app.hasDockerPortMappings)
    issues.push({
      path: ['container', 'docker', 'portMappings'],
      message: 'with networks, port mappings go in container.portMappings',
    });
  const fixed = new Set<number>();
  for (const [i, mapping] of mappings.entries()) {
    const path = ['container', 'portMappings', i];
    if (networking.kind === 'bridge' && mapping.hostPort === undefined)
      issues.push({
        path: [...path, 'hostPort'],
        message: 'a bridge mapping needs a host port: 0 takes one from the offer',
      });
    if (networking.kind === 'bridge' && mapping.containerPort === 0 && mapping.hostPort === 0)
      issues.push({
        path: [...path, 'containerPort'],
        message: 'give the port the container listens on',
      });
    if (mapping.hostPort !== undefined && mapping.hostPort !== 0) {
      if (fixed.has(mapping.hostPort))
        issues.push({
          path: [...path, 'hostPort'],
          message: `host port ${mapping.hostPort} is mapped twice`,
        });
      fixed.add(mapping.hostPort);
    }
  }
  return issues;
}

/**
 * What an app's ports ask that cannot be: its networking (networkIssues), and health
 * checks' portIndex and readiness checks' portName, which name its host ports.
 */
export function portIssues(app: {
  readonly networks?: readonly Network[] | undefined;
  readonly container?:
    | {
        readonly type: 'DOCKER' | 'MESOS';
        readonly docker?: { readonly network: string; readonly portMappings?: readonly unknown[] };
        readonly portMappings?: readonly ContainerPortMapping[];
      }
    | undefined;
  readonly ports?: readonly number[] | undefined;
  readonly portDefinitions?: readonly { readonly port: number; readonly name?: string }[];
  readonly requirePorts: boolean;
  readonly healthChecks: readonly {
    readonly protocol: string;
    readonly port?: number | undefined;
    readonly portIndex?: number | undefined;
  }[];
  readonly readinessChecks: readonly { readonly portName: string }[];
}): NetworkIssue[] {
  const portDefinitions = app.portDefinitions ?? (app.ports ?? []).map((port) => ({ port }));
  const issues = networkIssues({
    networks: app.networks,
    containerType: app.container?.type,
    dockerNetwork: app.container?.docker?.network,
    hasDockerPortMappings: (app.container?.docker?.portMappings?.length ?? 0) > 0,
    portMappings: app.container?.portMappings,
    portDefinitionCount: portDefinitions.length,
  });
  const hostPorts = hostPortsOf({ ...app, portDefinitions });
  for (const [i, check] of app.healthChecks.entries())
    if (
      check.protocol !== 'COMMAND' &&
      check.port === undefined &&
      (check.portIndex ?? 0) >= hostPorts.length
    )
      issues.push({
        path: ['healthChecks', i, 'portIndex'],
        message: `the app has ${hostPorts.length} port(s): portIndex must name one of them`,
      });
  const portNames = hostPorts.map((p) => p.name);
  for (const [i, check] of app.readinessChecks.entries())
    if (!portNames.includes(check.portName))
      issues.push({
        path: ['readinessChecks', i, 'portName'],
        message: `no port named '${check.portName}' in portDefinitions or the host ports of container.portMappings`,
      });
  return issues;
}

/** A port an instance takes on its host, with what names it. */
export interface HostPort {
  /** The port asked for: 0 for one taken from the offer. */
  readonly request: number;
  /** The number that names it in PORT_<n> (a definition's port, a mapping's container port). */
  readonly label: number;
  readonly name: string | undefined;
}

/** The host ports an instance takes, in order (its PORT0, PORT1, …). */
export function hostPortsOf(app: {
  readonly networks?: readonly Network[] | undefined;
  readonly portDefinitions: readonly { readonly port: number; readonly name?: string }[];
  readonly requirePorts: boolean;
  readonly container?: { readonly portMappings?: readonly ContainerPortMapping[] } | undefined;
}): HostPort[] {
  if (networkingOf(app.networks).kind === 'host')
    return app.portDefinitions.map((p) => ({
      request: app.requirePorts ? p.port : 0,
      label: p.port,
      name: p.name,
    }));
  return withHostPorts(app.container?.portMappings).map((m) => ({
    request: m.hostPort,
    label: m.containerPort,
    name: m.name,
  }));
}

/** The mappings that take a host port, in the order the instance's ports are. */
function withHostPorts(
  mappings: readonly ContainerPortMapping[] | undefined,
): (ContainerPortMapping & { readonly hostPort: number })[] {
  return (mappings ?? []).filter(
    (m): m is ContainerPortMapping & { hostPort: number } => m.hostPort !== undefined,
  );
}

/**
 * The Docker network and port mappings for an app with container networking, and the
 * ContainerInfo's network_infos for a named network: each mapping with a host port takes
 * the instance's port of its index among them; a container port of 0 is the host port's
 * number. `udp,tcp` maps both protocols.
 */
export function dockerNetworkOf(
  networking: Exclude<Networking, { kind: 'host' }>,
  mappings: readonly ContainerPortMapping[] | undefined,
  hostPorts: readonly number[],
): {
  readonly docker: Record<string, unknown>;
  readonly networkInfos: readonly { readonly name: string }[];
} {
  const portMappings = withHostPorts(mappings).flatMap((m, i) => {
    const hostPort = hostPorts[i] ?? m.hostPort;
    const containerPort = m.containerPort === 0 ? hostPort : m.containerPort;
    return m.protocol
      .split(',')
      .map((protocol) => ({ container_port: containerPort, host_port: hostPort, protocol }));
  });
  return {
    docker: {
      network: networking.kind === 'bridge' ? 'BRIDGE' : 'USER',
      ...(portMappings.length > 0 ? { port_mappings: portMappings } : {}),
    },
    networkInfos: networking.kind === 'user' ? [{ name: networking.name }] : [],
  };
}
