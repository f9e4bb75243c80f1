/**
 * The sink spec: every option a sink has, in one validated schema. Every front door (produce(),
 * and the dialects that follow) translates into this and nothing else; the TypeScript types and
 * the generated docs come from it.
 */
import { z } from 'zod';
import { zodIssuesError } from '../errors.ts';
import { keyValueSpecSchema } from '../formats/key-value-spec.ts';
import { PartitionerName, type PartitionerFunction, isPartitionerModulePath } from '../kafka/partitioners.ts';
import { parseDuration } from '../model/period.ts';
import { updateModeNames } from './update-modes.ts';
import { kafkaPropertyValueSchema } from '../kafka/kafka-properties.ts';

/** Kafka's topic name rule: 1–249 of [a-zA-Z0-9._-], and not "." or "..". */
const topicSchema = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'a topic name is 1–249 letters, digits, ".", "_" or "-"')
  .refine((topic) => topic !== '.' && topic !== '..', 'a topic cannot be "." or ".."');

/**
 * When the sink writes: `continuous` (as changes arrive, batched by linger.ms / batch.size);
 * `{ continuous: epoch }` (the same, in epochs of that length — a number of ms, "5 seconds" or
 * PT5S: at each epoch's end what arrived is written and acknowledged, a progress report is made,
 * and no change waits past its epoch's end for linger.ms); `{ interval }` micro-batches (changes
 * within one interval coalesced per key where the mode allows; with `maxRows`, written early once that many
 * changes wait); or `once` (write what is there,
 * then stop).
 */
