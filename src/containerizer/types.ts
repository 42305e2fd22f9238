import type { Resources } from '../resources/index.js';
import type { CommandInfo, TaskStatusReason } from '../wire/index.js';

/**
 * Limits above the resources requested (Mesos 1.10 `limits`): `cpus` is the CFS quota (set
 * whether or not --cgroups_enable_cfs is), `memMb` the hard memory limit; the requests
 * still give the CPU shares. Infinity is no limit at all: no quota, no memory limit
 * (docs/running-workloads.md).
 */
export interface ResourceLimits {
  readonly cpus?: number;
  readonly memMb?: number;
}

export interface LaunchSpec {
  readonly containerId: string;
  /** The sandbox: the working directory, holding the `stdout` and `stderr` files. */
  readonly sandbox: string;
  /**
   * Where the container's runtime records go (the task's PID, how it ended):
   * the run's checkpoint directory, so a restarted agent finds them.
   */
  readonly runtimeDir: string;
  readonly command: CommandInfo;
  /** The whole environment of the process (nothing is inherited implicitly). */
  readonly environment: Readonly<Record<string, string>>;
  /** What the container may use; the isolators enforce it. */
  readonly resources: Resources;
  /** Limits above `resources` (a standalone container's `limits`); none: the resources. */
  readonly limits?: ResourceLimits;
  /** The task's ContainerInfo, as given (a DOCKER one picks the Docker containerizer). */
  readonly container?: Readonly<Record<string, unknown>>;
  /** Whose container it is: a Docker container carries these as labels. */
  readonly owner?: {
    readonly agentId: string;
    readonly frameworkId: string;
    readonly taskId: string;
  };
  /** Persistent volumes of the task, mounted where it asked for them. */
  readonly volumes?: readonly VolumeMount[];
  /** The host user the task runs as (--switch_user); the agent's own user when absent. */
  readonly user?: RunAsUser;
  /**
   * Called once the launch no longer waits on the caller's event loop (the Mesos
   * containerizer: its launcher or parked shim has been told to fork; Docker: at once),
   * so that what the caller does then (report TASK_STARTING) cannot delay the task.
   */
  readonly onLaunching?: () => void;
}

/** A host user's ids: the task's process drops to them, with the user's groups. */
export interface RunAsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** A persistent volume of a task: its directory on the host and where the task sees it. */
export interface VolumeMount {
  readonly hostPath: string;
  /**
   * Set for a sandbox-path volume: the sandbox `hostPath` lies in. What is under it is the
   * tasks' to shape (a task group's siblings share their executor's), so a mount walks
   * `hostPath` down from here refusing links and binds what it opened, never the path by
   * name, which a sibling could swap for a link between a check and the mount. Absent for
   * host paths and persistent volumes: the operator and the agent lay those out.
   */
  readonly sandboxBase?: string;
  /** A relative path is under the sandbox. */
  readonly containerPath: string;
  readonly mode: 'RW' | 'RO';
}

/** Why the container's isolation ended it (Mesos' ContainerLimitation). */
export interface Limitation {
  readonly reason: Extract<TaskStatusReason, `REASON_CONTAINER_LIMITATION${string}`>;
  readonly message: string;
}

export interface Termination {
  /** The exit status, when the task exited. */
  readonly exitCode: number | null;
  /** The signal that ended the task, when one did. */
  readonly signal: NodeJS.Signals | null;
  /** Set when an isolator's limit ended it (the kernel's OOM killer, say). */
  readonly limitation?: Limitation;
  /** Set when nothing says how it ended (its shim was killed, or records are gone). */
  readonly isUnknown?: boolean;
}

/** Mesos' ResourceStatistics, the fields Agora measures (`/monitor/statistics`). */
export interface ResourceStatistics {
  readonly timestamp: number;
  readonly processes?: number;
  readonly cpus_user_time_secs?: number;
  readonly cpus_system_time_secs?: number;
  readonly cpus_limit?: number;
  readonly cpus_nr_periods?: number;
  readonly cpus_nr_throttled?: number;
  readonly cpus_throttled_time_secs?: number;
  readonly mem_total_bytes?: number;
  readonly mem_rss_bytes?: number;
  readonly mem_cache_bytes?: number;
  readonly mem_limit_bytes?: number;
  readonly mem_max_total_bytes?: number;
}

