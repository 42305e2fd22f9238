// --switch_user (Mesos' agent flag, on by default): a task runs as its CommandInfo.user, else
// its executor's, else its framework's user, and its sandbox is that user's. The user must
// exist on the agent's host; one that does not fails the task before anything runs.
import {
  chownSync,
  closeSync,
  lchownSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ExecutorInfo, FrameworkInfo, TaskInfo } from '../wire/index.js';

/** A user of the host, as /etc/passwd names it. */
export interface HostUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** A framework's user; none when it names the empty one. */
export function frameworkUserName(framework: FrameworkInfo): string | undefined {
  return framework.user === '' ? undefined : framework.user;
}

/** The user a task runs as: its command's, else its executor's, else the framework's. */
export function taskUserName(task: TaskInfo, framework: FrameworkInfo): string | undefined {
  const name = task.command?.user ?? task.executor?.command?.user ?? framework.user;
  return name === '' ? undefined : name;
}

/**
 * The user a custom executor runs as: its command's, else its framework's, as Mesos' agent
 * picks it (the tasks it runs are the executor's to start, as whoever it is).
 */
export function executorUserName(
  executor: ExecutorInfo,
  framework: FrameworkInfo,
): string | undefined {
  const name = executor.command?.user ?? framework.user;
  return name === '' ? undefined : name;
}

export interface UserSwitch {
  /** --switch_user: run as the user named; off, everything runs as the agent's user. */
  readonly switchUser?: boolean;
  /** Finds a user of the host (lookupHostUser by default; tests pass their own). */
  readonly lookupUser?: (name: string) => HostUser | undefined;
}

/**
 * With --switch_user, the user a container runs as, its sandbox (and the output files the
 * launcher appends to) made that user's, as Mesos chowns the sandbox; throws, failing what
 * was to run before anything does, for a user this host does not have. Without the flag,
 * or for the agent's own user (no setpriv exec needed), undefined.
 */
export function switchUserTo(
  name: string | undefined,
  sandbox: string,
  options: UserSwitch,
): HostUser | undefined {
  const user = runAsUser(name, options);
  if (user === undefined) return undefined;
  chownSync(sandbox, user.uid, user.gid);
  for (const file of ['stdout', 'stderr']) {
    closeSync(openSync(join(sandbox, file), 'a', 0o644));
    chownSync(join(sandbox, file), user.uid, user.gid);
  }
  return user;
}

/**
 * With --switch_user, the host user a container named `name` runs as (and what enters it);
 * undefined without the flag or for the agent's own user. Throws for a user this host lacks.
 */
export function runAsUser(name: string | undefined, options: UserSwitch): HostUser | undefined {
  if (options.switchUser !== true || name === undefined) return undefined;
  const user = (options.lookupUser ?? lookupHostUser)(name);
  if (user === undefined)
    throw new Error(`user '${name}' does not exist on this agent (--switch_user)`);
  if (user.uid === process.getuid?.() && user.gid === process.getgid?.()) return undefined;
  return user;
}

/**
 * Makes everything under `dir` `user`'s: what the fetcher put in a sandbox, which Mesos
 * fetches as the user. Links are changed, not followed (lchown), so a fetched archive's
 * symlink cannot hand the user a file outside the sandbox.
 */
export function giveToUser(dir: string, user: HostUser): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    lchownSync(path, user.uid, user.gid);
    if (entry.isDirectory()) giveToUser(path, user);
  }
}

/** `name`'s entry in passwd(5) text, or undefined when there is none. Pure. */
export function findPasswdUser(passwd: string, name: string): HostUser | undefined {
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid, , home] = line.split(':');
    if (user !== name || uid === undefined || gid === undefined) continue;
    if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return undefined;
    return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
  }
  return undefined;
}

/** A passwd file's text as last read, and what identifies that version of the file. */
interface PasswdText {
  readonly version: string;
  readonly text: string;
  /** Changed long enough before it was read that a later change moves its times. */
  readonly isSettled: boolean;
}
const passwdTexts = new Map<string, PasswdText>();
/**
 * File times tick with the kernel's coarse clock (a few ms): a file read within a tick of
 * its last change could change again with the same times (and size), so one changed this
 * recently is read at every lookup until it is older.
 */
const PASSWD_SETTLE_MS = 2000;

/**
 * Looks `name` up in the host's /etc/passwd (users from NSS services are not seen). The
 * file is read again only when it changed (its inode, size, mtime or ctime: useradd and
 * vipw write a new file and rename it over, an edit in place moves the times), so a
 * launch costs a stat, not a read of the whole file, which every task's launch did.
 */
export function lookupHostUser(name: string, passwdFile = '/etc/passwd'): HostUser | undefined {
  const stat = statSync(passwdFile, { bigint: true });
  const version = `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  let known = passwdTexts.get(passwdFile);
  if (known?.version !== version || !known.isSettled) {
    const changedMs = Math.max(Number(stat.mtimeMs), Number(stat.ctimeMs));
    known = {
      version,
      text: readFileSync(passwdFile, 'utf8'),
      isSettled: Date.now() - changedMs > PASSWD_SETTLE_MS,
    };
    passwdTexts.set(passwdFile, known);
  }
  return findPasswdUser(known.text, name);
}
