// The task shim: a few lines of POSIX shell between the agent and each task.
// Mesos runs a command executor per task, a process that outlives the agent;
// a Node process would cost ~35 ms of CPU per task to start (capping a 2-core
// agent near 50 tasks/s), where a fork of a small shell costs a fraction of a
// millisecond. The shim is what outlives the agent here: it joins the
// container's cgroups (so everything the task forks is accounted and can be
// killed), starts the task in a session of its own (so a signal to the task's
// group spares the shim), waits for it, and writes how it ended to the run's
// directory, where a restarted agent reads it. Each shim is a subshell of the
// launcher (launcher.ts), and tells the agent through file descriptor 3, a pipe
// the agent reads, when the task has started and how it ended: the agent learns
// both without polling and without being the shim's parent.
//
// `wait` reports a task killed by signal n as 128+n, as every shell does, so a
// task that exits 143 and one killed by SIGTERM look alike; termination.ts
// reads 129-192 as signals, as shells and Mesos' messages do.
import { dirname, join } from 'node:path';
import type { CgroupWrite } from './cgroups.js';

/** Files the shim and the containerizer share in a run's runtime directory. */
export const RUNTIME_FILES = {
  /**
   * The task's record, one line each: made empty by whichever sending of a launch runs first
   * (its claim, launcher.ts); then the task's PID, which is also its process group and
   * session (it runs under setsid), appended by the shim; the task's start time (/proc/<pid>/stat
   * field 22), appended by the containerizer: a recycled PID is told apart from the task by
   * it; and, once the task is gone, `exit <wait status>`, appended by the shim. The last two
   * come in either order (a task may end before its start time is written). One file, made
   * once and never truncated: on this host's ext4 each new inode costs a scan of the recently
   * deleted ones, and a file truncated to zero and written again has its block allocated at
   * its close (bench/RESULTS.md, #9).
   */
  taskPid: 'task.pid',
  /** The task's start time, as agents before the second line of task.pid wrote it. */
  taskStartTime: 'task.start_time',
  /** The task's wait status, as shims before the `exit` line of task.pid wrote it. */
  exitStatus: 'exit_status',
  /** The launch's claim, as agents before the claim on task.pid made it. */
  launchClaim: 'launch.claim',
} as const;

/** What a task.pid says (RUNTIME_FILES): each part undefined while it is not written. */
export interface TaskRecord {
  /** The first line, as written: the PID, or '' (the claim alone, or a torn write). */
  readonly pidText: string;
  readonly startText: string | undefined;
  /** The task's wait status, as the shell reported it. */
  readonly exitText: string | undefined;
}

/** The lines of a task.pid (RUNTIME_FILES); older agents' files have the first two only. */
export function parseTaskRecord(text: string): TaskRecord {
  const [pidLine = '', ...rest] = text.split('\n');
  let startText: string | undefined;
  let exitText: string | undefined;
  for (const raw of rest) {
    const line = raw.trim();
    const exit = /^exit (\d{1,3})$/.exec(line);
    if (exit !== null) exitText = exit[1];
    else if (line !== '' && startText === undefined) startText = line;
  }
  // A shim that could not start its task records its end alone: there is no PID.
  const pidText = pidLine.trim();
  if (/^exit \d{1,3}$/.test(pidText))
    return { pidText: '', startText, exitText: pidText.slice('exit '.length) };
  return { pidText, startText, exitText };
}

/** Exit status of a shim that could not join its cgroups or start the task. */
export const SHIM_FAILED_STATUS = 125;

/**
 * The lines a shim writes to the agent: `task <tag> <task pid> <shim pid>` once the task
 * is forked, `end <tag> <wait status>` once it is gone (or could not start). One short line
 * is one write(2) below PIPE_BUF, so the lines of several shims never interleave.
 */
export type ShimEvent =
  | {
      readonly kind: 'task';
      readonly tag: number;
      readonly taskPid: number;
      readonly shimPid: number;
    }
  | { readonly kind: 'end'; readonly tag: number; readonly status: number }
  /** A parked shim (parkScript) has joined its cgroups and waits on its FIFO. */
  | { readonly kind: 'park'; readonly tag: number; readonly shimPid: number };

