// The Docker containerizer: a DOCKER task's container is created, started and
// followed over the Engine API on dockerd's unix socket (create, attach, start,
// wait, its output into the sandbox's stdout and stderr, kill, remove);
// recovery finds the agent's containers by their labels.
//
// Long file: the two ways a container runs (the API, and `docker run` for what
// the API path cannot express) share its tracking, recovery, signals and end;
// the pure parts are already out (docker-plan, docker-create, docker-log-frames).
//
// Why the API and not `docker run`: each exec of the Go CLI costs ~35 ms of
// wall time and CPU here, several times what the requests themselves take, and
// a task's start is measured against `docker run` alone (#11). What the CLI
// gave for free, the agent now does: it attaches to the container before
// starting it and copies its output (docker-output.ts), and a restarted agent
// re-attaches with a replay of the container's log, skipping what it had
// copied. The container, not a client process, is what outlives the agent;
// its exit status waits in dockerd until removal.
//
// A task whose `parameters` name a `docker run` option the create request
// cannot express exactly (docker-create.ts: `--mount`, `--rm`, …) still runs
// as `docker run` under the same shim as a command task, with its stdout and
// stderr going straight into the sandbox files, as Mesos' docker executor
// runs it (docs/docker-containerizer.md); the agent logs which and why.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, createWriteStream, existsSync, openSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Resources } from '../resources/index.js';
import { type CreateBody, type DockerCreate, planDockerCreate } from './docker-create.js';
import { DieEvents } from './docker-die-events.js';
import { type ContainerInspect, DockerEngine, DockerEngineError } from './docker-engine.js';
import { LogDemultiplexer } from './docker-log-frames.js';
import { copyOutput, type OutputCounts, readOutputCounts } from './docker-output.js';
import {
  DOCKER_LABELS,
  DOCKER_MIN_MEMORY_BYTES,
  type DockerRunPlan,
  dockerName,
  planDockerRun,
  withStagedVolumes,
} from './docker-plan.js';
import { stageSandboxVolumes, stagingDir, unstageSandboxVolumes } from './docker-volume-staging.js';
import { MesosContainerizer } from './mesos-containerizer.js';
import { makeDirsRefusingLinks } from './sandbox-dirs.js';
import { terminationFromShellStatus } from './termination.js';
import type {
  Container,
  Containerizer,
  KnownContainer,
  LaunchSpec,
  ResourceStatistics,
  Termination,
} from './types.js';

/** How long `docker run` gets to have the container running before the launch fails. */
const START_TIMEOUT_MS = 120_000;
/** How long a pull may take (no registry answers here; elsewhere images are large). */
const PULL_TIMEOUT_MS = 10 * 60_000;
/** How often a container whose `docker run` is gone is checked for its end. */
const INSPECT_POLL_MS = 500;
/** The tail of the sandbox's stderr quoted when `docker run` fails. */
const STDERR_TAIL_BYTES = 1000;
/** How long the last of a container's output may take to arrive once it has exited. */
const OUTPUT_DRAIN_MS = 5000;
/** The label that marks a container the agent runs over the API (its output is the agent's to copy). */
const API_LABEL = 'agora.engine_api';
/** Variables the docker CLI itself reads: passed to the container as values, not by name. */
const CLIENT_VARIABLE = /^(PATH|HOME|DOCKER_.*)$/;

export interface DockerContainerizerOptions {
  /** --docker: the CLI, a name looked up on PATH or a path. */
  readonly docker: string;
  /** --docker_socket: the daemon's unix socket. */
  readonly socket: string;
  /** --docker_remove_delay: how long an ended container is kept before removal. */
  readonly removeDelayMs: number;
  /** --docker_stop_timeout: the grace for a task without a kill policy (the agent's otherwise). */
  readonly stopTimeoutMs?: number;
  /** --docker_kill_orphans: kill running containers of this agent that no task explains. */
  readonly killOrphans: boolean;
  /** The agent's work dir: its containers carry it as a label, another agent's are left be. */
  readonly workDir: string;
  /** Warnings the containerizer cannot act on (a failed removal). */
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
  /** What an operator follows: a task run through the CLI, and why. */
  readonly info?: (fields: Record<string, unknown>, message: string) => void;
  /** Each Engine API step of a launch and an end, for a launch's timeline (bench/docker-steps.ts). */
  readonly debug?: (fields: Record<string, unknown>, message: string) => void;
}

