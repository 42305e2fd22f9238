// What the agent writes to disk about each task run, so that after a crash its
// next life knows which processes it left behind (#7, item 10). The layout is
// Mesos' (`src/slave/paths.cpp`; docs/agent-recovery.md), so that real recovery
// (#9: executors that outlive the agent, --recover=reconnect|cleanup) extends
// it rather than replaces it; the files hold our wire JSON, not protobuf:
//
//   <work_dir>/meta/
//     boot_id                             the host's boot when the agent last started
//     slaves/<agent_id>/frameworks/<framework_id>/
//       framework.info                    FrameworkInfo
//       executors/<executor_id>/runs/<container_id>/
//         tasks/<task_id>/task.updates    the TaskInfo, then every status update and
//                                         acknowledgement, one JSON line each, shaped as
//                                         Mesos' StatusUpdateRecord: {"type":"TASK","task":{…}}
//                                         first, then {"type":"UPDATE","update":{…}},
//                                         {"type":"ACK","uuid":…} or, once the task is
//                                         being killed, {"type":"KILL",…} (the agent is
//                                         the task's executor: a restarted one must know
//                                         the end it sees was a kill, not a crash)
//         tasks/<task_id>/task.info       TaskInfo, as agents before #7 item 17 wrote it
//                                         (read if there)
//         task.pid (PID, start time,      the shim's records (src/containerizer/shim.ts): this
//         exit line)                      directory is the container's runtime directory
//                                         (Mesos' pids/forked.pid: read too, if there)
//
// A run's directory is removed when its terminal update is acknowledged: first
// moved whole to <work_dir>/meta/trash/ in one rename, then deleted there, so a
// crash leaves the run's records whole or gone, never a run that lost some files
// (one without its task.updates reads as a run that never reported). Every file
// is written to a temporary name and renamed into place, so a crash leaves the
// old file or the new one, never half of one; task.updates is only appended
// to, one write(2) per line, which a killed agent never leaves half done (a torn
// last line, from a crash of the host, is skipped). The TaskInfo opens that file
// rather than a task.info of its own: one file per launch, before the task may be
// forked (#7 item 17), made in the trash and renamed into place with its run's
// directory, so no run is ever there without its TaskInfo. No fsync: these records only
// matter while the host stays up (after a reboot every process is gone anyway,
// which boot_id tells), and the page cache outlives a crashed agent.

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseTaskRecord, runtimeFile } from '../containerizer/index.js';
import {
  type AgentCall,
  type FrameworkID,
  type FrameworkInfo,
  FrameworkInfoSchema,
  isTerminalState,
  frameworkId as mintFrameworkId,
  parseAgentCall,
  parseWith,
  type TaskInfo,
  TaskInfoSchema,
  type TaskStatus,
} from '../wire/index.js';
import {
  appendLine,
  entries,
  overwriteFile,
  readText,
  removeIfEmpty,
  removeIfEmptyInBackground,
  writeFileAtomic,
} from './checkpoint-files.js';
import { namesOrNone, placeExecutor, SpareRuns, type Staged } from './spare-runs.js';

export { writeFileAtomic };

/** Where one run's records live: the ids that make up its path. */
export interface RunAddress {
  readonly agentIdValue: string;
  readonly frameworkIdValue: string;
  readonly executorIdValue: string;
  readonly containerIdValue: string;
  readonly taskIdValue: string;
}

/** A run as its records on disk tell it; what a record did not say is undefined. */
export interface CheckpointedRun {
  readonly address: RunAddress;
  readonly frameworkId: FrameworkID;
  readonly frameworkInfo: FrameworkInfo | undefined;
  readonly task: TaskInfo | undefined;
  readonly pid: number | undefined;
  readonly startTime: string | undefined;
  /** Every update recorded for the task, in order (the status update manager's stream). */
  readonly updates: readonly TaskStatus[];
  /** The uuids of the updates the framework acknowledged. */
  readonly acknowledged: ReadonlySet<string>;
  /** The last terminal update the previous life sent (or meant to), acknowledged or not. */
  readonly terminal: TaskStatus | undefined;
  /** The previous life had started to kill the task (and whether for its health check). */
  readonly kill: KillRecord | undefined;
  /** Records that were there but could not be read, with why. */
  readonly unreadable: readonly string[];
}

