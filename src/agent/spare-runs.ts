// Retired runs' directories, kept in the checkpoint's trash for the next launches to take
// rather than deleted and made again. On this host's ext4 (no journal) each new inode costs
// the kernel a scan past every inode freed in the last seconds (recently_deleted, the
// agent's largest CPU cost per task under perf; bench/RESULTS.md, #9), and a command task's
// records were six: its executor directory, runs/, the run, tasks/, the task's directory
// and task.updates. A spare is emptied of the run's own files (the shim's records) in the
// thread pool; checkpoint.ts renames it into place with the same whole-or-nothing rename
// as a new one.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeChain } from './spare-sandbox.js';

/** Spares kept at most: a burst of launches takes them, the rest are made as before. */
const MAX_SPARE_RUNS = 64;

/**
 * Spares made new, ahead of the launches, when fewer are kept: a burst of launches larger
 * than the runs retired (the first burst of all) took its run directories from here rather
 * than making five inodes each on the event loop, where each new inode on a disk that freed
 * many lately costs 0.1-0.5 ms of the agent's one thread (bench/RESULTS.md, #13).
 */
const MADE_AHEAD_RUNS = 32;

/** Spares made at once: one, as spare sandboxes are (spare-sandbox.ts MAKERS says why). */
const MAKERS = 1;

/** The placeholder names of a spare made new: renamed to the launch's own. */
const RUN = 'run';
const TASK = 'task';

/** A retired run's directory in the trash, emptied but for its task's task.updates. */
interface SpareRun {
  /** In the trash: the run's directory, or its executor's, which held that run alone. */
  readonly dir: string;
  /** The run's directory in `dir`: '' (dir is the run's) or `runs/<container id>`. */
  readonly runPath: string;
  readonly taskName: string;
}

/** A task directory in the trash, to fill and rename into place. */
export interface Staged {
  /** The run's directory. */
  readonly run: string;
  readonly task: string;
  /** An executor directory around the run (a spare's), to place whole if the executor is new. */
  readonly executor: string | undefined;
}

export class SpareRuns {
  private readonly spares: SpareRun[] = [];
  /** The spares being made (prepare), if any: one batch at a time. */
  private preparing: Promise<void> | undefined;
  /** No more spares are kept (clear): a batch in flight deletes what it made. */
  private isCleared = false;

  /** Spares ready to take. */
  get count(): number {
    return this.spares.length;
  }

  /**
   * A spare renamed for `address` (its run and task directories; task.updates still holds
   * the old run's lines: truncate it), none, or one not as it was left, for the caller to
   * delete (nothing else touches the trash).
   */
  take(address: {
    readonly containerIdValue: string;
    readonly taskIdValue: string;
  }):
    | { readonly kind: 'staged'; readonly staged: Staged }
    | { readonly kind: 'none' }
    | { readonly kind: 'broken'; readonly dir: string } {
    const spare = this.spares.pop();
    if (spare === undefined) return { kind: 'none' };
    let run = join(spare.dir, spare.runPath);
    try {
      if (spare.runPath !== '') {
        const renamed = join(spare.dir, 'runs', address.containerIdValue);
        renameSync(run, renamed);
        run = renamed;
      }
      const task = join(run, 'tasks', address.taskIdValue);
      if (spare.taskName !== address.taskIdValue)
        renameSync(join(run, 'tasks', spare.taskName), task);
      const executor = spare.runPath === '' ? undefined : spare.dir;
      return { kind: 'staged', staged: { run, task, executor } };
    } catch {
      return { kind: 'broken', dir: spare.dir };
    }
  }

