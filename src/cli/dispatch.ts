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
 * As exitWith, but the process exits as soon as the status is known (`agora run`): what is
 * left then is the teardown of node itself (the heap, the platform's threads), 2-6 ms here
 * between the last line and the exit, on the path `agora run -- true` is timed by. Nothing
 * is lost: stdout and stderr are synchronous for files, pipes and terminals on Linux, the
 * run closed its connections, and 'exit' listeners (the code cache's) still run.
 */
export function exitAsSoonAsDone(status: Promise<number>): void {
  status.then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
