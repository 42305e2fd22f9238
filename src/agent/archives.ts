// Archives the fetcher extracts into a sandbox (docs/fetcher.md: tar and its
// compressed forms with `tar`, .zip with `unzip`, .gz with `gzip`). The tools run
// as child processes, so a large archive never blocks the event loop; GNU tar and
// Info-ZIP unzip refuse members named with '..' or absolutely by default.
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';

/** How much of an extractor's complaint goes into the error. */
const MAX_TOOL_OUTPUT_CHARS = 2048;

export class FetchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FetchError';
  }
}

export type ArchiveKind = 'tar' | 'zip' | 'gzip';

/** The archive a file name says it is (Mesos' list of extensions), or undefined. */
export function archiveKind(name: string): ArchiveKind | undefined {
  const lower = name.toLowerCase();
  if (/\.(tar|tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz)$/.test(lower)) return 'tar';
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.gz')) return 'gzip';
  return undefined;
}

/**
 * Extracts `file` beside `destination` (into its directory), with the tool
 * for its kind; a .gz file becomes `destination` without the suffix.
 */
export async function extract(
  kind: ArchiveKind,
  file: string,
  destination: string,
  signal: AbortSignal,
  /** Writes a stream to a sandbox file, bounded and never through a link (the fetcher's). */
  writeFile: (from: Readable, to: string) => Promise<unknown>,
): Promise<void> {
  const directory = dirname(destination);
  switch (kind) {
    case 'tar':
      // GNU tar finds the compression itself when reading a file.
      await runTool('tar', ['--no-same-owner', '-x', '-f', file, '-C', directory], signal);
      return;
    case 'zip':
      await runTool('unzip', ['-o', '-q', file, '-d', directory], signal);
      return;
    case 'gzip': {
      const output = destination.replace(/\.gz$/i, '');
      const child = spawn('gzip', ['-d', '-c', file], {
        stdio: ['ignore', 'pipe', 'pipe'],
        signal,
      });
      const complaint = collect(child.stderr);
      const exited = exitOf(child, 'gzip');
      try {
        await writeFile(child.stdout, output);
      } catch (error) {
        child.kill('SIGKILL');
        await exited.catch(() => undefined);
        throw error;
      }
      const code = await exited;
      if (code !== 0) throw new FetchError(`gzip failed (exit ${code}): ${complaint()}`);
      return;
    }
  }
}

async function runTool(command: string, args: readonly string[], signal: AbortSignal) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], signal });
  const complaint = collect(child.stderr);
  const code = await exitOf(child, command);
  if (code !== 0) throw new FetchError(`${command} failed (exit ${code}): ${complaint()}`);
}

function exitOf(child: ReturnType<typeof spawn>, command: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new FetchError(`cannot extract: the ${command} command is not installed`)
          : error,
      ),
    );
    child.once('close', (code) => resolve(code));
  });
}

/** What a stream says, the first MAX_TOOL_OUTPUT_CHARS of it, trimmed. */
function collect(stream: NodeJS.ReadableStream | null): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => {
    if (text.length < MAX_TOOL_OUTPUT_CHARS) text += chunk.toString('utf8');
  });
  return () => text.slice(0, MAX_TOOL_OUTPUT_CHARS).trim();
}
