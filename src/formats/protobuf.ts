/**
 * protobuf(...): each row as one Protocol Buffers message (proto3 binary encoding). The message
 * type is derived from the table's columns, or given as `.proto` text and checked against the
 * table when the encoder is built. protobufjs parses the `.proto` and writes the binary; this
 * module only decides which column fills which field and in what form.
 *
 * A derived type is proto3 with one field per column, numbered in column order: boolean → bool,
 * int32 → int32, int64 → int64, float64 → double, string → string, bytes → bytes, decimal →
 * string (the exact digits), json → string (JSON text), date → int32 (days since 1970-01-01),
 * timestamp → int64 (since the epoch, in the column's unit). A given `.proto` may also import
 * Google's well-known types and take a timestamp column into a `google.protobuf.Timestamp`
 * field. A nullable column is an `optional`
 * field, so a null is an absent field and a reader can tell it from zero; a field without
 * presence is left out when it holds its default, as protoc's own encoders do, so the bytes are
 * the canonical ones.
 *
 * The Confluent wire format frames the message for a Schema Registry: a magic byte 0, the
 * schema's registry id as 4 bytes big-endian, the message-index array that names the message
 * type within the `.proto` (zigzag varints: the count, then the index at each nesting level; the
 * first top-level message is the single byte 0), then the protobuf binary. The schema is
 * registered with `schemaType: "PROTOBUF"` once, in `prepare`, before the first row.
 */
import protobuf from 'protobufjs';
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type Column, type ColumnType, type Row, type Schema, formatIsoTimestamp } from '../model/schema.ts';
import { avroRegistrySchema, checkSelectionAndWireFormat, columnSelectionShape, derivedFieldNames, selectColumns, wireFormatSchema } from './avro.ts';
import { type Encoder, type EncoderContext, rowCapabilities } from './encoder.ts';
import { SchemaRegistryClient, SchemaRegistryError } from './schema-registry.ts';

const PROTO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROTO_PACKAGE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export const protobufSpecSchema = z
  .object({
    kind: z.literal('protobuf'),
    /** `.proto` text (proto2 or proto3) defining the message; derived from the table's columns when absent. */
    schema: z.string().min(1).optional(),
    /** The message type to write, by full or simple name (Deephaven's schema_message_name); default the first message of `schema`. */
    messageName: z.string().min(1).optional(),
    ...columnSelectionShape,
    /** Message name of a derived type (default `Value` or `Key`). */
    name: z.string().regex(PROTO_NAME, 'a protobuf name: letters, digits and _, not starting with a digit').optional(),
    /** Package of a derived type. */
    package: z.string().regex(PROTO_PACKAGE, 'dot-separated protobuf names, such as com.example').optional(),
    /** `confluent` (the default): magic byte, schema id, message indexes, protobuf binary (needs a registry). `plain`: the binary alone. */
    wireFormat: wireFormatSchema,
    registry: avroRegistrySchema.optional(),
  })
  .strict()
  .superRefine(checkSelectionAndWireFormat)
  .refine((spec) => spec.schema === undefined || (spec.name === undefined && spec.package === undefined), {
    message: '`name` and `package` name a derived message type; a given schema carries its own',
    path: ['name'],
  })
  .refine((spec) => spec.schema !== undefined || spec.messageName === undefined, {
    message: '`messageName` picks a message of a given `schema`; name a derived type with `name`',
    path: ['messageName'],
  });
export type ProtobufSpec = z.output<typeof protobufSpecSchema>;

/** A protobuf encoder, with the `.proto` it writes and (after `prepare`) the registry id it frames. */
export interface ProtobufEncoder extends Encoder {
  /** The `.proto` text, as registered. */
  readonly schemaText: string;
  /** The message type's full name (`package.Name`), which RecordNameStrategy uses as the subject. */
  readonly messageName: string;
  /** Where the message sits in the `.proto`: its index among its siblings at each nesting level. */
  readonly messageIndexes: readonly number[];
  /** The subject and id the registry gave, once `prepare` has run (Confluent wire format only). */
  readonly registered: { readonly subject: string; readonly id: number; readonly url: string } | undefined;
}

