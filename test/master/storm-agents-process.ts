// storm-agents.ts started in a process of its own, for a test or bench of the master under
// a storm of SUBSCRIBEs: its lines awaited, its commands sent, the process stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, waitFor } from '../integration/harness.js';

export interface StormAgentsProcess {
  /**
   * Waits until the agents said `line` (`subscribed`, `resubscribed`) and takes it, so that a
   * later wait for the same line waits for its next saying.
   */
  heard(line: string, timeoutMs: number): Promise<void>;
  /** `follow <url> [ms]`: every agent to another master (storm-agents.ts). */
  follow(url: string, withinMs?: number): void;
  /** Ends the agents' input (they exit) and waits for the process; SIGKILL if it lingers. */
  stop(): Promise<void>;
}

/** `agents` simulated agents of the master at `url`, each holding `tasks` running tasks. */
export function startStormAgents(url: string, agents: number, tasks = 0): StormAgentsProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test', 'master', 'storm-agents.ts'),
      url,
      String(agents),
      String(tasks),
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const said: string[] = [];
  if (child.stdout !== null)
    createInterface({ input: child.stdout }).on('line', (line) => said.push(line));
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  return {
    heard: async (line, timeoutMs) => {
      await waitFor(
        `the agents to say ${line}`,
        () => (said.includes(line) ? true : undefined),
        timeoutMs,
      );
      said.splice(said.indexOf(line), 1);
    },
    follow: (next, withinMs) => {
      child.stdin?.write(`follow ${next}${withinMs === undefined ? '' : ` ${withinMs}`}\n`);
    },
    stop: async () => {
      child.stdin?.end();
      const killer = setTimeout(() => {
        if (isRunning()) child.kill('SIGKILL');
      }, 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
