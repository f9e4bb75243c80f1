/**
 * Key and value specs, in Deephaven's words: `KeyValueSpec.IGNORE`, `simpleSpec(column)`,
 * `jsonSpec(columns)`, and one spec per further format. A spec is plain data (so SQL, REST and
 * the CLI can carry it); its zod schema, defined beside its encoder, is the single source of truth
 * for its options; `createEncoder` compiles a spec against a table's schema.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { Schema } from '../model/schema.ts';
import type { Encoder } from './encoder.ts';
import { type IgnoreSpec, ignoreEncoder, ignoreSpecSchema } from './ignore.ts';
import { jsonEncoder, jsonSpecSchema } from './json.ts';
import { simpleEncoder, simpleSpecSchema } from './simple.ts';

/** Every format's spec; the `kind` field names the format. */
export const keyValueSpecSchema = z.discriminatedUnion('kind', [ignoreSpecSchema, simpleSpecSchema, jsonSpecSchema]);

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

/** A JSON object of the given columns (all columns when omitted). */
export function jsonSpec(columns?: readonly string[]): KeyValueSpecInput {
  return columns === undefined ? { kind: 'json' } : { kind: 'json', columns: [...columns] };
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
    default:
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `unknown ${part} spec kind "${String((spec as { kind?: unknown }).kind)}"; use one of ${keyValueSpecSchema.options.map((option) => option.shape.kind.value).join(', ')}`,
      );
  }
}
