// A local file read with a task user's permissions, for the fetcher. The agent runs as root;
// Mesos' fetcher runs as the task's user, so a task running as `nobody` cannot bring
// /etc/shadow into its sandbox with a `file://` URI. Here a child process running as that
// user opens the file (once: what it reads is what it opened, so swapping a link afterwards
// changes nothing) and streams it; the stream fails with the child's complaint when it
// cannot.
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { FetchError } from './archives.js';

/** How much of the child's complaint goes into the error. */
const MAX_COMPLAINT_CHARS = 1024;

/** `sh` opens the file as the user on fd 0, refuses what is not a regular file, then copies it. */
const SCRIPT = [
  'exec < "$1" || exit 3',
  '[ -f /dev/stdin ] || { echo "$1 is not a regular file" >&2; exit 3; }',
  'exec cat',
].join('\n');

export function readAsUser(
  path: string,
  user: { readonly uid: number; readonly gid: number },
  signal: AbortSignal,
): Readable {
  const output = new PassThrough();
  // The child may fail before the consumer's pipeline is attached (it opens the destination
  // first): the error is kept on the stream (`errored`), where the pipeline finds it.
  output.on('error', () => undefined);
  const child = spawn('/bin/sh', ['-c', SCRIPT, 'agora-fetch', path], {
    uid: user.uid,
    gid: user.gid,
    cwd: '/',
    env: { PATH: '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  let complaint = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (complaint.length < MAX_COMPLAINT_CHARS) complaint += chunk;
  });
  // The output ends only once the child says it read the whole file.
  child.stdout.pipe(output, { end: false });
  child.on('error', (error) =>
    output.destroy(new FetchError(`cannot read ${path}: ${error.message}`)),
  );
  child.on('close', (code, signalName) => {
    if (code === 0) output.end();
    else
      output.destroy(
        new FetchError(
          `cannot read ${path} as uid ${user.uid}: ${complaint.trim().slice(0, MAX_COMPLAINT_CHARS) || `exit ${code ?? signalName}`}`,
        ),
      );
  });
  // A consumer that gives up (a size bound, a stall) stops the child too.
  output.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return output;
}
