// The `agora` command's surface: help on every command, usage errors exit 2.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../integration/harness.js';

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
    ],
    agent: [
      /--master <host:port>/,
      /--resources <resources>/,
      /--attributes <attributes>/,
      /--work_dir <dir>/,
    ],
    up: [/--agents <n>/, /--work_dir <dir>/],
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
    [['master'], /--work_dir is required unless --registry=in_memory/],
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

test('agora run against no master fails with 125 and names the master', async () => {
  const { code, stderr } = await runCli(['run', '--master', '127.0.0.1:1', '--', 'true']).result;
  assert.equal(code, 125);
  assert.match(stderr, /agora run: .*ECONNREFUSED|connect/);
});