interface Tracked {
  readonly name: string;
  readonly resources: Resources;
  /** Ends the requests that follow a container over the API (its wait and its logs). */
  readonly following?: AbortController;
}

export class DockerContainerizer implements Containerizer {
  private readonly engine: DockerEngine;
  private readonly cli: string;
  /** Runs `docker run` under the shim (POSIX isolation: dockerd does the limits). */
  private readonly shim = new MesosContainerizer({ isolation: { kind: 'posix' } });
  private readonly tracked = new Map<string, Tracked>();
  private readonly removals = new Set<NodeJS.Timeout>();
  private readonly pollers = new Set<NodeJS.Timeout>();
  /** Exit codes from dockerd's `die` events, ahead of the waits' answers (docker-die-events.ts). */
  private readonly dies: DieEvents;

  constructor(private readonly options: DockerContainerizerOptions) {
    this.engine = new DockerEngine(options.socket);
    this.cli = resolveExecutable(options.docker);
    this.dies = new DieEvents(() =>
      this.engine.dieEvents({ [DOCKER_LABELS.workDir]: options.workDir }),
    );
  }

  get description(): string {
    return `docker (${this.cli}, daemon at ${this.options.socket})`;
  }

  /** Fails unless the daemon answers: an agent told to run containers says so at start. */
  async check(): Promise<void> {
    await this.engine.ping();
    this.dies.ensureOpen();
  }

  /** Before the task's checkpoint and sandbox: the `die` events are followed by its start. */
  willLaunch(): void {
    this.dies.ensureOpen();
  }

  async launch(spec: LaunchSpec): Promise<Container> {
    const container = spec.container;
    if (container === undefined) throw new Error('the task has no DOCKER ContainerInfo');
    const planned = planDockerRun({
      container,
      command: spec.command,
      containerId: spec.containerId,
      sandbox: spec.sandbox,
      resources: spec.resources,
      environment: spec.environment,
      labels: this.labels(spec),
      persistentVolumes: spec.volumes ?? [],
    });
    if (planned.kind === 'invalid') throw new Error(planned.message);
    // dockerd (root) would follow a link planted in the sandbox to any host directory,
    // and mount it, or make the missing rest of the path wherever the link points.
    for (const path of planned.sandboxPaths) makeDirsRefusingLinks(spec.sandbox, path);
    // And it mounts by name, later: it gets the walked directories, staged (no link after).
    const staging = stagingDir(this.options.workDir, spec.containerId);
    const plan = withStagedVolumes(
      planned,
      await stageSandboxVolumes(spec.sandbox, planned.sandboxPaths, staging),
    );
    try {
      const create = planDockerCreate(plan.name, plan.args, plan.env);
      if (create.kind === 'api') return await this.launchByApi(spec, plan, create);
      // Docker's own work (pull, create, start) is not the agent's event loop's: no wait.
      spec.onLaunching?.();
      this.options.info?.(
        { container: plan.name, reason: create.reason },
        'container run through the docker CLI',
      );
      return await this.launchByCli(spec, plan);
    } catch (error) {
      await unstageSandboxVolumes(staging);
      throw error;
    }
  }

