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
