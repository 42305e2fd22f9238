import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { test } from 'node:test';
import { exitStatusFromMessage, terminationMessage } from '../../src/wire/termination.js';

test('termination message gives back every exit code from 0 to 255', () => {
  for (let exitCode = 0; exitCode <= 255; exitCode++) {
    const message = terminationMessage({ exitCode, signal: null });
    assert.equal(message, `Command exited with status ${exitCode}`);
    assert.equal(exitStatusFromMessage(message), exitCode, message);
  }
});

test('termination message of a signal gives back 128 plus the signal number', () => {
  const cases: [signal: NodeJS.Signals, message: string, status: number][] = [
    ['SIGTERM', 'Command terminated with signal Terminated', 143],
    ['SIGKILL', 'Command terminated with signal Killed', 137],
    ['SIGINT', 'Command terminated with signal Interrupt', 130],
    [
      'SIGSEGV',
      'Command terminated with signal Segmentation fault',
      128 + constants.signals.SIGSEGV,
    ],
    // A signal without a description is named as it is.
    ['SIGALRM', 'Command terminated with signal SIGALRM', 128 + constants.signals.SIGALRM],
  ];
  for (const [signal, message, status] of cases) {
    assert.equal(terminationMessage({ exitCode: null, signal }), message);
    assert.equal(exitStatusFromMessage(message), status, signal);
  }
});

test('termination message names the signal even when an exit code is present', () => {
  assert.equal(
    terminationMessage({ exitCode: 1, signal: 'SIGKILL' }),
    'Command terminated with signal Killed',
  );
});

test('exit status of a message that is not the command executor is undefined', () => {
  const cases: (string | undefined)[] = [
    undefined,
    '',
    'Task finished',
    'Command exited with status',
    'Command exited with status abc',
    'Command terminated with signal Bogus',
    'Command terminated with signal ',
  ];
  for (const message of cases)
    assert.equal(exitStatusFromMessage(message), undefined, JSON.stringify(message));
});
