/**
 * Flux's sample data sets (`import "sampledata"`), as tables: the same rows, columns and group
 * key as Flux's stdlib, so Flux's examples run as written:
 *
 *   kafkaTo(sampledata.int(), { brokers: ['http://127.0.0.1:9092'], topic, name: 'example-metric-name', tagColumns: ['tag'] })
 *
 * Each set has twelve rows, `_time` (every 10 s from 2021-01-01T00:00:00Z), `tag` (`t1` for the
 * first six, `t2` for the rest; the group key, so Flux sees two tables, t1's then t2's) and
 * `_value`. `float` holds the base values, `int` and `uint` the same values converted as Flux's
 * `toInt()` and `toUInt()` convert them (truncated toward zero; a negative float to uint wraps
 * around, as Go's conversion does on amd64), `string` and `bool` their own values, `numericBool`
 * the booleans as 1 and 0. `includeNull: true` empties the five cells Flux empties (rows 2, 4
 * and 5 of t1, rows 1 and 5 of t2), and `_value` is then nullable.
 *
 * Spillway's columns have no unsigned 64-bit type, so `uint()`'s `_value` is a decimal of
 * precision 20 and scale 0, which keeps every value exact; the influx format writes such a
 * decimal as an integer field clamped to 2^63-1, the lines Flux writes for uint values.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { LiveTable } from '../model/live-table.ts';
import { type ColumnDeclaration, defineSchema, normalizeRow } from '../model/schema.ts';

/** Flux's `sampledata.start` and `sampledata.stop`: the first time of the sets, and one minute after. */
export const SAMPLEDATA_START = '2021-01-01T00:00:00Z';
export const SAMPLEDATA_STOP = '2021-01-01T00:01:00Z';

/** The group key of every sample data set: one Flux table per tag. */
export const SAMPLEDATA_GROUP_KEY: readonly string[] = Object.freeze(['tag']);

const START_NANOS = 1_609_459_200_000_000_000n;
const STEP_NANOS = 10_000_000_000n;

const NUMERIC = [-2.18, 10.92, 7.35, 17.53, 15.23, 4.43, 19.85, 4.97, -3.75, 19.77, 13.86, 1.86] as const;
const STRINGS = [
  'smpl_g9qczs', 'smpl_0mgv9n', 'smpl_phw664', 'smpl_guvzy4', 'smpl_5v3cce', 'smpl_s9fmgy',
  'smpl_b5eida', 'smpl_eu4oxp', 'smpl_5g7tz4', 'smpl_sox1ut', 'smpl_wfm757', 'smpl_dtn2bv',
] as const;
const BOOLS = [true, true, false, true, false, false, false, true, false, true, true, false] as const;
/** The cells `includeNull: true` empties, by row. */
const NULL_WHEN_ASKED: ReadonlySet<number> = new Set([1, 3, 4, 6, 10]);

const TWO_TO_64 = 2n ** 64n;

/** Go's uint64(float64) on amd64, which Flux's toUInt() runs: truncate, and wrap a negative around 2^64. */
function goUint64(value: number): string {
  const truncated = BigInt(Math.trunc(value));
  return (truncated < 0n ? truncated + TWO_TO_64 : truncated).toString();
}

const DATASETS = {
  float: { type: 'float64', value: (index: number) => NUMERIC[index] },
  int: { type: 'int64', value: (index: number) => BigInt(Math.trunc(NUMERIC[index] as number)) },
  uint: { type: { type: 'decimal', precision: 20, scale: 0 }, value: (index: number) => goUint64(NUMERIC[index] as number) },
  string: { type: 'string', value: (index: number) => STRINGS[index] },
  bool: { type: 'boolean', value: (index: number) => BOOLS[index] },
  numericBool: { type: 'int64', value: (index: number) => (BOOLS[index] === true ? 1n : 0n) },
} as const satisfies Record<string, { type: ColumnDeclaration; value: (index: number) => unknown }>;

export type SampleDataSet = keyof typeof DATASETS;

const optionsSchema = z.object({ includeNull: z.boolean().default(false) }).strict();

export interface SampleDataOptions {
  /** Empty the five cells Flux empties (default false). */
  readonly includeNull?: boolean;
}

/** A sample data set: a static table that knows its Flux group key. */
export class SampleDataTable extends LiveTable {
  readonly appendOnly = true;
  readonly dataset: SampleDataSet;
  readonly groupKey: readonly string[] = SAMPLEDATA_GROUP_KEY;

  constructor(dataset: SampleDataSet, options: SampleDataOptions = {}) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `sampledata.${dataset}(): ${parsed.error.issues
          .map((issue) => (issue.code === 'unrecognized_keys' ? `unknown option(s) ${issue.keys.map((key) => `"${key}"`).join(', ')}` : `${issue.path.join('.')}: ${issue.message}`))
          .join('; ')}; the only option is includeNull (true or false)`,
      );
    }
    const { includeNull } = parsed.data;
    const { type, value } = DATASETS[dataset];
    const declared = typeof type === 'string' ? { type } : type;
    const schema = defineSchema({ _time: 'timestamp', tag: 'string', _value: { ...declared, nullable: includeNull } });
    super(schema);
    this.dataset = dataset;
    const changes = NUMERIC.map((_, index) => ({
      kind: 'insert' as const,
      id: index,
      row: normalizeRow(
        schema,
        {
          _time: START_NANOS + BigInt(index % 6) * STEP_NANOS,
          tag: index < 6 ? 't1' : 't2',
          _value: includeNull && NULL_WHEN_ASKED.has(index) ? null : value(index),
        },
        `sampledata.${dataset}() row ${index}`,
      ),
    }));
    this.emit(changes);
    this.end();
  }

  /** A sample data set has ended from the start and holds nothing. */
  close(): void {}
}

/** Flux's `sampledata` package: `sampledata.int()`, `sampledata.float({ includeNull: true })`, … */
export const sampledata = {
  float: (options?: SampleDataOptions) => new SampleDataTable('float', options),
  int: (options?: SampleDataOptions) => new SampleDataTable('int', options),
  uint: (options?: SampleDataOptions) => new SampleDataTable('uint', options),
  string: (options?: SampleDataOptions) => new SampleDataTable('string', options),
  bool: (options?: SampleDataOptions) => new SampleDataTable('bool', options),
  numericBool: (options?: SampleDataOptions) => new SampleDataTable('numericBool', options),
  start: SAMPLEDATA_START,
  stop: SAMPLEDATA_STOP,
} as const;
