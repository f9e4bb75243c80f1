/**
 * Schemas: ordered, named, typed columns with nullability and an optional primary key, and the
 * value checks that keep every row true to its schema. Values are normalized on the way in:
 * int64 as bigint, timestamps as bigint nanoseconds since the epoch, dates as `YYYY-MM-DD`,
 * decimals as canonical strings, so encoders never see two representations of one value.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError, zodIssuesError } from '../errors.ts';
import { nearestName } from '../kafka/kafka-properties.ts';

export const ColumnType = {
  Boolean: 'boolean',
  Int32: 'int32',
  Int64: 'int64',
  Float64: 'float64',
  Decimal: 'decimal',
  String: 'string',
  Bytes: 'bytes',
  Date: 'date',
  Timestamp: 'timestamp',
  Json: 'json',
} as const;
export type ColumnType = (typeof ColumnType)[keyof typeof ColumnType];
const columnTypes: ReadonlySet<string> = new Set(Object.values(ColumnType));

export type TimestampUnit = 'ms' | 'us' | 'ns';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A value as stored in a row, after normalization. */
export type Value = number | bigint | string | Uint8Array | JsonValue;

export type Row = Readonly<Record<string, Value>>;

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  /** Declared precision of a timestamp column (how encoders render it); stored as nanoseconds. */
  readonly unit?: TimestampUnit;
  readonly precision?: number;
  readonly scale?: number;
}

export interface Schema {
  readonly columns: readonly Column[];
  readonly primaryKey?: readonly string[];
}

/** A column declared in full: its type and the options that apply to it. */
export interface ColumnOptions {
  readonly type: ColumnType;
  readonly nullable?: boolean;
  /** Timestamp columns: the unit a bigint counts and encoders render; default `ns`. */
  readonly unit?: TimestampUnit;
  /** Decimal columns: total digits; timestamp columns: fraction digits (as SQL's TIMESTAMP(p)). */
  readonly precision?: number;
  /** Decimal columns: digits after the point. */
  readonly scale?: number;
}

export type ColumnDeclaration = ColumnType | ColumnOptions;

/** The options of a column declaration and the column types each applies to (undefined: every type). */
const DECLARATION_KEYS: Readonly<Record<keyof ColumnOptions, readonly ColumnType[] | undefined>> = {
  type: undefined,
  nullable: undefined,
  unit: ['timestamp'],
  precision: ['timestamp', 'decimal'],
  scale: ['decimal'],
};

/** The values of a declaration's options (which keys it may have is checked before, with hints). */
const declarationValuesSchema = z
  .object({
    type: z.string(),
    nullable: z.boolean().optional(),
    unit: z.enum(['ms', 'us', 'ns']).optional(),
    precision: z.number().int('a whole number of digits').nonnegative('a whole number of digits, 0 or more').optional(),
    scale: z.number().int('a whole number of digits').nonnegative('a whole number of digits, 0 or more').optional(),
  })
  .strict();

function declarationKeysText(): string {
  return Object.entries(DECLARATION_KEYS)
    .map(([key, types]) => (types === undefined ? key : `${key} (${types.join(', ')})`))
    .join(', ');
}

/**
 * Checks one column declaration and builds its column: a type name or `{ type, …options }`, every
 * key known (`extraKeys` are the caller's own, such as update()'s `formula`, and left to it), the
 * type one of ColumnType, each option one that applies to that type. `where` opens the messages.
 */
