/**
 * Flink's datagen connector as a table: rows generated at a steady rate, each column random
 * (numbers within min/max, strings and bytes of a length, timestamps up to max-past before now)
 * or a sequence from start to end. The table ends after number-of-rows rows, or when a sequence
 * is exhausted, or when closed. Values follow each column's type; nulls appear at null-rate.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
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
/** Rows handed over at once. */
const BATCH = 1_000;

function randomBetween(min: number, max: number, integer: boolean): number {
  if (!integer) return min + Math.random() * (max - min);
  const low = Math.ceil(min);
  const high = Math.floor(max);
  // Math.random's 52 bits spread any range of safe integers evenly enough for generated data (a
  // cryptographic draw per value cost more than the rest of the row).
  return Math.floor(low + Math.random() * (high - low + 1));
}

/**
 * Random strings over ALPHABET from a pool of random bytes: a byte below 252 (7 × 36) picks a
 * letter evenly; the rest are skipped. One draw of the pool serves many strings.
 */
const pool = Buffer.alloc(16_384);
let poolAt = pool.length;
const text = Buffer.alloc(256);

function randomText(length: number): string {
  const out = length <= text.length ? text : Buffer.alloc(length);
  for (let i = 0; i < length; ) {
    if (poolAt === pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const byte = pool[poolAt++] as number;
    if (byte < 252) out[i++] = ALPHABET.charCodeAt(byte % 36);
  }
  return out.toString('latin1', 0, length);
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
      return () => randomText(length);
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
      // At most BATCH rows at a time, so a high rate never builds its whole backlog at once.
      const end = Math.min(due, made + BATCH);
      const batch: Record<string, unknown>[] = [];
      for (; made < end; made++) {
        const row: Record<string, unknown> = {};
        for (const [name, make] of generators) row[name] = make();
        batch.push(row);
      }
      if (batch.length > 0) yield batch;
      if (made < due) continue;
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
