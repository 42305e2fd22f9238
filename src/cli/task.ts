// `agora task exec` and `agora task attach`, as `mesos task exec` and `mesos
// task attach`: the master says which agent runs the task and in which
// container (its /master/tasks statuses), then the agent's operator API does
// the rest (LAUNCH_NESTED_CONTAINER_SESSION, ATTACH_CONTAINER_INPUT/OUTPUT,
// WAIT_CONTAINER, KILL_CONTAINER). Its own bundle: `agora run`'s start-up does
// not pay for it.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import {
  attachContainerInput,
  attachContainerOutput,
  baseUrl,
  type ContainerWait,
  getJson,
  killContainer,
  launchNestedContainerSession,
  processIoRecords,
  shellExitStatus,
  waitContainer,
} from '../sdk/index.js';
import type { CommandInfo, NestedContainerID } from '../wire/index.js';
import { type ParsedValues, UsageError } from './command.js';
import { defaultMaster } from './run.js';
import { agentUrlOfPid, describeMiss, findTaskTarget, type ListedTask } from './task-target.js';

/** Exit status when the command could not be run at all (as `agora run`'s 125). */
export const EXIT_COULD_NOT_EXEC = 125;

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Trouble that ends the command with one line on stderr, not a stack. */
class TaskCommandError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TaskCommandError';
  }
}

export async function task(values: ParsedValues, positionals: readonly string[]): Promise<number> {
  const [subcommand, taskIdValue, ...rest] = positionals;
  if (subcommand !== 'exec' && subcommand !== 'attach')
    throw new UsageError(
      subcommand === undefined
        ? 'missing the subcommand: exec or attach'
        : `unknown subcommand '${subcommand}': expected exec or attach`,
    );
  if (taskIdValue === undefined || taskIdValue === '') throw new UsageError('missing the task id');
  if (values.tty === true) {
    // The agent's sessions are pipes: it has no terminal to give (no TTYInfo support).
    process.stderr.write(
      `agora task ${subcommand}: --tty is not supported: the agent runs sessions without a terminal; leave out -t (use -i to pass stdin)\n`,
    );
    return 2;
  }
  try {
    const target = await locate(defaultMaster(values), taskIdValue);
    if (subcommand === 'exec') {
      if (rest.length === 0) throw new UsageError('missing the command to run (after --)');
      return await exec(target, commandOf(rest), values.interactive === true);
    }
    if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
    return await attach(target);
  } catch (error) {
    if (error instanceof TaskCommandError) {
      process.stderr.write(`agora task ${subcommand}: ${error.message}\n`);
      return EXIT_COULD_NOT_EXEC;
    }
    throw error;
  }
}

interface Target {
  readonly agent: URL;
  readonly containerIdValue: string;
}

async function locate(master: string, taskIdValue: string): Promise<Target> {
  const base = baseUrl(master);
  const tasksUrl = new URL('/master/tasks', base);
  tasksUrl.searchParams.set('task_id', taskIdValue);
  const { tasks } = await getJson<{ tasks: ListedTask[] }>(tasksUrl);
  const target = findTaskTarget(tasks, taskIdValue);
  if (target.kind !== 'found') throw new TaskCommandError(describeMiss(target, taskIdValue));
  const agentsUrl = new URL('/master/slaves', base);
  agentsUrl.searchParams.set('slave_id', target.agentIdValue);
  const { slaves } = await getJson<{ slaves: { id: string; pid: string }[] }>(agentsUrl);
  const pid = slaves.find((agent) => agent.id === target.agentIdValue)?.pid;
  const agent = pid === undefined ? undefined : agentUrlOfPid(pid, base.protocol);
  if (agent === undefined)
    throw new TaskCommandError(
      `the master does not know where agent ${target.agentIdValue} (task '${taskIdValue}') listens`,
    );
  return { agent, containerIdValue: target.containerIdValue };
}

/** One argument is a shell command line; several are an argv, as `agora run` takes them. */
function commandOf(argv: readonly string[]): CommandInfo {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing the command to run (after --)');
  return rest.length === 0
    ? { shell: true, value: first }
    : { shell: false, value: first, arguments: [first, ...rest] };
}

/**
 * Runs `command` in the task's container with its output on ours, stdin passed
 * on with `-i` (else closed at once, so `cat` ends); exits with its status.
 * The first Ctrl-C (SIGINT, SIGTERM, SIGHUP) is sent on to the command; a
 * second one kills it and exits at once.
 */
