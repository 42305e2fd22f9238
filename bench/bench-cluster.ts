// A master and two agents on loopback for the benches that time `agora run` against them
// (start-trace.ts, cli-floor.ts): started as child processes of the bench, stopped by it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const START_TIMEOUT_MS = 30_000;

export interface Daemon {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
}

/** `command` (the program and what goes before the CLI's arguments) with `args`. */
function startDaemon(
  command: readonly string[],
  args: readonly string[],
  onLine?: (l: string) => void,
): Daemon {
  const [program = process.execPath, ...prefix] = command;
  const child = spawn(program, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  for (const stream of [child.stdout, child.stderr])
    if (stream !== null) createInterface({ input: stream }).on('line', (l) => onLine?.(l));
  return { child, exited };
}

async function stopDaemon(daemon: Daemon, signal: NodeJS.Signals): Promise<void> {
  if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
  daemon.child.kill(signal);
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), 10_000);
  await daemon.exited;
  clearTimeout(timer);
}

export function getJson(url: URL): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(error);
        }
      });
    }).on('error', reject);
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for ${what}`);
}

export interface BenchCluster {
  readonly url: string;
  /** The master first, then the agents. */
  readonly daemons: readonly Daemon[];
  stop(): Promise<void>;
}

/**
 * A master (in-memory registry) and two agents with work dirs under `workDir`, each started
 * as `command` followed by its arguments (e.g. `[node, bin/agora.js]`); resolves once both
 * agents are registered. On failure what was started is stopped before it rejects.
 */
export async function startBenchCluster(
  command: readonly string[],
  workDir: string,
  agentArgs: readonly string[] = [],
): Promise<BenchCluster> {
  const daemons: Daemon[] = [];
  const stop = async () => {
    const [master, ...agents] = daemons;
    await Promise.all(agents.map((d) => stopDaemon(d, 'SIGUSR1')));
    if (master !== undefined) await stopDaemon(master, 'SIGTERM');
  };
  try {
    let onUrl: (url: string) => void = () => undefined;
    const listening = new Promise<string>((resolve) => {
      onUrl = resolve;
    });
    const master = startDaemon(
      command,
      ['master', '--port', '0', '--registry', 'in_memory', '--log_level', 'info'],
      (line) => {
        if (!line.startsWith('{')) return;
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (entry.msg === 'listening' && typeof entry.url === 'string') onUrl(entry.url);
      },
    );
    daemons.push(master);
    const url = await Promise.race([
      listening,
      master.exited.then(() => Promise.reject(new Error('master exited'))),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the master did not listen')), START_TIMEOUT_MS).unref(),
      ),
    ]);
    for (const i of [1, 2])
      daemons.push(
        startDaemon(command, [
          'agent',
          '--master',
          url,
          '--port',
          '0',
          '--work_dir',
          join(workDir, `agent-${i}`),
          '--log_level',
          'warn',
          ...agentArgs,
        ]),
      );
    await waitFor('2 agents to register', async () => {
      const state = (await getJson(new URL('/master/slaves', url))) as { slaves?: unknown[] };
      return (state.slaves?.length ?? 0) >= 2 ? true : undefined;
    });
    return { url, daemons, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
