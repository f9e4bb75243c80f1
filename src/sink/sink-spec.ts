/**
 * The sink spec: every option a sink has, in one validated schema. Every front door (produce(),
 * and the dialects that follow) translates into this and nothing else; the TypeScript types and
 * the generated docs come from it.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { keyValueSpecSchema } from '../formats/key-value-spec.ts';
import { parseDuration } from '../model/period.ts';
import { updateModeNames } from './update-modes.ts';
import { kafkaPropertyValueSchema } from '../kafka/kafka-properties.ts';

/** Kafka's topic name rule: 1–249 of [a-zA-Z0-9._-], and not "." or "..". */
const topicSchema = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'a topic name is 1–249 letters, digits, ".", "_" or "-"')
  .refine((topic) => topic !== '.' && topic !== '..', 'a topic cannot be "." or ".."');

/**
 * When the sink writes: `continuous` (as changes arrive, batched by linger.ms / batch.size),
 * `{ interval }` micro-batches (a number of ms, "5 seconds", or PT5S; changes within one interval
 * coalesced per key where the mode allows), or `once` (write what is there, then stop).
 */
export const triggerSchema = z
  .union([z.enum(['continuous', 'once']), z.object({ interval: z.union([z.number(), z.string()]) }).strict()])
  .transform((trigger, context): Trigger => {
    if (trigger === 'continuous' || trigger === 'once') return { kind: trigger };
    try {
      return { kind: 'interval', intervalMs: parseDuration(trigger.interval) };
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  });

export type Trigger = { readonly kind: 'continuous' } | { readonly kind: 'once' } | { readonly kind: 'interval'; readonly intervalMs: number };

const columnName = z.string().min(1);

export const sinkSpecSchema = z
  .object({
    /** Names the sink in errors, metrics, client ids and (later) transactional ids. */
    name: z.string().min(1).max(200),
    /** The topic written to; with a topicColumn, the topic of rows whose column is null or empty. */
    topic: topicSchema.optional(),
    key: keyValueSpecSchema.default({ kind: 'ignore' }),
    value: keyValueSpecSchema,
    /** Keep only the last row per key before writing (Deephaven's `last_by_key_columns`). */
    lastByKeyColumns: z.boolean().default(false),
    /** Kafka producer properties by their librdkafka / Java names. */
    kafka: z.record(z.string(), kafkaPropertyValueSchema),
    delivery: z.enum(['none', 'at-least-once', 'exactly-once']).default('at-least-once'),
    partitioner: z.enum(['hash', 'round-robin', 'least-bytes', 'fixed', 'kafka-go-hash']).default('hash'),
    /** What a row that cannot be encoded does: fail the sink, or be skipped and counted. */
    errorPolicy: z.enum(['fail', 'skip']).default('fail'),
    /** Write the table's current rows first (default), or only the changes after the start. */
    snapshot: z.boolean().default(true),
    /** What each change becomes: append, retract, upsert, complete or update. Default: append for tables that only grow, upsert otherwise. */
    mode: z.enum(updateModeNames).optional(),
    /** Append mode on a table that updates or deletes: write its inserts and drop the rest (counted). */
    dropRetractions: z.boolean().default(false),
    trigger: triggerSchema.default({ kind: 'continuous' }),
    /** Retract mode with a value format that has no change envelope: the header naming the change (insert / delete). */
    changeHeader: z.string().min(1).default('change-kind'),
    /** A string column routing each row to its topic; `topic` is used when it is null or empty. */
    topicColumn: columnName.optional(),
    /** An int32/int64 column choosing each row's partition. */
    partitionColumn: columnName.optional(),
    /** Columns whose values choose the partition (hashed like a key), instead of the record key. */
    partitionBy: z.array(columnName).min(1).optional(),
    /** A timestamp (or int64 epoch-millis) column giving each record's timestamp. */
    timestampColumn: columnName.optional(),
    /** Headers added to every record. */
    headers: z.record(z.string().min(1), z.string()).optional(),
    /** Columns written as headers named after them (their values as text; bytes as is). */
    headerColumns: z.array(columnName).min(1).optional(),
    /** A json column of headers, Spark's `headers`: an array of { key, value } or an object. */
    headersColumn: columnName.optional(),
    /** Where progress is kept (Spark's checkpointLocation); exactly-once delivery gives it meaning. */
    checkpointLocation: z.string().min(1).optional(),
  })
  .strict()
  .refine((spec) => spec.topic !== undefined || spec.topicColumn !== undefined, {
    path: ['topic'],
    message: 'no topic; name one, or a topicColumn that routes each row',
  });

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
