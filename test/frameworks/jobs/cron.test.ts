import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextFireMs, parseCron } from '../../../src/frameworks/jobs/cron.js';

function cron(expression: string) {
  const parsed = parseCron(expression);
  assert.equal(parsed.kind, 'ok', expression);
  if (parsed.kind !== 'ok') throw new Error('unreachable');
  return parsed.cron;
}

const at = (iso: string) => Date.parse(iso);
const next = (expression: string, after: string, zone = 'UTC') => {
  const ms = nextFireMs(cron(expression), at(after), zone);
  return ms === undefined ? undefined : new Date(ms).toISOString();
};

test('cron fires at the next matching minute, strictly after the time given', () => {
  assert.equal(next('* * * * *', '2026-01-01T10:00:00Z'), '2026-01-01T10:01:00.000Z');
  assert.equal(next('*/15 * * * *', '2026-01-01T10:07:30Z'), '2026-01-01T10:15:00.000Z');
  assert.equal(next('0 2 * * *', '2026-01-01T03:00:00Z'), '2026-01-02T02:00:00.000Z');
  assert.equal(next('30 9 * * mon-fri', '2026-01-02T10:00:00Z'), '2026-01-05T09:30:00.000Z'); // Fri -> Mon
  assert.equal(next('0 0 1 jan *', '2026-03-01T00:00:00Z'), '2027-01-01T00:00:00.000Z');
  assert.equal(next('@hourly', '2026-01-01T10:00:00Z'), '2026-01-01T11:00:00.000Z');
});

test('cron reads the fields in the time zone given', () => {
  // 02:00 in Berlin is 01:00 UTC in winter and 00:00 UTC in summer.
  assert.equal(
    next('0 2 * * *', '2026-01-10T12:00:00Z', 'Europe/Berlin'),
    '2026-01-11T01:00:00.000Z',
  );
  assert.equal(
    next('0 2 * * *', '2026-07-10T12:00:00Z', 'Europe/Berlin'),
    '2026-07-11T00:00:00.000Z',
  );
  assert.equal(
    next('0 9 * * *', '2026-01-10T00:00:00Z', 'America/New_York'),
    '2026-01-10T14:00:00.000Z',
  );
});

test('cron skips a local time that DST skips and fires a repeated one once', () => {
  // Berlin springs forward on 2026-03-29 at 02:00 -> 03:00: 02:30 does not exist that day.
  assert.equal(
    next('30 2 * * *', '2026-03-28T12:00:00Z', 'Europe/Berlin'),
    '2026-03-30T00:30:00.000Z',
  );
  // It falls back on 2026-10-25 at 03:00 -> 02:00: 02:30 happens twice, fired at the first.
  const first = next('30 2 * * *', '2026-10-24T12:00:00Z', 'Europe/Berlin');
  assert.equal(first, '2026-10-25T00:30:00.000Z');
  assert.equal(next('30 2 * * *', first ?? '', 'Europe/Berlin'), '2026-10-26T01:30:00.000Z');
});

test('cron with both day fields restricted matches either (Vixie cron)', () => {
  // The 13th, or any Friday: from Sat 2026-02-07 the next is Fri 2026-02-13 (both).
  assert.equal(next('0 0 13 * fri', '2026-02-07T00:00:00Z'), '2026-02-13T00:00:00.000Z');
  assert.equal(next('0 0 13 * fri', '2026-02-13T00:00:00Z'), '2026-02-20T00:00:00.000Z');
});

test('cron refuses malformed expressions with the reason, and never-firing ones give undefined', () => {
  for (const [expression, pattern] of [
    ['* * *', /5 fields/],
    ['60 * * * *', /minute: '60' is not in 0-59/],
    ['* * * 13 *', /month/],
    ['*/0 * * * *', /bad step/],
    ['5-1 * * * *', /backwards/],
  ] as const) {
    const parsed = parseCron(expression);
    assert.equal(parsed.kind, 'error', expression);
    if (parsed.kind === 'error') assert.match(parsed.message, pattern);
  }
  assert.equal(nextFireMs(cron('0 0 30 2 *'), at('2026-01-01T00:00:00Z'), 'UTC'), undefined);
});