  /**
   * Create, attach and start over the API; RUNNING once start has answered (it runs, or has
   * run). A missing network is not asked about first (a request before every BRIDGE or USER
   * task): dockerd creates the container anyway and refuses its start, in the words below.
   */
  private async launchByApi(
    spec: LaunchSpec,
    plan: Extract<DockerRunPlan, { kind: 'run' }>,
    create: DockerCreate,
  ): Promise<Container> {
    const body = { ...create.body, Labels: { ...create.body.Labels, [API_LABEL]: '1' } };
    // Asked for first: dockerd's create (tens of ms) runs while the agent reports STARTING
    // (a checkpoint write and a POST, whose request would otherwise reach the socket first)
    // and makes the files.
    const creating = this.createOrPull(plan, body);
    this.options.debug?.({ container: plan.name }, 'container create asked');
    spec.onLaunching?.();
    try {
      // There from the start, as with a command task: /files/read and `ls` in the task find them.
      for (const file of ['stdout', 'stderr'])
        closeSync(openSync(join(spec.sandbox, file), 'a', 0o644));
    } catch (error) {
      await creating.then(() => this.engine.remove(plan.name)).catch(() => undefined);
      throw error;
    }
    await creating;
    this.options.debug?.({ container: plan.name }, 'container created');
    const following = new AbortController();
    this.tracked.set(spec.containerId, { name: plan.name, resources: spec.resources, following });
    let output: Readable | undefined;
    let exited: Promise<{ readonly StatusCode: number }>;
    try {
      // Before it starts, at once: attached, as `docker run` does, so no early output is
      // missed (not its logs: dockerd 20.10's following of a json-file log skips lines of
      // a fast writer), and its wait taken, so no request follows the start on the way to
      // RUNNING and the exit's news comes without one. Not the start with them: dockerd
      // attaches the streams just after it answers the attach, and only that answer says
      // the container's first bytes cannot be missed.
      const waiting = this.engine.waitFor(plan.name, 'next-exit', following.signal);
      // The `die` event's exit code when it comes first (dockerd 20.10 sends it before it
      // unmounts the container; the wait is answered after).
      const died = this.dies.next(plan.name).then((StatusCode) => ({ StatusCode }));
      exited = Promise.race([waiting.exited, died]);
      exited.then(
        () => this.dies.forget(plan.name),
        () => this.dies.forget(plan.name),
      );
      const attaching = this.engine.attach(plan.name, false, following.signal);
      attaching.catch(() => undefined);
      await Promise.all([attaching, waiting.registered]);
      output = await attaching;
      this.options.debug?.({ container: plan.name }, 'container attached, its wait taken');
      await this.engine.start(plan.name);
      this.options.debug?.({ container: plan.name }, 'container started');
    } catch (error) {
      this.tracked.delete(spec.containerId);
      this.dies.forget(plan.name);
      following.abort();
      output?.destroy();
      await this.engine.remove(plan.name).catch(() => undefined);
      const missing = /network \S+ not found/i.test((error as Error).message);
      if (missing && plan.network !== undefined)
        throw new Error(`Docker network '${plan.network}' does not exist on this agent`, {
          cause: error,
        });
      throw new Error(`docker run failed: ${(error as Error).message}`, { cause: error });
    }
    // Its PID, for the operator's eyes only, is asked for once RUNNING is on its way: dockerd
    // answers an inspect only once it is done with the container, and a task as short as
    // `true` would have its RUNNING wait for the whole of its exit's processing (~100 ms
    // under load here); asked at once, it would also go out before RUNNING's POST.
    const pid = new Promise<number>((resolve) =>
      setImmediate(() =>
        this.engine.inspect(plan.name).then(
          (inspect) => resolve(inspect?.State.Pid ?? 0),
          () => resolve(0),
        ),
      ),
    );
    return this.follow(spec.containerId, plan.name, {
      output: Promise.resolve(output),
      exited,
      pid,
      isTty: create.isTty,
      sandbox: spec.sandbox,
      runtimeDir: spec.runtimeDir,
      resources: spec.resources,
      skip: { stdout: 0, stderr: 0 },
      following,
    });
  }

  /** `POST /containers/create`, with the image pulled first (forced) or when it is missing. */
  private async createOrPull(
    plan: Extract<DockerRunPlan, { kind: 'run' }>,
    body: CreateBody,
  ): Promise<void> {
    if (plan.isForcePull) await this.pull(plan.image);
    try {
      await this.engine.create(plan.name, body);
    } catch (error) {
      // No image here: pulled, then created again, as `docker run` does.
      const isNoImage =
        error instanceof DockerEngineError &&
        error.statusCode === 404 &&
        /no such image/i.test(error.message);
      if (!isNoImage || plan.isForcePull)
        throw new Error(`docker create failed: ${(error as Error).message}`, { cause: error });
      await this.pull(plan.image);
      await this.engine.create(plan.name, body).catch((again: unknown) => {
        throw new Error(`docker create failed: ${(again as Error).message}`, { cause: again });
      });
    }
  }