/** Parses one event line; undefined for anything else. */
export function parseShimEvent(line: string): ShimEvent | undefined {
  const park = /^park (\d{1,15}) (\d{1,10})$/.exec(line);
  if (park !== null) return { kind: 'park', tag: Number(park[1]), shimPid: Number(park[2]) };
  const task = /^task (\d{1,15}) (\d{1,10}) (\d{1,10})$/.exec(line);
  if (task !== null)
    return {
      kind: 'task',
      tag: Number(task[1]),
      taskPid: Number(task[2]),
      shimPid: Number(task[3]),
    };
  const end = /^end (\d{1,15}) (\d{1,3})$/.exec(line);
  if (end !== null) return { kind: 'end', tag: Number(end[1]), status: Number(end[2]) };
  return undefined;
}

/** One word for the shell, verbatim: single quotes, each `'` written as `'\''`. */
export function shellQuote(word: string): string {
  if (word.includes('\0')) throw new Error('an argument or variable contains a NUL byte');
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A name the shell can assign (`NAME=value command`); other names go through `env`. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One shim: where the task runs, in which cgroups, what it runs and with what environment. */
export interface ShimSpec {
  readonly runtimeDir: string;
  readonly sandbox: string;
  /**
   * The container's cgroup directories, made by the shim after its fork (cgroups.ts
   * forShim): an agent killed before the fork leaves none behind.
   */
  readonly cgroupDirs: readonly string[];
  /** The container's limits, written before the shim joins (cgroups.ts forShim). */
  readonly cgroupLimits: readonly CgroupWrite[];
  /** The files the shim writes its PID to, to join the container's cgroups (none: posix). */
  readonly cgroupProcsFiles: readonly string[];
  /** Names the launch in the events the shim writes to file descriptor 3. */
  readonly tag: number;
  /** The whole environment of the task: nothing of the launcher's is passed on. */
  readonly environment: Readonly<Record<string, string>>;
  /** The task's argv. */
  readonly command: readonly string[];
  /** Paths of util-linux `setsid`, of `env` and of `mkdir`. */
  readonly setsid: string;
  readonly env: string;
  readonly mkdir: string;
}

/**
 * The shim of one launch as shell text, which the launcher runs in a subshell of its own
 * (`( . file ) &`: a fork, no exec). Every value is quoted into the text. The task's
 * `setsid` is the shim's only exec: it gets the task's environment as assignments on
 * that one command, and the launcher's environment is empty, so the task sees exactly
 * its own variables and `PWD` (the sandbox, which the shell exports; it did so when
 * `env -i` started a shell here). A name the shell cannot assign (`my-var`) sends the
 * whole environment through `env -i` instead: one exec more.
 *
 * The shim was a shell of its own before, started by a launch script's shell through
 * `env -i`: five execs per task with `setsid` and the task, most of a launch's CPU on
 * the host's side (bench/RESULTS.md, #9 and #7 item 17).
 */
export function shimScript(spec: ShimSpec): string {
  const { runtimeDir, sandbox, cgroupDirs, cgroupLimits, cgroupProcsFiles, tag } = spec;
  const { environment, command } = spec;
  if (command.length === 0) throw new Error('the task has no command');
  const names = Object.keys(environment);
  for (const name of names)
    if (name === '' || name.includes('='))
      throw new Error(`environment variable name '${name}' is empty or contains '='`);
  const q = shellQuote;
  const variables = Object.entries(environment);
  // The shell takes `NAME='value'` as an assignment only with the name unquoted.
  const exec = names.every((name) => SHELL_NAME.test(name))
    ? [...variables.map(([name, value]) => `${name}=${q(value)}`), 'exec', q(spec.setsid)]
    : [
        'exec',
        q(spec.setsid),
        q(spec.env),
        '-i',
        q(`PWD=${sandbox}`),
        ...variables.map(([name, value]) => q(`${name}=${value}`)),
      ];
  // Appended to, never truncated (RUNTIME_FILES): each echo is one write(2).
  const record = q(`${runtimeDir}/${RUNTIME_FILES.taskPid}`);
  const failed = `{ echo 'exit ${SHIM_FAILED_STATUS}' >> ${record}; echo 'end ${tag} ${SHIM_FAILED_STATUS}' 2>/dev/null >&3; exit ${SHIM_FAILED_STATUS}; }`;
  return [
    // A dead agent's pipe must not kill the shim: its events are then written to no one.
    "trap '' PIPE",
    // In a subshell $$ is the launcher's PID; the shim's own is where /proc/self points.
    // `cd -P` resolves that link in two system calls, where `read` of /proc/self/stat
    // took one per byte (about 300; 0.25 ms on the path of every task's start).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'cd -P /proc/self && shim=${PWD##*/}',
    // A sandbox it cannot enter ends the launch before the task: nothing to record.
    `cd ${q(sandbox)} 2>/dev/null || { echo 'end ${tag} ${SHIM_FAILED_STATUS}' 2>/dev/null >&3; exit ${SHIM_FAILED_STATUS}; }`,
    // The limits first, then join every cgroup: whatever the task forks inherits them. A
    // write the kernel refuses says why in the task's stderr, opened once for them all
    // (a redirection per write was an open, a save and a restore of fd 2 each).
    // The cgroup is made here, after the fork, not by the agent before it asked for one.
    ...(cgroupDirs.length > 0
      ? [`${q(spec.mkdir)} -p ${cgroupDirs.map(q).join(' ')} 2>>stderr || ${failed}`]
      : []),
    ...joinLines(cgroupLimits, cgroupProcsFiles, failed),
    // The agent's terminal and its Ctrl-C are not the task's business.
    "trap '' HUP INT",
    // The task gets SIGPIPE back (a pipeline must end as usual) and not the agent's pipe.
    // setsid makes it the leader of a session and group of its own: a signal to the task's
    // group spares the shim.
    [
      '{ trap - PIPE;',
      ...exec,
      ...command.map(q),
      `>>${q(`${sandbox}/stdout`)}`,
      `2>>${q(`${sandbox}/stderr`)}`,
      '3>&-; } < /dev/null &',
    ].join(' '),
    'task=$!',
    // Appended to the empty claim (echo is one write): a reader that finds the file empty
    // reads again.
    `echo $task >> ${record}`,
    `echo "task ${tag} $task $shim" 2>/dev/null >&3`,
    // A TERM for the shim is meant for the task.
    "trap 'kill -TERM -$task 2>/dev/null' TERM",
    // wait returns early when a trapped signal arrives; the task may still be running.
    'while :; do',
    '  wait $task; status=$?',
    '  kill -0 $task 2>/dev/null || break',
    'done',
    // Builtins only from here on: a kill of the container sweeps its cgroup sparing only the
    // shim's PID, and a forked helper caught in a sweep would leave the end unrecorded.
    `echo "exit $status" >> ${record}`,
    `echo "end ${tag} $status" 2>/dev/null >&3`,
    'exit $status',
    '',
  ].join('\n');
}

/** The shim's writes of its container's limits and joins of its cgroups, as one command. */
function joinLines(
  limits: readonly CgroupWrite[],
  procsFiles: readonly string[],
  failed: string,
): string[] {
  const q = shellQuote;
  const writes = [
    ...limits.map(({ file, value }) => `echo ${q(value)} > ${q(file)}`),
    ...procsFiles.map((file) => `echo $shim > ${q(file)}`),
  ];
  return writes.length === 0 ? [] : [`{ ${writes.join(' && ')}; } 2>>stderr || ${failed}`];
}

/** A parked shim: the cgroups it joins ahead of any launch, and the FIFO it waits on. */
export interface ParkSpec {
  readonly tag: number;
  /** The procs files of cgroups that do not exist yet: the shim makes them (parkScript). */
  readonly cgroupProcsFiles: readonly string[];
  /** mkdir's path: the shim names it by path, whatever PATH the launcher has. */
  readonly mkdir: string;
  /** Made and opened by the launcher, which hands it to the shim as file descriptor 4. */
  readonly fifo: string;
  /** Where the agent writes the script of the launch it hands over. */
  readonly launchFile: string;
}

/**
 * A shim parked ahead of the next launch (#7 item 17): it makes a cgroup and joins it now,
 * when nobody waits for it, since a process's first cgroup.procs write waits for an RCU
 * grace period (5-20 ms here, bench/RESULTS.md); then it says `park` and reads one line
 * from its FIFO (file descriptor 4, opened by the launcher, parkInput in launcher.ts), the
 * go for a launch whose script (launchScript, without joins: the cgroup is renamed to the
 * container's) the agent wrote to `launchFile`, which it runs as the launcher would have.
 *
 * The FIFO's writers are the launcher, from before the shim's fork until the agent's pipe
 * ends, and the agent, from the `park` line on: so the read ends with end of file only once
 * the agent is gone, however it died, and at whatever point of the park (a live agent that
 * gives the slot up kills the shim before it closes the FIFO, shim-parking.ts). The shim
 * then takes its cgroups with it: it moves to their parents and removes them, so a SIGKILLed
 * agent leaves no empty `parked-*` cgroup behind until it starts again (which may be never);
 * only the ledger's entry waits for that start, and its sweep takes a missing cgroup as
 * removed. The shim makes the cgroups itself, after the fork, not the agent before asking for
 * it: an agent SIGKILLed between its mkdir and the launcher's fork left an empty cgroup with
 * no shim to take it (seen after a chaos run, one in every hierarchy). A cgroup renamed to a container's already (the agent died between the rename and
 * the go) is the restarted agent's to recover: its old name is gone, and the rmdir finds
 * nothing.
 */
export function parkScript(spec: ParkSpec): string {
  const { tag, cgroupProcsFiles, launchFile, mkdir } = spec;
  const q = shellQuote;
  const leave = (status: number) =>
    `{ echo 'end ${tag} ${status}' 2>/dev/null >&3; exit ${status}; }`;
  // Out of every cgroup first (one with a member cannot be removed), then one rmdir for all,
  // forked from the parents. Off every task's path: the move's grace period delays nobody.
  const cgroupDirs = cgroupProcsFiles.map((file) => dirname(file));
  const abandon = (status: number) =>
    `{ ${[
      ...cgroupDirs.map(
        (dir) => `echo $shim 2>/dev/null > ${q(join(dirname(dir), 'cgroup.procs'))}`,
      ),
      ...(cgroupDirs.length > 0 ? [`rmdir ${cgroupDirs.map(q).join(' ')} 2>/dev/null`] : []),
      leave(status),
    ].join('; ')}; }`;
  return [
    "trap '' PIPE HUP INT",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'cd -P /proc/self && shim=${PWD##*/}',
    'cd /',
    ...(cgroupDirs.length > 0
      ? [
          // Not joined yet: a failed mkdir leaves with what it made removed, and no move.
          `${q(mkdir)} -p ${cgroupDirs.map(q).join(' ')} 2>/dev/null || { rmdir ${cgroupDirs.map(q).join(' ')} 2>/dev/null; ${leave(SHIM_FAILED_STATUS)}; }`,
        ]
      : []),
    ...cgroupProcsFiles.map(
      (file) => `echo $shim 2>/dev/null > ${q(file)} || ${abandon(SHIM_FAILED_STATUS)}`,
    ),
    `echo "park ${tag} $shim" 2>/dev/null >&3`,
    // The go is one newline, not the script's path: the shell's read takes one system call
    // per byte, and a path of 200 bytes was 200 of them on the task's path.
    `IFS= read -r go <&4 || ${abandon(0)}`,
    'exec 4<&-',
    // The launch's script ends with the shim's own exit; it returns only when its claim was
    // taken already (a launch sent twice).
    `. ${q(launchFile)}`,
    leave(0),
    '',
  ].join('\n');
}

const JOIN_SCRIPT = [
  'cgroups=$1; shift',
  'if [ -n "$cgroups" ]; then',
  '  IFS=:',
  '  for f in $cgroups; do echo $$ > "$f" || exit 125; done',
  '  unset IFS',
  'fi',
  'exec "$@"',
].join('\n');

/**
 * The argv that runs `command` inside a container's cgroups (its procs files),
 * for a helper such as a command check: what it runs then counts against the
 * task's limits and dies with the task, as Mesos runs checks in the task's
 * namespaces; and for nested-container sessions (`agora task exec`). Exits 125 if it
 * cannot join.
 */
export function joinArgv(
  cgroupProcsFiles: readonly string[],
  command: readonly string[],
): { readonly file: string; readonly args: readonly string[] } {
  for (const path of cgroupProcsFiles)
    if (path.includes(':')) throw new Error(`cgroup path ${path} contains ':'`);
  return {
    file: '/bin/sh',
    args: ['-c', JOIN_SCRIPT, 'agora-join', cgroupProcsFiles.join(':'), ...command],
  };
}

export const runtimeFile = (runtimeDir: string, name: keyof typeof RUNTIME_FILES) =>
  join(runtimeDir, RUNTIME_FILES[name]);
