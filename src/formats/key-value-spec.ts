/**
 * Key and value specs, in Deephaven's words: `KeyValueSpec.IGNORE`, `simpleSpec(column)`,
 * `jsonSpec(columns)`, and one spec per further format. A spec is plain data (so SQL, REST and
 * the CLI can carry it); its zod schema, defined beside its encoder, is the single source of truth
 * for its options; `createEncoder` compiles a spec against a table's schema.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { Schema } from '../model/schema.ts';
import { avroEncoder, avroSpecSchema } from './avro.ts';
import { csvEncoder, csvSpecSchema } from './csv.ts';
import type { Encoder } from './encoder.ts';
import { type IgnoreSpec, ignoreEncoder, ignoreSpecSchema } from './ignore.ts';
import { compileInfluxLine, influxEncoder, influxSpecSchema } from './influx.ts';
import { jsonEncoder, jsonSpecSchema } from './json.ts';
import { protobufEncoder, protobufSpecSchema } from './protobuf.ts';
import { rawEncoder, rawSpecSchema } from './raw.ts';
import { simpleEncoder, simpleSpecSchema } from './simple.ts';

/** Every format's spec; the `kind` field names the format. */
export const keyValueSpecSchema = z.discriminatedUnion('kind', [ignoreSpecSchema, simpleSpecSchema, jsonSpecSchema, influxSpecSchema, avroSpecSchema, csvSpecSchema, rawSpecSchema, protobufSpecSchema]);

/** A spec as the caller writes it (defaults may be left out). */
export type KeyValueSpecInput = z.input<typeof keyValueSpecSchema>;
/** A spec after validation, defaults filled in. */
export type KeyValueSpec = z.output<typeof keyValueSpecSchema>;

export const KeyValueSpec = {
  /** Leave this part of the record null. */
  IGNORE: Object.freeze({ kind: 'ignore' }) as IgnoreSpec,
} as const;

/** One column, serialized as Kafka's standard serializer for its type. */
export function simpleSpec(column: string): KeyValueSpecInput {
  return { kind: 'simple', column };
}

/**
 * A JSON object of the given columns (all columns when omitted); options rename and nest fields,
 * drop nulls, choose the timestamp form and the change envelope (`updateFormat`, `array`).
 */
export function jsonSpec(columns?: readonly string[], options: Omit<z.input<typeof jsonSpecSchema>, 'kind' | 'columns'> = {}): KeyValueSpecInput {
  return columns === undefined ? { kind: 'json', ...options } : { kind: 'json', columns: [...columns], ...options };
}

/** One CSV record per message (RFC 4180 quoting), as Flink's csv format writes it; all columns when omitted. */
export function csvSpec(columns?: readonly string[], options: Omit<z.input<typeof csvSpecSchema>, 'kind' | 'columns'> = {}): KeyValueSpecInput {
  return columns === undefined ? { kind: 'csv', ...options } : { kind: 'csv', columns: [...columns], ...options };
}

/** A bytes column as it is, or a string column as UTF-8, with nothing around it. */
export function rawSpec(column: string): KeyValueSpecInput {
  return { kind: 'raw', column };
}

/** Influx line protocol as Flux's kafka.to writes it; `output: 'xxhash64'` gives Flux's record key. */
export function influxSpec(options: Omit<z.input<typeof influxSpecSchema>, 'kind'> = {}): KeyValueSpecInput {
  return { kind: 'influx', ...options };
}

/**
 * Avro records: a schema derived from the columns (or given), in the Confluent wire format with a
 * Schema Registry (`schema.registry.url` in the Kafka properties, or `registry.url`) by default,
 * or `wireFormat: 'plain'` for the Avro binary alone.
 */
export function avroSpec(options: Omit<z.input<typeof avroSpecSchema>, 'kind'> = {}): KeyValueSpecInput {
  return { kind: 'avro', ...options };
}

/**
 * Protocol Buffers messages: a proto3 message type derived from the columns, or given as `.proto`
 * text (`schema`, with `messageName`), in the Confluent wire format with a Schema Registry by
 * default (magic byte, schema id, message indexes), or `wireFormat: 'plain'` for the binary alone.
 */
export function protobufSpec(options: Omit<z.input<typeof protobufSpecSchema>, 'kind'> = {}): KeyValueSpecInput {
  return { kind: 'protobuf', ...options };
}

/** Compiles a validated spec for a schema; fails naming the part and the fix. */
export function createEncoder(spec: KeyValueSpec, schema: Schema, part: 'key' | 'value'): Encoder {
  switch (spec.kind) {
    case 'ignore':
      return ignoreEncoder();
    case 'simple':
      return simpleEncoder(spec, schema, part);
    case 'json':
      return jsonEncoder(spec, schema, part);
    case 'csv':
      return csvEncoder(spec, schema, part);
    case 'raw':
      return rawEncoder(spec, schema, part);
    case 'influx':
      return influxEncoder(spec, schema, part);
    case 'avro':
      return avroEncoder(spec, schema, part);
    case 'protobuf':
      return protobufEncoder(spec, schema, part);
    default:
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `unknown ${part} spec kind "${String((spec as { kind?: unknown }).kind)}"; use one of ${keyValueSpecSchema.options.map((option) => option.shape.kind.value).join(', ')}`,
      );
  }
}

export { influxSpecSchema };

/** Checks an influx spec against a schema, with errors opened by `where` (a dialect's own words). */
export function checkInfluxSpec(spec: z.output<typeof influxSpecSchema>, schema: Schema, where: string): void {
  compileInfluxLine(spec, schema, where);
}
