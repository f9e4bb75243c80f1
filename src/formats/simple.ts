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

function serializerFor(column: Column): (value: NonNullable<Row[string]>) => Buffer {
  switch (column.type) {
    case 'string':
    case 'decimal':
    case 'date':
      return (value) => Buffer.from(value as string, 'utf8');
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
    case 'timestamp':
      return (value) => Buffer.from(formatIsoTimestamp(value as bigint), 'utf8');
    case 'json':
      return (value) => Buffer.from(JSON.stringify(value), 'utf8');
  }
}

export function simpleEncoder(spec: SimpleSpec, schema: Schema, part: 'key' | 'value'): Encoder {
  if (typeof spec.column !== 'string' || spec.column.length === 0) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `simpleSpec for the ${part} needs a column name`);
  }
  const [column] = requireColumns(schema, [spec.column], `simpleSpec for the ${part}`) as [Column];
  const serialize = serializerFor(column);
  const name = column.name;
  return {
    format: 'simple',
    capabilities: rowCapabilities([name]),
    encode(row) {
      const value = row[name];
      return value === null || value === undefined ? null : serialize(value);
    },
  };
}
