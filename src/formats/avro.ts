/**
 * avro(...): each row as one Avro record in Avro's binary encoding (Apache Avro 1.12 spec). A
 * record is its fields in schema order with no names or separators: int and long as zigzag
 * varints, float and double as little-endian IEEE 754, bytes and string as a varint length and
 * the bytes (UTF-8 for strings), a union as the varint index of its branch followed by the value,
 * an enum as the varint index of its symbol, fixed as exactly its size in bytes. Logical types
 * only annotate a primitive: date is an int of days since 1970-01-01, timestamp-millis/-micros/
 * -nanos a long since the epoch in that unit, decimal the big-endian two's-complement bytes of
 * the unscaled integer (value × 10^scale).
 *
 * The Confluent wire format frames that body for a Schema Registry: a magic byte 0, the schema's
 * registry id as 4 bytes big-endian, then the Avro binary. The id comes from registering (or
 * looking up) the schema under a subject named by the subject name strategy — TopicNameStrategy
 * `<topic>-key` / `<topic>-value`, RecordNameStrategy `<namespace.Name>`, TopicRecordNameStrategy
 * `<topic>-<namespace.Name>` — once, in `prepare`, before the first row.
 *
 * The schema is derived from the table (nullable columns become `["null", T]` with default null)
 * or given by the user and checked against the table when the encoder is built. Either way the
 * avsc type is compiled once, and each field gets a converter chosen up front; a row costs one
 * pass over its fields.
 */
import avro from 'avsc';
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import {
  type Column,
  type ColumnType,
  type Row,
  type Schema,
  type TimestampUnit,
  columnNames,
  formatIsoTimestamp,
  requireColumns,
} from '../model/schema.ts';
import { type Encoder, type EncoderContext, rowCapabilities } from './encoder.ts';
import { SchemaRegistryClient, SchemaRegistryError } from './schema-registry.ts';

export const AvroWireFormat = { Confluent: 'confluent', Plain: 'plain' } as const;
export type AvroWireFormat = (typeof AvroWireFormat)[keyof typeof AvroWireFormat];

/** Confluent's subject name strategies: TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy. */
export const SubjectNameStrategy = { Topic: 'topic', Record: 'record', TopicRecord: 'topic-record' } as const;
export type SubjectNameStrategy = (typeof SubjectNameStrategy)[keyof typeof SubjectNameStrategy];

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const AVRO_NAMESPACE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export const avroRegistrySchema = z
  .object({
    /** The registry's base URL (several separated by commas); the Kafka property `schema.registry.url` when absent. */
    url: z.string().min(1).optional(),
    /** The subject to register under; derived by `subjectNameStrategy` when absent. */
    subject: z.string().min(1).optional(),
    /** How the subject is named when `subject` is absent (default `topic`: `<topic>-value` / `<topic>-key`). */
    subjectNameStrategy: z.enum(['topic', 'record', 'topic-record']).optional(),
    /** Register the schema (true, the default), or only look up the id of a schema already registered (false). */
    autoRegister: z.boolean().optional(),
  })
  .strict();

/**
 * The options every registry-backed format (Avro, protobuf) shares: which columns it writes and
 * under which field names, and whether records are framed for a registry.
 */
export const columnSelectionShape = {
  /** Columns to write, in order (Deephaven's include_only_columns); all columns when absent. */
  columns: z.array(z.string().min(1)).min(1).optional(),
  /** The same as `columns`, in Deephaven's words. */
  includeOnly: z.array(z.string().min(1)).min(1).optional(),
  /** Columns never written. */
  exclude: z.array(z.string().min(1)).optional(),
  /** Field name → column name, for fields whose column is named differently. */
  mapping: z.record(z.string().min(1), z.string().min(1)).optional(),
};

export const wireFormatSchema = z.enum(['confluent', 'plain']).optional();

/** What a schema-bound spec writes: its columns (less the excluded ones) and the mapping of fields to them. */
export interface SelectedColumns {
  /** `columns` (or `includeOnly`) as given; undefined for all of the table's columns. */
  readonly chosen: readonly string[] | undefined;
  readonly excluded: ReadonlySet<string>;
  readonly available: readonly Column[];
  readonly availableByName: ReadonlyMap<string, Column>;
  readonly mapping: Readonly<Record<string, string>>;
}

