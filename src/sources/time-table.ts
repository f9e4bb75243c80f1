import { LiveTable } from '../model/live-table.ts';
import { parsePeriod } from '../model/period.ts';
import type { Change } from '../model/table.ts';

export interface TimeTableOptions {
  /** Time of the first row (default: now). */
  readonly startTime?: Date;
}

/**
 * Adds one row per period with a `Timestamp` column (Deephaven's `time_table`). Rows carry the
 * scheduled instant, not the moment the timer fired, and a late timer catches up with every row
 * it missed. The timer keeps the process alive only while someone listens.
 */
export class TimeTable extends LiveTable {
  readonly appendOnly = true;
  readonly periodMs: number;
  #nextMs: number;
  #count = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(period: string | number, options: TimeTableOptions = {}) {
    super({ columns: [{ name: 'Timestamp', type: 'timestamp', nullable: false, unit: 'ns' }] });
    this.periodMs = typeof period === 'number' ? period : parsePeriod(period);
    this.#nextMs = options.startTime?.getTime() ?? Date.now();
    this.#tick();
  }

  #tick = (): void => {
    const now = Date.now();
    const changes: Change[] = [];
    while (this.#nextMs <= now) {
      const wholeMs = Math.floor(this.#nextMs);
      const nanos = BigInt(wholeMs) * 1_000_000n + BigInt(Math.round((this.#nextMs - wholeMs) * 1_000_000));
      changes.push({ kind: 'insert', id: this.#count++, row: { Timestamp: nanos } });
      this.#nextMs += this.periodMs;
    }
    this.emit(changes);
    if (!this.ended) {
      this.#timer = setTimeout(this.#tick, Math.max(0, this.#nextMs - Date.now()));
      if (this.listenerCount === 0) this.#timer.unref();
    }
  };

  protected override onListenersChanged(): void {
    if (this.listenerCount > 0) this.#timer?.ref();
    else this.#timer?.unref();
  }

  /** Stops ticking; the table ends. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.end();
  }
}

export function timeTable(period: string | number, options: TimeTableOptions = {}): TimeTable {
  return new TimeTable(period, options);
}
