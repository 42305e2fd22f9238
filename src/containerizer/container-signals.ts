// Signals to a container's processes: its task's group, and everything left in its
// cgroup (what double-forked out of the group), until the cgroup is empty.
import type { ContainerCgroup } from './cgroups.js';

/** Rounds of SIGKILL to empty a cgroup whose processes keep forking. */
const MAX_KILL_ROUNDS = 50;

/**
 * Signals the task's process group, or the task alone while it has none: it is gone, or
 * its `setsid` has not run yet (the launch does not wait for it). Before its setsid the
 * task is the shim's fork, which has not exec'd the command (so has forked nothing) and
 * dies of the signal as it is; the group is tried once more after, for a setsid that ran
 * between the two calls and a command that forked at once.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  if (signalPid(-pgid, signal)) return;
  signalPid(pgid, signal);
  signalPid(-pgid, signal);
}

/** Sends `signal` to `pid` (a group if negative); false if there is no such process. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    return false;
  }
}

/**
 * SIGKILLs every process in the cgroup (but `spare`) until it is empty, or gives up. With
 * `scope` 'lead', reads the first hierarchy alone (ContainerCgroup.leadPids): where a
 * failed rmdir follows to tell, as at a container's end.
 */
export async function killAll(
  cgroup: ContainerCgroup,
  spare: number | undefined,
  scope: 'lead' | 'every' = 'every',
): Promise<void> {
  for (let round = 0; round < MAX_KILL_ROUNDS; round++) {
    const pids = (scope === 'lead' ? cgroup.leadPids() : cgroup.pids()).filter(
      (pid) => pid !== spare,
    );
    if (pids.length === 0) return;
    for (const pid of pids) signalPid(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** round, 50)));
  }
}
