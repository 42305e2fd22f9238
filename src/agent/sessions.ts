// Containers nested in a task's: a command run inside the task's container —
// its cgroups, mounts and environment. A session (LAUNCH_NESTED_CONTAINER_SESSION)
// streams its output back as ProcessIO records while it lives and takes its
// input from ATTACH_CONTAINER_INPUT: what `agora task exec` (like `mesos task
// exec`) uses. A detached one (LAUNCH_CONTAINER with a parent) writes its output
// to a sandbox of its own under the task's, `containers/<id>`, kept until
// REMOVE_CONTAINER. `agora task attach` follows a task's own output
// (ATTACH_CONTAINER_OUTPUT), read from its sandbox files.
import { type ChildProcess, spawn } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Containerizer, Termination } from '../containerizer/index.js';
import { HttpError } from '../runtime/index.js';
import {
  addCommandEnvironment,
  BadRequestError,
  type CommandInfo,
  commandArgv,
  encodeRecord,
  type NestedContainerID,
  type ProcessIO,
  terminationMessage,
} from '../wire/index.js';
import type { SandboxFiles } from './files.js';
import { closeNestedSandbox, openNestedSandbox, removeNestedSandbox } from './nested-sandbox.js';
import type { TaskRun } from './task-runs.js';

/** Sessions running at once on one agent: each is a process and a stream. */
const MAX_SESSIONS = 64;
/** How often a followed file is read again for new output. */
const FOLLOW_INTERVAL_MS = 100;
/** How long a session's end is remembered for WAIT_CONTAINER after it exited. */
const ENDED_KEPT = 256;

interface Session {
  readonly child: ChildProcess;
  readonly ended: Promise<Termination>;
  /** A detached container's parent's sandbox, under which it has its own; a session has none. */
  readonly taskSandbox?: string;
}

/** How a container that ended did, and its sandbox while REMOVE_CONTAINER has not removed it. */
interface Ended {
  readonly termination: Termination;
  readonly taskSandbox?: string;
}

export interface ContainerSessionsOptions {
  readonly containerizer: Containerizer;
  readonly files: SandboxFiles;
  /** The running task whose container has this id, if any. */
  readonly taskByContainer: (containerIdValue: string) => TaskRun | undefined;
  /** The task's environment, as its own process got it. */
  readonly environmentOf: (run: TaskRun) => Record<string, string>;
}

