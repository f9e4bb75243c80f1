/**
 * The sink spec as JSON Schema (draft 2020-12), generated from the one zod schema: what the REST
 * service serves, what editors validate spec.json files with, and what the SQL WITH-key table in
 * docs/sql.md takes its descriptions and allowed values from. A function partitioner has no JSON
 * form; in JSON it is a partitioner name.
 */
import { z } from 'zod';
import { sinkSpecSchema } from './sink-spec.ts';

export type JsonSchema = Readonly<Record<string, unknown>>;

/** The JSON Schema of a sink spec as a caller writes it (defaults may be left out). */
export function sinkSpecJsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(sinkSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://spillway.dev/schemas/sink-spec.json', title: 'Spillway sink spec' };
}

/** The JSON Schema of one top-level field of the spec. */
export function sinkSpecFieldSchema(field: string): JsonSchema | undefined {
  const properties = (sinkSpecJsonSchema().properties ?? {}) as Record<string, JsonSchema>;
  return properties[field];
}
