// The command line's fast path (parsePlainLongFlags) reads what it accepts exactly as node's
// parseArgs does, and leaves everything else to it (its errors included).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import { type CommandSpec, parseCommand, parsePlainLongFlags } from '../../src/cli/command.js';

const SPEC: CommandSpec = {
  name: 'demo',
  summary: 'a command for the parser',
  usage: '[options] -- <command>',
  allowPositionals: true,
  options: {
    master: { type: 'string', description: 'master' },
    env: { type: 'string', description: 'env', multiple: true },
    quiet: { type: 'boolean', short: 'q', description: 'quiet' },
    publish: { type: 'string', short: 'p', description: 'port', multiple: true },
    ha: { type: 'string', description: 'ha', bareValue: 'zk' },
  },
  run: async () => 0,
};

const CASES: readonly (readonly string[])[] = [
  [],
  ['--', 'true'],
  ['--master', '127.0.0.1:5050', '--', 'date +%s%N'],
  ['--master=127.0.0.1:5050', '--quiet', '--', 'sh', '-c', 'echo hi'],
  ['--env', 'A=1', '--env=B=2=3', '--master', 'x', '--master', 'y', 'first', '--', '--not-a-flag'],
  ['--master=', '-', 'positional'],
  ['--help'],
  // Left to parseArgs:
  ['-q', '--', 'true'],
  ['-p', '80'],
  ['--master', '-x'],
  ['--master'],
  ['--quiet=yes'],
  ['--bogus', '--', 'true'],
  ['--help=1'],
  ['--__proto__', 'x'],
];

test('the fast path reads what it accepts as parseArgs does, and takes only plain long flags', () => {
  let fast = 0;
  for (const args of CASES) {
    let expected: unknown;
    try {
      expected = parseCommand(SPEC, args);
    } catch (error) {
      expected = error;
    }
    const plain = parsePlainLongFlags(SPEC, args);
    if (plain === undefined) continue;
    fast += 1;
    const options = Object.fromEntries(
      Object.entries(SPEC.options).map(([name, o]) => [
        name,
        {
          type: o.type,
          ...(o.multiple === true ? { multiple: true } : {}),
          ...(o.short !== undefined ? { short: o.short } : {}),
        },
      ]),
    );
    const reference = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    assert.deepEqual({ ...plain.values }, { ...reference.values }, args.join(' '));
    assert.deepEqual(plain.positionals, reference.positionals, args.join(' '));
    assert.ok(!(expected instanceof Error), args.join(' '));
  }
  assert.equal(fast, 7);
  for (const args of [['-q'], ['-p', '80'], ['--master', '-x'], ['--master'], ['--quiet=yes']])
    assert.equal(parsePlainLongFlags(SPEC, args), undefined, args.join(' '));
});

test('what the fast path leaves is parsed, or refused, by parseArgs as before', () => {
  assert.deepEqual(parseCommand(SPEC, ['-q', '-p', '80', '--', 'true']).positionals, ['true']);
  assert.equal(parseCommand(SPEC, ['-q']).values.quiet, true);
  assert.throws(() => parseCommand(SPEC, ['--bogus']), /Unknown option '--bogus'/);
  assert.throws(() => parseCommand(SPEC, ['--master']), /argument missing/);
  assert.throws(
    () => parseCommand({ ...SPEC, allowPositionals: false }, ['--', 'x']),
    /Unexpected argument 'x'/,
  );
  assert.deepEqual(parseCommand(SPEC, ['--ha']).values.ha, 'zk');
  assert.deepEqual(parseCommand(SPEC, ['--ha', 'etcd']).values.ha, 'etcd');
});
