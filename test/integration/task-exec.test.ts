// `agora task exec` and `agora task attach` against a real cluster: a command
// run in a running task's container, its output and exit status ours, our stdin
// its; a task's output followed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { AGORA, type Cluster, runCli, startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

describe('agora task exec and attach', () => {
  let cluster: Cluster;
  let framework: TaskFramework;
  before(async () => {
    cluster = await startCluster({ agents: 1, agentResources: 'cpus:1;mem:512' });
    framework = await TaskFramework.start(cluster.masterUrl, 'exec-test');
    await framework.launch({
      sleeper: 'echo $MESOS_TASK_ID > who; sleep 600',
      ticker: 'i=0; while :; do i=$((i+1)); echo "tick $i"; echo "tock $i" >&2; sleep 0.2; done',
    });
    await framework.update('sleeper', 'TASK_RUNNING');
    await framework.update('ticker', 'TASK_RUNNING');
  });
  after(async () => {
    await framework?.stop();
    await cluster?.stop();
  });
  const task = (args: readonly string[]) =>
    runCli(['task', ...args.slice(0, 1), '--master', cluster.masterUrl, ...args.slice(1)]);

  test('agora task exec prints the command output and exits with its status', async () => {
    const { code, stdout, stderr } = await task([
      'exec',
      'sleeper',
      '--',
      'sh',
      '-c',
      'echo hi; echo oops >&2; exit 3',
    ]).result;
    assert.equal(code, 3, stderr);
    assert.equal(stdout, 'hi\n');
    assert.equal(stderr, 'oops\n');
  });

  test("agora task exec runs in the task's sandbox and environment", async () => {
    const { code, stdout, stderr } = await task([
      'exec',
      'sleeper',
      '--',
      'cat who; echo "$MESOS_TASK_ID"',
    ]).result;
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'sleeper\nsleeper\n');
  });

  test('agora task exec -i passes stdin through, and without -i the command reads none', async () => {
    const child = spawn(
      process.execPath,
      [AGORA, 'task', 'exec', '--master', cluster.masterUrl, '-i', 'sleeper', '--', 'wc', '-l'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // Far more than one pipe buffer, so the agent's and our backpressure both take part.
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i}\n`).join('');
    child.stdin.end(lines);
    const [code] = await once(child, 'close');
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), '50000');

    const closed = await task(['exec', 'sleeper', '--', 'cat']).result;
    assert.equal(closed.code, 0, closed.stderr);
    assert.equal(closed.stdout, '');
  });

  test('agora task exec: the first Ctrl-C reaches the command, which ends with 130', async () => {
    const run = task(['exec', 'sleeper', '--', 'echo started; exec sleep 600']);
    await outputMatches(run.process, 'stdout', /started/);
    run.process.kill('SIGINT');
    const { code, stderr } = await run.result;
    assert.equal(code, 130, stderr);
  });

  test('agora task exec refuses --tty and an unknown task, in one line', async () => {
    const tty = await task(['exec', '-t', 'sleeper', '--', 'sh']).result;
    assert.equal(tty.code, 2);
    assert.match(tty.stderr, /--tty is not supported/);

    const unknown = await task(['exec', 'nope', '--', 'true']).result;
    assert.equal(unknown.code, 125);
    assert.equal(unknown.stderr, "agora task exec: no task 'nope' is known to the master\n");
  });

  test("agora task attach shows the task's output as it comes, and Ctrl-C detaches", async () => {
    const run = task(['attach', 'ticker']);
    await outputMatches(run.process, 'stdout', /^tick \d+$/m);
    await outputMatches(run.process, 'stderr', /^tock \d+$/m);
    run.process.kill('SIGINT');
    const { code, stderr } = await run.result;
    assert.equal(code, 130, stderr);
    const again = await task(['exec', 'ticker', '--', 'true']).result;
    assert.equal(again.code, 0, 'the task runs on after a detach');
  });

  test('agora task attach ends with the task, with its exit status', async () => {
    await framework.launch({
      brief: 'while [ ! -e go ]; do echo waiting; sleep 0.2; done; echo bye; exit 7',
    });
    await framework.update('brief', 'TASK_RUNNING');
    const run = task(['attach', 'brief']);
    await outputMatches(run.process, 'stdout', /waiting/);
    const go = await task(['exec', 'brief', '--', 'touch go']).result;
    assert.equal(go.code, 0, go.stderr);
    const { code, stdout, stderr } = await run.result;
    assert.equal(code, 7, stderr);
    assert.match(stdout, /waiting\nbye\n$/);

    await framework.update('brief', 'TASK_FAILED');
    const ended = await task(['exec', 'brief', '--', 'true']).result;
    assert.equal(ended.code, 125);
    assert.equal(ended.stderr, "agora task exec: task 'brief' is not running (TASK_FAILED)\n");
  });
});

/** Resolves once `stream` of `child` has printed something matching `pattern`. */
function outputMatches(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
): Promise<true> {
  let text = '';
  child[stream]?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return waitFor(`${stream} to match ${pattern}`, () => (pattern.test(text) ? true : undefined));
}
