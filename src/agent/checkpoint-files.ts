// The file operations the agent's checkpoint is written and read with: whole-or-nothing
// writes, appends, and removals that tell an empty directory from one still in use.
import {
  appendFileSync,
  closeSync,
  constants,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';

const TEMPORARY_SUFFIX = '.tmp';

/** Writes `path` whole or not at all: a temporary file renamed into place. */
export function writeFileAtomic(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}${TEMPORARY_SUFFIX}`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

/**
 * Makes `path` hold `data` (not empty) and nothing else, made if missing: written over from
 * the start and cut to its length, never truncated to zero first. On ext4 (auto_da_alloc) a
 * file truncated to zero and written again has its blocks allocated at its close, at once,
 * where delayed allocation would otherwise leave them to writeback; and the blocks the
 * truncation frees are discarded at once on a file system without a journal mounted with
 * `discard`. A spare run's task.updates, written so, keeps its block (bench/RESULTS.md, #9).
 */
export function overwriteFile(path: string, data: string): void {
  const bytes = Buffer.from(data);
  if (bytes.length === 0) throw new Error('overwriteFile: nothing to write');
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o666);
  try {
    let written = 0;
    while (written < bytes.length)
      written += writeSync(fd, bytes, written, bytes.length - written, written);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends `line` and a newline to `path`, making its directory if it is not there: the
 * usual append (to a task's task.updates, made at launch) is one open, write and close.
 */
export function appendLine(path: string, line: string): void {
  try {
    appendFileSync(path, `${line}\n`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `${line}\n`);
  }
}

/** A file's text, or undefined when there is no such file. */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Directory names under `dir` (none if it does not exist): no files, no `latest` links. */
export function entries(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** removeIfEmpty, in the thread pool. */
export async function removeIfEmptyInBackground(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}

/** Removes `dir` if it is empty; true if it is gone. */
export function removeIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}