/** A kill the agent started: it outlives the agent, as a Mesos executor's would. */
export interface KillRecord {
  readonly isHealthCheck: boolean;
}

export class Checkpoint {
  private readonly metaDir: string;
  private readonly removals = new Set<Promise<void>>();
  /** Retired runs' directories, for the next launches (spare-runs.ts). */
  private readonly spareRuns = new SpareRuns();
  /** The framework.info last written at each path by this agent. */
  private readonly frameworkInfos = new Map<string, string>();

  constructor(workDir: string) {
    this.metaDir = join(workDir, 'meta');
  }

  /** The boot id recorded by the agent's previous start, if any. */
  readBootId(): string | undefined {
    return readText(join(this.metaDir, 'boot_id'))?.trim();
  }

  writeBootId(bootId: string): void {
    writeFileAtomic(join(this.metaDir, 'boot_id'), `${bootId}\n`);
  }

  /** Before the task's process starts: who it belongs to and what it is. */
  launched(address: RunAddress, frameworkInfo: FrameworkInfo, task: TaskInfo): void {
    const frameworkPath = join(this.frameworkDir(address), 'framework.info');
    const framework = JSON.stringify(frameworkInfo);
    // Once per framework (and again when it changes), not once per task.
    if (this.frameworkInfos.get(frameworkPath) !== framework) {
      writeFileAtomic(frameworkPath, framework);
      this.frameworkInfos.set(frameworkPath, framework);
    }
    this.placeTask(address, `${JSON.stringify({ type: 'TASK', task })}\n`);
  }

  /**
   * The task's directory and its first record, made whole in the trash and renamed into
   * place: the run directory (or, in a run that has one already, the task's) appears with
   * its TaskInfo in it or not at all. Made in place, an agent killed between the mkdir and
   * the write left a run that read as no task (the agent fault loop found it), and one
   * left in the trash is swept at the next start.
   */
  private placeTask(address: RunAddress, firstLine: string): void {
    const stage = this.stage(address);
    // Over a spare's task.updates: the same file and block, no new inode (overwriteFile).
    overwriteFile(join(stage.task, 'task.updates'), firstLine);
    const executorDir = dirname(dirname(this.runDir(address)));
    try {
      // A spare executor directory goes whole where the executor is not (a command task's).
      if (stage.executor === undefined || !placeExecutor(stage.executor, executorDir))
        this.placeRun(address, stage.run, stage.task);
    } finally {
      // Whatever of a spare executor directory was not placed.
      if (stage.executor !== undefined && existsSync(stage.executor))
        this.track(rm(stage.executor, { recursive: true, force: true }));
    }
  }

  /** Renames a staged run directory into place, or, into a run there already, its task's. */
  private placeRun(address: RunAddress, staged: string, stagedTask: string): void {
    const runDir = this.runDir(address);
    // A background removal may take an emptied parent between the mkdir and the rename.
    for (let attempt = 0; ; attempt++)
      try {
        mkdirSync(dirname(runDir), { recursive: true });
        try {
          // Onto a missing or empty run directory (the usual case: a new container).
          renameSync(staged, runDir);
          return;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        }
        // A run with records already (an executor's next task): the task's directory alone.
        mkdirSync(join(runDir, 'tasks'), { recursive: true });
        renameSync(stagedTask, this.taskDir(address));
        rmSync(staged, { recursive: true, force: true });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw error;
      }
  }

