import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, Containerizer, LaunchSpec, Termination } from './types.js';

/**
 * Runs each container as a plain process in its own process group (so a
 * signal reaches everything it forked), with stdout and stderr appended to
 * files in its sandbox. No resource isolation yet: that is the cgroups issue.
 */
export class ProcessContainerizer implements Containerizer {
  async launch(spec: LaunchSpec): Promise<Container> {
    const { command } = spec;
    const isShell = command.shell ?? true;
    const value = command.value ?? '';
    const [file, args] = isShell
      ? ['/bin/sh', ['-c', value]]
      : [value, (command.arguments ?? []).slice(1)];
    const stdout = openSync(join(spec.sandbox, 'stdout'), 'a');
    const stderr = openSync(join(spec.sandbox, 'stderr'), 'a');
    try {
      const child = spawn(file, args, {
        cwd: spec.sandbox,
        env: spec.environment,
        stdio: ['ignore', stdout, stderr],
        detached: true,
        ...(!isShell && command.arguments?.[0] !== undefined
          ? { argv0: command.arguments[0] }
          : {}),
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid ?? -1));
        child.once('error', reject);
      });
      let isTerminated = false;
      const terminated = new Promise<Termination>((resolve) => {
        child.once('exit', (exitCode, signal) => {
          isTerminated = true;
          // The main process is gone; whatever it left running in its group goes too.
          killGroup(pid, 'SIGKILL');
          resolve({ exitCode, signal });
        });
      });
      return {
        id: spec.containerId,
        pid,
        terminated,
        signal(signal) {
          if (!isTerminated) killGroup(pid, signal);
        },
      };
    } finally {
      closeSync(stdout);
      closeSync(stderr);
    }
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
