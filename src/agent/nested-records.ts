// What the agent keeps of the containers nested in a task's, so that a restarted
// agent knows them (docs/agent-recovery.md; Mesos keeps the same under its runtime
// directory, `containers/<parent>/containers/<child>`): here under the parent task's
// run directory, `containers/<id>/`, removed with it.
//
//   config       what it is: a detached container (LAUNCH_CONTAINER with a parent) and
//                its parent's sandbox, or a session (LAUNCH_NESTED_CONTAINER_SESSION)
//   pids         the keeper's and the command's PIDs with their start times
//   status       written by the keeper: the command's PID, then `exit <wait status>`
//   termination  how it ended, once the agent has learnt it
//
// A detached container's command runs under a keeper, a small shell that waits for
// it and writes its status, as Mesos' `mesos-containerizer launch` does: the keeper
// outlives the agent, so an end while no agent runs is still known to the next one.
// A session's streams go to the agent and die with it: the next agent kills what is
// left of one, as Mesos destroys its DEBUG containers on recovery.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Termination } from '../containerizer/index.js';
import type { Resource } from '../wire/index.js';
import { writeFileAtomic } from './checkpoint-files.js';

export type NestedConfig =
  | { readonly kind: 'detached'; readonly taskSandbox: string }
  | { readonly kind: 'session' }
  /**
   * A standalone container (LAUNCH_CONTAINER without a parent, standalone.ts): its records
   * go under the agent's `meta/containers/<id>`, with the containerizer's runtime files.
   */
  | {
      readonly kind: 'standalone';
      readonly sandbox: string;
      readonly resources: readonly Resource[];
      readonly container?: Readonly<Record<string, unknown>>;
    };

/** A process told apart from a later one with its PID by its start time. */
export interface ProcessMark {
  readonly pid: number;
  readonly startTime: string;
}

export interface NestedPids {
  /** A detached container's keeper; a session has none. */
  readonly keeper?: ProcessMark;
  /** The command, once known. */
  readonly command?: ProcessMark;
}

export interface NestedRecord {
  readonly id: string;
  readonly dir: string;
  readonly config: NestedConfig;
  readonly pids: NestedPids;
  /** The command's PID as its keeper wrote it, and its wait status once it ended. */
  readonly status: { readonly pid: number | undefined; readonly exit: string | undefined };
  readonly termination: Termination | undefined;
}

/** The directory a nested container's records go in, under its parent's run directory. */
export function nestedRecordDir(parentRunDir: string, id: string): string {
  return join(parentRunDir, 'containers', id);
}

export function writeNestedConfig(dir: string, config: NestedConfig): void {
  writeFileAtomic(join(dir, 'config'), JSON.stringify(config));
}

export function writeNestedPids(dir: string, pids: NestedPids): void {
  writeFileAtomic(join(dir, 'pids'), JSON.stringify(pids));
}

/** Best effort: a run directory removed meanwhile (its task retired) has nothing to keep. */
export function writeNestedTermination(dir: string, termination: Termination): void {
  if (!existsSync(dir)) return;
  try {
    writeFileAtomic(join(dir, 'termination'), JSON.stringify(termination));
  } catch {
    // The run's directory went away between the check and the write.
  }
}

export function removeNestedRecord(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function nestedStatusFile(dir: string): string {
  return join(dir, 'status');
}

/** What the keeper wrote: the command's PID on the first line, `exit <n>` once it ended. */
export function parseNestedStatus(text: string): NestedRecord['status'] {
  const lines = text.split('\n').map((line) => line.trim());
  const pidLine = lines[0] ?? '';
  const pid = /^\d{1,10}$/.test(pidLine) ? Number(pidLine) : undefined;
  const exitLine = lines.find((line) => /^exit \d{1,3}$/.test(line));
  return { pid, exit: exitLine?.slice('exit '.length) };
}

export function readNestedStatus(dir: string): NestedRecord['status'] {
  const text = readText(nestedStatusFile(dir));
  return text === undefined ? { pid: undefined, exit: undefined } : parseNestedStatus(text);
}

/** Every nested container recorded under a run's directory; unreadable ones are skipped. */
export function readNestedRecords(parentRunDir: string): NestedRecord[] {
  const root = join(parentRunDir, 'containers');
  let ids: string[];
  try {
    ids = readdirSync(root);
  } catch {
    return [];
  }
  const records: NestedRecord[] = [];
  for (const id of ids) {
    const dir = join(root, id);
    const config = parseJson(readText(join(dir, 'config')), isConfig);
    // Made first, before anything runs: without it nothing was started.
    if (config === undefined) continue;
    records.push({
      id,
      dir,
      config,
      pids: parseJson(readText(join(dir, 'pids')), isPids) ?? {},
      status: readNestedStatus(dir),
      termination: parseJson(readText(join(dir, 'termination')), isTermination),
    });
  }
  return records;
}

const KEEPER_SCRIPT = [
  'status_file=$1; shift',
  // The command's own shell writes its PID (the agent signals the command, never the keeper)
  // and becomes the command: the keeper waits for it in the foreground, so the command's
  // signals are its own (a background job of a shell would have SIGINT ignored).
  `/bin/sh -c 'echo $$ >> "$0" && exec "$@"' "$status_file" "$@"`,
  'status=$?',
  'echo "exit $status" >> "$status_file"',
  'exit $status',
].join('\n');

/** The argv of a keeper that runs `entry` and writes its PID and status to `statusFile`. */
export function keeperArgv(
  statusFile: string,
  entry: { readonly file: string; readonly args: readonly string[] },
): { readonly file: string; readonly args: readonly string[] } {
  return {
    file: '/bin/sh',
    args: ['-c', KEEPER_SCRIPT, 'agora-nested', statusFile, entry.file, ...entry.args],
  };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parseJson<T>(text: string | undefined, is: (value: unknown) => value is T): T | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return is(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function isConfig(value: unknown): value is NestedConfig {
  if (!isObject(value)) return false;
  return (
    value.kind === 'session' ||
    (value.kind === 'detached' && typeof value.taskSandbox === 'string') ||
    (value.kind === 'standalone' &&
      typeof value.sandbox === 'string' &&
      Array.isArray(value.resources) &&
      (value.container === undefined || isObject(value.container)))
  );
}

function isMark(value: unknown): value is ProcessMark {
  return (
    isObject(value) &&
    Number.isInteger(value.pid) &&
    (value.pid as number) > 0 &&
    typeof value.startTime === 'string'
  );
}

function isPids(value: unknown): value is NestedPids {
  return (
    isObject(value) &&
    (value.keeper === undefined || isMark(value.keeper)) &&
    (value.command === undefined || isMark(value.command))
  );
}

function isTermination(value: unknown): value is Termination {
  return (
    isObject(value) &&
    (value.exitCode === null || Number.isInteger(value.exitCode)) &&
    (value.signal === null || typeof value.signal === 'string')
  );
}