// ---------------------------------------------------------------------------------------------
// Deriving a message type from the table.

const DERIVED_TYPE: Record<ColumnType, string> = {
  boolean: 'bool',
  int32: 'int32',
  int64: 'int64',
  float64: 'double',
  decimal: 'string',
  string: 'string',
  json: 'string',
  bytes: 'bytes',
  date: 'int32',
  timestamp: 'int64',
};

function deriveProto(columns: readonly Column[], fieldNames: readonly string[], spec: ProtobufSpec, part: 'key' | 'value'): string {
  const lines = ['syntax = "proto3";', ''];
  if (spec.package !== undefined) lines.push(`package ${spec.package};`, '');
  lines.push(`message ${spec.name ?? (part === 'key' ? 'Key' : 'Value')} {`);
  columns.forEach((column, index) => {
    lines.push(`  ${column.nullable ? 'optional ' : ''}${DERIVED_TYPE[column.type]} ${fieldNames[index] as string} = ${index + 1};`);
  });
  lines.push('}', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Converters: a column's normalized value → the value protobufjs writes for the field's type.

type Convert = (value: NonNullable<Row[string]>) => unknown;

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);
const SAFE = 2n ** 53n;
const NANOS_PER_UNIT = { ms: 1_000_000n, us: 1_000n, ns: 1n } as const;
const MILLIS_PER_DAY = 86_400_000;

/** A 64-bit value as protobufjs takes it: a number when exact, else its two 32-bit halves. */
function toLong(value: bigint): number | { low: number; high: number; unsigned: boolean } {
  if (value < SAFE && value > -SAFE) return Number(value);
  return { low: Number(BigInt.asUintN(32, value)) | 0, high: Number(BigInt.asUintN(32, value >> 32n)) | 0, unsigned: false };
}

function floorDivide(value: bigint, divisor: bigint): bigint {
  const quotient = value / divisor;
  return value % divisor < 0n ? quotient - 1n : quotient;
}

/** Which column types each kind of field accepts, for the message that lists them. */
function acceptedColumnTypes(field: protobuf.Field): readonly ColumnType[] {
  if (field.resolvedType instanceof protobuf.Enum) return ['string', 'int32'];
  if (isTimestampMessage(field)) return ['timestamp'];
  const type = field.type;
  if (type === 'bool') return ['boolean'];
  if (INT32.has(type)) return ['int32', 'date'];
  if (UINT32.has(type)) return ['int32'];
  if (INT64.has(type)) return ['int64', 'int32', 'timestamp'];
  if (UINT64.has(type)) return ['int64', 'int32', 'timestamp'];
  if (type === 'double' || type === 'float') return ['float64', 'int32'];
  if (type === 'string') return ['string', 'decimal', 'json', 'date', 'timestamp'];
  if (type === 'bytes') return ['bytes', 'string'];
  return [];
}

function converterFor(column: Column, field: protobuf.Field): Convert {
  const where = `field "${field.name}" (${field.type})`;
  const enumType = field.resolvedType instanceof protobuf.Enum ? field.resolvedType : undefined;
  if (enumType !== undefined) {
    if (column.type === 'int32') return (value) => value;
    return (value) => {
      const number = enumType.values[value as string];
      if (number === undefined) {
        throw new SpillwayError(
          ErrorCode.EncodeFailed,
          `${where}: "${value as string}" is not a value of enum ${enumType.name}; its values are: ${Object.keys(enumType.values).join(', ')}`,
        );
      }
      return number;
    };
  }
  if (isTimestampMessage(field)) return (value) => toTimestampMessage(value as bigint);
  const type = field.type;
  const convert = scalarConverter(column, type);
  if (UINT32.has(type) || UINT64.has(type)) {
    return (value) => {
      if ((typeof value === 'bigint' ? value : BigInt(value as number)) < 0n) {
        throw new SpillwayError(ErrorCode.EncodeFailed, `${where} is unsigned but column "${column.name}" holds ${(value as number | bigint).toString()}; use a signed field type or non-negative values`);
      }
      return convert(value);
    };
  }
  return convert;
}

function scalarConverter(column: Column, type: string): Convert {
  switch (column.type) {
    case 'int64':
      return (value) => toLong(value as bigint);
    case 'timestamp': {
      if (type === 'string') return (value) => formatIsoTimestamp(value as bigint);
      const divisor = NANOS_PER_UNIT[column.unit ?? 'ns'];
      return divisor === 1n ? (value) => toLong(value as bigint) : (value) => toLong(floorDivide(value as bigint, divisor));
    }
    case 'date':
      return type === 'string' ? (value) => value : (value) => Date.parse(value as string) / MILLIS_PER_DAY;
    case 'json':
      return (value) => JSON.stringify(value);
    case 'string':
      return type === 'bytes' ? (value) => Buffer.from(value as string, 'utf8') : (value) => value;
    default:
      return (value) => value;
  }
}

// ---------------------------------------------------------------------------------------------
// A given .proto: parsing, choosing the message, its place in the file.

/** The well-known types protobufjs carries (google/protobuf/timestamp.proto, wrappers, …), which a given .proto may import. */
function parseProto(text: string, usedBy: string): protobuf.Root {
  try {
    const root = new protobuf.Root();
    // keepCase: field names stay as written (snake_case), as protoc and the registry read them.
    const parsed = protobuf.parse(text, root, { keepCase: true });
    for (const file of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const known = protobuf.common.get(file);
      if (known === null) {
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `${usedBy}: the .proto imports "${file}", which Spillway cannot read; imports of Google's well-known types (google/protobuf/timestamp.proto, …) work, others must be inlined`,
        );
      }
      root.addJSON(known.nested ?? {});
    }
    root.resolveAll();
    return root;
  } catch (error) {
    if (error instanceof SpillwayError) throw error;
    throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy}: the .proto does not parse: ${(error as Error).message}`, { cause: error });
  }
}

const TIMESTAMP_TYPE = '.google.protobuf.Timestamp';

function isTimestampMessage(field: protobuf.Field): boolean {
  return field.resolvedType instanceof protobuf.Type && field.resolvedType.fullName === TIMESTAMP_TYPE;
}

/** A timestamp column's nanoseconds as google.protobuf.Timestamp: seconds (floored) and nanos in [0, 1e9). */
function toTimestampMessage(nanos: bigint): { seconds: ReturnType<typeof toLong>; nanos: number } {
  const seconds = floorDivide(nanos, 1_000_000_000n);
  return { seconds: toLong(seconds), nanos: Number(nanos - seconds * 1_000_000_000n) };
}

/** The messages the .proto defines (the well-known types it imports are not among them). */
function allMessages(namespace: protobuf.NamespaceBase, into: protobuf.Type[] = []): protobuf.Type[] {
  for (const nested of namespace.nestedArray) {
    if (nested.fullName === '.google.protobuf') continue;
    if (nested instanceof protobuf.Type) into.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) allMessages(nested, into);
  }
  return into;
}

function fullNameOf(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '');
}

/** The message the spec names, or the file's first top-level message. */
function chooseMessage(root: protobuf.Root, name: string | undefined, usedBy: string): protobuf.Type {
  const messages = allMessages(root);
  if (messages.length === 0) throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy}: the .proto defines no message`);
  if (name === undefined) return messages.find((message) => !(message.parent instanceof protobuf.Type)) as protobuf.Type;
  const wanted = name.replace(/^\./, '');
  const found = messages.filter((message) => fullNameOf(message) === wanted || (!wanted.includes('.') && message.name === wanted));
  if (found.length === 1) return found[0] as protobuf.Type;
  throw new SpillwayError(
    ErrorCode.InvalidConfig,
    `${usedBy}: messageName "${name}" ${found.length === 0 ? 'is not a message of the .proto' : 'names several messages; give the full name'}; ` +
      `its messages are: ${messages.map(fullNameOf).join(', ')}`,
  );
}