  /** A task directory in the trash to fill and rename into place: a spare run's, or a new one. */
  private stage(address: RunAddress): Staged {
    const spare = this.spareRuns.take(address);
    if (spare.kind === 'staged') return spare.staged;
    if (spare.kind === 'broken') this.track(rm(spare.dir, { recursive: true, force: true }));
    const run = join(this.metaDir, 'trash', randomUUID());
    const task = join(run, 'tasks', address.taskIdValue);
    mkdirSync(task, { recursive: true });
    return { run, task, executor: undefined };
  }

  /**
   * An update about to be sent: recorded first, so a restarted agent resends
   * what the framework has not acknowledged (Mesos' status update stream).
   * Appended, not fsynced: see the header.
   */
  updated(address: RunAddress, frameworkId: FrameworkID, status: TaskStatus): void {
    const record = { type: 'UPDATE', update: { framework_id: frameworkId, status } };
    appendLine(join(this.taskDir(address), 'task.updates'), JSON.stringify(record));
  }

  /** The framework acknowledged the update with `uuid`. */
  acknowledged(address: RunAddress, uuid: string): void {
    appendLine(join(this.taskDir(address), 'task.updates'), JSON.stringify({ type: 'ACK', uuid }));
  }

  /**
   * The agent started killing the task: a restarted agent that finds it ended
   * reports TASK_KILLED, not the SIGTERM it died of as a failure.
   */
  killRequested(address: RunAddress, kill: KillRecord): void {
    const record = { type: 'KILL', ...(kill.isHealthCheck ? { health_check: true } : {}) };
    appendLine(join(this.taskDir(address), 'task.updates'), JSON.stringify(record));
  }

  /** The run's terminal update, so a restarted agent resends it rather than guess. */
  terminated(address: RunAddress, frameworkId: FrameworkID, status: TaskStatus): void {
    this.updated(address, frameworkId, status);
  }

  /**
   * The terminal update was acknowledged: the run's records go, and its
   * executor's and framework's when no other run is left under them.
   */
  remove(address: RunAddress): void {
    const discarded = this.discard(this.runDir(address));
    if (discarded !== undefined) rmSync(discarded, { recursive: true, force: true });
    this.removeEmptyParents(address);
  }

  /**
   * remove(), in the thread pool: a dozen unlinks and rmdirs that, done on the
   * event loop, were the agent's biggest cost per task (bench:agent, #9; on
   * this ext4 with `discard` an rmdir blocked for milliseconds). The run's
   * directory is its own (container ids are never reused). Its parents are
   * shared with launches made meanwhile, on the event loop: an rmdir of one
   * fails while it holds anything, and a launch's recursive mkdir that loses a
   * parent to an rmdir makes it again (Node's mkdirp retries on ENOENT), so
   * the two cannot undo each other. Only the framework directory goes by a
   * recursive rm, on the event loop, after checking no launch has made its
   * executors directory again. Resolves once all is gone.
   */
  removeInBackground(address: RunAddress): Promise<void> {
    const frameworkDir = this.frameworkDir(address);
    const executors = join(frameworkDir, 'executors');
    const executorDir = join(executors, address.executorIdValue);
    const runs = join(executorDir, 'runs');
    // An executor that ran this run alone (a command task's) goes whole, and is the next
    // launch's executor directory (recycle): two rmdirs and two mkdirs fewer.
    const isAlone =
      namesOrNone(executorDir).join('/') === 'runs' &&
      namesOrNone(runs).join('/') === address.containerIdValue;
    // The rename is on the event loop (one syscall): from here on no restart sees the run.
    const discarded = this.discard(isAlone ? executorDir : this.runDir(address));
    const removal = (async () => {
      if (discarded !== undefined)
        await this.spareRuns.recycle(
          discarded,
          isAlone ? join('runs', address.containerIdValue) : '',
        );
      for (const dir of isAlone ? [executors] : [runs, executorDir, executors])
        if (!(await removeIfEmptyInBackground(dir))) return;
      if (!existsSync(executors)) rmSync(frameworkDir, { recursive: true, force: true });
    })();
    this.track(removal);
    return removal;
  }

