/**
 * Aggregations for `aggBy`: what each one computes, the type of its output column, and the
 * per-group accumulators that the operator (in live-table.ts) adds rows to and removes rows from.
 * Every accumulator is exact and order-independent, so a group's aggregate after any sequence of
 * inserts, updates and deletes equals the aggregate of its current rows computed from scratch:
 * integer and decimal sums are exact bigints, float sums are exact until the final rounding, and
 * min/max keep a multiset of the group's values so deleting the current extreme falls back to the
 * next one without rescanning the group.
 *
 * Nulls are ignored as SQL ignores them: `count(column)`, `sum`, `avg`, `min` and `max` look only
 * at non-null values, and `sum`, `avg`, `min` and `max` of no non-null values are null.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError, zodIssuesError } from '../errors.ts';
import { type Column, type ColumnType, type Row, type Schema, type Value, keyOf, requireColumns } from './schema.ts';

const columnName = z.string().min(1);

export const aggregationSchema = z.discriminatedUnion('kind', [
  /** Rows in the group; with a column, the rows where that column is not null (SQL's COUNT(column)). */
  z.object({ kind: z.literal('count'), column: columnName.optional() }).strict(),
  z.object({ kind: z.literal('sum'), column: columnName }).strict(),
  z.object({ kind: z.literal('avg'), column: columnName }).strict(),
  z.object({ kind: z.literal('min'), column: columnName }).strict(),
  z.object({ kind: z.literal('max'), column: columnName }).strict(),
]);

export type Aggregation = z.output<typeof aggregationSchema>;

/** Output column name → aggregation, in output column order. */
export type Aggregations = Readonly<Record<string, Aggregation>>;

export const aggByOptionsSchema = z
  .object({
    /**
     * Keep a group's row when it has no rows (Deephaven's `preserveEmpty`): the group without keys
     * is there from the start (SQL's `SELECT count(*) FROM t` on an empty table), and a keyed group
     * stays, with count 0 and null aggregates, after its last row goes. Default: such rows are deleted.
     */
    preserveEmpty: z.boolean().default(false),
  })
  .strict();

export type AggByOptions = z.input<typeof aggByOptionsSchema>;

/** The number of rows in the group, or with a column, of rows where it is not null. Output: int64. */
export function count(column?: string): Aggregation {
  return column === undefined ? { kind: 'count' } : { kind: 'count', column };
}

/** The sum of a numeric column: int64 for int32/int64, float64 for float64, decimal for decimal. */
export function sum(column: string): Aggregation {
  return { kind: 'sum', column };
}

/** The mean of a numeric column, as float64. */
export function avg(column: string): Aggregation {
  return { kind: 'avg', column };
}

/** The smallest value of a column (any type but bytes and json), in the column's type. */
export function min(column: string): Aggregation {
  return { kind: 'min', column };
}

/** The largest value of a column (any type but bytes and json), in the column's type. */
export function max(column: string): Aggregation {
  return { kind: 'max', column };
}

/** Per group and aggregation: rows go in and out, the aggregate comes out. */
interface Accumulator {
  add(row: Row): void;
  remove(row: Row): void;
  result(): Value;
}

interface PlannedAggregation {
  readonly column: Column;
  readonly create: () => Accumulator;
}

/** The output schema of an aggregation, and how to make the accumulators of one group. */
export interface AggregationPlan {
  readonly schema: Schema;
  readonly keys: readonly string[];
  readonly preserveEmpty: boolean;
  newGroup(keyRow: Row): AggregationGroup;
}

/** One group's rows, summarized: its key values, row count and one accumulator per aggregation. */
export class AggregationGroup {
  readonly #keyRow: Row;
  readonly #accumulators: readonly Accumulator[];
  readonly #columns: readonly Column[];
  #rows = 0;

  constructor(keyRow: Row, columns: readonly Column[], accumulators: readonly Accumulator[]) {
    this.#keyRow = keyRow;
    this.#columns = columns;
    this.#accumulators = accumulators;
  }

  get rowCount(): number {
    return this.#rows;
  }

