import { z } from 'zod';
import { ErrorCode, SpillwayError, zodIssuesError } from '../errors.ts';
import { LiveTable } from '../model/live-table.ts';
import { parsePeriod } from '../model/period.ts';
import { PositionKind, type SourcePosition, type TimePosition } from '../model/position.ts';
import type { Change, RowId } from '../model/table.ts';
import { type ResumableSource, checkResumePosition } from './source.ts';

/** The most rows one batch holds when many are due at once (a late timer, a resume). */
const MAX_ROWS_PER_BATCH = 16_384;

export interface TimeTableOptions {
  /** Time of the first row (default: now). */
  readonly startTime?: Date;
}

/** The options checked at run time, for callers the types do not reach (JavaScript, parsed config). */
const timeTableOptionsSchema = z.object({ startTime: z.date('give startTime as a valid Date').optional() }).strict();

/**
 * Adds one row per period with a `Timestamp` column (Deephaven's `time_table`). Rows carry the
 * scheduled instant, not the moment the timer fired, and a late timer catches up with every row
 * it missed. The timer keeps the process alive only while someone listens. While a sink
 * downstream is full (its gate closed), no rows are made; the ones due meanwhile come together
 * when it has room.
 *
 * Row n's Timestamp is the first row's plus n periods, in whole nanoseconds, so a table resumed
 * from row n (`resumeFrom`) gives exactly the rows, ids and timestamps the first run would have
 * given from there on; rows scheduled while nothing ran are caught up at once.
 */
export class TimeTable extends LiveTable implements ResumableSource {
  readonly appendOnly = true;
  readonly capabilities = { replayable: true, positionKind: PositionKind.Time } as const;
  readonly periodMs: number;
  readonly #period: string | number;
  readonly #periodNs: bigint;
  /** The Timestamp of the row with sequence #firstSequence. */
  readonly #firstNs: bigint;
  readonly #firstSequence: number;
  #count: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(period: string | number, options: TimeTableOptions = {}, resume?: TimePosition) {
    super({ columns: [{ name: 'Timestamp', type: 'timestamp', nullable: false, unit: 'ns' }] });
    this.#period = period;
    this.periodMs = typeof period === 'number' ? period : parsePeriod(period);
    this.#periodNs = BigInt(Math.round(this.periodMs * 1_000_000));
    if (this.#periodNs <= 0n) {
      throw new SpillwayError(ErrorCode.InvalidConfig, `timeTable(${JSON.stringify(period)}): the period must be at least one nanosecond; give a period such as 'PT1S'`);
    }
    const checked = timeTableOptionsSchema.safeParse(options);
    if (!checked.success) throw zodIssuesError(checked.error.issues, { subject: `timeTable(${JSON.stringify(period)})`, root: 'options', fieldPrefix: 'option ', layout: 'inline' });
    this.#firstSequence = resume?.sequence ?? 0;
    this.#firstNs = resume === undefined ? BigInt(options.startTime?.getTime() ?? Date.now()) * 1_000_000n : BigInt(resume.timestampNs);
    this.#count = this.#firstSequence;
    this.#tick();
  }

  /** Rows go to the listeners and are not kept (see Table.retainRows). */
  protected override get streams(): boolean {
    return true;
  }

  get description(): string {
    return `time table ${JSON.stringify(this.#period)}`;
  }

  override get position(): TimePosition {
    return { kind: PositionKind.Time, sequence: this.#count, timestampNs: String(this.#timestampNs(this.#count)) };
  }

  /** Row ids are sequence numbers: row `id` was emitted by a position whose next sequence is past it. */
  rowEmittedBy(id: RowId, position: SourcePosition): boolean | undefined {
    if (position.kind !== PositionKind.Time || typeof id !== 'number') return undefined;
    return id < position.sequence;
  }

  /** The same time table from row `position.sequence` on, at its scheduled time; rows already due arrive at once. */
  resumeFrom(position: SourcePosition): TimeTable {
    return new TimeTable(this.#period, {}, checkResumePosition('timeTable', PositionKind.Time, position));
  }

  #timestampNs(sequence: number): bigint {
    return this.#firstNs + BigInt(sequence - this.#firstSequence) * this.#periodNs;
  }

  #tick = (): void => {
    if (this.ended) return;
    if (!this.writable) {
      // Backpressure: rows due while a sink downstream is full are not made until it has room,
      // then all at once (their timestamps stay the scheduled ones).
      void this.whenWritable().then(this.#tick);
      return;
    }
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const changes: Change[] = [];
    while (changes.length < MAX_ROWS_PER_BATCH && this.#timestampNs(this.#count) <= nowNs) {
      changes.push({ kind: 'insert', id: this.#count, row: { Timestamp: this.#timestampNs(this.#count) } });
      this.#count++;
    }
    this.emit(changes, this.position);
    if (this.ended) return;
    if (changes.length === MAX_ROWS_PER_BATCH) {
      // More are due: the rest come in further batches, each after the gate check, so a long
      // catch-up neither builds one huge batch nor runs past a full sink.
      this.#timer = setTimeout(this.#tick, 0);
      if (this.listenerCount === 0) this.#timer.unref();
    } else {
      // Rounded up, so the timer never fires before the row is due and spins.
      const dueMs = Number((this.#timestampNs(this.#count) + 999_999n) / 1_000_000n);
      this.#timer = setTimeout(this.#tick, Math.max(0, dueMs - Date.now()));
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
