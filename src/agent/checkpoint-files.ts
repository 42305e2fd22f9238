// The file operations the agent's checkpoint is written and read with: whole-or-nothing
// writes, appends, and removals that tell an empty directory from one still in use.
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  writeFileSync,
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