  private track(removal: Promise<void>): void {
    const tracked = removal.catch(() => undefined);
    this.removals.add(tracked);
    void tracked.then(() => this.removals.delete(tracked));
  }

  /**
   * Moves `dir` to the trash in one rename; where it went, or undefined if it was
   * not there. The trash is on the same file system (under meta/), so the rename
   * is atomic.
   */
  private discard(dir: string): string | undefined {
    const trash = join(this.metaDir, 'trash');
    const target = join(trash, randomUUID());
    try {
      renameSync(dir, target);
      return target;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw error;
      if (!existsSync(dir)) return undefined;
      mkdirSync(trash, { recursive: true });
      renameSync(dir, target);
      return target;
    }
  }

  /**
   * Run directories made ahead in the thread pool (spare-runs.ts), for launches that find
   * no retired run to take: no-op while enough are kept or a batch is under way.
   */
  prepareSpareRuns(): Promise<void> {
    const preparing = this.spareRuns.prepare(join(this.metaDir, 'trash'));
    this.track(preparing);
    return preparing;
  }

  /**
   * Deletes, in the background, what a previous life moved to the trash and did not
   * get to delete. Entry by entry: the trash itself stays, for this life's renames.
   */
  sweepTrash(): void {
    const trash = join(this.metaDir, 'trash');
    let names: string[];
    try {
      names = readdirSync(trash);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names) this.track(rm(join(trash, name), { recursive: true, force: true }));
  }

  /** Resolves once every removal in the background has ended, and the spare runs are deleted. */
  async settled(): Promise<void> {
    await Promise.all([...this.removals]);
    await this.spareRuns.clear();
  }

  private removeEmptyParents(address: RunAddress): void {
    const frameworkDir = this.frameworkDir(address);
    const executorDir = join(frameworkDir, 'executors', address.executorIdValue);
    for (const dir of [join(executorDir, 'runs'), executorDir, join(frameworkDir, 'executors')])
      if (!removeIfEmpty(dir)) return;
    rmSync(frameworkDir, { recursive: true, force: true });
  }

  /**
   * One task of a run that holds several (a custom executor's) retired: its records go, the
   * run's own (the executor's pids and runtime records) stay until the executor is gone.
   */
  removeTask(address: RunAddress): void {
    const discarded = this.discard(this.taskDir(address));
    if (discarded !== undefined) rmSync(discarded, { recursive: true, force: true });
  }

  /** Every run recorded under meta/slaves/, whichever agent id it ran under. */
  runs(): CheckpointedRun[] {
    const out: CheckpointedRun[] = [];
    const slaves = join(this.metaDir, 'slaves');
    for (const agentIdValue of entries(slaves))
      for (const frameworkIdValue of entries(join(slaves, agentIdValue, 'frameworks'))) {
        const executors = join(slaves, agentIdValue, 'frameworks', frameworkIdValue, 'executors');
        for (const executorIdValue of entries(executors))
          for (const containerIdValue of entries(join(executors, executorIdValue, 'runs'))) {
            const partial = { agentIdValue, frameworkIdValue, executorIdValue, containerIdValue };
            const taskIds = entries(join(this.runDir({ ...partial, taskIdValue: '' }), 'tasks'));
            // A run holds one task (the agent is its command executor); a run whose
            // task dir was never written still names its task: executor id = task id.
            for (const taskIdValue of taskIds.length > 0 ? taskIds : [executorIdValue])
              out.push(this.read({ ...partial, taskIdValue }));
          }
      }
    return out;
  }

