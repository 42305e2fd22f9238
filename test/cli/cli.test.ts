// The `agora` command's surface: help on every command, usage errors exit 2.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { runCli } from '../integration/harness.js';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const COMMANDS = ['up', 'run', 'tasks', 'agents', 'frameworks', 'master', 'agent'];

test('agora --help lists every command', async () => {
  const { code, stdout } = await runCli(['--help']).result;
  assert.equal(code, 0);
  for (const command of COMMANDS) assert.match(stdout, new RegExp(`^  ${command} `, 'm'));
});

test('agora <command> --help describes its options, with Mesos flag names', async () => {
  const expected: Record<string, RegExp[]> = {
    run: [/--master <host:port>/, /--cpus <n>/, /--mem <MB>/, /Exit status/, /143/],
    master: [
      /--port <port>/,
      /--work_dir <dir>/,
      /--allocation_interval <duration>/,
      /--max_request_body <size>.*default: 8MB/,
      /--zk <zk:\/\/host:port,…\/path>/,
      /--etcd <http:\/\/host:port,…\/path>/,
      /--zk_session_timeout <duration>.*default: 10secs/,
      /--quorum <n>/,
      /json\.info_<seq>/,
      /exits with status 70/,
    ],
    agent: [
      /--master <host:port>/,
      /--resources <resources>/,
      /--attributes <attributes>/,
      /--work_dir <dir>/,
      /--fetcher_cache_dir <dir>.*default: <work_dir>\/fetch/,
      /--fetcher_cache_size <bytes>.*default: 2GB/,
      /--gc_delay <duration>.*default: 1weeks/,
      /--gc_disk_headroom <fraction>.*default: 0\.1/,
      /--disk_watch_interval <duration>.*default: 1mins/,
    ],
    up: [
      /--agents <n>/,
      /--work_dir <dir>/,
      /--ha\[=<zookeeper\|etcd>\]/,
      /--masters <n>.*default: 3/,
      /--coordinator_port <port>/,
    ],
    tasks: [/--json/],
    agents: [/--json/],
    frameworks: [/--json/],
  };
  for (const command of COMMANDS) {
    const { code, stdout } = await runCli([command, '--help']).result;
    assert.equal(code, 0, command);
    assert.match(stdout, new RegExp(`^Usage: agora ${command} `), command);
    for (const pattern of expected[command] ?? [])
      assert.match(stdout, pattern, `${command} --help`);
  }
});

test('agora usage errors exit 2 and say what is wrong', async () => {
  const cases: [args: string[], message: RegExp][] = [
    [['nonsense'], /unknown command 'nonsense'/],
    [['run', '--master', '127.0.0.1:1'], /missing the command to run/],
    [['run', '--cpus', 'lots', '--', 'true'], /--cpus: expected a number/],
    [['run', '--env', 'NOEQUALS', '--', 'true'], /--env: expected NAME=VALUE/],
    [['run', '--resources', 'cpus:abc', '--', 'true'], /--resources: .*'abc'/],
    [['run', '--bogus', '--', 'true'], /Unknown option '--bogus'/],
    [['agent', '--work_dir', '/tmp/x'], /--master is required/],
    [
      ['agent', '--master', '127.0.0.1:1', '--work_dir', '/tmp/x', '--gc_disk_headroom', '2'],
      /--gc_disk_headroom: expected a number from 0 to 1/,
    ],
    [
      ['agent', '--master', '127.0.0.1:1', '--work_dir', '/tmp/x', '--gc_delay', 'soon'],
      /--gc_delay: expected a duration/,
    ],
    [
      ['agent', '--master', '127.0.0.1:1', '--work_dir', '/tmp/x', '--fetcher_cache_size', '0'],
      /--fetcher_cache_size: expected a size such as 8MB/,
    ],
    [['master'], /--work_dir is required unless --registry=in_memory/],
    [['up', '--ha=consul'], /--ha: expected zookeeper or etcd, got 'consul'/],
    [['up', '--ha', 'consul'], /--ha: expected zookeeper or etcd, got 'consul'/],
    [['up', '--masters', '5'], /--masters needs --ha/],
    [['up', '--ha', '--masters', 'two'], /--masters: expected a number/],
    [['up', '--ha', '--zk_session_timeout', '100ms'], /--zk_session_timeout: expected 1secs/],
    [
      ['master', '--registry', 'zk', '--work_dir', '/tmp/x'],
      /--registry: expected embedded or in_memory/,
    ],
    [
      ['master', '--registry', 'in_memory', '--allocation_interval', 'soon'],
      /--allocation_interval: expected a duration/,
    ],
    [
      ['master', '--registry', 'in_memory', '--max_request_body', 'lots'],
      /--max_request_body: expected a size such as 8MB/,
    ],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runCli(args).result;
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message, args.join(' '));
  }
});

test('agora tasks, agents and frameworks name the master they cannot reach in one line', async () => {
  const port = await closedPort();
  const master = `127.0.0.1:${port}`;
  const cases: [args: string[], env: NodeJS.ProcessEnv][] = [
    [['tasks', '--master', master], process.env],
    [['agents', '--master', master], process.env],
    [['frameworks', '--master', master], process.env],
    [['tasks', '--all'], { ...process.env, AGORA_MASTER: master }],
  ];
  for (const [args, env] of cases) {
    const { code, stdout, stderr } = await runCli(args, { env }).result;
    assert.notEqual(code, 0, args.join(' '));
    assert.equal(stdout, '');
    assert.equal(
      stderr,
      `agora ${args[0]}: cannot reach the master at ${master} (connection refused); set --master or AGORA_MASTER\n`,
      args.join(' '),
    );
  }
});

test('agora tasks names a master whose host does not resolve', async () => {
  const { code, stderr } = await runCli(['agents'], {
    env: { ...process.env, AGORA_MASTER: 'no-such-host.invalid:5050' },
  }).result;
  assert.equal(code, 1);
  assert.match(
    stderr,
    /^agora agents: cannot reach the master at no-such-host\.invalid:5050 \(.+\); set --master or AGORA_MASTER\n$/,
  );
});

test('agora run against an unreachable master exits 125 at once and names it', async () => {
  const port = await closedPort();
  const startedMs = performance.now();
  const { code, stderr } = await runCli(['run', '--master', `127.0.0.1:${port}`, '--', 'true'])
    .result;
  assert.equal(code, 125);
  assert.equal(
    stderr,
    `agora run: cannot reach the master at 127.0.0.1:${port} (connection refused); set --master or AGORA_MASTER\n`,
  );
  assert.ok(performance.now() - startedMs < 5000, 'it does not retry a master it never reached');
});
