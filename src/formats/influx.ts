/**
 * Influx line protocol, as Flux's `kafka.to` writes it: one line per row,
 *
 *   measurement[,tagKey=tagValue…] fieldKey=fieldValue[,fieldKey=fieldValue…] [timestamp]
 *
 * The rules this encoder keeps (those of the line-protocol library Flux encodes with):
 * - The measurement escapes commas and spaces with a backslash; tag keys, tag values and field
 *   keys also escape `=`. Tab, newline, form feed and carriage return become `\t`, `\n`, `\f` and
 *   `\r` everywhere, so a line never breaks. Nothing else (a backslash included) is escaped there.
 * - String field values are double-quoted; inside, `"` and `\` are backslash-escaped (and the four
 *   control characters as above).
 * - Integers carry an `i` suffix (`42i`); floats are written in plain decimal notation with the
 *   fewest digits that read back as the same double (`2`, `0.1`, `1000000000000000000000`, never an
 *   exponent); NaN and ±Infinity have no line-protocol form and are refused; booleans are `true` /
 *   `false`.
 * - Tags come in the table's column order; fields are sorted by key (byte order), as Flux sorts
 *   them. A tag whose value is null or empty is left out (line protocol cannot say "empty").
 * - The timestamp is nanoseconds since the epoch.
 * - A measurement, tag or field key ending in a backslash would escape the separator after it;
 *   Flux writes such a broken line, Spillway refuses it. Decimals (which Flux lacks) are written
 *   as their exact digits, a float field; a decimal of scale 0 is a whole number and is written
 *   as an integer field, clamped to 9223372036854775807i above 2^63-1 as Flux's encoder clamps
 *   its unsigned integers (Spillway's unsigned values, such as `sampledata.uint()`'s, are such
 *   decimals), and refused below -2^63.
 * - Nulls: Flux reads a null cell as its type's zero value, so a null field is written as `0`,
 *   `0i`, `false` or `""` and a null time as `0` (`nulls: 'zero'`, the default). `nulls: 'omit'`
 *   leaves null fields out instead (a line left with no field is refused) and writes a line whose
 *   time is null without a timestamp. A null or empty measurement is refused either way.
 *
 * Flux's record key is the line's XXH64 digest (8 bytes, little-endian): `output: 'xxhash64'`
 * gives that digest instead of the line, so the same spec serves as key and value.
 *
 * Everything that depends on the schema (column positions, escaped keys, field order, renderers)
 * is worked out once when the encoder is built.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type Column, type Row, type Schema, requireColumns } from '../model/schema.ts';
import { type Encoder, rowCapabilities } from './encoder.ts';
import { xxhash64LittleEndian } from './xxhash64.ts';

const columnName = z.string().min(1);

export const influxSpecSchema = z
  .object({
    kind: z.literal('influx'),
    /** One measurement name for every line (Flux's `name`); not with `nameColumn`. */
    name: z.string().min(1).optional(),
    /** The string column holding each line's measurement (Flux's `nameColumn`); default `_measurement`. */
    nameColumn: columnName.optional(),
    /** String columns written as tags, in the table's column order; default none. */
    tagColumns: z.array(columnName).optional(),
    /** Columns written as fields (sorted by name in the line); default `["_value"]`. */
    valueColumns: z.array(columnName).min(1).optional(),
    /** The timestamp column, written in nanoseconds; default `_time`; null writes lines without a timestamp. */
    timeColumn: columnName.nullable().optional(),
    /** A null field: its type's zero value, as Flux writes it (`zero`, the default), or left out (`omit`). */
    nulls: z.enum(['zero', 'omit']).optional(),
    /** `line` (default): the line's bytes; `xxhash64`: its XXH64 digest, 8 bytes little-endian (Flux's record key). */
    output: z.enum(['line', 'xxhash64']).optional(),
  })
  .strict()
  .refine((spec) => spec.name === undefined || spec.nameColumn === undefined, {
    path: ['nameColumn'],
    message: "give name or nameColumn, not both: name is every line's measurement, nameColumn the column each line's is read from",
  });