  add(row: Row): void {
    this.#rows++;
    for (const accumulator of this.#accumulators) accumulator.add(row);
  }

  remove(row: Row): void {
    this.#rows--;
    for (const accumulator of this.#accumulators) accumulator.remove(row);
  }

  /** The group's output row: key columns, then each aggregate. */
  output(): Row {
    const row: Record<string, Value> = { ...this.#keyRow };
    this.#accumulators.forEach((accumulator, index) => {
      row[(this.#columns[index] as Column).name] = accumulator.result();
    });
    return row;
  }
}

const numericTypes: ReadonlySet<ColumnType> = new Set(['int32', 'int64', 'float64', 'decimal']);
const unorderedTypes: ReadonlySet<ColumnType> = new Set(['bytes', 'json']);

/**
 * Checks the aggregations against the input schema and derives the output schema: the key
 * columns, then one column per aggregation, keyed by the key columns. A sum, avg, min or max
 * column is nullable when its input column is (a group has rows, so it has a value otherwise),
 * and always when empty groups are kept.
 */
export function planAggregations(input: Schema, aggregations: Aggregations, keys: readonly string[], options: AggByOptions = {}): AggregationPlan {
  const parsedOptions = aggByOptionsSchema.safeParse(options);
  if (!parsedOptions.success) {
    throw zodIssuesError(parsedOptions.error.issues.slice(0, 1), { subject: 'aggBy options', root: 'options', layout: 'inline', hint: 'the options are { preserveEmpty?: boolean }' });
  }
  const { preserveEmpty } = parsedOptions.data;
  const keyColumns = requireColumns(input, keys, 'aggBy keys');
  if (new Set(keys).size !== keys.length) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `aggBy keys name a column twice (${keys.join(', ')}); list each key column once`);
  }
  const planned: PlannedAggregation[] = Object.entries(aggregations).map(([name, declared]) => {
    const parsed = aggregationSchema.safeParse(declared);
    if (!parsed.success) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `aggBy column "${name}" is not an aggregation (${parsed.error.issues[0]?.message ?? 'invalid'}); ` +
          `use count(), count(column), sum(column), avg(column), min(column) or max(column)`,
      );
    }
    if (keys.includes(name)) {
      throw new SpillwayError(ErrorCode.InvalidConfig, `aggBy column "${name}" has the name of a key column; give the aggregation another name`);
    }
    return planOne(input, name, parsed.data, preserveEmpty);
  });
  const columns = planned.map((entry) => entry.column);
  return {
    schema: { columns: [...keyColumns, ...columns], primaryKey: [...keys] },
    keys,
    preserveEmpty,
    newGroup: (keyRow) => new AggregationGroup(keyRow, columns, planned.map((entry) => entry.create())),
  };
}

function planOne(input: Schema, name: string, aggregation: Aggregation, preserveEmpty: boolean): PlannedAggregation {
  if (aggregation.kind === 'count') {
    const counted = aggregation.column;
    if (counted !== undefined) requireColumns(input, [counted], `aggBy count("${counted}")`);
    return { column: { name, type: 'int64', nullable: false }, create: () => new CountAccumulator(counted) };
  }
  const [source] = requireColumns(input, [aggregation.column], `aggBy ${aggregation.kind}("${aggregation.column}")`) as [Column];
  const nullable = source.nullable || preserveEmpty;
  const call = `aggBy column "${name}": ${aggregation.kind}("${source.name}")`;
  switch (aggregation.kind) {
    case 'sum':
    case 'avg': {
      if (!numericTypes.has(source.type)) {
        throw new SpillwayError(
          ErrorCode.UnknownColumn,
          `${call} needs a numeric column (int32, int64, float64 or decimal) but "${source.name}" is ${source.type}`,
        );
      }
      const create = (): SumAccumulator =>
        source.type === 'float64'
          ? new FloatSum(source.name)
          : source.type === 'decimal'
            ? new DecimalSum(source.name)
            : new IntegerSum(source.name, call);
      if (aggregation.kind === 'avg') {
        return { column: { name, type: 'float64', nullable }, create: () => new AverageAccumulator(create()) };
      }
      const type: ColumnType = source.type === 'int32' ? 'int64' : source.type;
      return {
        column: { name, type, nullable, ...(source.type === 'decimal' && source.scale !== undefined ? { scale: source.scale } : {}) },
        create,
      };
    }
    case 'min':
    case 'max': {
      if (unorderedTypes.has(source.type)) {
        throw new SpillwayError(
          ErrorCode.UnknownColumn,
          `${call}: "${source.name}" is ${source.type}, which has no order; min and max take boolean, numbers, decimal, string, date or timestamp columns`,
        );
      }
      const { name: _sourceName, nullable: _nullable, ...typeDetails } = source;
      const order = orderOf(source.type);
      const direction = aggregation.kind === 'min' ? 1 : -1;
      return {
        column: { ...typeDetails, name, nullable },
        create: () => new ExtremeAccumulator(source.name, order, direction),
      };
    }
  }
}