async function exec(target: Target, command: CommandInfo, isInteractive: boolean) {
  const session: NestedContainerID = {
    value: randomUUID(),
    parent: { value: target.containerIdValue },
  } as NestedContainerID;
  const done = new AbortController();
  let signalCount = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signalCount += 1;
    const number = SIGNAL_NUMBERS[signal] ?? 15;
    if (signalCount > 1) {
      void killContainer(target.agent, session, 9)
        .catch(() => undefined)
        .finally(() => process.exit(128 + number));
      return;
    }
    killContainer(target.agent, session, number).catch((error: unknown) =>
      process.stderr.write(`agora task exec: could not signal the command: ${message(error)}\n`),
    );
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  try {
    const output = await onAgent(target.agent, () =>
      launchNestedContainerSession(target.agent, session, command, { signal: done.signal }),
    );
    const input = attachContainerInput(
      target.agent,
      session,
      isInteractive ? stdinUntil(done.signal) : none(),
      { signal: done.signal },
    ).catch((error: unknown) => {
      // Input refused because the command had already ended (404) is no news.
      if (done.signal.aborted || (error as { status?: unknown }).status === 404) return;
      process.stderr.write(`agora task exec: stdin not passed on: ${message(error)}\n`);
    });
    await onAgent(target.agent, () => pumpOutput(output));
    done.abort();
    await input;
    const ended = await onAgent(target.agent, () => waitContainer(target.agent, session));
    return exitStatusOf(ended);
  } finally {
    done.abort();
    if (isInteractive) process.stdin.destroy();
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}

/**
 * Follows the task's output from now on until it ends, then exits with its
 * status. Ctrl-C detaches and leaves the task running (exit 128+n).
 */
async function attach(target: Target): Promise<number> {
  const container = { value: target.containerIdValue } as NestedContainerID;
  const detach = new AbortController();
  let detachedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    detachedBy ??= signal;
    detach.abort(new Error(`detached by ${signal}`));
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  try {
    // Asked now, while the task runs: the agent forgets a container once it has ended.
    const ended = waitContainer(target.agent, container, { signal: detach.signal }).then(
      (wait): ContainerWait | undefined => wait,
      () => undefined,
    );
    const output = await onAgent(target.agent, () =>
      attachContainerOutput(target.agent, container, { signal: detach.signal }),
    );
    try {
      await onAgent(target.agent, () => pumpOutput(output));
    } catch (error) {
      if (detachedBy === undefined) throw error;
    }
    if (detachedBy !== undefined) return 128 + (SIGNAL_NUMBERS[detachedBy] ?? 15);
    const wait = await ended;
    return wait === undefined ? 0 : exitStatusOf(wait);
  } finally {
    detach.abort();
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}

function exitStatusOf(wait: ContainerWait): number {
  return wait.exit_status === undefined ? 0 : shellExitStatus(wait.exit_status);
}

/** Writes a session's output records to our stdout and stderr, at the pace they drain. */
async function pumpOutput(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const record of processIoRecords(stream)) {
    if (record.type !== 'DATA') continue;
    const sink: Writable | undefined =
      record.data.type === 'STDOUT'
        ? process.stdout
        : record.data.type === 'STDERR'
          ? process.stderr
          : undefined;
    if (sink !== undefined && !sink.write(Buffer.from(record.data.data, 'base64')))
      await once(sink, 'drain');
  }
}

/** Our stdin, chunk by chunk, until it ends or `stop` aborts. */
async function* stdinUntil(stop: AbortSignal): AsyncGenerator<Uint8Array> {
  const stdin = process.stdin;
  const stopped = new Promise<void>((resolve) =>
    stop.addEventListener('abort', () => resolve(), { once: true }),
  );
  const iterator = stdin[Symbol.asyncIterator]();
  while (!stop.aborted) {
    const next = await Promise.race([iterator.next(), stopped.then(() => undefined)]);
    if (next === undefined || next.done === true) return;
    yield next.value as Buffer;
  }
}

async function* none(): AsyncGenerator<Uint8Array> {}

/**
 * Trouble with the agent in one line: one that cannot be reached is named as the agent
 * (main.ts would say "master"), a refusal with its status, a stream cut short as such.
 */
async function onAgent<T>(agent: URL, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ECONNRESET')
      throw new TaskCommandError(`the agent at ${agent.host} closed the stream early`, {
        cause: error,
      });
    if (error instanceof Error && error.name === 'ConnectionError')
      throw new TaskCommandError(`cannot reach the agent at ${agent.host} (${message(error)})`, {
        cause: error,
      });
    if (error instanceof Error && error.name === 'HttpStatusError') {
      const { status, body } = error as Error & { status?: number; body?: string };
      throw new TaskCommandError(`the agent at ${agent.host} answered ${status}: ${body?.trim()}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function message(error: unknown): string {
  if (error instanceof Error && error.name === 'ConnectionError')
    return String((error as Error & { reason?: unknown }).reason ?? error.message);
  return error instanceof Error ? error.message : String(error);
}