export type InfluxSpec = z.output<typeof influxSpecSchema>;

/**
 * Flux's defaults, applied when the spec is compiled (the schema leaves them out so that a spec
 * reads the same before and after validation).
 */
export const INFLUX_DEFAULTS = {
  nameColumn: '_measurement',
  tagColumns: [] as readonly string[],
  valueColumns: ['_value'] as readonly string[],
  timeColumn: '_time',
  nulls: 'zero',
  output: 'line',
} as const;

const CONTROL_ESCAPES: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };
const MEASUREMENT_SPECIALS = /[\t\n\f\r ,]/g;
const KEY_SPECIALS = /[\t\n\f\r ,=]/g;
const STRING_FIELD_SPECIALS = /[\t\n\f\r"\\]/g;

function escapeWith(pattern: RegExp): (text: string) => string {
  const probe = new RegExp(pattern.source);
  const replace = (special: string) => CONTROL_ESCAPES[special] ?? `\\${special}`;
  return (text) => (probe.test(text) ? text.replace(pattern, replace) : text);
}

/** Escapes a measurement name: commas, spaces and the four control characters. */
export const escapeMeasurement = escapeWith(MEASUREMENT_SPECIALS);
/** Escapes a tag key, tag value or field key: commas, equals signs, spaces and control characters. */
export const escapeKey = escapeWith(KEY_SPECIALS);
/** Escapes the inside of a string field value: double quotes, backslashes and control characters. */
export const escapeStringField = escapeWith(STRING_FIELD_SPECIALS);

/**
 * A double in plain decimal notation with the fewest digits that round-trip (Go's
 * `strconv.FormatFloat(v, 'f', -1, 64)`). JavaScript picks the same shortest digits but switches
 * to exponent form outside [1e-7, 1e21), so those are expanded here.
 */
export function formatFloat(value: number): string {
  if (Object.is(value, -0)) return '-0';
  const text = String(value);
  const exponentAt = text.indexOf('e');
  if (exponentAt < 0) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, exponentAt);
  const exponent = Number(text.slice(exponentAt + 1));
  const pointAt = mantissa.indexOf('.');
  const digits = pointAt < 0 ? mantissa : mantissa.slice(0, pointAt) + mantissa.slice(pointAt + 1);
  const point = (pointAt < 0 ? mantissa.length : pointAt) + exponent;
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${plain}` : plain;
}

type FieldValue = NonNullable<Row[string]>;

interface FieldWriter {
  readonly column: string;
  /** `key=` with the key escaped. */
  readonly prefix: string;
  readonly render: (value: FieldValue) => string;
  /** What Flux writes for a null of this type. */
  readonly zero: string;
}

const FIELD_TYPES: readonly Column['type'][] = ['float64', 'int32', 'int64', 'decimal', 'boolean', 'string'];

function fieldRenderer(column: Column): Pick<FieldWriter, 'render' | 'zero'> {
  switch (column.type) {
    case 'float64':
      return {
        zero: '0',
        render: (value) => {
          const number = value as number;
          if (!Number.isFinite(number)) {
            throw new SpillwayError(
              ErrorCode.EncodeFailed,
              `field column "${column.name}" holds ${String(number)} (float64), which line protocol cannot represent; filter it out with where() or map it to a number`,
            );
          }
          return formatFloat(number);
        },
      };
    case 'int32':
    case 'int64':
      return { zero: '0i', render: (value) => `${(value as number | bigint).toString()}i` };
    case 'decimal':
      if (column.scale === 0) return { zero: '0i', render: (value) => wholeDecimalField(column, value as string) };
      // A decimal's exact digits read back as a line-protocol float.
      return { zero: '0', render: (value) => value as string };
    case 'boolean':
      return { zero: 'false', render: (value) => (value === true ? 'true' : 'false') };
    case 'string':
      return { zero: '""', render: (value) => `"${escapeStringField(value as string)}"` };
    default:
      throw new SpillwayError(
        ErrorCode.Internal,
        `no line-protocol renderer for column "${column.name}" of type ${column.type}`,
      );
  }
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * A decimal of scale 0 is a whole number, written as an integer field. Above 2^63-1 it is
 * written as 9223372036854775807i: Flux's encoder writes its unsigned integers that way (it has
 * no unsigned field type), and Spillway holds unsigned values (sampledata.uint()) in such a
 * decimal. Flux has no value below -2^63, so there is nothing to mimic: it is refused.
 */
function wholeDecimalField(column: Column, digits: string): string {
  const whole = /^(-?\d+)(?:\.0+)?$/.exec(digits)?.[1];
  if (whole === undefined) {
    throw new SpillwayError(
      ErrorCode.EncodeFailed,
      `field column "${column.name}" holds ${digits}, which has digits after the point its scale 0 has no room for; round it with update() or declare the column's scale`,
    );
  }
  const value = BigInt(whole);
  if (value > INT64_MAX) return `${INT64_MAX}i`;
  if (value < INT64_MIN) {
    throw new SpillwayError(
      ErrorCode.EncodeFailed,
      `field column "${column.name}" holds ${digits} (decimal, scale 0), below the smallest line-protocol integer -9223372036854775808; ` +
        'filter it out with where() or convert the column to float64 with update()',
    );
  }
  return `${value}i`;
}