class CountAccumulator implements Accumulator {
  readonly #column: string | undefined;
  #count = 0;

  constructor(column: string | undefined) {
    this.#column = column;
  }

  #counts(row: Row): boolean {
    return this.#column === undefined || (row[this.#column] ?? null) !== null;
  }

  add(row: Row): void {
    if (this.#counts(row)) this.#count++;
  }

  remove(row: Row): void {
    if (this.#counts(row)) this.#count--;
  }

  result(): Value {
    return BigInt(this.#count);
  }
}

/** A sum that also reports its count of non-null values and its value as a double (for avg). */
interface SumAccumulator extends Accumulator {
  readonly nonNull: number;
  asNumber(): number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class IntegerSum implements SumAccumulator {
  readonly #column: string;
  readonly #call: string;
  #total = 0n;
  nonNull = 0;

  constructor(column: string, call: string) {
    this.#column = column;
    this.#call = call;
  }

  add(row: Row): void {
    const value = row[this.#column] ?? null;
    if (value === null) return;
    this.#total += BigInt(value as number | bigint);
    this.nonNull++;
  }

  remove(row: Row): void {
    const value = row[this.#column] ?? null;
    if (value === null) return;
    this.#total -= BigInt(value as number | bigint);
    this.nonNull--;
  }

  asNumber(): number {
    return Number(this.#total);
  }

  /** The running total is an unbounded bigint, so only the reported sum has to fit in int64. */
  result(): Value {
    if (this.nonNull === 0) return null;
    if (this.#total < INT64_MIN || this.#total > INT64_MAX) {
      throw new SpillwayError(
        ErrorCode.InvalidValue,
        `${this.#call} is ${this.#total}, beyond int64; sum a decimal copy of the column instead ` +
          `(update({ ${this.#column}Exact: { type: 'decimal', formula: (row) => row.${this.#column} } })), whose sum has no bound`,
      );
    }
    return this.#total;
  }
}

/**
 * Exact float sums. Every finite double is an integer multiple of 2^-1074, so the sum of any
 * doubles, scaled by 2^1074, is an exact bigint; adding and removing values in any order gives the
 * same total, and only the reported value is rounded (once, to nearest, ties to even). Infinities
 * and NaN are counted apart: any NaN, or both infinities, make the sum NaN, as IEEE-754 does.
 */
class FloatSum implements SumAccumulator {
  readonly #column: string;
  #scaled = 0n;
  #nan = 0;
  #positiveInfinity = 0;
  #negativeInfinity = 0;
  nonNull = 0;

  constructor(column: string) {
    this.#column = column;
  }

  #apply(row: Row, sign: 1 | -1): void {
    const value = row[this.#column] ?? null;
    if (value === null) return;
    const number = value as number;
    this.nonNull += sign;
    if (Number.isNaN(number)) this.#nan += sign;
    else if (number === Infinity) this.#positiveInfinity += sign;
    else if (number === -Infinity) this.#negativeInfinity += sign;
    else if (sign === 1) this.#scaled += scaledDouble(number);
    else this.#scaled -= scaledDouble(number);
  }

  add(row: Row): void {
    this.#apply(row, 1);
  }

  remove(row: Row): void {
    this.#apply(row, -1);
  }

  asNumber(): number {
    if (this.#nan > 0 || (this.#positiveInfinity > 0 && this.#negativeInfinity > 0)) return Number.NaN;
    if (this.#positiveInfinity > 0) return Infinity;
    if (this.#negativeInfinity > 0) return -Infinity;
    return unscaledDouble(this.#scaled);
  }

  result(): Value {
    return this.nonNull === 0 ? null : this.asNumber();
  }
}

const doubleView = new DataView(new ArrayBuffer(8));

/** A finite double times 2^1074, exactly, read from its IEEE-754 fields. */
export function scaledDouble(value: number): bigint {
  doubleView.setFloat64(0, value);
  const bits = doubleView.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xf_ffff_ffff_ffffn;
  // Normal: (2^52 + fraction) · 2^(exponent − 1075); subnormal: fraction · 2^−1074.
  const magnitude = exponent === 0 ? fraction : (fraction | (1n << 52n)) << BigInt(exponent - 1);
  return bits >> 63n === 1n ? -magnitude : magnitude;
}

/** The double nearest to `scaled` · 2^-1074 (ties to even), overflowing to ±Infinity. */
export function unscaledDouble(scaled: bigint): number {
  if (scaled === 0n) return 0;
  const negative = scaled < 0n;
  let magnitude = negative ? -scaled : scaled;
  // Keep 61–64 significant bits and fold the dropped ones into a sticky bit, so Number() rounds
  // once and correctly; a value that long is a normal double, so the power of two scales exactly.
  const shift = Math.max(0, magnitude.toString(16).length * 4 - 64);
  if (shift > 0) {
    const dropped = magnitude & ((1n << BigInt(shift)) - 1n);
    magnitude >>= BigInt(shift);
    if (dropped !== 0n) magnitude |= 1n;
  }
  const result = Number(magnitude) * 2 ** (shift - 1074);
  return negative ? -result : result;
}

interface DecimalParts {
  readonly unscaled: bigint;
  readonly scale: number;
}

/** A normalized decimal string ("-12.50") as unscaled digits and a scale. */
function decimalParts(text: string): DecimalParts {
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  const dot = digits.indexOf('.');
  const unscaled = BigInt(dot === -1 ? digits : digits.slice(0, dot) + digits.slice(dot + 1));
  return { unscaled: negative ? -unscaled : unscaled, scale: dot === -1 ? 0 : digits.length - dot - 1 };
}

function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}

/**
 * Exact decimal sums, kept per scale so the result has the largest scale among the group's
 * current values ("1.5" + "2.25" = "3.75"; after removing "2.25", "1.5" again).
 */
class DecimalSum implements SumAccumulator {
  readonly #column: string;
  readonly #byScale = new Map<number, { total: bigint; count: number }>();
  nonNull = 0;

  constructor(column: string) {
    this.#column = column;
  }

  #apply(row: Row, sign: 1 | -1): void {
    const value = row[this.#column] ?? null;
    if (value === null) return;
    const { unscaled, scale } = decimalParts(value as string);
    const entry = this.#byScale.get(scale) ?? { total: 0n, count: 0 };
    entry.total += sign === 1 ? unscaled : -unscaled;
    entry.count += sign;
    if (entry.count === 0) this.#byScale.delete(scale);
    else this.#byScale.set(scale, entry);
    this.nonNull += sign;
  }

  add(row: Row): void {
    this.#apply(row, 1);
  }

  remove(row: Row): void {
    this.#apply(row, -1);
  }

  #total(): DecimalParts {
    const scale = Math.max(0, ...this.#byScale.keys());
    let unscaled = 0n;
    for (const [entryScale, entry] of this.#byScale) unscaled += entry.total * 10n ** BigInt(scale - entryScale);
    return { unscaled, scale };
  }

  asNumber(): number {
    const { unscaled, scale } = this.#total();
    return Number(formatDecimal(unscaled, scale));
  }

  result(): Value {
    if (this.nonNull === 0) return null;
    const { unscaled, scale } = this.#total();
    return formatDecimal(unscaled, scale);
  }
}

class AverageAccumulator implements Accumulator {
  readonly #sum: SumAccumulator;

  constructor(sum: SumAccumulator) {
    this.#sum = sum;
  }

  add(row: Row): void {
    this.#sum.add(row);
  }

  remove(row: Row): void {
    this.#sum.remove(row);
  }

  result(): Value {
    return this.#sum.nonNull === 0 ? null : this.#sum.asNumber() / this.#sum.nonNull;
  }
}

/** How min and max order a column's values: a sortable rank per value, and its comparison. */
interface Order {
  rank(value: Value): unknown;
  compare(a: unknown, b: unknown): number;
}

const naturalOrder: Order = {
  rank: (value) => value,
  compare: (a, b) => ((a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0),
};

/** NaN sorts above every number, as PostgreSQL orders it, so min/max of doubles are total. */
const doubleOrder: Order = {
  rank: (value) => value,
  compare: (a, b) => {
    const x = a as number;
    const y = b as number;
    if (Number.isNaN(x) || Number.isNaN(y)) return Number(Number.isNaN(x)) - Number(Number.isNaN(y));
    return x < y ? -1 : x > y ? 1 : 0;
  },
};

const decimalOrder: Order = {
  rank: (value) => decimalParts(value as string),
  compare: (a, b) => {
    const x = a as DecimalParts;
    const y = b as DecimalParts;
    const left = x.unscaled * 10n ** BigInt(Math.max(0, y.scale - x.scale));
    const right = y.unscaled * 10n ** BigInt(Math.max(0, x.scale - y.scale));
    return left < right ? -1 : left > right ? 1 : 0;
  },
};

/** Booleans: false before true. Strings and dates ("YYYY-MM-DD") by UTF-16 code units. */
function orderOf(type: ColumnType): Order {
  if (type === 'float64') return doubleOrder;
  if (type === 'decimal') return decimalOrder;
  return naturalOrder;
}

interface MultisetEntry {
  readonly identity: string;
  readonly value: Value;
  readonly rank: unknown;
  /** Copies of the value in the group; 0 while the entry waits in the heap to be dropped. */
  count: number;
}

/**
 * The smallest (direction 1) or largest (direction -1) non-null value of a column in a group.
 * A count per distinct value, plus a binary heap of the distinct values: adding is O(log d),
 * removing a copy is O(1), and when the extreme's last copy goes, entries whose count fell to zero
 * are popped lazily (amortized O(log d)). Dead entries elsewhere in the heap are compacted away
 * once they outnumber the live ones, so the heap stays within twice the distinct values.
 */
class ExtremeAccumulator implements Accumulator {
  readonly #column: string;
  readonly #order: Order;
  readonly #direction: 1 | -1;
  readonly #entries = new Map<string, MultisetEntry>();
  #heap: MultisetEntry[] = [];
  #dead = 0;

  constructor(column: string, order: Order, direction: 1 | -1) {
    this.#column = column;
    this.#order = order;
    this.#direction = direction;
  }

  #above(a: MultisetEntry, b: MultisetEntry): boolean {
    return this.#order.compare(a.rank, b.rank) * this.#direction < 0;
  }

  add(row: Row): void {
    const value = row[this.#column] ?? null;
    if (value === null) return;
    const identity = keyOf(row, [this.#column]);
    const entry = this.#entries.get(identity);
    if (entry !== undefined) {
      if (entry.count === 0) this.#dead--;
      entry.count++;
      return;
    }
    const created: MultisetEntry = { identity, value, rank: this.#order.rank(value), count: 1 };
    this.#entries.set(identity, created);
    this.#heap.push(created);
    this.#siftUp(this.#heap.length - 1);
  }

  remove(row: Row): void {
    const value = row[this.#column] ?? null;
    if (value === null) return;
    const entry = this.#entries.get(keyOf(row, [this.#column]));
    if (entry === undefined || entry.count === 0) {
      throw new SpillwayError(ErrorCode.Internal, `aggBy: removed a value of "${this.#column}" the group does not hold`);
    }
    entry.count--;
    if (entry.count > 0) return;
    this.#dead++;
    if (this.#dead > 16 && this.#dead * 2 > this.#heap.length) this.#compact();
  }

  result(): Value {
    let top = this.#heap[0];
    while (top !== undefined && top.count === 0) {
      this.#popTop();
      top = this.#heap[0];
    }
    return top === undefined ? null : top.value;
  }

  #popTop(): void {
    const top = this.#heap[0] as MultisetEntry;
    this.#entries.delete(top.identity);
    this.#dead--;
    const last = this.#heap.pop() as MultisetEntry;
    if (this.#heap.length > 0) {
      this.#heap[0] = last;
      this.#siftDown(0);
    }
  }

  #compact(): void {
    this.#heap = this.#heap.filter((entry) => entry.count > 0);
    for (const [identity, entry] of this.#entries) if (entry.count === 0) this.#entries.delete(identity);
    this.#dead = 0;
    for (let index = (this.#heap.length >> 1) - 1; index >= 0; index--) this.#siftDown(index);
  }

  #siftUp(start: number): void {
    const heap = this.#heap;
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#above(heap[index] as MultisetEntry, heap[parent] as MultisetEntry)) break;
      [heap[index], heap[parent]] = [heap[parent] as MultisetEntry, heap[index] as MultisetEntry];
      index = parent;
    }
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let best = index;
      if (left < heap.length && this.#above(heap[left] as MultisetEntry, heap[best] as MultisetEntry)) best = left;
      if (right < heap.length && this.#above(heap[right] as MultisetEntry, heap[best] as MultisetEntry)) best = right;
      if (best === index) return;
      [heap[index], heap[best]] = [heap[best] as MultisetEntry, heap[index] as MultisetEntry];
      index = best;
    }
  }
}
