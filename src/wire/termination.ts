import { constants } from 'node:os';

// The built-in command executor reports how a task's process ended only in
// TaskStatus.message, in these words (Mesos' own); `agora run` reads its exit
// status back out of them, like mesos-execute users do.

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  SIGTERM: 'Terminated',
  SIGKILL: 'Killed',
  SIGINT: 'Interrupt',
  SIGHUP: 'Hangup',
  SIGQUIT: 'Quit',
  SIGABRT: 'Aborted',
  SIGSEGV: 'Segmentation fault',
  SIGPIPE: 'Broken pipe',
  SIGUSR1: 'User defined signal 1',
  SIGUSR2: 'User defined signal 2',
};

export interface ProcessEnd {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export function terminationMessage(end: ProcessEnd): string {
  if (end.signal !== null)
    return `Command terminated with signal ${DESCRIPTIONS[end.signal] ?? end.signal}`;
  return `Command exited with status ${end.exitCode ?? -1}`;
}

/**
 * The shell convention for a task's exit status: its own status when it exited,
 * 128 + the signal number when a signal ended it; undefined if the message is
 * not the command executor's.
 */
export function exitStatusFromMessage(message: string | undefined): number | undefined {
  if (message === undefined) return undefined;
  const exited = /Command exited with status (-?\d+)/.exec(message);
  if (exited?.[1] !== undefined) return Number(exited[1]);
  const signalled = /Command terminated with signal (.+)$/.exec(message);
  if (signalled?.[1] === undefined) return undefined;
  const description = signalled[1].trim();
  const name =
    Object.keys(DESCRIPTIONS).find((key) => DESCRIPTIONS[key] === description) ?? description;
  const number = (constants.signals as Readonly<Record<string, number>>)[name];
  return number === undefined ? undefined : 128 + number;
}
