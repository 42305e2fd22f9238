// A command task's sandbox directories, made ahead of the launch that takes them (#7
// item 17). A sandbox is `…/frameworks/<framework>/executors/<executor>/runs/<container>`,
// and for `agora run` (a new framework each time) all five levels were new: five mkdirs on
// the task's path. Where the disk freed many inodes lately (the agent's own sandbox GC, or
// other runs under the same /tmp), ext4 looks past each of those on every new inode: a
// mkdir there took 0.1-0.5 ms (bench/RESULTS.md), and the shim's `>>stdout 2>>stderr`
// made two files more. The spare is made once a launch is done, under placeholder names,
// with its empty stdout and stderr (as the Docker containerizer and --switch_user make
// them: mode 0644, opened for appending by whoever writes them), and the next launch
// renames it into place: a rename makes no inode. Several are kept, made in the thread pool,
// so that a burst of launches (a jobs framework's offer cycle) finds one for each.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
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

/** Spares kept ready by default: a burst of launches (an offer's worth) finds one each. */
const DEFAULT_SPARES = 16;

/**
 * Spares made at once by a refill: one. Creators running together in one block group each
 * scan past the same recently freed inodes, and the loser of the bit scans again: four at
 * once cost the agent's threads 2-3 s more CPU per 3,000 tasks than one (bench/RESULTS.md).
 */
const MAKERS = 1;

export class SpareSandbox {
  /** Spares ready to take: `<dir>/<uuid>`, each holding `executors/executor/runs/run`. */
  private readonly spares: string[] = [];
  /** The batch of spares being made (refill), if any. */
  private refilling: Promise<void> | undefined;
  /** Whether what an earlier life of the agent left in `dir` is gone. */
  private isDirClean = false;

  /**
   * `dir`: where spares are made, on the sandboxes' file system (a rename cannot cross);
   * `size`: how many refill keeps ready.
   */
  constructor(
    private readonly dir: string,
    private readonly size = DEFAULT_SPARES,
  ) {}

  /**
   * Puts a spare's directories at `sandbox` by renames. False when there is none, the
   * path is not a command task's, or a rename failed: the caller makes the directories.
   */
  take(sandbox: string): boolean {
    const levels = sandboxLevels(sandbox);
    if (levels === undefined) return false;
    const spare = this.spares.pop();
    if (spare === undefined) return false;
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
      if (target.from !== spare) removeInBackground(spare);
      return true;
    } catch {
      removeInBackground(spare);
      return false;
    }
  }

  /**
   * Makes spares until `size` are ready, in the thread pool, off the event loop: each is
   * five new inodes, and on a disk that freed many lately each costs 0.1-0.5 ms of kernel
   * time (bench/RESULTS.md, #13). MAKERS at once. One batch at a time: a call while one
   * is under way returns it. A failure leaves fewer (launches make their own).
   */
  refill(): Promise<void> {
    if (this.refilling !== undefined || this.spares.length >= this.size)
      return this.refilling ?? Promise.resolve();
    const refilling = (async () => {
      if (!this.isDirClean) {
        await rm(this.dir, { recursive: true, force: true });
        // Not recursive, here or below: a work dir removed meanwhile stays removed.
        await mkdir(this.dir);
        this.isDirClean = true;
      }
      let making = 0;
      const maker = async () => {
        while (this.spares.length + making < this.size) {
          making++;
          try {
            const spare = await makeSpare(this.dir);
            if (spare === undefined) return;
            this.spares.push(spare);
          } finally {
            making--;
          }
        }
      };
      await Promise.all(Array.from({ length: MAKERS }, maker));
    })()
      // Only the removal of a half-made spare can fail here: it is tried again at the
      // next life's first refill.
      .catch(() => undefined)
      .finally(() => {
        this.refilling = undefined;
      });
    this.refilling = refilling;
    return refilling;
  }

  /** Resolves once no spare is being made. */
  async settled(): Promise<void> {
    await this.refilling;
  }
}

/**
 * A command task's sandbox made in the thread pool, for a launch without a spare: its
 * executor's, runs/ and its own directory, one call each where the framework's directory
 * is there (a recursive mkdir tries the deepest first and climbs back), else recursively.
 */
export async function makeSandbox(sandbox: string): Promise<void> {
  const levels = sandboxLevels(sandbox);
  try {
    if (levels === undefined) throw new Error('not a command task sandbox');
    await mkdir(levels.executor);
  } catch {
    await mkdir(sandbox, { recursive: true });
    return;
  }
  await mkdir(dirname(sandbox));
  await mkdir(sandbox);
}

/** One spare in `dir`, made in the thread pool; undefined if it could not be. */
async function makeSpare(dir: string): Promise<string | undefined> {
  const spare = join(dir, randomUUID());
  const run = await makeChain(spare, ['executors', EXECUTOR, 'runs', RUN], ['stdout', 'stderr']);
  return run === undefined ? undefined : spare;
}

/**
 * Makes `root`, then each of `levels` inside the last, then `files` empty (mode 0644) in
 * the deepest, in the thread pool: level by level, since a recursive mkdir tries the
 * deepest first and climbs back, twice the calls. The deepest directory's path, or
 * undefined with nothing of `root` left if a step failed. For directories made ahead of
 * the launches that rename them into place (spare sandboxes, spare runs).
 */
export async function makeChain(
  root: string,
  levels: readonly string[],
  files: readonly string[],
): Promise<string | undefined> {
  try {
    let deepest = root;
    await mkdir(deepest);
    for (const level of levels) {
      deepest = join(deepest, level);
      await mkdir(deepest);
    }
    for (const file of files) await (await open(join(deepest, file), 'a', 0o644)).close();
    return deepest;
  } catch {
    await rm(root, { recursive: true, force: true });
    return undefined;
  }
}

/** What is left of a spare, deleted in the thread pool; a failure leaves it to the next life. */
function removeInBackground(path: string): void {
  rm(path, { recursive: true, force: true }).catch(() => undefined);
}
