/**
 * Flink's datagen connector as a table: rows generated at a steady rate, each column random
 * (numbers within min/max, strings and bytes of a length, timestamps up to max-past before now)
 * or a sequence from start to end. The table ends after number-of-rows rows, or when a sequence
 * is exhausted, or when closed. Values follow each column's type; nulls appear at null-rate.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { type Column, type Schema, literalKey } from '../model/schema.ts';
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
 * Random strings over ALPHABET, cut from a pool of random letters: each random byte below 252
 * (7 × 36) picks a letter evenly and the rest are skipped, a pool at a time, so a string costs
 * one copy of its letters (a loop over bytes and a text made per string cost twice as much).
 */
const LETTER_OF_BYTE = Uint8Array.from({ length: 252 }, (_, byte) => ALPHABET.charCodeAt(byte % 36));
const randomPool = Buffer.alloc(16_384);
const letters = Buffer.alloc(randomPool.length);
let lettersAt = 0;
let lettersEnd = 0;

function refillLetters(): void {
  randomFillSync(randomPool);
  let end = 0;
  for (let i = 0; i < randomPool.length; i++) {
    const byte = randomPool[i] as number;
    if (byte < 252) letters[end++] = LETTER_OF_BYTE[byte] as number;
  }
  lettersAt = 0;
  lettersEnd = end;
}

function randomText(length: number): string {
  let text = '';
  // A string longer than a pool's letters takes several pools.
  while (text.length < length) {
    if (lettersAt === lettersEnd) refillLetters();
    const take = Math.min(length - text.length, lettersEnd - lettersAt);
    text += letters.toString('latin1', lettersAt, lettersAt + take);
    lettersAt += take;
  }
  return text;
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

/**
 * One function that makes a row as one object literal, a value from each column's maker: one
 * shape built at once (four times faster than setting the fields one by one).
 */
function compileRowMaker(schema: Schema, makers: readonly (() => unknown)[]): () => Record<string, unknown> {
  const fields = schema.columns.map((column, index) => `${literalKey(column.name)}: makers[${index}]()`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the column names (as JSON strings) only
  const factory = new Function('makers', `"use strict";\nreturn function makeRow() {\nreturn { ${fields.join(', ')} };\n};`) as (makers: readonly (() => unknown)[]) => () => Record<string, unknown>;
  return factory(makers);
}

/** A table of generated rows, as Flink's datagen connector makes them. */
export function datagenTable(schema: Schema, options: DatagenOptions): DatagenTable {
  const fields = options.fields ?? {};
  const makers = schema.columns.map((column) => {
    const field = fields[column.name];
    const make = generator(column, field);
    const nullRate = field?.nullRate ?? 0;
    return nullRate > 0 ? () => (Math.random() < nullRate ? null : make()) : make;
  });
  const makeRow = compileRowMaker(schema, makers);
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
      for (; made < end; made++) batch.push(makeRow());
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
