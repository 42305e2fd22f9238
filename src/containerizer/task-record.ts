// The records a run's shim and the containerizer keep in its runtime directory
// (shim.ts RUNTIME_FILES), read back by a restarted agent: which process is the task
// (task.pid: its PID, then its start time, so a recycled PID is never taken for it) and
// how it ended (an `exit` line in task.pid; exit_status from older shims).
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { readStat } from './process-identity.js';
import { parseTaskRecord, runtimeFile } from './shim.js';
import { terminationFromShellStatus } from './termination.js';
import type { Termination } from './types.js';

/** Whether `pid` is still the task the run recorded: same PID and same start time. */
export function isSameProcess(pid: number | undefined, runtimeDir: string): boolean {
  if (pid === undefined) return false;
  const now = readStat(pid)?.startTime;
  if (now === undefined) return false;
  const recorded =
    parseTaskRecord(readOrEmpty(runtimeFile(runtimeDir, 'taskPid'))).startText ??
    (readOrEmpty(runtimeFile(runtimeDir, 'taskStartTime')).trim() || undefined);
  // Not recorded (the agent died between the launch and the write): trust the PID alone.
  return recorded === undefined || recorded === now;
}

/**
 * Appends the task's start time to its record, as its second line: the file is there (the
 * shim wrote the PID before it reported the task), so no new file and no rename. Skipped if
 * it is not: a start time alone would read as a PID.
 */
export function appendStartTime(path: string, startTime: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
  } catch {
    return;
  }
  try {
    writeSync(fd, `${startTime}\n`);
  } finally {
    closeSync(fd);
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** How the task ended, as its shim recorded it; undefined while it has not. */
export function readRecorded(runtimeDir: string): Termination | undefined {
  const { exitText } = parseTaskRecord(readOrEmpty(runtimeFile(runtimeDir, 'taskPid')));
  if (exitText !== undefined) return terminationFromShellStatus(exitText);
  // The shims of agents before the `exit` line wrote a file of its own.
  const legacy = readOrEmpty(runtimeFile(runtimeDir, 'exitStatus'));
  return legacy === '' ? undefined : terminationFromShellStatus(legacy);
}

export function readPid(path: string): number | undefined {
  const { pidText } = parseTaskRecord(readOrEmpty(path));
  const pid = Number(pidText);
  return /^\d+$/.test(pidText) && pid > 1 ? pid : undefined;
}