/** Confluent's message indexes: the message's position among the messages of its parent, at each level. */
function messageIndexesOf(type: protobuf.Type): number[] {
  const indexes: number[] = [];
  let current: protobuf.ReflectionObject = type;
  for (;;) {
    const parent: protobuf.NamespaceBase | null = current.parent;
    if (parent === null) break;
    const siblings = parent.nestedArray.filter((nested) => nested instanceof protobuf.Type);
    indexes.unshift(siblings.indexOf(current as protobuf.Type));
    if (!(parent instanceof protobuf.Type)) break;
    current = parent;
  }
  return indexes;
}

/** The message-index array as Confluent's serializers write it; [0] is the single byte 0. */
export function encodeMessageIndexes(indexes: readonly number[]): Buffer {
  if (indexes.length === 1 && indexes[0] === 0) return Buffer.from([0]);
  const bytes: number[] = [];
  const varint = (value: number) => {
    let zigzag = (value << 1) ^ (value >> 31);
    zigzag >>>= 0;
    while (zigzag >= 0x80) {
      bytes.push((zigzag & 0x7f) | 0x80);
      zigzag >>>= 7;
    }
    bytes.push(zigzag);
  };
  varint(indexes.length);
  for (const index of indexes) varint(index);
  return Buffer.from(bytes);
}