export interface Container {
  readonly id: string;
  /**
   * The task's PID (also its process group and session); 0 while not known (a Docker
   * container's, until dockerd has said, which a launch does not wait for).
   */
  readonly pid: number;
  /** Resolves once the task is gone and its end recorded; never rejects. */
  readonly terminated: Promise<Termination>;
  /**
   * The files a process writes its PID to, to join the container's cgroups
   * (see joinArgv); empty where the container has none (POSIX isolation).
   */
  readonly cgroupProcsFiles: readonly string[];
  /** Its own grace between SIGTERM and SIGKILL when the task has no kill policy, if any. */
  readonly killGracePeriodMs?: number;
  /** Signals every process of the container (its whole cgroup, where there is one). */
  signal(signal: NodeJS.Signals): void;
  usage(): ResourceStatistics;
}

/** A container the previous agent launched, as its checkpoint describes it. */
export interface KnownContainer {
  readonly containerId: string;
  readonly runtimeDir: string;
  /** The run's sandbox: where a Docker container's output goes on being copied. */
  readonly sandbox?: string;
  readonly resources: Resources;
  /** The task's ContainerInfo: which containerizer launched it. */
  readonly container?: Readonly<Record<string, unknown>>;
}

/**
 * Launches and isolates containers, and finds them again after an agent restart.
 * The Mesos containerizer (shim, with POSIX or cgroups isolation) is the first;
 * Docker comes behind this same interface.
 */
export interface Containerizer {
  /** Rejects (with the reason) when the container could not be started. */
  launch(spec: LaunchSpec): Promise<Container>;
  /**
   * Re-attaches to containers the previous agent started: a running one comes
   * back as a Container, one that ended meanwhile as its Termination. Anything
   * it holds that no known container explains (a stray cgroup) is removed.
   */
  recover(known: readonly KnownContainer[]): Promise<Map<string, Container | Termination>>;
  /**
   * Resizes a running container to `resources` (and `limits` above them), as Mesos'
   * containerizer update does when its executor's tasks change. Optional: one without it
   * keeps the size it launched with.
   */
  update?(containerId: string, resources: Resources, limits?: ResourceLimits): void;
  /** Frees what the container held once it ended (cgroups). */
  cleanup(containerId: string): Promise<void>;
  /**
   * The argv that runs `command` inside a running container (its cgroups), for
   * sessions, nested containers and checks; as `user` when given (the task's, so
   * nothing entering a task runs with more rights than the task: a task can call
   * the agent's API itself); undefined if the container is not running here.
   */
  enter(
    containerId: string,
    command: readonly string[],
    user?: RunAsUser,
  ): { readonly file: string; readonly args: readonly string[] } | undefined;
  /**
   * Runs `command` inside a running container to its end without a client process of its
   * own (a Docker container's over the Engine API), appending its stdout and stderr to the
   * file at `outputPath`; resolves with its exit code. Undefined when it has no such way
   * for this container: run enter()'s argv instead. An abort of `signal` rejects at once;
   * the command may live on inside, as a killed `docker exec` client's does.
   */
  exec?(
    containerId: string,
    command: readonly string[],
    options: { readonly signal: AbortSignal; readonly outputPath?: string },
  ): Promise<number> | undefined;
  /**
   * Lets go of what it keeps to launch and watch containers (a launcher process, a
   * poller) when the agent stops. Running containers are not touched.
   */
  close(): void | Promise<void>;
  /**
   * A launch of a container like `container` is about to come: starts what can run
   * alongside the agent's own preparations for it (the checkpoint, the sandbox).
   * Optional, best effort, and never required before launch().
   */
  willLaunch?(container: Readonly<Record<string, unknown>> | undefined): void;
  /**
   * Whether it mounts a task's persistent volumes itself (bind mounts, `-v`); when not,
   * the agent links them into the sandbox (filesystem/posix).
   */
  mountsVolumes?(container: Readonly<Record<string, unknown>> | undefined): boolean;
  /** A line for the agent's start-up log: which isolation is in force, and why. */
  readonly description: string;
}
