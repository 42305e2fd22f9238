import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { LoggingLevel } from '../../src/master/logging-level.js';
import { ManualClock } from '../../src/runtime/index.js';

const bed = (level: string) => {
  const logger = pino({ level }, { write: () => {} });
  const clock = new ManualClock(0);
  return { logger, clock, logging: new LoggingLevel(logger, clock) };
};

test('logging level maps verbosity onto pino levels and reverts after the duration', () => {
  const { logger, clock, logging } = bed('info');
  assert.equal(logging.level, 0);
  logging.set(1, 10_000);
  assert.deepEqual([logging.level, logger.level], [1, 'debug']);
  logging.set(3, 5_000);
  assert.deepEqual([logging.level, logger.level], [3, 'trace'], 'past 2 is trace, and kept');
  clock.advance(4_999);
  assert.equal(logging.level, 3, 'the latest duration wins over the first');
  clock.advance(1);
  assert.deepEqual([logging.level, logger.level], [0, 'info']);
  clock.advance(10_000);
  assert.deepEqual([logging.level, logger.level], [0, 'info'], 'no stale revert fires');
});

test('logging level counts from the level the master started with', () => {
  const { logger, clock, logging } = bed('debug');
  assert.equal(logging.level, 1);
  logging.set(0, 1_000);
  assert.deepEqual([logging.level, logger.level], [0, 'info']);
  clock.advance(1_000);
  assert.deepEqual([logging.level, logger.level], [1, 'debug']);
  logging.set(2, 1_000);
  logging.set(1, 1);
  assert.deepEqual([logging.level, logger.level], [1, 'debug'], 'the original cancels a revert');
  logging.stop();
});

test('logging level keeps a quieter original level at verbosity 0', () => {
  const { logger, clock, logging } = bed('warn');
  logging.set(2, 100);
  assert.equal(logger.level, 'trace');
  clock.advance(100);
  assert.deepEqual([logging.level, logger.level], [0, 'warn']);
});