export class ContainerSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly ended = new Map<string, Ended>();
  /** Detached launches between their check and their start: a retried launch waits for none. */
  private readonly launching = new Set<string>();

  constructor(private readonly options: ContainerSessionsOptions) {}

  /** Starts `command` in `id.parent`'s container and streams its output on `response`. */
  async launch(
    id: NestedContainerID,
    command: CommandInfo | undefined,
    response: ServerResponse,
    closed: AbortSignal,
  ): Promise<void> {
    const parent = id.parent;
    if (parent === undefined)
      throw new BadRequestError(
        'launch_nested_container_session.container_id.parent',
        'is required',
      );
    if (this.sessions.has(id.value) || this.ended.has(id.value))
      throw new HttpError('CONFLICT', `container ${id.value} already exists`);
    if (this.sessions.size >= MAX_SESSIONS)
      throw new HttpError('UNAVAILABLE', `${MAX_SESSIONS} sessions are running; try again later`);
    const run = this.options.taskByContainer(parent.value);
    if (run === undefined) throw new HttpError('NOT_FOUND', `no running container ${parent.value}`);
    const entry = this.options.containerizer.enter(
      run.containerIdValue,
      commandArgv(command, '/bin/sh'),
      run.user,
    );
    if (entry === undefined)
      throw new HttpError('NOT_FOUND', `no running container ${parent.value}`);
    const child = spawn(entry.file, [...entry.args], {
      cwd: run.sandbox,
      env: { ...this.options.environmentOf(run), MESOS_SANDBOX: run.sandbox },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const ended = new Promise<Termination>((resolve) =>
      child.once('close', (exitCode, signal) => resolve({ exitCode, signal })),
    );
    this.sessions.set(id.value, { child, ended });
    openRecordStream(response);
    const forward = (type: 'STDOUT' | 'STDERR') => (chunk: Buffer) =>
      writeRecord(response, { type: 'DATA', data: { type, data: chunk.toString('base64') } });
    child.stdout?.on('data', forward('STDOUT'));
    child.stderr?.on('data', forward('STDERR'));
    // The client leaving ends the session, as Mesos does: nobody can see its output.
    const onClose = () => child.kill('SIGKILL');
    closed.addEventListener('abort', onClose, { once: true });
    const termination = await ended;
    closed.removeEventListener('abort', onClose);
    this.sessions.delete(id.value);
    this.remember(id.value, { termination });
    response.end();
  }

  /**
   * LAUNCH_CONTAINER of a nested container: starts `command` in `id.parent`'s
   * container, its output in its own sandbox. 'exists' when the id is taken
   * (Mesos answers 202 then: a retried launch is not an error).
   */
  async launchDetached(
    id: NestedContainerID,
    command: CommandInfo | undefined,
    field: string,
  ): Promise<'launched' | 'exists'> {
    const parent = id.parent;
    if (parent === undefined)
      throw new HttpError(
        'NOT_IMPLEMENTED',
        'standalone containers are not supported; launch tasks through the master',
      );
    if (id.value === '.' || id.value === '..' || /[/\\\0]/.test(id.value))
      throw new BadRequestError(
        `${field}.container_id.value`,
        "names the container's sandbox directory: no '/', '\\', NUL, '.' or '..'",
      );
    if (this.sessions.has(id.value) || this.ended.has(id.value) || this.launching.has(id.value))
      return 'exists';
    if (this.sessions.size + this.launching.size >= MAX_SESSIONS)
      throw new HttpError('UNAVAILABLE', `${MAX_SESSIONS} containers are running; try again later`);
    this.launching.add(id.value);
    try {
      await this.startDetached(id, parent, command, field);
    } finally {
      this.launching.delete(id.value);
    }
    return 'launched';
  }

  private async startDetached(
    id: NestedContainerID,
    parent: NestedContainerID,
    command: CommandInfo | undefined,
    field: string,
  ): Promise<void> {
    const run = this.options.taskByContainer(parent.value);
    if (run?.container === undefined)
      throw new HttpError('NOT_FOUND', `no running container ${parent.value}`);
    const entry = this.options.containerizer.enter(
      run.containerIdValue,
      commandArgv(command, '/bin/sh'),
      run.user,
    );
    if (entry === undefined)
      throw new HttpError('NOT_FOUND', `no running container ${parent.value}`);
    const opened = await openNestedSandbox(run.sandbox, id.value);
    const environment = addCommandEnvironment(this.options.environmentOf(run), command);
    let child: ChildProcess;
    try {
      child = spawn(entry.file, [...entry.args], {
        // The directory opened, not its name again: the task may have swapped the name.
        cwd: `/proc/self/fd/${opened.directory.fd}`,
        env: { ...environment, MESOS_SANDBOX: opened.path },
        stdio: ['ignore', opened.stdout.fd, opened.stderr.fd],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (error) {
      throw new BadRequestError(field, `cannot start the command: ${(error as Error).message}`);
    } finally {
      await closeNestedSandbox(opened);
    }
    const ended = new Promise<Termination>((resolve) =>
      child.once('close', (exitCode, signal) => resolve({ exitCode, signal })),
    );
    this.sessions.set(id.value, { child, ended, taskSandbox: run.sandbox });
    // A nested container does not outlive its parent (with posix isolation nothing else
    // would end it: it is in no cgroup of the task's).
    const parentEnded = () => child.kill('SIGKILL');
    void run.container.terminated.then(parentEnded);
    void ended.then((termination) => {
      this.sessions.delete(id.value);
      this.remember(id.value, { termination, taskSandbox: run.sandbox });
    });
  }

  /**
   * REMOVE_CONTAINER: forgets a nested container that has ended and removes its
   * sandbox. One still running is refused: kill it first, as Mesos requires.
   */
  async remove(id: NestedContainerID): Promise<void> {
    if (this.sessions.has(id.value))
      throw new HttpError('CONFLICT', `container ${id.value} is still running; kill it first`);
    const known = this.ended.get(id.value);
    if (known === undefined) throw new HttpError('NOT_FOUND', `no ended container ${id.value}`);
    this.ended.delete(id.value);
    if (known.taskSandbox !== undefined) await removeNestedSandbox(known.taskSandbox, id.value);
  }

  /** Feeds `records` (PROCESS_IO DATA STDIN) to a session's input; an empty one closes it. */
  async attachInput(id: NestedContainerID, records: AsyncIterable<ProcessIO>): Promise<void> {
    const session = this.sessions.get(id.value);
    if (session === undefined) throw new HttpError('NOT_FOUND', `no session ${id.value}`);
    const stdin = session.child.stdin;
    if (stdin === null) return;
    for await (const record of records) {
      if (record.type !== 'DATA' || record.data.type !== 'STDIN') continue;
      const bytes = Buffer.from(record.data.data, 'base64');
      if (bytes.length === 0) break;
      if (!stdin.write(bytes)) await new Promise((resolve) => stdin.once('drain', resolve));
    }
    stdin.end();
  }

  /**
   * Streams a container's output from now on: a session's, or a task's (its
   * sandbox's stdout and stderr, followed until the task ends).
   */
  async attachOutput(
    id: NestedContainerID,
    response: ServerResponse,
    closed: AbortSignal,
  ): Promise<void> {
    const session = this.sessions.get(id.value);
    if (session !== undefined) {
      openRecordStream(response);
      const forward = (type: 'STDOUT' | 'STDERR') => (chunk: Buffer) =>
        writeRecord(response, { type: 'DATA', data: { type, data: chunk.toString('base64') } });
      session.child.stdout?.on('data', forward('STDOUT'));
      session.child.stderr?.on('data', forward('STDERR'));
      await Promise.race([session.ended, abortion(closed)]);
      response.end();
      return;
    }
    const run = this.options.taskByContainer(id.value);
    if (run === undefined) throw new HttpError('NOT_FOUND', `no running container ${id.value}`);
    openRecordStream(response);
    const files: { name: string; type: 'STDOUT' | 'STDERR'; offset: number }[] = [];
    for (const [name, type] of [
      ['stdout', 'STDOUT'],
      ['stderr', 'STDERR'],
    ] as const) {
      const start = await this.options.files
        .read(join(run.sandbox, name), undefined)
        .catch(() => ({ offset: 0 }));
      files.push({ name, type, offset: start.offset });
    }
    const ended = run.container?.terminated ?? Promise.resolve();
    let isDone = false;
    void ended.then(() => {
      isDone = true;
    });
    const leaving = abortion(closed);
    while (!closed.aborted) {
      let moved = false;
      for (const file of files) {
        const chunk = await this.options.files
          .read(join(run.sandbox, file.name), file.offset)
          .catch(() => undefined);
        if (chunk === undefined || chunk.bytes.length === 0) continue;
        file.offset += chunk.bytes.length;
        moved = true;
        writeRecord(response, {
          type: 'DATA',
          data: { type: file.type, data: chunk.bytes.toString('base64') },
        });
      }
      if (!moved && isDone) break;
      if (!moved) await Promise.race([delay(FOLLOW_INTERVAL_MS), leaving]);
    }
    response.end();
  }

  /** WAIT_CONTAINER: how the container ended, once it has. */
  async wait(id: NestedContainerID): Promise<Record<string, unknown>> {
    const known = this.ended.get(id.value)?.termination;
    const session = this.sessions.get(id.value);
    const run = this.options.taskByContainer(id.value);
    const termination =
      known ?? (await (session?.ended ?? run?.container?.terminated ?? Promise.resolve(undefined)));
    if (termination === undefined) throw new HttpError('NOT_FOUND', `no container ${id.value}`);
    return {
      ...(termination.exitCode !== null ? { exit_status: termination.exitCode << 8 } : {}),
      ...(termination.signal !== null ? { exit_status: signalNumber(termination.signal) } : {}),
      message: terminationMessage(termination),
      ...(termination.limitation !== undefined
        ? { reason: termination.limitation.reason, message: termination.limitation.message }
        : {}),
    };
  }

  /** KILL_CONTAINER: a session's process, or a task's whole container. */
  kill(id: NestedContainerID, signal: NodeJS.Signals): void {
    const session = this.sessions.get(id.value);
    if (session !== undefined) {
      session.child.kill(signal);
      return;
    }
    const run = this.options.taskByContainer(id.value);
    if (run?.container === undefined) throw new HttpError('NOT_FOUND', `no container ${id.value}`);
    run.container.signal(signal);
  }

  /** Kills every session (the agent is stopping). */
  async stop(): Promise<void> {
    for (const { child } of this.sessions.values()) child.kill('SIGKILL');
    await Promise.all([...this.sessions.values()].map((s) => s.ended));
  }

  private remember(idValue: string, ended: Ended): void {
    this.ended.set(idValue, ended);
    for (const key of this.ended.keys()) {
      if (this.ended.size <= ENDED_KEPT) break;
      this.ended.delete(key);
    }
  }
}

function openRecordStream(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'application/recordio',
    'message-content-type': 'application/json',
    'cache-control': 'no-cache',
  });
  response.flushHeaders();
}

function writeRecord(response: ServerResponse, record: ProcessIO): void {
  if (!response.writableEnded) response.write(encodeRecord(JSON.stringify(record)));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function abortion(signal: AbortSignal): Promise<void> {
  return signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}
