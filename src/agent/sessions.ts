// Containers nested in a task's: a command run inside the task's container —
// its cgroups, mounts and environment. A session (LAUNCH_NESTED_CONTAINER_SESSION)
// streams its output back as ProcessIO records while it lives and takes its
// input from ATTACH_CONTAINER_INPUT: what `agora task exec` (like `mesos task
// exec`) uses. A detached one (LAUNCH_CONTAINER with a parent) writes its output
// to a sandbox of its own under the task's, `containers/<id>`, kept until
// REMOVE_CONTAINER. `agora task attach` follows a task's own output
// (ATTACH_CONTAINER_OUTPUT), read from its sandbox files.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Containerizer, Termination } from '../containerizer/index.js';
import { HttpError } from '../runtime/index.js';
import {
  addCommandEnvironment,
  BadRequestError,
  type CommandInfo,
  commandArgv,
  isTerminalState,
  type NestedContainerID,
  type ProcessIO,
} from '../wire/index.js';
import type { SandboxFiles } from './files.js';
import {
  adoptKept,
  endOf,
  killMarked,
  markOf,
  type NestedProcess,
  startKept,
} from './nested-process.js';
import {
  type NestedRecord,
  nestedRecordDir,
  readNestedRecords,
  removeNestedRecord,
  writeNestedConfig,
  writeNestedPids,
  writeNestedTermination,
} from './nested-records.js';
import { closeNestedSandbox, openNestedSandbox, removeNestedSandbox } from './nested-sandbox.js';
import { processesWithEnvironment } from './process-identity.js';
import { abortion, checkIdValue, delay, type ProcessIOStream, waitReply } from './session-io.js';
import type { TaskRun } from './task-runs.js';

/** Sessions running at once on one agent: each is a process and a stream. */
const MAX_SESSIONS = 64;
/** How often a followed file is read again for new output. */
const FOLLOW_INTERVAL_MS = 100;
/** How long a session's end is remembered for WAIT_CONTAINER after it exited. */
const ENDED_KEPT = 256;

/** A running nested container, with the directory of its records (nested-records.ts). */
type Session =
  /** A session: its process is the agent's child, its streams the client's. */
  | {
      readonly kind: 'session';
      readonly id: NestedContainerID;
      readonly child: ChildProcess;
      readonly ended: Promise<Termination>;
      readonly dir: string;
    }
  /** A detached container, under its keeper, with a sandbox of its own under its parent's. */
  | {
      readonly kind: 'detached';
      readonly id: NestedContainerID;
      readonly process: NestedProcess;
      readonly ended: Promise<Termination>;
      readonly dir: string;
      readonly taskSandbox: string;
    };

/**
 * How a container that ended did, its sandbox while REMOVE_CONTAINER has not removed it, and
 * its records (gone with its parent's run directory when that is removed).
 */
interface Ended {
  readonly termination: Termination;
  readonly dir: string;
  readonly taskSandbox?: string;
}

/**
 * What a nested container needs of its parent: a task's run, or a standalone container
 * (standalone.ts), which has no task state (running while its container is).
 */
export type NestedParent = Pick<TaskRun, 'containerIdValue' | 'sandbox' | 'container' | 'user'> & {
  readonly state?: TaskRun['state'];
};

export interface ContainerSessionsOptions {
  readonly containerizer: Containerizer;
  readonly files: SandboxFiles;
  /** The running task (or standalone container) whose container has this id, if any. */
  readonly taskByContainer: (containerIdValue: string) => NestedParent | undefined;
  /** The parent's environment, as its own process got it. */
  readonly environmentOf: (run: NestedParent) => Record<string, string>;
  /** The parent's run directory, where its nested containers' records go. */
  readonly runDirOf: (run: NestedParent) => string;
}

