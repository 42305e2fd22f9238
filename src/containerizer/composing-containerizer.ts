// --containerizers=docker,mesos: each task goes to the containerizer its
// ContainerInfo asks for (DOCKER to Docker, anything else to the Mesos
// containerizer), as Mesos' composing containerizer does; an agent without
// Docker fails a DOCKER task with a message saying so. A Mesos container with
// an image (`mesos.image`) goes to the Mesos side, which runs it in its image
// (linux-filesystem.ts) or refuses it, never runs it without.
import type { Resources } from '../resources/index.js';
import { isDockerContainer } from './docker-plan.js';
import type {
  Container,
  Containerizer,
  KnownContainer,
  LaunchSpec,
  ResourceLimits,
  RunAsUser,
  Termination,
} from './types.js';

export interface OwningContainerizer extends Containerizer {
  /** Which containers it launched or recovered: cleanup and enter go to it. */
  owns(containerId: string): boolean;
}

export class ComposingContainerizer implements Containerizer {
  constructor(
    private readonly mesos: Containerizer,
    private readonly docker: OwningContainerizer | undefined,
  ) {}

  get description(): string {
    return this.docker === undefined
      ? this.mesos.description
      : `${this.docker.description}; mesos: ${this.mesos.description}`;
  }

  async launch(spec: LaunchSpec): Promise<Container> {
    if (isDockerContainer(spec.container)) {
      if (this.docker === undefined)
        throw new Error(
          'the task asks for a DOCKER container and this agent has no Docker containerizer (--containerizers=docker,mesos)',
        );
      return this.docker.launch(spec);
    }
    return this.mesos.launch(spec);
  }

  willLaunch(container: Readonly<Record<string, unknown>> | undefined): void {
    if (isDockerContainer(container)) this.docker?.willLaunch?.(container);
    else this.mesos.willLaunch?.(container);
  }

  mountsVolumes(container: Readonly<Record<string, unknown>> | undefined): boolean {
    return isDockerContainer(container) || this.mesos.mountsVolumes?.(container) === true;
  }

  async recover(known: readonly KnownContainer[]): Promise<Map<string, Container | Termination>> {
    const docker = known.filter((k) => isDockerContainer(k.container));
    const mesos = known.filter((k) => !isDockerContainer(k.container));
    const out = await this.mesos.recover(mesos);
    if (this.docker !== undefined)
      for (const [id, outcome] of await this.docker.recover(docker)) out.set(id, outcome);
    else
      for (const entry of docker)
        out.set(entry.containerId, { exitCode: null, signal: null, isUnknown: true });
    return out;
  }

  update(containerId: string, resources: Resources, limits?: ResourceLimits): void {
    if (this.docker?.owns(containerId) === true)
      this.docker.update?.(containerId, resources, limits);
    else this.mesos.update?.(containerId, resources, limits);
  }

  async cleanup(containerId: string): Promise<void> {
    if (this.docker?.owns(containerId) === true) await this.docker.cleanup(containerId);
    else await this.mesos.cleanup(containerId);
  }

  enter(
    containerId: string,
    command: readonly string[],
    user?: RunAsUser,
  ): { readonly file: string; readonly args: readonly string[] } | undefined {
    // docker exec runs as the container's own user.
    return this.docker?.owns(containerId) === true
      ? this.docker.enter(containerId, command)
      : this.mesos.enter(containerId, command, user);
  }

  exec(
    containerId: string,
    command: readonly string[],
    options: { readonly signal: AbortSignal; readonly outputPath?: string },
  ): Promise<number> | undefined {
    return this.docker?.owns(containerId) === true
      ? this.docker.exec?.(containerId, command, options)
      : this.mesos.exec?.(containerId, command, options);
  }

  async close(): Promise<void> {
    await Promise.all([this.mesos.close(), this.docker?.close()]);
  }
}
