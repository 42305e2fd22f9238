// Stands in for node:assert in the `agora run` bundle only (scripts/build.mjs).
// Loading node:assert costs a few ms of every start (it brings its error
// formatting, colours and call tracker); the code that `run` bundles calls only
// assert(value, message) and assert.fail(message), which this keeps as node
// has them: same AssertionError name and code. The daemons keep node:assert,
// whose AssertionError class they test for.
'use strict';

class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AssertionError';
    this.code = 'ERR_ASSERTION';
  }
}

function fail(message) {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? 'Failed');
}

function assert(value, message) {
  if (!value) fail(message ?? 'The expression evaluated to a falsy value');
}
assert.ok = assert;
assert.fail = fail;
assert.AssertionError = AssertionError;

module.exports = assert;
