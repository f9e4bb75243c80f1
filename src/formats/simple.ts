/**
 * simple(column): one column's value, serialized as Kafka's standard serializers serialize its
 * type — StringSerializer (UTF-8), IntegerSerializer (4-byte big-endian), LongSerializer (8-byte
 * big-endian), DoubleSerializer (IEEE 754 big-endian), ByteArraySerializer (as is). A null value
 * is a null key or value, as with those serializers. Other types use their canonical text.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type Column, type Row, type Schema, formatIsoTimestamp, requireColumns } from '../model/schema.ts';
import { z } from 'zod';
import { type Encoder, rowCapabilities } from './encoder.ts';

export const simpleSpecSchema = z.object({ kind: z.literal('simple'), column: z.string().min(1) }).strict();
export type SimpleSpec = z.output<typeof simpleSpecSchema>;

/** The text a column of a text type is serialized as (its UTF-8 bytes); undefined for the binary types. */
function textFor(column: Column): ((value: NonNullable<Row[string]>) => string) | undefined {
  switch (column.type) {
    case 'string':
    case 'decimal':
    case 'date':
      return (value) => value as string;
    case 'timestamp':
      return (value) => formatIsoTimestamp(value as bigint);
    case 'json':
      return (value) => JSON.stringify(value);
    default:
      return undefined;
  }
}

function serializerFor(column: Column): (value: NonNullable<Row[string]>) => Buffer {
  switch (column.type) {
    case 'int32':
      return (value) => {
        const buffer = Buffer.allocUnsafe(4);
        buffer.writeInt32BE(value as number);
        return buffer;
      };
    case 'int64':
      return (value) => {
        const buffer = Buffer.allocUnsafe(8);
        buffer.writeBigInt64BE(value as bigint);
        return buffer;
      };
    case 'float64':
      return (value) => {
        const buffer = Buffer.allocUnsafe(8);
        buffer.writeDoubleBE(value as number);
        return buffer;
      };
    case 'bytes':
      return (value) => Buffer.from(value as Uint8Array);
    case 'boolean':
      return (value) => Buffer.from([value === true ? 1 : 0]);
    default: {
      // The text types: their text's UTF-8 bytes.
      const text = textFor(column) as (value: NonNullable<Row[string]>) => string;
      return (value) => Buffer.from(text(value), 'utf8');
    }
  }
}

export function simpleEncoder(spec: SimpleSpec, schema: Schema, part: 'key' | 'value'): Encoder {
  if (typeof spec.column !== 'string' || spec.column.length === 0) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `simpleSpec for the ${part} needs a column name`);
  }
  const [column] = requireColumns(schema, [spec.column], `simpleSpec for the ${part}`) as [Column];
  const serialize = serializerFor(column);
  const text = textFor(column);
  const name = column.name;
  const encoder: Encoder = {
    format: 'simple',
    capabilities: rowCapabilities([name]),
    encode(row) {
      const value = row[name];
      return value === null || value === undefined ? null : serialize(value);
    },
  };
  if (text !== undefined) {
    encoder.encodeText = (row) => {
      const value = row[name];
      return value === null || value === undefined ? null : text(value);
    };
  }
  return encoder;
}
