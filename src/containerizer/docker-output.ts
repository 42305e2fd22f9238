// A container's stdout and stderr, from dockerd into the sandbox's `stdout` and
// `stderr` files, where `/files/read` and `agora run` find them. The agent is
// attached to the container while it runs; a restarted agent has dockerd replay
// its log from the start and skips what its previous life wrote, by the
// byte counts that life checkpointed in the run's directory (0.1 s after the
// first output, then at most once a second while output flows, and once at the
// end). A crash between two checkpoints repeats up to a second of output; it
// never loses any, since dockerd keeps the whole log until the container is
// removed (but for what the container writes in the instant between the
// replay and the new attachment, which dockerd does not hand over).
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { LogDemultiplexer, LogSkipper, type LogStream } from './docker-log-frames.js';

/** The run's record of how many bytes of each stream are in the sandbox. */
export const OUTPUT_COUNTS_FILE = 'docker.output_bytes';
/** The first checkpoint comes soon (most tasks say little and early), later ones once a second. */
const FIRST_CHECKPOINT_MS = 100;
const CHECKPOINT_INTERVAL_MS = 1000;

export type OutputCounts = Record<LogStream, number>;

/** What an earlier life checkpointed; zeros when nothing (or nothing readable) was. */
export function readOutputCounts(runtimeDir: string): OutputCounts {
  try {
    const parsed = JSON.parse(readFileSync(join(runtimeDir, OUTPUT_COUNTS_FILE), 'utf8')) as {
      stdout?: unknown;
      stderr?: unknown;
    };
    const count = (n: unknown) =>
      typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 0;
    return { stdout: count(parsed.stdout), stderr: count(parsed.stderr) };
  } catch {
    return { stdout: 0, stderr: 0 };
  }
}

export interface CopyOutputOptions {
  readonly sandbox: string;
  readonly runtimeDir: string;
  /** A container with a TTY: one raw stream, all of it stdout. */
  readonly isTty: boolean;
  /** Bytes of each stream already in the sandbox (an earlier life's counts). */
  readonly skip: OutputCounts;
}

/**
 * Copies an attachment's or a log's stream into the sandbox until it ends (the container
 * stopped, or the stream was destroyed); resolves with the bytes of each stream now in the sandbox,
 * counted from the container's start. Rejects on a stream that is not Docker's framing or
 * a sandbox file that cannot be written.
 */
export async function copyOutput(
  logs: Readable,
  options: CopyOutputOptions,
): Promise<OutputCounts> {
  const counts: OutputCounts = { ...options.skip };
  const skipper = new LogSkipper(options.skip);
  const demux = options.isTty ? undefined : new LogDemultiplexer();
  const files: Partial<Record<LogStream, WriteStream>> = {};
  let checkpoint: NodeJS.Timeout | undefined;
  let written = JSON.stringify(counts);
  let failure: Error | undefined;
  let hasCheckpointed = false;
  const save = async () => {
    const text = JSON.stringify(counts);
    if (text === written) return;
    written = text;
    await writeFile(join(options.runtimeDir, OUTPUT_COUNTS_FILE), text).catch(() => undefined);
  };
  const openOutput = (path: string) =>
    createWriteStream(path, { flags: 'a' }).on('error', (error) => {
      // Ends the copy below (a destroyed response), with this as its reason.
      failure ??= error;
      logs.destroy();
    });
  try {
    for await (const chunk of logs as AsyncIterable<Buffer>) {
      const pieces =
        demux === undefined ? [{ stream: 'stdout' as const, data: chunk }] : demux.push(chunk);
      for (const { stream, data } of pieces) {
        const fresh = skipper.take(stream, data);
        if (fresh.length === 0) continue;
        counts[stream] += fresh.length;
        const file = files[stream] ?? openOutput(join(options.sandbox, stream));
        files[stream] = file;
        if (!file.write(fresh))
          await new Promise<void>((resolve, reject) => {
            file.once('drain', resolve);
            file.once('error', reject);
          });
      }
      checkpoint ??= setTimeout(
        () => {
          checkpoint = undefined;
          hasCheckpointed = true;
          void save();
        },
        hasCheckpointed ? CHECKPOINT_INTERVAL_MS : FIRST_CHECKPOINT_MS,
      ).unref();
    }
  } catch (error) {
    // A destroyed response (the agent stopping, a drain deadline) ends the copy, not the task.
    if (!logs.destroyed) throw error;
  } finally {
    if (checkpoint !== undefined) clearTimeout(checkpoint);
    await Promise.all(
      Object.values(files).map((file) => new Promise<void>((resolve) => file.end(() => resolve()))),
    );
    await save();
  }
  if (failure !== undefined) throw failure;
  return counts;
}
