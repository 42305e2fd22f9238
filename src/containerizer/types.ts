import type { Resources } from '../resources/index.js';
import type { CommandInfo } from '../wire/index.js';

export interface LaunchSpec {
  readonly containerId: string;
  /** The sandbox: the working directory, holding the `stdout` and `stderr` files. */
  readonly sandbox: string;
  readonly command: CommandInfo;
  /** The whole environment of the process (nothing is inherited implicitly). */
  readonly environment: Readonly<Record<string, string>>;
  /** What the container may use; isolators enforce it (cgroups come with their issue). */
  readonly resources: Resources;
}

export interface Termination {
  /** The exit status, when the process exited. */
  readonly exitCode: number | null;
  /** The signal that ended the process, when one did. */
  readonly signal: NodeJS.Signals | null;
}

export interface Container {
  readonly id: string;
  readonly pid: number;
  /** Resolves once the container's processes are gone. */
  readonly terminated: Promise<Termination>;
  /** Signals every process of the container. No-op once it terminated. */
  signal(signal: NodeJS.Signals): void;
}

/**
 * Launches and isolates containers. The process containerizer is the first;
 * cgroups, namespaces and Docker come behind this same interface.
 */
export interface Containerizer {
  /** Rejects (with the reason) when the container could not be started. */
  launch(spec: LaunchSpec): Promise<Container>;
}