/** Checks a spec's columns, exclusions and mapping against the table (Avro and protobuf alike). */
export function selectColumns(spec: z.output<z.ZodObject<typeof columnSelectionShape>>, schema: Schema, usedBy: string): SelectedColumns {
  const chosen = spec.columns ?? spec.includeOnly;
  if (chosen !== undefined) requireColumns(schema, chosen, usedBy);
  if (spec.exclude !== undefined) requireColumns(schema, spec.exclude, `${usedBy} (exclude)`);
  const excluded = new Set(spec.exclude ?? []);
  const available = requireColumns(schema, chosen ?? columnNames(schema), usedBy).filter((column) => !excluded.has(column.name));
  const availableByName = new Map(available.map((column) => [column.name, column]));
  const mapping = spec.mapping ?? {};
  requireColumns(schema, Object.values(mapping), `${usedBy} (mapping)`);
  for (const [field, column] of Object.entries(mapping)) {
    if (!availableByName.has(column)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: mapping sends column "${column}" to field "${field}", but ${excluded.has(column) ? '`exclude` removes it' : 'it is not among `columns`'}; ` +
          `the columns written are: ${available.map((c) => c.name).join(', ')}`,
      );
    }
  }
  return { chosen, excluded, available, availableByName, mapping };
}

/**
 * The field names of a schema derived from the selected columns (a mapped name, else the
 * column's), each checked against the format's rule for names.
 */
export function derivedFieldNames(selected: SelectedColumns, usedBy: string, format: string, rule: RegExp): string[] {
  if (selected.available.length === 0) throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} leaves no columns to write; check columns and exclude`);
  const fieldOf = new Map(Object.entries(selected.mapping).map(([field, column]) => [column, field]));
  const fieldNames = selected.available.map((column) => fieldOf.get(column.name) ?? column.name);
  fieldNames.forEach((field, index) => {
    if (!rule.test(field)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: column "${(selected.available[index] as Column).name}" is not a valid ${format} field name (letters, digits and _, not starting with a digit); ` +
          `rename it with mapping: { ${JSON.stringify(field.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1'))}: ${JSON.stringify(field)} }`,
      );
    }
  });
  return fieldNames;
}

/** The checks that go with those options: one of columns/includeOnly, and a registry only where records are framed. */
export function checkSelectionAndWireFormat(
  spec: {
    readonly columns?: unknown;
    readonly includeOnly?: unknown;
    readonly wireFormat?: 'confluent' | 'plain' | undefined;
    readonly registry?: { readonly subject?: string | undefined; readonly subjectNameStrategy?: string | undefined } | undefined;
  },
  context: z.RefinementCtx,
): void {
  if (spec.columns !== undefined && spec.includeOnly !== undefined) {
    context.addIssue({ code: 'custom', message: '`columns` and `includeOnly` mean the same; give one', path: ['includeOnly'] });
  }
  if (spec.wireFormat === 'plain' && spec.registry !== undefined) {
    context.addIssue({ code: 'custom', message: "`registry` is used by wireFormat 'confluent' only; drop it or set wireFormat: 'confluent'", path: ['registry'] });
  }
  // A given subject is used as is, so a strategy beside it would name nothing.
  if (spec.registry?.subject !== undefined && spec.registry.subjectNameStrategy !== undefined) {
    context.addIssue({
      code: 'custom',
      message: '`subject` names the subject itself, so `subjectNameStrategy` would name nothing; give one of `subject` or `subjectNameStrategy`',
      path: ['registry', 'subjectNameStrategy'],
    });
  }
}

export const avroSpecSchema = z
  .object({
    kind: z.literal('avro'),
    /** An Avro record schema (object or JSON text); derived from the table's columns when absent. */
    schema: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    ...columnSelectionShape,
    /** Record name of a derived schema (default `Value` or `Key`). */
    name: z.string().regex(AVRO_NAME, 'an Avro name: letters, digits and _, not starting with a digit').optional(),
    /** Namespace of a derived schema (Deephaven's schema_namespace). */
    namespace: z.string().regex(AVRO_NAMESPACE, 'dot-separated Avro names, such as com.example').optional(),
    /** `confluent` (the default): magic byte, schema id, Avro binary (needs a registry). `plain`: the Avro binary alone. */
    wireFormat: wireFormatSchema,
    registry: avroRegistrySchema.optional(),
  })
  .strict()
  .superRefine(checkSelectionAndWireFormat)
  .refine((spec) => spec.schema === undefined || (spec.name === undefined && spec.namespace === undefined), {
    message: '`name` and `namespace` name a derived schema; a given schema carries its own name and namespace',
    path: ['name'],
  });
export type AvroSpec = z.output<typeof avroSpecSchema>;

/** An Avro encoder, with the schema it writes and (after `prepare`) the registry id it frames. */
export interface AvroEncoder extends Encoder {
  /** The Avro schema as JSON text, as registered. */
  readonly schemaText: string;
  /** The record's full name (`namespace.Name`), which RecordNameStrategy uses as the subject. */
  readonly recordName: string;
  /** The subject and id the registry gave, once `prepare` has run (Confluent wire format only). */
  readonly registered: { readonly subject: string; readonly id: number; readonly url: string } | undefined;
}

type AvroJson = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// int64 without loss. avsc's own long holds JS numbers, exact only within ±2^53, while int64 and
// nanosecond timestamps need all 64 bits. So each schema is compiled twice: with avsc's fast
// number long, used for rows whose longs all lie within ±2^52 (converted to numbers), and with an
// exact long built on avsc's custom-long hook, which accepts bigints (and numbers) and is handed
// the value's zigzag varint bytes as encoded here.

const varintScratch = Buffer.alloc(10);
const FAST_LONG_LIMIT = 2n ** 52n;

function zigzagVarint(value: bigint | number): Buffer {
  let index = 0;
  if (typeof value === 'number' ? Math.abs(value) < 2 ** 52 : value < FAST_LONG_LIMIT && value > -FAST_LONG_LIMIT) {
    const number = Number(value);
    let zigzag = number >= 0 ? number * 2 : -number * 2 - 1;
    while (zigzag >= 128) {
      varintScratch[index++] = (zigzag % 128) | 128;
      zigzag = Math.floor(zigzag / 128);
    }
    varintScratch[index++] = zigzag;
  } else {
    const big = BigInt(value);
    let zigzag = big >= 0n ? big << 1n : (-big << 1n) - 1n;
    while (zigzag >= 128n) {
      varintScratch[index++] = Number(zigzag & 127n) | 128;
      zigzag >>= 7n;
    }
    varintScratch[index++] = Number(zigzag);
  }
  // avsc copies these bytes into its output at once, so the shared scratch is safe to reuse.
  return varintScratch.subarray(0, index);
}

function fromZigzagVarint(bytes: Buffer): bigint {
  let zigzag = 0n;
  let shift = 0n;
  for (const byte of bytes) {
    zigzag |= BigInt(byte & 127) << shift;
    shift += 7n;
  }
  return (zigzag >> 1n) ^ -(zigzag & 1n);
}

/** avsc's `long` for any 64-bit value: bigints (the schema model's int64), or safe integer numbers. */
export const bigintLongType = avro.types.LongType.__with(
  {
    fromBuffer: fromZigzagVarint,
    toBuffer: zigzagVarint,
    fromJSON: (json: unknown) => BigInt(json as number | string),
    toJSON: (value: bigint) => (value >= -(2n ** 53n) && value <= 2n ** 53n ? Number(value) : value.toString()),
    isValid: (value: unknown) =>
      typeof value === 'bigint' ? value >= -(2n ** 63n) && value < 2n ** 63n : Number.isSafeInteger(value),
    compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
  },
  true,
);

/** A long as the fast type takes it (a number) when it can, else the bigint only the exact type takes. */
function toLong(value: bigint): number | bigint {
  return value < FAST_LONG_LIMIT && value > -FAST_LONG_LIMIT ? Number(value) : value;
}

const PRIMITIVES: ReadonlySet<string> = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/**
 * Compiles an Avro schema with avsc (validating it): with exact longs (bigints or numbers) by
 * default, or with avsc's number longs.
 */
export function compileAvroType(schema: unknown, longs: 'exact' | 'number' = 'exact'): avro.Type {
  if (longs === 'number') return avro.Type.forSchema(schema as avro.Schema);
  // Every long, annotated with a logical type or not, is the exact long: the binary encoding of a
  // logical type is its primitive's, and the registered schema text keeps the annotations.
  const isLong = (node: unknown) => node === 'long' || (typeof node === 'object' && node !== null && (node as AvroJson).type === 'long');
  return avro.Type.forSchema(schema as avro.Schema, { typeHook: (node) => (isLong(node) ? bigintLongType : undefined) });
}

// ---------------------------------------------------------------------------------------------
// Deriving a schema from the table.

const TIMESTAMP_LOGICAL: Record<TimestampUnit, string> = { ms: 'timestamp-millis', us: 'timestamp-micros', ns: 'timestamp-nanos' };

function derivedFieldType(column: Column, usedBy: string): unknown {
  switch (column.type) {
    case 'boolean':
      return 'boolean';
    case 'int32':
      return 'int';
    case 'int64':
      return 'long';
    case 'float64':
      return 'double';
    case 'string':
    case 'json':
      return 'string';
    case 'bytes':
      return 'bytes';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'timestamp':
      return { type: 'long', logicalType: TIMESTAMP_LOGICAL[column.unit ?? 'ns'] };
    case 'decimal':
      if (column.precision === undefined) {
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `${usedBy}: column "${column.name}" is a decimal without a precision, which an Avro decimal needs; ` +
            `declare it as { type: 'decimal', precision: 18, scale: 2 } (your digits), or give a schema that maps it to a string field`,
        );
      }
      return { type: 'bytes', logicalType: 'decimal', precision: column.precision, scale: column.scale ?? 0 };
  }
}

function deriveSchema(columns: readonly Column[], fieldNames: readonly string[], spec: AvroSpec, part: 'key' | 'value'): AvroJson {
  return {
    type: 'record',
    name: spec.name ?? (part === 'key' ? 'Key' : 'Value'),
    ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }),
    fields: columns.map((column, index) => {
      const type = derivedFieldType(column, `avroSpec for the ${part}`);
      return column.nullable
        ? { name: fieldNames[index], type: ['null', type], default: null }
        : { name: fieldNames[index], type };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a given schema: what each top-level field holds, named types resolved.

interface FieldShape {
  /** The Avro type (`int`, `long`, `bytes`, `fixed`, `enum`, `record`, …) of the non-null branch. */
  readonly type: string;
  readonly logicalType?: string;
  readonly precision?: number;
  readonly scale?: number;
  /** Size of a fixed. */
  readonly size?: number;
  readonly nullable: boolean;
  /** How the field's type reads in a message, e.g. `["null", long timestamp-millis]`. */
  readonly description: string;
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || namespace === undefined || namespace === '' ? name : `${namespace}.${name}`;
}

/** Every named type (record, enum, fixed) in the schema, by full name. */
function collectNamedTypes(schema: unknown, namespace: string | undefined, into: Map<string, AvroJson>): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) collectNamedTypes(branch, namespace, into);
    return;
  }
  if (schema === null || typeof schema !== 'object') return;
  const node = schema as AvroJson;
  let inner = namespace;
  if (typeof node.name === 'string' && (node.type === 'record' || node.type === 'error' || node.type === 'enum' || node.type === 'fixed')) {
    const ownNamespace = typeof node.namespace === 'string' ? node.namespace : namespace;
    const name = fullName(node.name, ownNamespace);
    into.set(name, node);
    inner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined;
  }
  if (Array.isArray(node.fields)) for (const field of node.fields as AvroJson[]) collectNamedTypes(field.type, inner, into);
  if (typeof node.type === 'object') collectNamedTypes(node.type, inner, into);
  if (node.items !== undefined) collectNamedTypes(node.items, inner, into);
  if (node.values !== undefined) collectNamedTypes(node.values, inner, into);
}

function describeBranch(node: unknown): string {
  if (typeof node === 'string') return node;
  const json = node as AvroJson;
  const type = typeof json.type === 'string' ? json.type : JSON.stringify(json.type);
  if (json.logicalType === 'decimal') return `${type} decimal(${JSON.stringify(json.precision)},${JSON.stringify(json.scale ?? 0)})`;
  if (typeof json.logicalType === 'string') return `${type} ${json.logicalType}`;
  if (typeof json.name === 'string') return `${type} ${json.name}`;
  return type;
}

function shapeOf(type: unknown, named: ReadonlyMap<string, AvroJson>, namespace: string | undefined): FieldShape | string {
  const branches = Array.isArray(type) ? type : [type];
  const nullable = branches.some((branch) => branch === 'null' || (branch as AvroJson | null)?.type === 'null');
  const others = branches.filter((branch) => !(branch === 'null' || (branch as AvroJson | null)?.type === 'null'));
  const description = Array.isArray(type) ? `[${branches.map(describeBranch).join(', ')}]` : describeBranch(type);
  if (others.length !== 1) {
    return `its type ${description} is a union of ${others.length} non-null types; Spillway writes unions of null and one type`;
  }
  let node: unknown = others[0];
  if (typeof node === 'string' && !PRIMITIVES.has(node)) {
    node = named.get(fullName(node, namespace)) ?? named.get(node);
  }
  if (typeof node === 'string') return { type: node, nullable, description };
  const json = node as AvroJson;
  if (typeof json.type !== 'string') return `its type ${description} is not one Spillway can fill from a column`;
  return {
    type: json.type,
    nullable,
    description,
    ...(typeof json.logicalType === 'string' ? { logicalType: json.logicalType } : {}),
    ...(typeof json.precision === 'number' ? { precision: json.precision } : {}),
    ...(typeof json.scale === 'number' ? { scale: json.scale } : {}),
    ...(typeof json.size === 'number' ? { size: json.size } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Converters: a column's normalized value → the value avsc writes for the field's type.

type Convert = (value: NonNullable<Row[string]>) => unknown;

const identity: Convert = (value) => value;

function floorDivide(value: bigint, divisor: bigint): bigint {
  const quotient = value / divisor;
  return value % divisor < 0n ? quotient - 1n : quotient;
}

const NANOS: Record<string, bigint> = { millis: 1_000_000n, micros: 1_000n, nanos: 1n };

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

const MILLIS_PER_DAY = 86_400_000;

/** The unscaled integer of a canonical decimal string at `scale`, checked against precision. */
function unscaled(text: string, scale: number, precision: number | undefined, field: string): bigint {
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  const point = digits.indexOf('.');
  const whole = point < 0 ? digits : digits.slice(0, point);
  const fraction = point < 0 ? '' : digits.slice(point + 1).replace(/0+$/, '');
  if (fraction.length > scale) {
    throw new SpillwayError(
      ErrorCode.EncodeFailed,
      `field "${field}" has scale ${scale} but got ${text}, which has ${fraction.length} fraction digits; round the value or widen the scale`,
    );
  }
  const magnitude = BigInt(`${whole}${fraction.padEnd(scale, '0')}`);
  if (precision !== undefined && magnitude.toString().length > precision) {
    throw new SpillwayError(
      ErrorCode.EncodeFailed,
      `field "${field}" has precision ${precision} (scale ${scale}) but got ${text}, which needs ${magnitude.toString().length} digits; widen the precision`,
    );
  }
  return negative ? -magnitude : magnitude;
}

/** Big-endian two's complement of `value`, in the fewest bytes, or exactly `size` bytes for a fixed. */
function twosComplement(value: bigint, size: number | undefined, field: string): Buffer {
  let length = 1;
  while (value >= 1n << BigInt(8 * length - 1) || value < -(1n << BigInt(8 * length - 1))) length++;
  if (size !== undefined) {
    if (length > size) {
      throw new SpillwayError(ErrorCode.EncodeFailed, `field "${field}" is a fixed of ${size} bytes, too small for the decimal ${value.toString()} (unscaled)`);
    }
    length = size;
  }
  const bytes = Buffer.allocUnsafe(length);
  let rest = BigInt.asUintN(8 * length, value);
  for (let index = length - 1; index >= 0; index--) {
    bytes[index] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

/** Which column types each kind of field accepts, for the "use a column of type …" hint. */
function acceptedColumnTypes(shape: FieldShape): readonly ColumnType[] {
  switch (shape.logicalType === undefined ? shape.type : `${shape.type}:${shape.logicalType}`) {
    case 'boolean':
      return ['boolean'];
    case 'int':
      return ['int32'];
    case 'int:date':
      return ['date'];
    case 'long':
      return ['int64', 'int32'];
    case 'long:timestamp-millis':
    case 'long:timestamp-micros':
    case 'long:timestamp-nanos':
    case 'long:local-timestamp-millis':
    case 'long:local-timestamp-micros':
    case 'long:local-timestamp-nanos':
      return ['timestamp'];
    case 'float':
    case 'double':
      return ['float64', 'int32'];
    case 'string':
    case 'string:uuid':
      return ['string', 'json', 'decimal', 'date', 'timestamp'];
    case 'enum':
      return ['string'];
    case 'bytes':
    case 'fixed':
      return ['bytes'];
    case 'bytes:decimal':
    case 'fixed:decimal':
      return ['decimal', 'int64', 'int32'];
    default:
      return [];
  }
}

function converterFor(column: Column, shape: FieldShape, field: string): Convert {
  const kind = shape.logicalType === undefined ? shape.type : `${shape.type}:${shape.logicalType}`;
  if (kind === 'bytes:decimal' || kind === 'fixed:decimal') {
    const scale = shape.scale ?? 0;
    const size = shape.type === 'fixed' ? shape.size : undefined;
    if (column.type === 'decimal') return (value) => twosComplement(unscaled(value as string, scale, shape.precision, field), size, field);
    return (value) => twosComplement(unscaled((value as bigint | number).toString(), scale, shape.precision, field), size, field);
  }
  if (shape.type === 'long' && shape.logicalType?.includes('timestamp') === true) {
    const unit = NANOS[shape.logicalType.slice(shape.logicalType.lastIndexOf('-') + 1)] ?? 1n;
    return unit === 1n ? (value) => toLong(value as bigint) : (value) => toLong(floorDivide(value as bigint, unit));
  }
  if (shape.type === 'long' && column.type === 'int64') return (value) => toLong(value as bigint);
  switch (column.type) {
    case 'int32':
      return identity;
    case 'bytes':
      return (value) => asBuffer(value as Uint8Array);
    case 'json':
      return (value) => JSON.stringify(value);
    case 'date':
      return shape.type === 'int' ? (value) => Date.parse(value as string) / MILLIS_PER_DAY : identity;
    case 'timestamp':
      return (value) => formatIsoTimestamp(value as bigint);
    default:
      return identity;
  }
}

// ---------------------------------------------------------------------------------------------

interface FieldPlan {
  readonly name: string;
  readonly column: string;
  readonly convert: Convert;
}

const SUBJECT_SUFFIX = { key: '-key', value: '-value' } as const;

function subjectFor(strategy: SubjectNameStrategy, topic: string, part: 'key' | 'value', recordName: string): string {
  switch (strategy) {
    case 'topic':
      return `${topic}${SUBJECT_SUFFIX[part]}`;
    case 'record':
      return recordName;
    case 'topic-record':
      return `${topic}-${recordName}`;
  }
}

/** One client per registry URL, so every sink in the process shares the id cache. */
const registryClients = new Map<string, SchemaRegistryClient>();

function registryClient(url: string): SchemaRegistryClient {
  let client = registryClients.get(url);
  if (client === undefined) {
    client = new SchemaRegistryClient({ url });
    registryClients.set(url, client);
  }
  return client;
}

function parseGivenSchema(schema: string | Record<string, unknown>, usedBy: string): AvroJson {
  let parsed: unknown = schema;
  if (typeof schema === 'string') {
    try {
      parsed = JSON.parse(schema);
    } catch (error) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: the schema is not JSON (${(error as Error).message}); give an Avro record schema as an object or JSON text`,
      );
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || (parsed as AvroJson).type !== 'record') {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${usedBy}: the schema must be an Avro record ({ "type": "record", "name": …, "fields": […] }), got ${JSON.stringify(parsed).slice(0, 80)}`,
    );
  }
  return parsed as AvroJson;
}

/** Compiles an Avro key or value spec against a table's schema. */
export function avroEncoder(spec: AvroSpec, schema: Schema, part: 'key' | 'value'): AvroEncoder {
  const usedBy = `avroSpec for the ${part}`;
  const selected = selectColumns(spec, schema, usedBy);
  const { excluded, available, availableByName, mapping } = selected;

  let recordSchema: AvroJson;
  if (spec.schema === undefined) {
    const fieldNames = derivedFieldNames(selected, usedBy, 'Avro', AVRO_NAME);
    recordSchema = deriveSchema(available, fieldNames, spec, part);
  } else {
    recordSchema = parseGivenSchema(spec.schema, usedBy);
  }

  let type: avro.Type;
  let fastType: avro.Type;
  try {
    type = compileAvroType(recordSchema);
    fastType = compileAvroType(recordSchema, 'number');
  } catch (error) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy}: the Avro schema is invalid: ${(error as Error).message}`, { cause: error });
  }

  const named = new Map<string, AvroJson>();
  collectNamedTypes(recordSchema, undefined, named);
  const recordName = fullName(recordSchema.name as string, typeof recordSchema.namespace === 'string' ? recordSchema.namespace : undefined);
  const namespace = recordName.includes('.') ? recordName.slice(0, recordName.lastIndexOf('.')) : undefined;
  const fields = recordSchema.fields as AvroJson[];
  const fieldNames = new Set(fields.map((field) => field.name as string));
  for (const field of Object.keys(mapping)) {
    if (!fieldNames.has(field)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: mapping names field "${field}", which the schema lacks; its fields are: ${[...fieldNames].join(', ')}`,
      );
    }
  }

  const plans: FieldPlan[] = [];
  for (const field of fields) {
    const name = field.name as string;
    const columnName = mapping[name] ?? name;
    const column = availableByName.get(columnName);
    if (column === undefined) {
      if ('default' in field) continue; // avsc writes the field's default when the value is absent
      throw new SpillwayError(
        ErrorCode.UnknownColumn,
        `${usedBy}: field "${name}" has no column "${columnName}" to fill it${excluded.has(columnName) ? ' (`exclude` removes it)' : ''} and no default; ` +
          `map it to a column with mapping: { ${name}: '<column>' }, or give the field a default. The columns are: ${available.map((c) => c.name).join(', ')}`,
      );
    }
    const shape = shapeOf(field.type, named, namespace);
    if (typeof shape === 'string') {
      throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy}: field "${name}" cannot be filled from column "${column.name}": ${shape}`);
    }
    const accepted = acceptedColumnTypes(shape);
    if (!accepted.includes(column.type)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: field "${name}" (${shape.description}) cannot take column "${column.name}" (${column.type}); ` +
          (accepted.length === 0
            ? 'no column type fills this Avro type; change the field\'s type or give it a default and leave it unmapped'
            : `map a column of type ${accepted.join(' or ')} to it, or change the field's type`),
      );
    }
    if (column.nullable && !shape.nullable) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: column "${column.name}" is nullable but field "${name}" (${shape.description}) cannot hold null; ` +
          `make the field's type ["null", …] with default null, or declare the column not nullable`,
      );
    }
    plans.push({ name, column: column.name, convert: converterFor(column, shape, name) });
  }
  if (plans.length === 0) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy}: no field of the schema takes a column; map fields to columns with mapping`);
  }

  const schemaText = JSON.stringify(recordSchema);
  const confluent = spec.wireFormat !== 'plain';
  const headerLength = confluent ? 5 : 0;
  let scratch = Buffer.allocUnsafe(16 * 1024);
  let header: Buffer | undefined;
  let registered: AvroEncoder['registered'];

  /** Names the field whose value avsc refused; only runs once a row has already failed. */
  const failure = (record: Record<string, unknown>, error: unknown): SpillwayError => {
    if (error instanceof SpillwayError) return error;
    const problems: string[] = [];
    type.isValid(record, {
      errorHook: (path: string[], value: unknown, fieldType: avro.Type) => {
        const shown = typeof value === 'bigint' ? `${value}n` : Buffer.isBuffer(value) ? `${value.length} bytes` : JSON.stringify(value);
        problems.push(`field "${path.join('.')}" cannot hold ${shown} as ${JSON.stringify(fieldType.schema())}`);
      },
    });
    return new SpillwayError(
      ErrorCode.EncodeFailed,
      `${usedBy}: ${problems.length > 0 ? problems.join('; ') : (error as Error).message}`,
      { cause: error },
    );
  };

  return {
    format: 'avro',
    capabilities: rowCapabilities(plans.map((plan) => plan.column)),
    schemaText,
    recordName,
    get registered() {
      return registered;
    },
    encode(row) {
      if (confluent && header === undefined) {
        throw new SpillwayError(
          ErrorCode.InvalidState,
          `${usedBy} writes the Confluent wire format, whose schema id comes from the registry in prepare(); ` +
            "the sink calls it when it starts (call it yourself when using the encoder directly), or use wireFormat: 'plain'",
        );
      }
      const record: Record<string, unknown> = {};
      let exact = false;
      try {
        for (const plan of plans) {
          const value = row[plan.column];
          const converted = value === null || value === undefined ? null : plan.convert(value);
          // Only longs beyond ±2^52 stay bigints; one of them sends the row to the exact type.
          if (typeof converted === 'bigint') exact = true;
          record[plan.name] = converted;
        }
        const writer = exact ? type : fastType;
        let end = writer.encode(record, scratch, headerLength);
        if (end < 0) {
          scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
          header?.copy(scratch, 0);
          end = writer.encode(record, scratch, headerLength);
        }
        const bytes = Buffer.allocUnsafe(end);
        scratch.copy(bytes, 0, 0, end);
        return bytes;
      } catch (error) {
        throw failure(record, error);
      }
    },
    async prepare(context: EncoderContext) {
      if (!confluent) return;
      const url = spec.registry?.url ?? context.schemaRegistryUrl;
      if (url === undefined || url.trim() === '') {
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `sink "${context.sink}": ${usedBy} writes the Confluent wire format, which needs a schema registry; ` +
            "set the Kafka property schema.registry.url (or registry.url in the spec), or use wireFormat: 'plain'",
        );
      }
      const subject = spec.registry?.subject ?? subjectFor(spec.registry?.subjectNameStrategy ?? 'topic', context.topic, part, recordName);
      const autoRegister = spec.registry?.autoRegister ?? true;
      let id: number;
      const client = registryClient(url);
      try {
        id = autoRegister ? (await client.register(subject, schemaText)).id : (await client.lookup(subject, schemaText)).id;
      } catch (error) {
        const hint =
          error instanceof SchemaRegistryError && !autoRegister && error.status === 404
            ? '; register the schema first, or set registry.autoRegister: true'
            : error instanceof SchemaRegistryError && error.status === 409
              ? '; the subject\'s compatibility rule refuses this schema: make the change compatible, or change the subject\'s compatibility level'
              : '';
        throw new SpillwayError(
          ErrorCode.SchemaRegistry,
          `sink "${context.sink}": ${usedBy} schema under subject "${subject}" (registry ${client.url}): ${(error as Error).message}${hint}`,
          { cause: error },
        );
      }
      header = Buffer.alloc(5);
      header.writeUInt8(0, 0);
      header.writeUInt32BE(id, 1);
      header.copy(scratch, 0);
      registered = { subject, id, url: client.url };
    },
  };
}