export function declaredColumn(name: string, declaration: unknown, where: string, extraKeys: readonly string[] = []): Column {
  const prefix = `${where}: column "${name}"`;
  if (typeof declaration !== 'string' && (typeof declaration !== 'object' || declaration === null || Array.isArray(declaration))) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${prefix} is declared as ${declaration === null ? 'null' : Array.isArray(declaration) ? 'an array' : typeof declaration}; ` +
        `declare it as a type name such as 'int64', or as { type, nullable, unit, precision, scale }`,
    );
  }
  const { name: ownName, ...given }: Readonly<Record<string, unknown>> = typeof declaration === 'string' ? { type: declaration } : (declaration as Record<string, unknown>);
  // A Column is a declaration too (schema.columns can be declared again), its name the key's.
  if (ownName !== undefined && ownName !== name) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${prefix} is declared with name ${JSON.stringify(ownName)}; a column is named by its key, so declare it under ${JSON.stringify(ownName)} or drop name`,
    );
  }
  const known = Object.keys(DECLARATION_KEYS);
  const unknown = Object.keys(given).filter((key) => !known.includes(key) && !extraKeys.includes(key));
  if (unknown.length > 0) {
    const named = unknown.map((key) => {
      const near = nearestName(key, [...known, ...extraKeys]);
      return `"${key}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`;
    });
    const primaryKey = where === 'defineSchema()' && unknown.some((key) => /^(primary_?keys?|key)$/i.test(key))
      ? `; a primary key is not a column option: give it as defineSchema(columns, { primaryKey: ['${name}'] })`
      : '';
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${prefix} has unknown option(s) ${named.join(', ')}; a column declaration takes ${declarationKeysText()}${extraKeys.map((key) => `, ${key}`).join('')}${primaryKey}`,
    );
  }
  const type = given.type;
  if (typeof type !== 'string' || !columnTypes.has(type)) {
    const near = typeof type === 'string' ? nearestName(type, columnTypes) : undefined;
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${prefix} has ${type === undefined ? 'no type' : `unknown type ${JSON.stringify(type)}`}${near === undefined ? '' : ` (did you mean "${near}"?)`}; use one of ${[...columnTypes].join(', ')}`,
    );
  }
  for (const [key, types] of Object.entries(DECLARATION_KEYS)) {
    if (types !== undefined && given[key] !== undefined && !types.includes(type as ColumnType)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${prefix} is of type ${type}, which takes no ${key}: ${key} applies only to ${types.join(' and ')} columns; drop it, or declare the column as ${types.join(' or ')}`,
      );
    }
  }
  const checked = declarationValuesSchema.safeParse(Object.fromEntries(Object.entries(given).filter(([key]) => !extraKeys.includes(key))));
  if (!checked.success) throw zodIssuesError(checked.error.issues, { subject: prefix, root: 'declaration', layout: 'inline' });
  const spec = checked.data;
  return {
    name,
    type: type as ColumnType,
    nullable: spec.nullable ?? false,
    ...(type === 'timestamp' ? { unit: spec.unit ?? 'ns' } : {}),
    ...(spec.precision === undefined ? {} : { precision: spec.precision }),
    ...(spec.scale === undefined ? {} : { scale: spec.scale }),
  };
}

const defineSchemaOptionsSchema = z.object({ primaryKey: z.array(z.string().min(1)).readonly().optional() }).strict();

/**
 * Builds a schema from `{ name: type }` (columns are not nullable unless declared so).
 * @example defineSchema({ id: 'int64', name: { type: 'string', nullable: true } }, { primaryKey: ['id'] })
 */
export function defineSchema(
  columns: Readonly<Record<string, ColumnDeclaration>>,
  options: { readonly primaryKey?: readonly string[] } = {},
): Schema {
  const parsedOptions = defineSchemaOptionsSchema.safeParse(options);
  if (!parsedOptions.success) {
    const unknown = parsedOptions.error.issues.flatMap((issue) => (issue.code === 'unrecognized_keys' ? issue.keys : []));
    const near = unknown.length === 0 ? undefined : nearestName(unknown[0] as string, ['primaryKey']);
    const hint = unknown.length === 0 ? undefined : `${near === undefined ? '' : `did you mean "${near}"? `}the only option is primaryKey`;
    throw zodIssuesError(parsedOptions.error.issues, {
      subject: 'defineSchema()',
      root: 'options',
      fieldPrefix: 'option ',
      layout: 'inline',
      ...(hint === undefined ? {} : { hint }),
    });
  }
  const defined: Column[] = Object.entries(columns).map(([name, declaration]) => declaredColumn(name, declaration, 'defineSchema()'));
  const schema: Schema = {
    columns: defined,
    ...(options.primaryKey === undefined ? {} : { primaryKey: [...options.primaryKey] }),
  };
  if (schema.primaryKey !== undefined) requireColumns(schema, schema.primaryKey, 'primary key');
  return schema;
}

export function columnNames(schema: Schema): string[] {
  return schema.columns.map((column) => column.name);
}

export function findColumn(schema: Schema, name: string): Column | undefined {
  return schema.columns.find((column) => column.name === name);
}

/** Fails, listing the table's columns, when any of `names` is not a column of the schema. */
export function requireColumns(schema: Schema, names: readonly string[], usedBy: string): Column[] {
  const missing = names.filter((name) => findColumn(schema, name) === undefined);
  if (missing.length > 0) {
    throw new SpillwayError(
      ErrorCode.UnknownColumn,
      `${usedBy} names ${missing.map((name) => `"${name}"`).join(', ')}, which the table lacks; ` +
        `its columns are: ${columnNames(schema).join(', ')}`,
    );
  }
  return names.map((name) => findColumn(schema, name) as Column);
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (typeof value === 'string') return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} (string)`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value instanceof Date) return `${value.toISOString()} (Date)`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') return `${JSON.stringify(value)?.slice(0, 60) ?? '?'} (object)`;
  return `${(value as { toString(): string }).toString()} (${typeof value})`;
}