/** Go's string order: by UTF-8 bytes. */
function byteOrder(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8'));
}

/** A line renderer compiled for one schema, and the columns it reads. */
export interface InfluxLineWriter {
  readonly columns: readonly string[];
  line(row: Row): string;
}

/**
 * Checks a spec against a schema and compiles its line renderer. `where` opens every error
 * message (`influx value spec`, or a dialect's own words such as `kafkaTo()`).
 */
export function compileInfluxLine(given: InfluxSpec, schema: Schema, where: string): InfluxLineWriter {
  const spec = {
    name: given.name,
    nameColumn: given.nameColumn ?? INFLUX_DEFAULTS.nameColumn,
    tagColumns: given.tagColumns ?? INFLUX_DEFAULTS.tagColumns,
    valueColumns: given.valueColumns ?? INFLUX_DEFAULTS.valueColumns,
    timeColumn: given.timeColumn === undefined ? INFLUX_DEFAULTS.timeColumn : given.timeColumn,
    nulls: given.nulls ?? INFLUX_DEFAULTS.nulls,
  };
  const columnOf = (name: string, option: string, types: readonly Column['type'][]): Column => {
    const [column] = requireColumns(schema, [name], `${where} option ${option}`) as [Column];
    if (!types.includes(column.type)) {
      throw new SpillwayError(
        ErrorCode.UnknownColumn,
        `${where} option ${option} names column "${name}" of type ${column.type}; it must be ${types.join(' or ')}` +
          (types.includes('string') && types.length === 1 ? '. Convert it with update(), for example update({ name: (row) => String(row.name) })' : ''),
      );
    }
    return column;
  };
  const refuseTrailingBackslash = (name: string, option: string) => {
    if (name.endsWith('\\')) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${where} option ${option}: column "${name}" ends with a backslash, which would escape the character after it in line protocol; rename it with update() and select()`,
      );
    }
  };

  // Every column plays one role; Flux would silently prefer time, then name, then tag, then value.
  const roles = new Map<string, string>();
  const claim = (name: string, option: string) => {
    const earlier = roles.get(name);
    if (earlier !== undefined) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${where}: column "${name}" is named by both ${earlier} and ${option}; a column is the time, the measurement, a tag or a value, not two of these`,
      );
    }
    roles.set(name, option);
  };

  const timeColumn = spec.timeColumn === null ? undefined : columnOf(spec.timeColumn, 'timeColumn', ['timestamp']).name;
  if (timeColumn !== undefined) claim(timeColumn, 'timeColumn');
  const nameColumn = spec.name === undefined ? columnOf(spec.nameColumn, 'nameColumn', ['string']).name : undefined;
  if (nameColumn !== undefined) claim(nameColumn, 'nameColumn');
  const fixedMeasurement = spec.name === undefined ? undefined : escapeMeasurement(spec.name);
  if (spec.name?.endsWith('\\') === true) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${where} option name "${spec.name}" ends with a backslash, which line protocol cannot carry; drop it`);
  }

  for (const name of spec.tagColumns) {
    columnOf(name, 'tagColumns', ['string']);
    refuseTrailingBackslash(name, 'tagColumns');
    claim(name, 'tagColumns');
  }
  const tagSet = new Set(spec.tagColumns);
  // Tags in the table's column order, as Flux walks the table's columns.
  const tags = schema.columns
    .filter((column) => tagSet.has(column.name))
    .map((column) => ({ column: column.name, prefix: `,${escapeKey(column.name)}=` }));

  for (const name of spec.valueColumns) {
    columnOf(name, 'valueColumns', FIELD_TYPES);
    refuseTrailingBackslash(name, 'valueColumns');
    claim(name, 'valueColumns');
  }
  const fields: FieldWriter[] = [...new Set(spec.valueColumns)]
    .sort(byteOrder)
    .map((name) => {
      const column = columnOf(name, 'valueColumns', FIELD_TYPES);
      return { column: name, prefix: `${escapeKey(name)}=`, ...fieldRenderer(column) };
    });
  const omitNulls = spec.nulls === 'omit';

  const measurementOf = (row: Row): string => {
    if (fixedMeasurement !== undefined) return fixedMeasurement;
    const value = row[nameColumn as string];
    if (typeof value !== 'string' || value === '') {
      throw new SpillwayError(
        ErrorCode.EncodeFailed,
        `line protocol needs a measurement, but column "${String(nameColumn)}" (nameColumn) is ${value === '' ? 'empty' : 'null'} in this row; ` +
          'filter such rows out with where(), or give a fixed name',
      );
    }
    if (value.endsWith('\\')) throw trailingBackslash(String(nameColumn), value);
    return escapeMeasurement(value);
  };

  const line = (row: Row): string => {
    let text = measurementOf(row);
    for (const tag of tags) {
      const value = row[tag.column];
      if (typeof value !== 'string' || value === '') continue;
      if (value.endsWith('\\')) throw trailingBackslash(tag.column, value);
      text += tag.prefix + escapeKey(value);
    }
    let separator = ' ';
    for (const field of fields) {
      const value = row[field.column];
      let rendered: string;
      if (value === null || value === undefined) {
        if (omitNulls) continue;
        rendered = field.zero;
      } else {
        rendered = field.render(value);
      }
      text += separator + field.prefix + rendered;
      separator = ',';
    }
    if (separator === ' ') {
      throw new SpillwayError(
        ErrorCode.EncodeFailed,
        `every field of this row is null (${fields.map((field) => `"${field.column}"`).join(', ')}) and nulls are omitted, but a line needs at least one field; use nulls: 'zero' or filter such rows out`,
      );
    }
    if (timeColumn !== undefined) {
      const time = row[timeColumn];
      if (time !== null && time !== undefined) text += ` ${(time as bigint).toString()}`;
      else if (!omitNulls) text += ' 0';
    }
    return text;
  };

  return { columns: [...roles.keys()], line };
}

export function influxEncoder(spec: InfluxSpec, schema: Schema, part: 'key' | 'value'): Encoder {
  const writer = compileInfluxLine(spec, schema, `influx ${part} spec`);
  const hashed = (spec.output ?? INFLUX_DEFAULTS.output) === 'xxhash64';
  return {
    format: 'influx',
    capabilities: rowCapabilities(writer.columns),
    encode(row) {
      const bytes = Buffer.from(writer.line(row), 'utf8');
      return hashed ? xxhash64LittleEndian(bytes) : bytes;
    },
  };
}

function trailingBackslash(column: string, value: string): SpillwayError {
  return new SpillwayError(
    ErrorCode.EncodeFailed,
    `column "${column}" holds ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}, which ends with a backslash; ` +
      'line protocol would read it as escaping the next character. Strip it with update()',
  );
}