// ---------------------------------------------------------------------------------------------

interface FieldPlan {
  readonly name: string;
  readonly column: string;
  readonly convert: Convert;
}

const SUBJECT_SUFFIX = { key: '-key', value: '-value' } as const;

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

/** Compiles a protobuf key or value spec against a table's schema. */
export function protobufEncoder(spec: ProtobufSpec, schema: Schema, part: 'key' | 'value'): ProtobufEncoder {
  const usedBy = `protobufSpec for the ${part}`;
  const selected = selectColumns(spec, schema, usedBy);
  const { chosen, excluded, available, availableByName, mapping } = selected;

  let schemaText: string;
  if (spec.schema === undefined) {
    const fieldNames = derivedFieldNames(selected, usedBy, 'protobuf', PROTO_NAME);
    schemaText = deriveProto(available, fieldNames, spec, part);
  } else {
    schemaText = spec.schema;
  }

  const root = parseProto(schemaText, usedBy);
  const type = chooseMessage(root, spec.messageName, usedBy);
  const messageName = fullNameOf(type);
  const fields = type.fieldsArray;
  const fieldNames = new Set(fields.map((field) => field.name));
  for (const field of Object.keys(mapping)) {
    if (!fieldNames.has(field)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: mapping names field "${field}", which message ${messageName} lacks; its fields are: ${[...fieldNames].join(', ')}`,
      );
    }
  }

  const plans: FieldPlan[] = [];
  for (const field of fields) {
    const columnName = mapping[field.name] ?? field.name;
    const column = availableByName.get(columnName);
    if (column === undefined) {
      if (!field.required) continue; // an absent field reads as its default (proto3) or as unset (proto2 optional)
      throw new SpillwayError(
        ErrorCode.UnknownColumn,
        `${usedBy}: required field "${field.name}" of ${messageName} has no column "${columnName}" to fill it${excluded.has(columnName) ? ' (`exclude` removes it)' : ''}; ` +
          `map it to a column with mapping: { ${field.name}: '<column>' }. The columns are: ${available.map((c) => c.name).join(', ')}`,
      );
    }
    if (field.repeated || field.map || (field.resolvedType instanceof protobuf.Type && !isTimestampMessage(field))) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: field "${field.name}" of ${messageName} is ${field.map ? 'a map' : field.repeated ? 'repeated' : `a message (${field.type})`}, which no column fills; ` +
          'Spillway writes scalar, enum and google.protobuf.Timestamp fields: leave the field unmapped (remove the column of that name with exclude) or change its type',
      );
    }
    const accepted = acceptedColumnTypes(field);
    if (!accepted.includes(column.type)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: field "${field.name}" (${field.type}) cannot take column "${column.name}" (${column.type}); ` +
          `map a column of type ${accepted.join(' or ')} to it, or change the field's type`,
      );
    }
    if (column.nullable && field.required) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: column "${column.name}" is nullable but field "${field.name}" (${field.type}) is required, so a null would make an invalid message; ` +
          'declare the field `optional`, or declare the column not nullable',
      );
    }
    // A message field (google.protobuf.Timestamp) always says whether it is there.
    if (column.nullable && !field.hasPresence && !(field.resolvedType instanceof protobuf.Type)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: column "${column.name}" is nullable but field "${field.name}" (${field.type}) has no presence, so a null would read as its default; ` +
          'declare the field `optional`, or declare the column not nullable',
      );
    }
    plans.push({ name: field.name, column: column.name, convert: converterFor(column, field) });
  }
  if (chosen !== undefined) {
    const filled = new Set(plans.map((plan) => plan.column));
    const unused = chosen.filter((column) => !filled.has(column) && !excluded.has(column));
    if (unused.length > 0) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy}: ${unused.map((column) => `column "${column}"`).join(', ')} fills no field of message ${messageName} (its fields are: ${[...fieldNames].join(', ')}); ` +
          'map it to a field with mapping: { <field>: <column> }, or leave it out of columns',
      );
    }
  }
  if (plans.length === 0) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy}: no field of message ${messageName} takes a column; map fields to columns with mapping`);
  }

  const confluent = spec.wireFormat !== 'plain';
  const messageIndexes = messageIndexesOf(type);
  const indexBytes = encodeMessageIndexes(messageIndexes);
  let header: Buffer | undefined;
  let registered: ProtobufEncoder['registered'];

  return {
    format: 'protobuf',
    capabilities: rowCapabilities(plans.map((plan) => plan.column)),
    schemaText,
    messageName,
    messageIndexes,
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
      const message: Record<string, unknown> = {};
      for (const plan of plans) {
        const value = row[plan.column];
        if (value === null || value === undefined) continue;
        try {
          message[plan.name] = plan.convert(value);
        } catch (error) {
          if (error instanceof SpillwayError) throw new SpillwayError(error.code, `${usedBy}: column "${plan.column}": ${error.message}`);
          throw error;
        }
      }
      const body = type.encode(message).finish();
      if (header === undefined) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      return Buffer.concat([header, body]);
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
      const strategy = spec.registry?.subjectNameStrategy ?? 'topic';
      const subject =
        spec.registry?.subject ??
        (strategy === 'topic' ? `${context.topic}${SUBJECT_SUFFIX[part]}` : strategy === 'record' ? messageName : `${context.topic}-${messageName}`);
      const autoRegister = spec.registry?.autoRegister ?? true;
      const client = registryClient(url);
      let id: number;
      try {
        id = autoRegister ? (await client.register(subject, schemaText, 'PROTOBUF')).id : (await client.lookup(subject, schemaText, 'PROTOBUF')).id;
      } catch (error) {
        const hint =
          error instanceof SchemaRegistryError && !autoRegister && error.status === 404
            ? '; register the schema first, or set registry.autoRegister: true'
            : error instanceof SchemaRegistryError && error.status === 409
              ? "; the subject's compatibility rule refuses this schema: make the change compatible, or change the subject's compatibility level"
              : '';
        throw new SpillwayError(
          ErrorCode.SchemaRegistry,
          `sink "${context.sink}": ${usedBy} schema under subject "${subject}" (registry ${client.url}): ${(error as Error).message}${hint}`,
          { cause: error },
        );
      }
      const frame = Buffer.alloc(5);
      frame.writeUInt32BE(id, 1);
      header = Buffer.concat([frame, indexBytes]);
      registered = { subject, id, url: client.url };
    },
  };
}