  private read(address: RunAddress): CheckpointedRun {
    const unreadable: string[] = [];
    const parse = <T>(path: string, parser: (json: unknown) => T): T | undefined => {
      const text = readText(path);
      if (text === undefined) return undefined;
      try {
        return parser(JSON.parse(text));
      } catch (error) {
        unreadable.push(`${path}: ${(error as Error).message}`);
        return undefined;
      }
    };
    const runDir = this.runDir(address);
    const taskDir = this.taskDir(address);
    // The containerizer's records; an older agent's pids/forked.* where there are those.
    // task.pid holds the PID and, on a second line, the start time (shim.ts RUNTIME_FILES).
    const taskRecordText = readText(runtimeFile(runDir, 'taskPid'));
    const taskRecord = taskRecordText === undefined ? undefined : parseTaskRecord(taskRecordText);
    const pidText = readText(join(runDir, 'pids', 'forked.pid'))?.trim() ?? taskRecord?.pidText;
    const pid = pidText !== undefined && /^\d+$/.test(pidText) ? Number(pidText) : undefined;
    if (pidText !== undefined && pidText !== '' && pid === undefined)
      unreadable.push(`task pid: '${pidText}'`);
    const startText = (
      readText(join(runDir, 'pids', 'forked.start_time')) ??
      taskRecord?.startText ??
      readText(runtimeFile(runDir, 'taskStartTime'))
    )?.trim();
    const startTime = startText !== undefined && /^\d+$/.test(startText) ? startText : undefined;
    const recorded = readUpdates(join(taskDir, 'task.updates'), address.agentIdValue, unreadable);
    const { updates, acknowledged, kill } = recorded;
    const terminal = updates.findLast((u) => isTerminalState(u.state));
    return {
      address,
      frameworkId: mintFrameworkId(address.frameworkIdValue),
      frameworkInfo: parse(join(this.frameworkDir(address), 'framework.info'), (json) =>
        parseWith(FrameworkInfoSchema, json),
      ),
      task:
        parse(join(taskDir, 'task.info'), (json) => parseWith(TaskInfoSchema, json)) ??
        recorded.task,
      pid,
      startTime,
      updates,
      acknowledged,
      terminal,
      kill,
      unreadable,
    };
  }

  private frameworkDir(address: RunAddress): string {
    return join(
      this.metaDir,
      'slaves',
      address.agentIdValue,
      'frameworks',
      address.frameworkIdValue,
    );
  }

  /** The run's directory, which is also its container's runtime directory. */
  runDir(address: RunAddress): string {
    return join(
      this.frameworkDir(address),
      'executors',
      address.executorIdValue,
      'runs',
      address.containerIdValue,
    );
  }

  private taskDir(address: RunAddress): string {
    return join(this.runDir(address), 'tasks', address.taskIdValue);
  }
}

/**
 * The updates and acknowledgements of a task.updates file. A torn last line (a
 * crash mid-append) and lines that do not parse are skipped and reported.
 */
function readUpdates(
  path: string,
  agentIdValue: string,
  unreadable: string[],
): {
  task: TaskInfo | undefined;
  updates: TaskStatus[];
  acknowledged: Set<string>;
  kill: KillRecord | undefined;
} {
  let task: TaskInfo | undefined;
  let kill: KillRecord | undefined;
  const updates: TaskStatus[] = [];
  const acknowledged = new Set<string>();
  const text = readText(path);
  if (text === undefined) return { task, updates, acknowledged, kill };
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as {
        type?: unknown;
        uuid?: unknown;
        update?: unknown;
        task?: unknown;
        health_check?: unknown;
      };
      if (record.type === 'KILL') {
        kill = { isHealthCheck: kill?.isHealthCheck === true || record.health_check === true };
        continue;
      }
      if (record.type === 'ACK' && typeof record.uuid === 'string') {
        acknowledged.add(record.uuid);
        continue;
      }
      if (record.type === 'TASK') {
        task = parseWith(TaskInfoSchema, record.task);
        continue;
      }
      const call: AgentCall = parseAgentCall({
        type: 'UPDATE',
        agent_id: { value: agentIdValue },
        update: record.update,
      });
      if (call.type === 'UPDATE') updates.push(call.update.status);
    } catch (error) {
      unreadable.push(`${path} line ${i + 1}: ${(error as Error).message}`);
    }
  }
  return { task, updates, acknowledged, kill };
}