export class ContainerSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly ended = new Map<string, Ended>();
  /** Detached launches between their check and their start: a retried launch waits for none. */
  private readonly launching = new Set<string>();

  constructor(private readonly options: ContainerSessionsOptions) {}

  /** Starts `command` in `id.parent`'s container and streams its output on `output`. */
  async launch(
    id: NestedContainerID,
    command: CommandInfo | undefined,
    output: ProcessIOStream,
    closed: AbortSignal,
  ): Promise<void> {
    const parent = id.parent;
    if (parent === undefined)
      throw new BadRequestError(
        'launch_nested_container_session.container_id.parent',
        'is required',
      );
    checkIdValue(id, 'launch_nested_container_session');
    if (this.sessions.has(id.value) || this.ended.has(id.value))
      throw new HttpError('CONFLICT', `container ${id.value} already exists`);
    if (this.sessions.size >= MAX_SESSIONS)
      throw new HttpError('UNAVAILABLE', `${MAX_SESSIONS} sessions are running; try again later`);
    const run = this.options.taskByContainer(parent.value);
    if (run === undefined) throw new HttpError('NOT_FOUND', `no running container ${parent.value}`);
    const argv = commandArgv(command, '/bin/sh');
    const entry = this.options.containerizer.enter(run.containerIdValue, argv, run.user);
    if (entry === undefined)
      throw new HttpError('NOT_FOUND', `no running container ${parent.value}`);
    const dir = nestedRecordDir(this.options.runDirOf(run), id.value);
    writeNestedConfig(dir, { kind: 'session' });
    const child = spawn(entry.file, [...entry.args], {
      cwd: run.sandbox,
      env: { ...this.options.environmentOf(run), MESOS_SANDBOX: run.sandbox },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    // A restarted agent kills what is left of it (its streams went with this agent).
    const mark = markOf(child.pid);
    if (mark !== undefined) writeNestedPids(dir, { command: mark });
    const ended = new Promise<Termination>((resolve) =>
      child.once('close', (exitCode, signal) => {
        writeNestedTermination(dir, { exitCode, signal });
        resolve({ exitCode, signal });
      }),
    );
    this.sessions.set(id.value, { kind: 'session', id, child, ended, dir });
    output.open();
    const forward = (type: 'STDOUT' | 'STDERR') => (chunk: Buffer) =>
      output.write({ type: 'DATA', data: { type, data: chunk.toString('base64') } });
    child.stdout?.on('data', forward('STDOUT'));
    child.stderr?.on('data', forward('STDERR'));
    // A command that closed its input gets EPIPE for what is written to it: not the agent's
    // error (unhandled, it would end the agent), and attachInput stops at its 'close'.
    child.stdin?.on('error', () => child.stdin?.destroy());
    // The client leaving ends the session, as Mesos does: nobody can see its output.
    const onClose = () => child.kill('SIGKILL');
    closed.addEventListener('abort', onClose, { once: true });
    const termination = await ended;
    closed.removeEventListener('abort', onClose);
    this.sessions.delete(id.value);
    this.remember(id.value, { termination, dir });
    output.end();
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
    checkIdValue(id, field);
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
    const argv = commandArgv(command, '/bin/sh');
    const entry = this.options.containerizer.enter(run.containerIdValue, argv, run.user);
    if (entry === undefined)
      throw new HttpError('NOT_FOUND', `no running container ${parent.value}`);
    const opened = await openNestedSandbox(run.sandbox, id.value);
    const environment = addCommandEnvironment(this.options.environmentOf(run), command);
    // Recorded before it runs, so that an agent killed from here on leaves a trace of it.
    const dir = nestedRecordDir(this.options.runDirOf(run), id.value);
    writeNestedConfig(dir, { kind: 'detached', taskSandbox: run.sandbox });
    let kept: NestedProcess;
    try {
      kept = await startKept({
        entry,
        // The directory opened, not its name again: the task may have swapped the name.
        cwd: `/proc/self/fd/${opened.directory.fd}`,
        env: { ...environment, MESOS_SANDBOX: opened.path },
        stdout: opened.stdout.fd,
        stderr: opened.stderr.fd,
        dir,
      });
    } catch (error) {
      removeNestedRecord(dir);
      throw new BadRequestError(field, `cannot start the command: ${(error as Error).message}`);
    } finally {
      await closeNestedSandbox(opened);
    }
    this.watchDetached(id, kept, run, dir, run.sandbox);
  }

  /** Books a running detached container, until it ends. */
  private watchDetached(
    id: NestedContainerID,
    kept: NestedProcess,
    parent: NestedParent,
    dir: string,
    taskSandbox: string,
  ): void {
    const { ended } = kept;
    const idValue = id.value;
    this.sessions.set(idValue, { kind: 'detached', id, process: kept, ended, dir, taskSandbox });
    // A nested container does not outlive its parent (with posix isolation nothing else
    // would end it: it is in no cgroup of the task's).
    void parent.container?.terminated.then(() => kept.signal('SIGKILL'));
    void ended.then((termination) => {
      this.sessions.delete(idValue);
      this.remember(idValue, { termination, dir, taskSandbox });
    });
  }

  /**
   * The nested containers of the previous agent's life, in the records of `runs` (the tasks
   * it recovered): a detached one still running is watched again (killed if its parent is
   * not running any more), one that ended is remembered with its status for WAIT_CONTAINER,
   * and what is left of a session is killed, as Mesos destroys its DEBUG containers.
   */
  recover(runs: readonly NestedParent[]): void {
    /** Detached containers no keeper watches any more, their ends to be told. */
    const unwatched: { record: NestedRecord; sandbox: string }[] = [];
    for (const run of runs)
      for (const record of readNestedRecords(this.options.runDirOf(run))) {
        const taskSandbox =
          record.config.kind === 'detached' ? record.config.taskSandbox : undefined;
        const known = { dir: record.dir, ...(taskSandbox !== undefined ? { taskSandbox } : {}) };
        if (record.termination !== undefined) {
          this.remember(record.id, { termination: record.termination, ...known });
          continue;
        }
        // A standalone container's records are not under a task's run (standalone.ts).
        if (record.config.kind === 'standalone') continue;
        if (record.config.kind === 'session') {
          killMarked(record.pids.command);
          const termination: Termination = { exitCode: null, signal: 'SIGKILL' };
          writeNestedTermination(record.dir, termination);
          this.remember(record.id, { termination, ...known });
          continue;
        }
        const adopted = adoptKept(record);
        if (adopted === undefined) {
          const sandbox = join(record.config.taskSandbox, 'containers', record.id);
          unwatched.push({ record, sandbox });
          continue;
        }
        const id = { value: record.id, parent: { value: run.containerIdValue } };
        this.watchDetached(id, adopted, run, record.dir, record.config.taskSandbox);
        if (run.container === undefined || (run.state !== undefined && isTerminalState(run.state)))
          adopted.signal('SIGKILL');
      }
    // What is left of those is found by the sandbox in its environment and killed: a keeper
    // the previous agent died before recording (and its command), or what a command that
    // ended left running. One pass over /proc for all of them.
    const strays = processesWithEnvironment(
      unwatched.map(({ sandbox }) => `MESOS_SANDBOX=${sandbox}`),
    );
    for (const { record, sandbox } of unwatched) {
      const pids = strays.get(`MESOS_SANDBOX=${sandbox}`) ?? [];
      for (const pid of pids) killMarked(markOf(pid));
      const ended = endOf(record.dir);
      const termination: Termination =
        ended.isUnknown === true && pids.length > 0 ? { exitCode: null, signal: 'SIGKILL' } : ended;
      writeNestedTermination(record.dir, termination);
      this.remember(record.id, {
        termination,
        dir: record.dir,
        ...(record.config.kind === 'detached' ? { taskSandbox: record.config.taskSandbox } : {}),
      });
    }
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
    removeNestedRecord(known.dir);
  }

  /** Feeds `records` (PROCESS_IO DATA STDIN) to a session's input; an empty one closes it. */
  async attachInput(id: NestedContainerID, records: AsyncIterable<ProcessIO>): Promise<void> {
    const session = this.sessions.get(id.value);
    if (session === undefined) throw new HttpError('NOT_FOUND', `no session ${id.value}`);
    if (session.kind !== 'session') return;
    const stdin = session.child.stdin;
    if (stdin === null || stdin.destroyed) return;
    // The input ends when the command's does (it closed it, or exited): a write then fails
    // with EPIPE (seen on the stream's 'error', which the launch listens to), and a client
    // still sending is answered instead of being read on for nothing.
    const gone = new Promise<'gone'>((resolve) => {
      if (stdin.destroyed) resolve('gone');
      stdin.once('close', () => resolve('gone'));
      void session.ended.then(() => resolve('gone'));
    });
    const iterator = records[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([iterator.next(), gone]);
      if (next === 'gone' || next.done === true) break;
      const record = next.value;
      if (record.type !== 'DATA' || record.data.type !== 'STDIN') continue;
      const bytes = Buffer.from(record.data.data, 'base64');
      if (bytes.length === 0) break;
      if (!stdin.write(bytes))
        await Promise.race([new Promise((resolve) => stdin.once('drain', resolve)), gone]);
    }
    stdin.end();
  }

  /**
   * Streams a container's output from now on: a session's, or a task's (its
   * sandbox's stdout and stderr, followed until the task ends).
   */
  async attachOutput(
    id: NestedContainerID,
    output: ProcessIOStream,
    closed: AbortSignal,
  ): Promise<void> {
    const session = this.sessions.get(id.value);
    if (session !== undefined) {
      output.open();
      const forward = (type: 'STDOUT' | 'STDERR') => (chunk: Buffer) =>
        output.write({ type: 'DATA', data: { type, data: chunk.toString('base64') } });
      const onStdout = forward('STDOUT');
      const onStderr = forward('STDERR');
      if (session.kind === 'session') {
        session.child.stdout?.on('data', onStdout);
        session.child.stderr?.on('data', onStderr);
      }
      await Promise.race([session.ended, abortion(closed)]);
      // A client that left stops being written to: each attach would otherwise leave its
      // listeners on the session's streams for as long as the session lives.
      if (session.kind === 'session') {
        session.child.stdout?.off('data', onStdout);
        session.child.stderr?.off('data', onStderr);
      }
      output.end();
      return;
    }
    const run = this.options.taskByContainer(id.value);
    if (run === undefined) throw new HttpError('NOT_FOUND', `no running container ${id.value}`);
    output.open();
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
        output.write({
          type: 'DATA',
          data: { type: file.type, data: chunk.bytes.toString('base64') },
        });
      }
      if (!moved && isDone) break;
      if (!moved) await Promise.race([delay(FOLLOW_INTERVAL_MS), leaving]);
    }
    output.end();
  }

  /** The nested containers running now (GET_CONTAINERS with show_nested), with their PIDs. */
  running(): { readonly id: NestedContainerID; readonly pid: number | undefined }[] {
    return [...this.sessions.values()].map((session) => ({
      id: session.id,
      pid: session.kind === 'session' ? session.child.pid : session.process.pid,
    }));
  }

  /** WAIT_CONTAINER: how the container ended, once it has. */
  async wait(id: NestedContainerID): Promise<Record<string, unknown>> {
    const known = this.ended.get(id.value)?.termination;
    const session = this.sessions.get(id.value);
    const run = this.options.taskByContainer(id.value);
    const termination =
      known ?? (await (session?.ended ?? run?.container?.terminated ?? Promise.resolve(undefined)));
    if (termination === undefined) throw new HttpError('NOT_FOUND', `no container ${id.value}`);
    return waitReply(termination);
  }

  /** KILL_CONTAINER: a session's process, or a task's whole container. */
  kill(id: NestedContainerID, signal: NodeJS.Signals): void {
    const session = this.sessions.get(id.value);
    if (session !== undefined) {
      if (session.kind === 'session') session.child.kill(signal);
      else session.process.signal(signal);
      return;
    }
    const run = this.options.taskByContainer(id.value);
    if (run?.container === undefined) throw new HttpError('NOT_FOUND', `no container ${id.value}`);
    run.container.signal(signal);
  }

  /**
   * Kills every nested container (the agent is stopping, and its tasks with it); when it
   * stops leaving its tasks running (`isDetaching`), only sessions, whose streams end with
   * it: a detached container runs on in its task, for the next agent to recover.
   */
  async stop(isDetaching = false): Promise<void> {
    const stopping = [...this.sessions.values()].filter(
      (session) => !isDetaching || session.kind === 'session',
    );
    for (const session of stopping)
      if (session.kind === 'session') session.child.kill('SIGKILL');
      else session.process.signal('SIGKILL');
    await Promise.all(stopping.map((s) => s.ended));
  }

  private remember(idValue: string, ended: Ended): void {
    this.ended.set(idValue, ended);
    for (const [key, forgotten] of this.ended) {
      if (this.ended.size <= ENDED_KEPT) break;
      this.ended.delete(key);
      // Its records go too: a task exec'd into all day would otherwise pile them up in its
      // run directory, for a restarted agent to read one by one.
      removeNestedRecord(forgotten.dir);
    }
  }
}
