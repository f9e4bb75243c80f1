/**
 * The sink spec: every option a sink has, in one validated schema. Every front door (produce(),
 * and the dialects that follow) translates into this and nothing else; the TypeScript types and
 * the generated docs come from it.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { keyValueSpecSchema } from '../formats/key-value-spec.ts';

/** Kafka's topic name rule: 1–249 of [a-zA-Z0-9._-], and not "." or "..". */
const topicSchema = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'a topic name is 1–249 letters, digits, ".", "_" or "-"')
  .refine((topic) => topic !== '.' && topic !== '..', 'a topic cannot be "." or ".."');

export const sinkSpecSchema = z
  .object({
    /** Names the sink in errors, metrics, client ids and (later) transactional ids. */
    name: z.string().min(1).max(200),
    topic: topicSchema,
    key: keyValueSpecSchema.default({ kind: 'ignore' }),
    value: keyValueSpecSchema,
    /** Keep only the last row per key before writing (Deephaven's `last_by_key_columns`). */
    lastByKeyColumns: z.boolean().default(false),
    /** Kafka producer properties by their librdkafka / Java names. */
    kafka: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    delivery: z.enum(['none', 'at-least-once', 'exactly-once']).default('at-least-once'),
    partitioner: z.enum(['hash', 'round-robin', 'least-bytes', 'fixed']).default('hash'),
    /** What a row that cannot be encoded does: fail the sink, or be skipped and counted. */
    errorPolicy: z.enum(['fail', 'skip']).default('fail'),
    /** Write the table's current rows first (default), or only the changes after the start. */
    snapshot: z.boolean().default(true),
  })
  .strict();

export type SinkSpecInput = z.input<typeof sinkSpecSchema>;
export type SinkSpec = z.output<typeof sinkSpecSchema>;

/** Validates a spec completely, reporting every problem at once; the input is not mutated. */
export function parseSinkSpec(input: unknown): SinkSpec {
  const result = sinkSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const sinkName =
    typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
      ? (input as { name: string }).name
      : '(unnamed)';
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length === 0 ? 'spec' : issue.path.join('.');
    if (issue.code === 'unrecognized_keys') return `${field}: unknown option(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${field}: ${issue.message}`;
  });
  throw new SpillwayError(ErrorCode.InvalidConfig, `sink "${sinkName}" is misconfigured:\n  - ${problems.join('\n  - ')}`);
}
