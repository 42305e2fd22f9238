// A command task's sandbox directories, made ahead of the launch that takes them (#7
// item 17). A sandbox is `…/frameworks/<framework>/executors/<executor>/runs/<container>`,
// and for `agora run` (a new framework each time) all five levels were new: five mkdirs on
// the task's path. Where the disk freed many inodes lately (the agent's own sandbox GC, or
// other runs under the same /tmp), ext4 looks past each of those on every new inode: a
// mkdir there took 0.1-0.5 ms (bench/RESULTS.md), and the shim's `>>stdout 2>>stderr`
// made two files more. The spare is made once a launch is done, under placeholder names,
// with its empty stdout and stderr (as the Docker containerizer and --switch_user make
// them: mode 0644, opened for appending by whoever writes them), and the next launch
// renames it into place: a rename makes no inode.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The spare's placeholder names, replaced by the launch's own. */
const EXECUTOR = 'executor';
const RUN = 'run';

/** The levels of a command task's sandbox path, from the framework's directory down. */
export interface SandboxLevels {
  readonly framework: string;
  readonly executor: string;
  readonly run: string;
}

/**
 * `sandbox` as `…/<framework>/executors/<executor>/runs/<run>`; undefined for any other
 * shape (a task group's nested sandbox, under `containers/`). Pure.
 */
export function sandboxLevels(sandbox: string): SandboxLevels | undefined {
  const runs = dirname(sandbox);
  const executor = dirname(runs);
  const executors = dirname(executor);
  if (basename(runs) !== 'runs' || basename(executors) !== 'executors') return undefined;
  return { framework: dirname(executors), executor, run: sandbox };
}

export class SpareSandbox {
  /** The spare ready to take: `<dir>/<uuid>`, holding `executors/executor/runs/run`. */
  private spare: string | undefined;
  /** Whether what an earlier life of the agent left in `dir` is gone. */
  private isDirClean = false;

  /** `dir`: where spares are made, on the sandboxes' file system (a rename cannot cross). */
  constructor(private readonly dir: string) {}

  /**
   * Puts the spare's directories at `sandbox` by renames. False when there is none, the
   * path is not a command task's, or a rename failed: the caller makes the directories.
   */
  take(sandbox: string): boolean {
    const spare = this.spare;
    const levels = sandboxLevels(sandbox);
    if (spare === undefined || levels === undefined) return false;
    this.spare = undefined;
    const executors = join(spare, 'executors');
    const executor = join(executors, basename(levels.executor));
    try {
      // Renamed inside the spare first (its own names), then moved whole at the highest
      // level that does not exist yet: what is left of the spare goes later, off the path.
      renameSync(
        join(executors, EXECUTOR, 'runs', RUN),
        join(executors, EXECUTOR, 'runs', basename(sandbox)),
      );
      renameSync(join(executors, EXECUTOR), executor);
      const target = !existsSync(levels.framework)
        ? { from: spare, to: levels.framework }
        : !existsSync(levels.executor)
          ? { from: executor, to: levels.executor }
          : { from: join(executor, 'runs', basename(sandbox)), to: levels.run };
      if (existsSync(target.to)) throw new Error(`${target.to} exists`);
      mkdirSync(dirname(target.to), { recursive: true });
      renameSync(target.from, target.to);
      if (target.from !== spare)
        setImmediate(() => rmSync(spare, { recursive: true, force: true }));
      return true;
    } catch {
      setImmediate(() => rmSync(spare, { recursive: true, force: true }));
      return false;
    }
  }

  /** Makes the next spare, if there is none; a failure leaves none (launches make their own). */
  refill(): void {
    if (this.spare !== undefined) return;
    if (!this.isDirClean) {
      rmSync(this.dir, { recursive: true, force: true });
      this.isDirClean = true;
    }
    const spare = join(this.dir, randomUUID());
    try {
      const run = join(spare, 'executors', EXECUTOR, 'runs', RUN);
      mkdirSync(run, { recursive: true });
      for (const file of ['stdout', 'stderr']) closeSync(openSync(join(run, file), 'a', 0o644));
      this.spare = spare;
    } catch {
      rmSync(spare, { recursive: true, force: true });
    }
  }
}
