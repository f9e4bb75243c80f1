/**
 * Key and value specs, in Deephaven's words: `KeyValueSpec.IGNORE`, `simpleSpec(column)` and
 * `jsonSpec(columns)`. A spec is plain data (so SQL, REST and the CLI can carry it); `createEncoder`
 * compiles it against a table's schema.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { Schema } from '../model/schema.ts';
import type { Encoder } from './encoder.ts';
import { type IgnoreSpec, ignoreEncoder } from './ignore.ts';
import { type JsonSpec, jsonEncoder } from './json.ts';
import { type SimpleSpec, simpleEncoder } from './simple.ts';

export type KeyValueSpec = IgnoreSpec | SimpleSpec | JsonSpec;

export const KeyValueSpec = {
  /** Leave this part of the record null. */
  IGNORE: Object.freeze({ kind: 'ignore' }) as IgnoreSpec,
} as const;

/** One column, serialized as Kafka's standard serializer for its type. */
export function simpleSpec(column: string): SimpleSpec {
  return { kind: 'simple', column };
}

/** A JSON object of the given columns (all columns when omitted). */
export function jsonSpec(columns?: readonly string[]): JsonSpec {
  return columns === undefined ? { kind: 'json' } : { kind: 'json', columns: [...columns] };
}

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
        `unknown ${part} spec kind "${String((spec as { kind?: unknown }).kind)}"; use KeyValueSpec.IGNORE, simpleSpec(column) or jsonSpec(columns)`,
      );
  }
}
