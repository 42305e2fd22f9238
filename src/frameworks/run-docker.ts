// `agora run --docker-image`: the DOCKER ContainerInfo of the task, and the host
// ports its port mappings take from the offer.
import type { Offer, Resource } from '../wire/index.js';

export interface RunDockerOptions {
  readonly image: string;
  readonly network: 'HOST' | 'BRIDGE' | 'NONE';
  /** Container ports published on host ports taken from the offer's `ports`. */
  readonly containerPorts: readonly number[];
  readonly forcePull: boolean;
  /**
   * Which containerizer runs the image (mesos-execute's --containerizer): DOCKER, or
   * MESOS (the agent's own image support, `mesos.image`; host network, no ports).
   */
  readonly containerizer?: 'DOCKER' | 'MESOS';
}

/** The task's ContainerInfo: each container port mapped to the host port of the same index. */
export function dockerContainerInfo(
  docker: RunDockerOptions,
  hostPorts: readonly number[],
): Record<string, unknown> {
  if (docker.containerizer === 'MESOS')
    return { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: docker.image } } } };
  return {
    type: 'DOCKER',
    docker: {
      image: docker.image,
      network: docker.network,
      force_pull_image: docker.forcePull,
      port_mappings: docker.containerPorts.map((containerPort, i) => ({
        container_port: containerPort,
        host_port: hostPorts[i] ?? 0,
        protocol: 'tcp',
      })),
    },
  };
}

/**
 * The first `count` ports of the offer's `ports`, as a resource for the task (the offer's
 * own entry, its role and reservation kept, narrowed to them); undefined if it has fewer.
 */
export function takePorts(
  offer: Offer,
  count: number,
): { readonly hostPorts: readonly number[]; readonly resource: Resource | undefined } | undefined {
  if (count === 0) return { hostPorts: [], resource: undefined };
  for (const resource of offer.resources) {
    if (resource.name !== 'ports' || resource.ranges === undefined) continue;
    const hostPorts: number[] = [];
    for (const { begin, end } of resource.ranges.range)
      for (let port = begin; port <= end && hostPorts.length < count; port++) hostPorts.push(port);
    if (hostPorts.length < count) continue;
    return {
      hostPorts,
      resource: {
        ...resource,
        ranges: { range: hostPorts.map((port) => ({ begin: port, end: port })) },
      },
    };
  }
  return undefined;
}
