/**
 * Flink's datagen connector as a table: rows generated at a steady rate, each column random
 * (numbers within min/max, strings and bytes of a length, timestamps up to max-past before now)
 * or a sequence from start to end. The table ends after number-of-rows rows, or when a sequence
 * is exhausted, or when closed. Values follow each column's type; nulls appear at null-rate.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Column, Schema } from '../model/schema.ts';
import { type IterableTable, fromAsyncIterable } from './iterable-table.ts';

export interface DatagenFieldOptions {
  readonly kind: 'random' | 'sequence';
  readonly min?: number;
  readonly max?: number;
  readonly length?: number;
  readonly start?: bigint;
  readonly end?: bigint;
  readonly nullRate?: number;
  readonly maxPastMs?: number;
}

export interface DatagenOptions {
  readonly rowsPerSecond: number;
  readonly numberOfRows?: number;
  readonly fields?: Readonly<Record<string, DatagenFieldOptions>>;
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomBetween(min: number, max: number, integer: boolean): number {
  if (!integer) return min + Math.random() * (max - min);
  const low = Math.ceil(min);
  const high = Math.floor(max);
  // randomInt takes a range below 2^48; wider ranges fall back to Math.random.
  return high - low < 2 ** 47 ? randomInt(low, high + 1) : Math.floor(low + Math.random() * (high - low + 1));
}

function generator(column: Column, field: DatagenFieldOptions | undefined): () => unknown {
  const options = field ?? { kind: 'random' };
  if (options.kind === 'sequence') {
    let next = options.start ?? 0n;
    return () => {
      const value = next;
      next += 1n;
      switch (column.type) {
        case 'int32':
        case 'float64':
          return Number(value);
        case 'int64':
          return value;
        default:
          return value.toString();
      }
    };
  }
  const length = options.length ?? 100;
  switch (column.type) {
    case 'boolean':
      return () => Math.random() < 0.5;
    case 'int32':
      return () => randomBetween(options.min ?? INT32.min, options.max ?? INT32.max, true);
    case 'int64':
      return () => BigInt(randomBetween(options.min ?? Number.MIN_SAFE_INTEGER, options.max ?? Number.MAX_SAFE_INTEGER, true));
    case 'float64':
      return () => randomBetween(options.min ?? -1e9, options.max ?? 1e9, false);
    case 'decimal': {
      const scale = column.scale ?? 0;
      const digits = (column.precision ?? 10) - scale;
      const limit = Math.min(10 ** Math.min(digits, 15) - 1, Number.MAX_SAFE_INTEGER);
      return () => randomBetween(options.min ?? -limit, options.max ?? limit, false).toFixed(scale);
    }
    case 'string':
      return () => Array.from({ length }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    case 'bytes':
      return () => randomBytes(length);
    case 'date':
      return () => new Date(Date.now() - Math.random() * (options.maxPastMs ?? 0)).toISOString().slice(0, 10);
    case 'timestamp':
      return () => new Date(Date.now() - Math.random() * (options.maxPastMs ?? 0));
    case 'json':
      return () => ({ n: Math.random() });
  }
}

/** The number of rows a sequence allows, if any column is one. */
function sequenceRows(fields: Readonly<Record<string, DatagenFieldOptions>>): number | undefined {
  let rows: number | undefined;
  for (const field of Object.values(fields)) {
    if (field.kind !== 'sequence') continue;
    const count = Number((field.end ?? 0n) - (field.start ?? 0n) + 1n);
    rows = rows === undefined ? count : Math.min(rows, count);
  }
  return rows;
}

export interface DatagenTable {
  readonly table: IterableTable;
  /** Stops generating; the table ends. */
  close(): void;
}

/** A table of generated rows, as Flink's datagen connector makes them. */
export function datagenTable(schema: Schema, options: DatagenOptions): DatagenTable {
  const fields = options.fields ?? {};
  const generators = schema.columns.map((column) => {
    const field = fields[column.name];
    const make = generator(column, field);
    const nullRate = field?.nullRate ?? 0;
    return [column.name, nullRate > 0 ? () => (Math.random() < nullRate ? null : make()) : make] as const;
  });
  const limits = [options.numberOfRows, sequenceRows(fields)].filter((limit) => limit !== undefined);
  const total = limits.length === 0 ? Infinity : Math.min(...limits);
  const controller = new AbortController();
  // Rows go out in small batches ten times a second, so a high rate costs few timers.
  const tickMs = options.rowsPerSecond >= 10 ? 100 : 1000 / options.rowsPerSecond;
  async function* rows() {
    const started = Date.now();
    let made = 0;
    while (made < total && !controller.signal.aborted) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * options.rowsPerSecond) + 1);
      const batch: Record<string, unknown>[] = [];
      while (made < due) {
        batch.push(Object.fromEntries(generators.map(([name, make]) => [name, make()])));
        made++;
      }
      if (batch.length > 0) yield batch;
      if (made < total) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, tickMs);
          controller.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
      }
    }
  }
  const table = fromAsyncIterable(schema, rows());
  return { table, close: () => controller.abort() };
}