  /** `docker run` (the CLI) under the shim, for what the create request cannot express. */
  private async launchByCli(
    spec: LaunchSpec,
    plan: Extract<DockerRunPlan, { kind: 'run' }>,
  ): Promise<Container> {
    if (plan.network !== undefined && !(await this.engine.hasNetwork(plan.network)))
      throw new Error(`Docker network '${plan.network}' does not exist on this agent`);
    if (plan.isForcePull || !(await this.engine.hasImage(plan.image))) await this.pull(plan.image);
    // Values of the variables the CLI itself reads go in the argv; the rest by name only.
    const args: string[] = [];
    for (let i = 0; i < plan.args.length; i++) {
      const arg = plan.args[i] ?? '';
      const next = plan.args[i + 1];
      if (arg === '-e' && next !== undefined && CLIENT_VARIABLE.test(next)) {
        args.push('-e', `${next}=${plan.env[next] ?? ''}`);
        i++;
      } else args.push(arg);
    }
    const clientEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(plan.env))
      if (!CLIENT_VARIABLE.test(key)) clientEnv[key] = value;
    clientEnv.PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
    // Where the CLI keeps its config: a .dockercfg fetched into the sandbox is found there.
    clientEnv.HOME = spec.sandbox;
    // The docker CLI runs as the agent: the task's user (--switch_user) could not reach
    // dockerd's socket. As in Mesos' Docker containerizer, that user owns the sandbox (and
    // what was fetched into it) and the container runs as its image's USER: no `--user`,
    // which a framework may still pass as a DockerInfo parameter.
    const { user: _taskUser, ...asAgent } = spec;
    const inner = await this.shim.launch({
      ...asAgent,
      command: {
        shell: false,
        value: this.cli,
        arguments: [this.cli, '-H', `unix://${this.options.socket}`, 'run', ...args],
      },
      environment: clientEnv,
    });
    this.tracked.set(spec.containerId, { name: plan.name, resources: spec.resources });
    let hasEnded = false;
    void inner.terminated.then(() => {
      hasEnded = true;
    });
    // Running (or already exited) before RUNNING is reported; a `docker run` that failed
    // to create or start it is a failed launch, with Docker's own words.
    let inspect: ContainerInspect | undefined;
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (let waitMs = 5; ; waitMs = Math.min(waitMs * 2, 20)) {
      inspect = await this.engine.inspect(plan.name);
      if (inspect !== undefined && inspect.State.Status !== 'created') break;
      if (hasEnded) {
        await this.shim.cleanup(spec.containerId);
        this.tracked.delete(spec.containerId);
        if (inspect !== undefined) await this.engine.remove(plan.name).catch(() => undefined);
        throw new Error(
          `docker run failed: ${inspect?.State.Error || stderrTail(spec.sandbox) || 'no reason given'}`,
        );
      }
      if (performance.now() > deadline) {
        await this.engine.remove(plan.name).catch(() => undefined);
        throw new Error(`the container did not start within ${START_TIMEOUT_MS / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    return this.wrap(spec.containerId, plan.name, inner, spec.resources);
  }

  async recover(known: readonly KnownContainer[]): Promise<Map<string, Container | Termination>> {
    const found = await this.shim.recover(known);
    const out = new Map<string, Container | Termination>();
    for (const entry of known) {
      const name = dockerName(entry.containerId);
      this.tracked.set(entry.containerId, { name, resources: entry.resources });
      const outcome = found.get(entry.containerId);
      if (outcome !== undefined && 'pid' in outcome) {
        out.set(entry.containerId, this.wrap(entry.containerId, name, outcome, entry.resources));
        continue;
      }
      // `docker run` is gone, or there never was one (the API's containers); the container
      // may still be there.
      const inspect = await this.engine.inspect(name);
      if (inspect?.Config.Labels?.[API_LABEL] !== undefined) {
        const following = new AbortController();
        this.tracked.set(entry.containerId, { name, resources: entry.resources, following });
        // Running or not, it is followed again: its wait answers at once if it has ended,
        // and its output written while no agent was there is copied now.
        out.set(
          entry.containerId,
          this.follow(entry.containerId, name, {
            // Its log so far, then (if it runs) what it writes from now on.
            output: inspect.State.Running
              ? this.engine.attach(name, true, following.signal)
              : this.engine.logs(name, following.signal),
            pid: inspect.State.Pid,
            isTty: inspect.Config.Tty === true,
            sandbox: entry.sandbox ?? '',
            runtimeDir: entry.runtimeDir,
            resources: entry.resources,
            skip: readOutputCounts(entry.runtimeDir),
            following,
          }),
        );
      } else if (inspect?.State.Running === true)
        out.set(
          entry.containerId,
          this.watchByInspect(entry.containerId, name, inspect, entry.resources),
        );
      else out.set(entry.containerId, this.refine(outcome, inspect, entry.resources));
    }
    // What carries this agent's label and no known container explains: a running one is an
    // orphan (killed with --docker_kill_orphans), an ended one what a removal timer left.
    const knownIds = new Set(known.map((k) => k.containerId));
    const ours = await this.engine.list({ [DOCKER_LABELS.workDir]: this.options.workDir });
    for (const summary of ours) {
      const id = summary.Labels?.[DOCKER_LABELS.containerId];
      if (id !== undefined && knownIds.has(id)) continue;
      const isRunning = summary.State === 'running';
      if (isRunning && !this.options.killOrphans) {
        this.options.warn({ container: summary.Names[0] }, 'orphan container left running');
        continue;
      }
      await this.engine
        .remove(summary.Id)
        .catch((error: unknown) =>
          this.options.warn(
            { err: (error as Error).message, container: summary.Names[0] },
            'could not remove an orphan container',
          ),
        );
    }
    return out;
  }

  /** The container is removed after --docker_remove_delay (at once when it is 0). */
  async cleanup(containerId: string): Promise<void> {
    await this.shim.cleanup(containerId);
    await unstageSandboxVolumes(stagingDir(this.options.workDir, containerId));
    const tracked = this.tracked.get(containerId);
    this.tracked.delete(containerId);
    tracked?.following?.abort();
    const name = tracked?.name ?? dockerName(containerId);
    this.dies.forget(name);
    const remove = async () => {
      await this.engine
        .remove(name)
        .catch((error: unknown) =>
          this.options.warn(
            { err: (error as Error).message, container: name },
            'could not remove a container',
          ),
        );
    };
    if (this.options.removeDelayMs <= 0) {
      await remove();
      return;
    }
    const timer = setTimeout(() => {
      this.removals.delete(timer);
      void remove();
    }, this.options.removeDelayMs);
    timer.unref();
    this.removals.add(timer);
  }

  /** `docker exec` into the container, for sessions and checks run inside it. */
  enter(
    containerId: string,
    command: readonly string[],
  ): { readonly file: string; readonly args: readonly string[] } | undefined {
    const tracked = this.tracked.get(containerId);
    if (tracked === undefined) return undefined;
    return {
      file: this.cli,
      // -i: a session's stdin is passed on; a check's is /dev/null, an EOF at once.
      args: ['-H', `unix://${this.options.socket}`, 'exec', '-i', tracked.name, ...command],
    };
  }

  /**
   * A command run in the container over the API (exec create, start, inspect): a check's
   * probe without a `docker exec` client, whose start alone costs ~35 ms of CPU here.
   */
  exec(
    containerId: string,
    command: readonly string[],
    options: { readonly signal: AbortSignal; readonly outputPath?: string },
  ): Promise<number> | undefined {
    const tracked = this.tracked.get(containerId);
    if (tracked === undefined) return undefined;
    return this.execByApi(tracked.name, command, options);
  }

  private async execByApi(
    name: string,
    command: readonly string[],
    options: { readonly signal: AbortSignal; readonly outputPath?: string },
  ): Promise<number> {
    const { signal, outputPath } = options;
    signal.throwIfAborted();
    const id = await this.engine.execCreate(name, command);
    const stream = await this.engine.execStart(id, signal);
    const file =
      outputPath === undefined
        ? undefined
        : createWriteStream(outputPath, { flags: 'a' }).on('error', () => stream.destroy());
    const demux = new LogDemultiplexer();
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>)
        for (const { data } of demux.push(chunk))
          if (file !== undefined && !file.write(data)) await once(file, 'drain', { signal });
    } catch (error) {
      // An abort destroys the stream: the caller's reason, not the stream's.
      if (!signal.aborted) throw error;
    } finally {
      stream.destroy();
      await new Promise<void>((resolve) => (file === undefined ? resolve() : file.end(resolve)));
    }
    signal.throwIfAborted();
    const code = await this.engine.execExitCode(id);
    if (code === null) throw new Error(`the command in ${name} ended with no exit code`);
    return code;
  }

  owns(containerId: string): boolean {
    return this.tracked.has(containerId);
  }

  close(): void {
    this.shim.close();
    this.dies.close();
    for (const tracked of this.tracked.values()) tracked.following?.abort();
    for (const timer of [...this.removals, ...this.pollers]) clearTimeout(timer);
    this.removals.clear();
    this.pollers.clear();
  }

  private labels(spec: LaunchSpec): Record<string, string> {
    return {
      [DOCKER_LABELS.containerId]: spec.containerId,
      [DOCKER_LABELS.workDir]: this.options.workDir,
      ...(spec.owner === undefined
        ? {}
        : {
            [DOCKER_LABELS.agentId]: spec.owner.agentId,
            [DOCKER_LABELS.frameworkId]: spec.owner.frameworkId,
            [DOCKER_LABELS.taskId]: spec.owner.taskId,
          }),
    };
  }

  private pull(image: string): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(
        this.cli,
        ['-H', `unix://${this.options.socket}`, 'pull', image],
        { timeout: PULL_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 },
        (error, _stdout, stderr) => {
          if (error === null) resolve();
          else
            reject(
              new Error(
                `Failed to pull image '${image}': ${String(stderr).trim().slice(-STDERR_TAIL_BYTES) || error.message}`,
              ),
            );
        },
      );
    });
  }

  /** The shim's container, with signals going to the Docker container and its end read from Docker. */
  private wrap(id: string, name: string, inner: Container, resources: Resources): Container {
    const terminated = inner.terminated.then(async (termination) => {
      const inspect = await this.engine.inspect(name).catch(() => undefined);
      // The client went, the container did not (someone killed `docker run`): follow it.
      if (inspect?.State.Running === true)
        return this.watchByInspect(id, name, inspect, resources).terminated;
      return this.refine(termination, inspect, resources);
    });
    return this.container(id, name, inner.pid, terminated, resources);
  }

  /**
   * A container followed over the API: its output copied into the sandbox from its logs,
   * its end from its wait (and, for an exit by SIGKILL, from inspect, which says whether
   * it was the OOM killer's).
   */
  private follow(id: string, name: string, how: Following): Container {
    const { signal } = how.following;
    let stream: Readable | undefined;
    const copy = (output: Promise<Readable>, skip: OutputCounts) =>
      output
        .then((readable) => {
          stream = readable;
          // No sandbox known (a checkpoint from before it was recorded): nowhere to copy to.
          if (how.sandbox === '') throw new Error('no sandbox to copy the output to');
          return copyOutput(readable, { ...how, skip });
        })
        .catch((error: unknown): OutputCounts | undefined => {
          if (!signal.aborted)
            this.options.warn(
              { err: (error as Error).message, container: name },
              "could not copy a container's output",
            );
          return undefined;
        });
    const copied = copy(how.output, how.skip);
    const terminated = (async (): Promise<Termination> => {
      let exit: number | undefined;
      try {
        exit = (await (how.exited ?? this.engine.wait(name, signal))).StatusCode;
        this.options.debug?.({ container: name, exit_code: exit }, 'container exited');
      } catch {
        // The agent is stopping: the container runs on, and a restarted agent follows it.
        if (signal.aborted) return new Promise<Termination>(() => undefined);
        // dockerd went away mid-wait: what inspect says below, or the polling after it.
      }
      // The stream ends with the container; its last frames get a bounded moment to land.
      let timer: NodeJS.Timeout | undefined;
      const isDrained = await Promise.race([
        copied.then((counts) => counts !== undefined),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), OUTPUT_DRAIN_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!isDrained && !signal.aborted) {
        // Cut short (an attachment that missed the end, a copy that failed): what dockerd's
        // log holds past what was copied.
        stream?.destroy();
        const counts = (await copied) ?? readOutputCounts(how.runtimeDir);
        await copy(this.engine.logs(name, signal), counts);
      }
      const byExit = exit === undefined ? undefined : terminationFromShellStatus(String(exit));
      // 137 is SIGKILL's: a kill, or the OOM killer, which only inspect tells apart.
      if (byExit !== undefined && exit !== 128 + 9) return byExit;
      const inspect = await this.engine.inspect(name).catch(() => undefined);
      if (exit === undefined && inspect?.State.Running === true)
        return this.watchByInspect(id, name, inspect, how.resources).terminated;
      return this.refine(byExit, inspect, how.resources);
    })();
    return this.container(id, name, how.pid, terminated, how.resources);
  }

  /** A container followed by polling Docker: its `docker run` is not there to wait on. */
  private watchByInspect(
    id: string,
    name: string,
    inspect: ContainerInspect,
    resources: Resources,
  ): Container {
    const terminated = new Promise<Termination>((resolve) => {
      const poll = () => {
        const timer = setTimeout(async () => {
          this.pollers.delete(timer);
          const now = await this.engine.inspect(name).catch(() => inspect);
          if (now?.State.Running === true) poll();
          else resolve(this.refine(undefined, now, resources));
        }, INSPECT_POLL_MS);
        // Following a container must not keep a stopping agent alive.
        timer.unref();
        this.pollers.add(timer);
      };
      poll();
    });
    return this.container(id, name, inspect.State.Pid, terminated, resources);
  }

  private container(
    id: string,
    name: string,
    pid: number | Promise<number>,
    terminated: Promise<Termination>,
    resources: Resources,
  ): Container {
    let isTerminated = false;
    void terminated.then(() => {
      isTerminated = true;
    });
    let knownPid = typeof pid === 'number' ? pid : 0;
    if (typeof pid !== 'number')
      void pid.then((found) => {
        knownPid = found;
      });
    return {
      id,
      get pid() {
        return knownPid;
      },
      cgroupProcsFiles: [],
      terminated,
      ...(this.options.stopTimeoutMs !== undefined
        ? { killGracePeriodMs: this.options.stopTimeoutMs }
        : {}),
      // SIGTERM then, after the kill policy's grace, SIGKILL: `docker stop -t <grace>`,
      // with the agent keeping the clock, so a KILL can shorten the grace as for any task.
      signal: (signal) => {
        if (isTerminated) return;
        void this.engine
          .kill(name, signal)
          .catch((error: unknown) =>
            this.options.warn(
              { err: (error as Error).message, container: name, signal },
              'could not signal a container',
            ),
          );
      },
      usage: () => limitsOf(resources),
    };
  }

  /** How it ended, by Docker's account where Docker has one (the exit code, an OOM kill). */
  private refine(
    termination: Termination | undefined,
    inspect: ContainerInspect | undefined,
    resources: Resources,
  ): Termination {
    if (inspect === undefined)
      return termination ?? { exitCode: null, signal: null, isUnknown: true };
    const base = terminationFromShellStatus(String(inspect.State.ExitCode)) ??
      termination ?? { exitCode: null, signal: null, isUnknown: true };
    if (!inspect.State.OOMKilled) return base;
    const limitMb = Math.max(DOCKER_MIN_MEMORY_BYTES / 1024 / 1024, resources.scalar('mem'));
    return {
      ...base,
      limitation: {
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
        message: `Memory limit exceeded: Requested: ${limitMb}MB. The container was OOM-killed by Docker.`,
      },
    };
  }
}

