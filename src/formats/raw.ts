/**
 * raw(column): the bytes of one column and nothing around them, as Flink's `raw` format writes
 * them — a bytes column as it is, a string column as its UTF-8 encoding. A null value is a null
 * key or value. Any other type has no single obvious byte form, so it is refused when the encoder
 * is built (simpleSpec gives Kafka's serializer bytes for those).
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type Column, type Schema, requireColumns } from '../model/schema.ts';
import { type Encoder, rowCapabilities } from './encoder.ts';

export const rawSpecSchema = z.object({ kind: z.literal('raw'), column: z.string().min(1) }).strict();
export type RawSpec = z.output<typeof rawSpecSchema>;

export function rawEncoder(spec: RawSpec, schema: Schema, part: 'key' | 'value'): Encoder {
  const usedBy = `rawSpec for the ${part}`;
  const [column] = requireColumns(schema, [spec.column], usedBy) as [Column];
  const name = column.name;
  let bytesOf: (value: NonNullable<unknown>) => Buffer;
  if (column.type === 'bytes') {
    // A copy, not a view: the record may wait in the producer's queue while the row's owner reuses its array.
    bytesOf = (value) => Buffer.from(value as Uint8Array);
  } else if (column.type === 'string') {
    bytesOf = (value) => Buffer.from(value as string, 'utf8');
  } else {
    throw new SpillwayError(
      ErrorCode.UnknownColumn,
      `${usedBy} names column "${name}" of type ${column.type}; raw writes only bytes or string columns as they are. ` +
        `Use simpleSpec("${name}") for Kafka's standard serialization of ${column.type}, or derive a string column from it`,
    );
  }
  return {
    format: 'raw',
    capabilities: rowCapabilities([name]),
    encode(row) {
      const value = row[name];
      return value === null || value === undefined ? null : bytesOf(value);
    },
  };
}