function invalid(column: Column, value: unknown, expected: string): SpillwayError {
  return new SpillwayError(
    ErrorCode.InvalidValue,
    `column "${column.name}" is ${column.type}${column.nullable ? ' (nullable)' : ''} but got ${describe(value)}; expected ${expected}`,
  );
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/;

function isJson(value: unknown, depth = 0): value is JsonValue {
  if (depth > 64) return false;
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJson(item, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every((item) => isJson(item, depth + 1));
  }
  return false;
}

/** Checks one value against its column and returns its normalized form. */
export function normalizeValue(column: Column, value: unknown): Value {
  if (value === null || value === undefined) {
    if (column.nullable) return null;
    throw invalid(column, value, `a value (declare { type: '${column.type}', nullable: true } to allow nulls)`);
  }
  switch (column.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw invalid(column, value, 'true or false');
    case 'int32':
      if (typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return value;
      throw invalid(column, value, `an integer from ${INT32_MIN} to ${INT32_MAX} (use int64 for larger values)`);
    case 'int64':
      if (typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX) return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      throw invalid(column, value, 'a bigint within 64 bits, or a safe integer number');
    case 'float64':
      if (typeof value === 'number') return value;
      throw invalid(column, value, 'a number');
    case 'decimal': {
      const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'bigint' ? String(value) : value;
      if (typeof text === 'string' && DECIMAL_PATTERN.test(text)) return text;
      throw invalid(column, value, 'a decimal string such as "12.50", a bigint, or a finite number');
    }
    case 'string':
      if (typeof value === 'string') return value;
      throw invalid(column, value, 'a string');
    case 'bytes':
      if (value instanceof Uint8Array) return value;
      throw invalid(column, value, 'a Uint8Array or Buffer');
    case 'date':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString().slice(0, 10);
      if (typeof value === 'string' && DATE_PATTERN.test(value) && !Number.isNaN(Date.parse(value))) return value;
      throw invalid(column, value, 'a Date or a "YYYY-MM-DD" string');
    case 'timestamp':
      return normalizeTimestamp(column, value);
    case 'json':
      if (isJson(value)) return value;
      throw invalid(column, value, 'a JSON value (plain objects, arrays, strings, finite numbers, booleans, null)');
  }
}

const NANOS_PER_UNIT: Record<TimestampUnit, bigint> = { ms: 1_000_000n, us: 1_000n, ns: 1n };

/**
 * Timestamps are stored as bigint nanoseconds since the epoch. A Date or ISO-8601 string is
 * exact to the millisecond; a number counts milliseconds; a bigint counts the column's unit.
 */
function normalizeTimestamp(column: Column, value: unknown): bigint {
  if (typeof value === 'bigint') return value * NANOS_PER_UNIT[column.unit ?? 'ns'];
  if (value instanceof Date && !Number.isNaN(value.getTime())) return BigInt(value.getTime()) * 1_000_000n;
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.round(value * 1_000_000));
  if (typeof value === 'string') {
    const parsed = parseIsoTimestamp(value);
    if (parsed !== undefined) return parsed;
  }
  throw invalid(
    column,
    value,
    `a Date, an ISO-8601 string, epoch milliseconds as a number, or a bigint of ${column.unit ?? 'ns'} since the epoch`,
  );
}

const ISO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an ISO-8601 instant to nanoseconds, keeping fractions below a millisecond. */
export function parseIsoTimestamp(text: string): bigint | undefined {
  const match = ISO_TIMESTAMP.exec(text);
  if (match === null) return undefined;
  const seconds = Date.parse(`${match[1] ?? ''}${match[3] ?? 'Z'}`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'));
  return BigInt(seconds) * 1_000_000n + fraction;
}

/** Renders nanoseconds since the epoch as ISO-8601 UTC, with only the fraction digits needed. */
export function formatIsoTimestamp(nanos: bigint): string {
  const millis = nanos / 1_000_000n - (nanos % 1_000_000n < 0n ? 1n : 0n);
  const subMilli = nanos - millis * 1_000_000n;
  const base = new Date(Number(millis)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (subMilli === 0n) return base;
  const digits = `${base.slice(20, 23)}${subMilli.toString().padStart(6, '0')}`.replace(/0+$/, '');
  return `${base.slice(0, 19)}.${digits}Z`;
}

/**
 * Whether the variable `v` already holds its column's stored form, so it can be kept as it is, as
 * an expression for the generated normalizer. Only the cheap, common cases have one; anything else
 * (nulls, numbers for int64, decimals, dates, timestamps, bytes, JSON) goes through normalizeValue,
 * which converts it or says what is wrong.
 */
function storedFormTest(column: Column, v: string): string | undefined {
  switch (column.type) {
    case 'boolean':
      return `typeof ${v} === "boolean"`;
    case 'int32':
      // `value | 0` is the value exactly when it is an integer within 32 bits.
      return `typeof ${v} === "number" && (${v} | 0) === ${v}`;
    case 'int64':
      return `typeof ${v} === "bigint" && ${v} >= ${INT64_MIN}n && ${v} <= ${INT64_MAX}n`;
    case 'float64':
      return `typeof ${v} === "number"`;
    case 'string':
      return `typeof ${v} === "string"`;
    default:
      return undefined;
  }
}

/**
 * Where a row came from, for error messages only: text, or a function of the row's index in its
 * batch, so a source need not build a label per row that is only read when the row is bad.
 */
export type RowWhere = string | ((index: number) => string);

type RowNormalizer = (input: Readonly<Record<string, unknown>>, where: RowWhere, index: number) => Row;

const whereText = (where: RowWhere, index: number): string => (typeof where === 'string' ? where : where(index));

/**
 * A column name as a key of generated object-literal code: a JSON string literal (no name is ever
 * spliced in raw), and __proto__ as a computed key, which defines a field where a plain one would
 * set the literal's prototype.
 */
export function literalKey(name: string): string {
  return name === '__proto__' ? '["__proto__"]' : JSON.stringify(name);
}

/** Normalizers compiled per schema: the per-column checks are chosen once, not per row. */
const normalizers = new WeakMap<Schema, RowNormalizer>();

function compileNormalizer(schema: Schema): RowNormalizer {
  const slow = (column: Column, value: unknown, where: RowWhere, index: number): Value => {
    try {
      return normalizeValue(column, value);
    } catch (error) {
      if (error instanceof SpillwayError) throw new SpillwayError(error.code, `${whereText(where, index)}: ${error.message}`);
      throw error;
    }
  };
  const refuseUnknownField = (input: Readonly<Record<string, unknown>>, where: RowWhere, index: number): void => {
    for (const field of Object.keys(input)) {
      if (findColumn(schema, field) === undefined) {
        throw new SpillwayError(ErrorCode.UnknownColumn, `${whereText(where, index)}: field "${field}" is not a column; the columns are: ${columnNames(schema).join(', ')}`);
      }
    }
  };
  // Generated once per schema: one object literal per row (one shape, built at once), each
  // column's check inlined. A column named __proto__ is read only as an own field and written with
  // a computed key, which defines a field where a plain one would set the literal's prototype.
  const reads = schema.columns.map((column, i) =>
    column.name === '__proto__' ? `const v${i} = hasOwn(input, "__proto__") ? input["__proto__"] : undefined;` : `const v${i} = input[${JSON.stringify(column.name)}];`,
  );
  const present = schema.columns.map((_, i) => `(v${i} === undefined ? 0 : 1)`).join(' + ');
  const fields = schema.columns.map((column, i) => {
    const test = storedFormTest(column, `v${i}`);
    const slowCall = `slow(columns[${i}], v${i}, where, index)`;
    const key = literalKey(column.name);
    return `${key}: ${test === undefined ? slowCall : `${test} ? v${i} : ${slowCall}`}`;
  });
  const body = `return function normalize(input, where, index) {
    ${reads.join('\n')}
    const row = { ${fields.join(', ')} };
    // Every field was a column when the input has no more fields than the columns it filled.
    // (Counted with for-in: Object.keys would allocate an array per row. Inherited enumerable
    // fields count too, without a hasOwn call per field, which cost 2/3 of the check: they only
    // send a row to the exact check, which reads its own fields.)
    let fields = 0;
    for (const field in input) fields++;
    if (fields !== ${present === '' ? '0' : present}) refuseUnknownField(input, where, index);
    return row;
  };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the column names (as JSON strings) only
  const factory = new Function('columns', 'slow', 'refuseUnknownField', 'hasOwn', body) as (
    columns: readonly Column[],
    slowValue: typeof slow,
    refuse: typeof refuseUnknownField,
    hasOwn: typeof Object.hasOwn,
  ) => RowNormalizer;
  return factory(schema.columns, slow, refuseUnknownField, Object.hasOwn);
}

/** Checks a whole row: every column present or nullable, no unknown fields. */
export function normalizeRow(schema: Schema, input: Readonly<Record<string, unknown>>, where: RowWhere, index = 0): Row {
  let normalize = normalizers.get(schema);
  if (normalize === undefined) {
    normalize = compileNormalizer(schema);
    normalizers.set(schema, normalize);
  }
  return normalize(input, where, index);
}

/** The identity of a row under a list of key columns, usable as a Map key. */
export function keyOf(row: Row, keyColumns: readonly string[]): string {
  if (keyColumns.length === 1) return stableText(row[keyColumns[0] as string] ?? null);
  return keyColumns.map((name) => stableText(row[name] ?? null)).join('\u0000');
}

function stableText(value: Value): string {
  if (value === null) return '\u0001null';
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `\u0002${Buffer.from(value).toString('base64')}`;
  if (typeof value === 'object') return JSON.stringify(value);
  return `${typeof value}:${String(value)}`;
}
