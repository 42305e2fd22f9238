// One command's run, from its arguments to its exit status: flags parsed, help,
// credentials, and the errors every command words alike. main.ts dispatches
// here for each command; `agora run` starts here directly (run-main.ts).
import { type CommandSpec, commandHelp, parseCommand } from './command.js';
import { applyCredentialFlags } from './credential-flags.js';

export async function dispatch(spec: CommandSpec, args: readonly string[]): Promise<number> {
  const name = spec.name;
  try {
    const { values, positionals, wantsHelp } = parseCommand(spec, args);
    if (wantsHelp) {
      process.stdout.write(commandHelp(spec));
      return 0;
    }
    if ('principal' in spec.options) applyCredentialFlags(values);
    return await spec.run(values, positionals);
  } catch (error) {
    // By name: each command is bundled on its own (scripts/build.mjs), with its own copy of the class.
    // A flag the daemons' own parsers refuse (BadRequestError) is a usage error too.
    if (
      error instanceof Error &&
      (error.name === 'UsageError' || error.name === 'BadRequestError')
    ) {
      process.stderr.write(`agora ${name}: ${error.message}\n\n${commandHelp(spec)}`);
      return 2;
    }
    // The one place where "nothing answered" becomes a message: every command
    // that talks to the master lets the SDK's ConnectionError reach here.
    const unreachable = unreachableAddress(error);
    if (unreachable !== undefined) {
      process.stderr.write(
        `agora ${name}: cannot reach the master at ${unreachable.address} (${unreachable.reason}); set --master or AGORA_MASTER\n`,
      );
      return spec.unreachableExitStatus ?? 1;
    }
    throw error;
  }
}

/** The SDK's ConnectionError, told by name: each command is bundled with its own copy of the class. */
function unreachableAddress(error: unknown): { address: string; reason: string } | undefined {
  if (!(error instanceof Error) || error.name !== 'ConnectionError') return undefined;
  const { address, reason } = error as Error & { address?: unknown; reason?: unknown };
  return typeof address === 'string' && typeof reason === 'string'
    ? { address, reason }
    : undefined;
}

/** The exit status to the process; an error nobody handled is printed and exits 1. */
export function exitWith(status: Promise<number>): void {
  status.then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = 1;
      console.error(error);
    },
  );
}

/**
 * As exitWith, but the process exits as soon as the status is known and stdout and stderr have
 * handed what they hold to the kernel (`agora run`): node's own teardown (the heap, the
 * platform's threads), 2-6 ms here between the last line and the exit, is then off the path
 * `agora run -- true` is timed by. The flush matters: writes to a pipe are asynchronous, and a
 * slow reader of a large output would otherwise lose its tail. 'exit' listeners (the code
 * cache's) still run.
 */
export function exitAsSoonAsDone(status: Promise<number>): void {
  status
    .catch((error: unknown) => {
      console.error(error);
      return 1;
    })
    .then(async (code) => {
      await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
      process.exit(code);
    });
}

/** Resolves once everything written to `stream` so far has been handed on. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0) return Promise.resolve();
  // Written in order: the empty write's callback comes after every earlier write's.
  return new Promise((resolve) => stream.write('', () => resolve()));
}