/** What follow() needs of a container besides its name. */
interface Following {
  readonly pid: number | Promise<number>;
  /** Its exit status, when its wait was taken before it started; else it is waited for. */
  readonly exited?: Promise<{ readonly StatusCode: number }>;
  /** Its output: an attachment (a replay of its log first, after a restart) or its log. */
  readonly output: Promise<Readable>;
  readonly isTty: boolean;
  readonly sandbox: string;
  readonly runtimeDir: string;
  readonly resources: Resources;
  /** Bytes of each stream already in the sandbox. */
  readonly skip: OutputCounts;
  readonly following: AbortController;
}

function limitsOf(resources: Resources): ResourceStatistics {
  const cpus = resources.scalar('cpus');
  const mem = resources.scalar('mem');
  return {
    timestamp: Date.now() / 1000,
    ...(cpus > 0 ? { cpus_limit: cpus } : {}),
    ...(mem > 0 ? { mem_limit_bytes: Math.round(mem * 1024 * 1024) } : {}),
  };
}

/** The last lines `docker run` wrote to the sandbox's stderr (its reason for failing). */
function stderrTail(sandbox: string): string {
  try {
    const text = readFileSync(join(sandbox, 'stderr'), 'utf8');
    return text.slice(-STDERR_TAIL_BYTES).trim();
  } catch {
    return '';
  }
}

/** An absolute path for the CLI: the shim runs it with the task's environment, not ours. */
function resolveExecutable(name: string): string {
  if (name.includes('/')) return name;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return name;
}
