import { ErrorCode, SpillwayError } from '../errors.ts';

// ISO-8601 durations: PnDTnHnMnS (fractions allowed on the last unit, as in PT0.1S), and the
// time-of-day form Deephaven accepts, PThh:mm:ss(.fff) — e.g. PT00:00:00.1 for 100 ms.
const DESIGNATORS = /^(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;
const CLOCK = /^PT(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/i;

/** Parses an ISO-8601 period to milliseconds (fractions of a millisecond are kept). */
export function parsePeriod(text: string): number {
  const trimmed = text.trim();
  const clock = CLOCK.exec(trimmed);
  let millis: number | undefined;
  if (clock !== null) {
    millis = (Number(clock[1]) * 3600 + Number(clock[2]) * 60 + Number(clock[3])) * 1000;
  } else {
    const parts = DESIGNATORS.exec(trimmed);
    if (parts !== null && trimmed.toUpperCase() !== 'P' && trimmed.toUpperCase() !== 'PT' && !/T$/i.test(trimmed)) {
      const [, negative, days, hours, minutes, seconds] = parts;
      millis =
        (Number(days ?? 0) * 86_400 + Number(hours ?? 0) * 3_600 + Number(minutes ?? 0) * 60 + Number(seconds ?? 0)) * 1000;
      if (negative !== undefined) millis = -millis;
    }
  }
  if (millis === undefined || !(millis > 0)) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `"${text}" is not a positive ISO-8601 period; write it like PT0.1S (100 ms), PT5S, PT1M30S, P1D, or PT00:00:00.1`,
    );
  }
  return millis;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1, millisecond: 1, milliseconds: 1, msec: 1, msecs: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
};
// Spark's interval strings ("5 seconds", "interval 1 minute 30 seconds") and short forms ("100ms", "2s").
const AMOUNT_AND_UNIT = /(\d+(?:\.\d+)?)\s*([a-z]+)/gi;

/**
 * Parses a duration to milliseconds: a number of milliseconds, an ISO-8601 period (PT5S), or an
 * interval as Spark writes it ("5 seconds", "interval 1 minute 30 seconds", "100ms").
 */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0) return value;
  } else if (/^-?P/i.test(value.trim())) {
    return parsePeriod(value);
  } else {
    const text = value.trim().replace(/^interval\s+/i, '');
    let millis = 0;
    let consumed = '';
    for (const [whole, amount, unit] of text.matchAll(AMOUNT_AND_UNIT)) {
      const factor = UNIT_MS[(unit ?? '').toLowerCase()];
      if (factor === undefined) {
        millis = Number.NaN;
        break;
      }
      millis += Number(amount) * factor;
      consumed += whole;
    }
    if (millis > 0 && consumed.replace(/\s+/g, '') === text.replace(/\s+/g, '')) return millis;
  }
  throw new SpillwayError(
    ErrorCode.InvalidConfig,
    `"${String(value)}" is not a positive duration; write milliseconds (5000), an interval ("5 seconds", "1 minute", "100ms") or an ISO-8601 period ("PT5S")`,
  );
}
