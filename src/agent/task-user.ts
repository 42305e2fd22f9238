// --switch_user (Mesos' agent flag, on by default): a task runs as its CommandInfo.user, else
// its executor's, else its framework's user, and its sandbox is that user's. The user must
// exist on the agent's host; one that does not fails the task before anything runs.
import { readFileSync } from 'node:fs';
import type { FrameworkInfo, TaskInfo } from '../wire/index.js';

/** A user of the host, as /etc/passwd names it. */
export interface HostUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** The user a task runs as: its command's, else its executor's, else the framework's. */
export function taskUserName(task: TaskInfo, framework: FrameworkInfo): string | undefined {
  const name = task.command?.user ?? task.executor?.command?.user ?? framework.user;
  return name === '' ? undefined : name;
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

/** Looks `name` up in the host's /etc/passwd (users from NSS services are not seen). */
export function lookupHostUser(name: string, passwdFile = '/etc/passwd'): HostUser | undefined {
  return findPasswdUser(readFileSync(passwdFile, 'utf8'), name);
}