export const triggerSchema = z
  .union([
    z.enum(['continuous', 'once']),
    // maxRows: a micro-batch is also written as soon as this many changes wait (Flink's sink.buffer-flush.max-rows).
    z.object({ interval: z.union([z.number(), z.string()]), maxRows: z.number().int().positive().optional() }).strict(),
    z.object({ continuous: z.union([z.number(), z.string()]) }).strict(),
  ])
  .transform((trigger, context): Trigger => {
    if (trigger === 'continuous' || trigger === 'once') return { kind: trigger };
    try {
      if ('continuous' in trigger) return { kind: 'continuous', epochMs: parseDuration(trigger.continuous) };
      const intervalMs = parseDuration(trigger.interval);
      return trigger.maxRows === undefined ? { kind: 'interval', intervalMs } : { kind: 'interval', intervalMs, maxRows: trigger.maxRows };
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  });

export type Trigger =
  | { readonly kind: 'continuous'; readonly epochMs?: number }
  | { readonly kind: 'once' }
  | { readonly kind: 'interval'; readonly intervalMs: number; readonly maxRows?: number };

const columnName = z.string().min(1);

export type { PartitionerFunction };

/** A partitioner name, a partitioner function, or the path of a module exporting one. */
export type PartitionerChoice = PartitionerName | PartitionerFunction | (string & {});

const partitionerNames: readonly string[] = Object.values(PartitionerName);

const partitionerSchema = z.custom<PartitionerChoice>(
  (value) =>
    typeof value === 'function' ||
    (typeof value === 'string' && (partitionerNames.includes(value) || isPartitionerModulePath(value))),
  {
    error: (issue) =>
      `${typeof issue.input === 'string' ? `unknown partitioner "${issue.input}"` : `a partitioner cannot be ${typeof issue.input}`}; ` +
      `use one of ${partitionerNames.join(', ')}, a function (key, value, partitions) => partition, ` +
      `or the path of a module exporting one, such as "./my-partitioner.js"`,
  },
);

export const sinkSpecSchema = z
  .object({
    /**
     * Names the sink in errors, metrics and client ids; under exactly-once it is the sink's
     * identity: its transactional id and its progress key, so a restart under the same name resumes.
     */
    name: z.string().min(1).max(200).describe('Names the sink in errors, metrics and client ids; under exactly-once, its transactional id and progress key (a restart under the same name resumes).'),
    /** The topic written to; with a topicColumn, the topic of rows whose column is null or empty. */
    topic: topicSchema.optional().describe('The topic written to; with a topicColumn, the topic of rows whose column is null or empty.'),
    key: keyValueSpecSchema.default({ kind: 'ignore' }).describe('How the record key is encoded (ignore, simple, json, csv, avro, raw, influx).'),
    value: keyValueSpecSchema.describe('How the record value is encoded (ignore, simple, json, csv, avro, raw, influx).'),
    /** Keep only the last row per key before writing (Deephaven's `last_by_key_columns`). */
    lastByKeyColumns: z.boolean().default(false).describe('Keep only the last row per key before writing.'),
    /** Kafka producer properties by their librdkafka / Java names. */
    kafka: z.record(z.string(), kafkaPropertyValueSchema).describe('Kafka producer properties by their librdkafka / Java names (docs/properties.md).'),
    delivery: z
      .enum(['none', 'at-least-once', 'exactly-once'])
      .default('at-least-once')
      .describe('The delivery guarantee: at-least-once (idempotent, acks=all), exactly-once (a Kafka transaction per epoch, committed with the source position), or none (fire and forget).'),
    /** Flink's `sink.transactional-id-prefix`: the transactional id becomes `<prefix>-<shard>` instead of `spillway-<name>-<shard>`. */
    transactionalIdPrefix: z.string().min(1).optional().describe('Exactly-once: the transactional id is `<prefix>-0` instead of `spillway-<name>-0` (for ACLs on a prefix).'),
    /** The compacted topic where an exactly-once sink commits its progress with its records. */
    progressTopic: topicSchema.default('_spillway-progress').describe('Exactly-once: the compacted topic where the sink commits its source position with its records, keyed by sink name.'),
    /**
     * How a record's partition is chosen: a partitioner by name, a function `(key, value,
     * partitions) => partition` (the TypeScript API), or — where configuration is text (SQL, REST) —
     * the path of a module exporting such a function (`'./my-partitioner.js'`, `'./p.js#byRegion'`
     * for a named export), imported when the sink is planned.
     */
    partitioner: partitionerSchema
      .default('hash')
      .describe('How records are spread over partitions: hash (Java murmur2 of the key), round-robin, least-bytes, fixed, kafka-go-hash, a function (key, value, partitions) => partition, or the path of a module exporting one.'),
    /** What a row that cannot be written does: fail the sink, be skipped and counted, or go to the dead-letter topic. */
    errorPolicy: z
      .enum(['fail', 'skip', 'dead-letter'])
      .default('fail')
      .describe('What a row that cannot be written (not encodable, or larger than message.max.bytes) does: fail the sink, be skipped and counted, or go to deadLetterTopic with the error in __connect.errors.* headers.'),
    /** The dead-letter policy's topic. */
    deadLetterTopic: topicSchema.optional().describe("errorPolicy 'dead-letter': the topic that receives what cannot be written, with the error in __connect.errors.* headers."),
    /** Write the table's current rows first (default), or only the changes after the start. */
    snapshot: z.boolean().default(true).describe("Write the table's current rows first, or only the changes after the start."),
    /** What each change becomes: append, retract, upsert, complete or update. Default: append for tables that only grow, upsert otherwise. */
    mode: z.enum(updateModeNames).optional().describe('What each change becomes: append, retract, upsert, complete or update; default append for tables that only grow, upsert otherwise.'),
    /** Append mode on a table that updates or deletes: write its inserts and drop the rest (counted). */
    dropRetractions: z.boolean().default(false),
    trigger: triggerSchema.default({ kind: 'continuous' }).describe('When the sink writes: continuous, once, or { interval } micro-batches.'),
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
    /**
     * Spark's checkpointLocation: a directory holding the sink's identity and its last committed
     * (or, at-least-once, acknowledged) source position, so a restart with it resumes there; a
     * location of another query is refused.
     */
    checkpointLocation: z.string().min(1).optional().describe("A directory mirroring the sink's identity and last committed source position; a restart with it resumes there."),
  })
  .strict()
  .refine((spec) => spec.topic !== undefined || spec.topicColumn !== undefined, {
    path: ['topic'],
    message: 'no topic; name one, or a topicColumn that routes each row',
  })
  .refine((spec) => (spec.errorPolicy === 'dead-letter') === (spec.deadLetterTopic !== undefined), {
    path: ['deadLetterTopic'],
    message: "errorPolicy 'dead-letter' and deadLetterTopic go together: name the topic that receives what cannot be written, or choose another errorPolicy",
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
  throw zodIssuesError(result.error.issues, { subject: `sink "${sinkName}"`, root: 'spec', sink: sinkName });
}