  /**
   * A discarded run's directory (`runPath` in `dir`, a discarded executor's), in the thread
   * pool: kept as a spare (the run's own records and the runtime files deleted, the task's
   * directory and task.updates kept) when it holds one task's task.updates and nothing else
   * under tasks/, else deleted.
   */
  async recycle(dir: string, runPath: string): Promise<void> {
    try {
      if (!this.isCleared && this.spares.length < MAX_SPARE_RUNS) {
        const run = join(dir, runPath);
        const names = await readdir(run);
        const tasks = names.includes('tasks') ? await readdir(join(run, 'tasks')) : [];
        const [taskName] = tasks;
        if (
          tasks.length === 1 &&
          taskName !== undefined &&
          (await readdir(join(run, 'tasks', taskName))).join('/') === 'task.updates'
        ) {
          // The shim's task.pid (an older agent's files, and its pids/ directory): a file
          // goes by one unlink, where rm looks at it first.
          await Promise.all(
            names.filter((name) => name !== 'tasks').map((name) => removeEntry(join(run, name))),
          );
          this.spares.push({ dir, runPath, taskName });
          return;
        }
      }
    } catch {
      // Unreadable as a spare: deleted below.
    }
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * Makes new spares in `trash`, in the thread pool, until MADE_AHEAD_RUNS are kept; one
   * batch at a time (a call while one is under way returns it). Each is an executor's
   * directory holding `runs/run/tasks/task/task.updates` (empty), as a retired command
   * task's: take() renames it as it renames those. A failure leaves fewer spares, and the
   * launches make their own directories, as before.
   */
  prepare(trash: string): Promise<void> {
    if (this.preparing !== undefined || this.isCleared) return this.preparing ?? Promise.resolve();
    let making = 0;
    const maker = async () => {
      while (!this.isCleared && this.spares.length + making < MADE_AHEAD_RUNS) {
        making++;
        try {
          const dir = await makeSpareRun(trash);
          if (dir === undefined) return;
          if (this.isCleared) {
            await rm(dir, { recursive: true, force: true });
            return;
          }
          // Under those recycled meanwhile: a retired run's directory is taken first.
          this.spares.unshift({ dir, runPath: join('runs', RUN), taskName: TASK });
        } finally {
          making--;
        }
      }
    };
    const preparing = makeTrash(trash)
      .then(() => Promise.all(Array.from({ length: MAKERS }, maker)))
      .then(() => undefined)
      .finally(() => {
        this.preparing = undefined;
      });
    this.preparing = preparing;
    return preparing;
  }

  /** Deletes every spare, and keeps none from now on. */
  async clear(): Promise<void> {
    this.isCleared = true;
    await this.preparing;
    const spares = this.spares.splice(0);
    await Promise.all(spares.map((spare) => rm(spare.dir, { recursive: true, force: true })));
  }
}

/**
 * Makes the trash if it is not there, and its parent (meta/) if need be, but never the
 * work dir: not recursive, so a work dir removed meanwhile (a test's) stays removed.
 */
async function makeTrash(trash: string): Promise<void> {
  for (const dir of [dirname(trash), trash])
    try {
      await mkdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
}

/** A new spare run in `trash`, made in the thread pool; undefined if it could not be. */
async function makeSpareRun(trash: string): Promise<string | undefined> {
  const dir = join(trash, randomUUID());
  const task = await makeChain(dir, ['runs', RUN, 'tasks', TASK], ['task.updates']);
  return task === undefined ? undefined : dir;
}

/** Removes a file, or a directory and all in it. */
async function removeEntry(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') throw error;
    await rm(path, { recursive: true, force: true });
  }
}

/** The names in `dir`, or none if it cannot be read. */
export function namesOrNone(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Renames a staged executor directory (a spare's) to `executorDir`, making its parent if
 * need be; false if the executor is there already (the caller then places the run alone).
 */
export function placeExecutor(staged: string, executorDir: string): boolean {
  for (let attempt = 0; ; attempt++)
    try {
      // Onto a missing or empty executor directory.
      renameSync(staged, executorDir);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      if (code !== 'ENOENT' || attempt >= 3) throw error;
      mkdirSync(dirname(executorDir), { recursive: true });
    }
}
