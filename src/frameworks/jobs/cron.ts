// Cron expressions (five fields: minute hour day-of-month month day-of-week, as Metronome and
// Kubernetes' CronJob take them) and when they next fire in a time zone. Pure: the time is an
// argument; the zone's rules come from Intl, which reads no clock.
//
// Day-of-month and day-of-week follow Vixie cron: when both are restricted (neither is `*`), a
// day matches if either does. Local times a DST change skips never fire that day; a local time
// that happens twice (the hour repeated when clocks go back) fires at its first occurrence only.

export interface Cron {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday; 7 is taken as 0. */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly isDayOfMonthAny: boolean;
  readonly isDayOfWeekAny: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export type CronParse =
  | { readonly kind: 'ok'; readonly cron: Cron }
  | { readonly kind: 'error'; readonly message: string };

export function parseCron(expression: string): CronParse {
  const trimmed = expression.trim().toLowerCase();
  const fields = (MACROS[trimmed] ?? trimmed).split(/\s+/);
  if (fields.length !== 5)
    return {
      kind: 'error',
      message: `expected 5 fields (min hour dom month dow), got ${fields.length}`,
    };
  const [minute = '', hour = '', dom = '', month = '', dow = ''] = fields;
  try {
    const daysOfWeek = field(dow, 0, 7, DAYS, 'day of week');
    if (daysOfWeek.has(7)) {
      daysOfWeek.delete(7);
      daysOfWeek.add(0);
    }
    return {
      kind: 'ok',
      cron: {
        minutes: field(minute, 0, 59, [], 'minute'),
        hours: field(hour, 0, 23, [], 'hour'),
        daysOfMonth: field(dom, 1, 31, [], 'day of month'),
        months: field(month, 1, 12, MONTHS, 'month'),
        daysOfWeek,
        isDayOfMonthAny: dom === '*' || dom === '?',
        isDayOfWeekAny: dow === '*' || dow === '?',
      },
    };
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
}

function field(
  spec: string,
  min: number,
  max: number,
  names: readonly string[],
  what: string,
): Set<number> {
  const values = new Set<number>();
  const offset = names === MONTHS ? 1 : 0;
  const value = (token: string): number => {
    const named = names.indexOf(token);
    const n = named >= 0 ? named + offset : /^\d+$/.test(token) ? Number(token) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${what}: '${token}' is not in ${min}-${max}`);
    return n;
  };
  for (const part of spec.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${what}: bad step '${stepText}'`);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      from = value(a);
      to = value(b);
      if (from > to) throw new Error(`${what}: range '${range}' runs backwards`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return values;
}

interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localTime(ms: number, timeZone: string): LocalTime {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(ms)) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: DAYS.indexOf((parts.weekday ?? '').toLowerCase().slice(0, 3)),
  };
}

const MINUTE_MS = 60_000;
/** Five years of search: an expression like `0 0 30 2 *` (30 February) never fires. */
const SEARCH_LIMIT_MS = 5 * 366 * 86_400_000;

/**
 * The first minute strictly after `afterMs` at which `cron` fires in `timeZone`, in ms since the
 * epoch; undefined if none within five years. Walks forward in whole minutes, skipping a
 * non-matching month, day or hour at a time, so it takes at most a few thousand steps.
 */
export function nextFireMs(cron: Cron, afterMs: number, timeZone: string): number | undefined {
  let t = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const limit = afterMs + SEARCH_LIMIT_MS;
  let previousLocalMinute = Number.NaN;
  while (t <= limit) {
    const local = localTime(t, timeZone);
    if (!cron.months.has(local.month) || !dayMatches(cron, local)) {
      t += (24 * 60 - local.hour * 60 - local.minute) * MINUTE_MS; // to the next local midnight
      continue;
    }
    if (!cron.hours.has(local.hour)) {
      t += (60 - local.minute) * MINUTE_MS;
      continue;
    }
    const localMinute = local.hour * 60 + local.minute;
    // Clocks went back: this local minute was already passed once; the first counts.
    if (
      cron.minutes.has(local.minute) &&
      localMinute !== previousLocalMinute &&
      !isRepeat(t, timeZone)
    )
      return t;
    previousLocalMinute = localMinute;
    t += MINUTE_MS;
  }
  return undefined;
}

function dayMatches(cron: Cron, local: LocalTime): boolean {
  const dom = cron.daysOfMonth.has(local.day);
  const dow = cron.daysOfWeek.has(local.weekday);
  if (cron.isDayOfMonthAny) return dow;
  if (cron.isDayOfWeekAny) return dom;
  return dom || dow;
}

/** True when the same local wall time also occurred within the previous two hours (a DST fold). */
function isRepeat(ms: number, timeZone: string): boolean {
  const now = localTime(ms, timeZone);
  for (const back of [60, 120, 30]) {
    const then = localTime(ms - back * MINUTE_MS, timeZone);
    if (
      then.day === now.day &&
      then.hour === now.hour &&
      then.minute === now.minute &&
      then.month === now.month
    )
      return true;
  }
  return false;
}
