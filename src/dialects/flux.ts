/**
 * Flux's front door: `kafkaTo(table, { brokers, topic, balancer, name, nameColumn, tagColumns,
 * timeColumn, valueColumns })`, in the words of Flux's `kafka.to`, translated into a sink spec and
 * nothing more.
 *
 * What `kafka.to` writes, as its Go implementation (stdlib/kafka/to.go) does it:
 * - One message per row. Its value is that row as one line of Influx line protocol, without the
 *   trailing newline: the measurement from `name`, or else from the `nameColumn` column
 *   (default `_measurement`); a tag per `tagColumns` column (default none), in the table's column
 *   order; a field per `valueColumns` column (default `["_value"]`), sorted by name; and the
 *   `timeColumn` column (default `_time`) as the timestamp in nanoseconds. Other columns are not
 *   written. The formats layer's `influx` spec holds the line rules and Flux's treatment of nulls.
 * - Its key is the XXH64 digest of that line, 8 bytes little-endian, as Flux writes it.
 * - `balancer` picks kafka-go's balancer: `hash` (the default) is its `Hash`, FNV-1a with Go's
 *   signed remainder (the `kafka-go-hash` partitioner), of the row's group key as Flux's docs say,
 *   so that the rows of one Flux table share a partition. (Flux's Go code hashes the record key
 *   instead, which spreads a table's rows over every partition.) The group key is the table's own
 *   (`Table.groupKey`, as sample data has), or else the line's series: the measurement column
 *   (unless `name` is given) and the tag columns. A table with neither is one Flux table, all on
 *   partition 0. `round-robin` gives partitions 0, 1, 2, … in turn; `least-bytes` gives each
 *   message to the partition that has been sent the fewest key and value bytes so far, the
 *   lowest-numbered on a tie. Spillway's `round-robin` and `least-bytes` partitioners behave exactly so.
 * - When `valueColumns` is given, to.go's argument reading overwrites the tag list with it and
 *   leaves the value list empty (it appends to the wrong slice), so such a call writes no field
 *   and fails; Spillway does what the documentation says: they are the fields.
 * - Flux takes broker addresses as URLs (its example passes `http://127.0.0.1:9092`); the scheme is
 *   dropped here, since Kafka wants `host:port`.
 *
 * Flux tables are finished results, so the sink appends: a table that updates or deletes rows is
 * refused, as line protocol has nothing to write for a retraction.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError, zodIssuesError } from '../errors.ts';
import { type KeyValueSpecInput, checkInfluxSpec, influxSpecSchema } from '../formats/key-value-spec.ts';
import type { Schema } from '../model/schema.ts';
import type { Table } from '../model/table.ts';
import { openSink } from '../sink/open-sink.ts';
import type { SinkDependencies, SinkHandle } from '../sink/sink.ts';
import type { SinkSpecInput } from '../sink/sink-spec.ts';

/** Flux's balancer names and the partitioner each one is. */
const balancers = {
  hash: 'kafka-go-hash',
  'round-robin': 'round-robin',
  'least-bytes': 'least-bytes',
} as const;

const columnName = z.string().min(1);

export const kafkaToOptionsSchema = z
  .object({
    /** Broker addresses, `host:port` or a URL such as `http://127.0.0.1:9092`. */
    brokers: z.array(z.string().min(1)).min(1, 'at least one broker is required').readonly(),
    topic: z.string().min(1, 'the topic name is empty'),
    /** How messages are spread over partitions: `hash` (default), `round-robin` or `least-bytes`. */
    balancer: z.enum(['hash', 'round-robin', 'least-bytes']).default('hash'),
    /** The measurement of every line; not with `nameColumn`. */
    name: z.string().min(1).optional(),
    /** The string column naming each line's measurement; default `_measurement`. */
    nameColumn: columnName.optional(),
    /** String columns written as tags; default none. */
    tagColumns: z.array(columnName).readonly().optional(),
    /** The timestamp column; default `_time`. */
    timeColumn: columnName.optional(),
    /** Columns written as fields; default `["_value"]`. */
    valueColumns: z.array(columnName).min(1).readonly().optional(),
    /** Further Kafka producer properties by their librdkafka / Java names (compression.type, sasl.*, …). */
    kafkaConfig: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .superRefine((config, context) => {
        for (const name of ['bootstrap.servers', 'metadata.broker.list']) {
          if (name in config) {
            context.addIssue({ code: 'custom', path: [name], message: `the brokers come from the brokers option, not kafkaConfig; give the brokers option instead` });
          }
        }
      })
      .optional(),
  })
  .strict()
  .refine((options) => options.name === undefined || options.nameColumn === undefined, {
    path: ['nameColumn'],
    message: "give name or nameColumn, not both: name is every line's measurement, nameColumn the column each line's is read from",
  });

export type KafkaToOptions = z.input<typeof kafkaToOptionsSchema>;

/** `http://host:9092/` → `host:9092`. */
function brokerAddress(broker: string): string {
  return broker.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}

function parseOptions(options: unknown): z.output<typeof kafkaToOptionsSchema> {
  const result = kafkaToOptionsSchema.safeParse(options);
  if (result.success) return result.data;
  throw zodIssuesError(result.error.issues, { subject: 'kafkaTo()', root: 'options', fieldPrefix: 'option ', layout: 'inline' });
}

/**
 * Writes a table to Kafka as Flux's `kafka.to` does: one line-protocol message per row, keyed by
 * the line's XXH64 digest. Returns the sink's handle (`done`, `stop()`, `metrics`).
 * @example kafkaTo(table, { brokers: ['127.0.0.1:9092'], topic: 'metrics', tagColumns: ['host'] })
 */
export function kafkaTo(table: Table, options: KafkaToOptions, dependencies: Partial<SinkDependencies> = {}): SinkHandle {
  return openSink(table, kafkaToSpec(table, options), dependencies);
}

/** The sink spec a kafkaTo() call describes, checked against the table's schema (pure: no broker). */
export function kafkaToSpec(table: Pick<Table, 'schema' | 'appendOnly' | 'groupKey'>, options: KafkaToOptions): SinkSpecInput {
  const parsed = parseOptions(options);
  if (!table.appendOnly) {
    throw new SpillwayError(
      ErrorCode.IncompatibleMode,
      `kafkaTo(): topic "${parsed.topic}": Flux's kafka.to appends one line per row and cannot express an update or a delete, ` +
        'but this table updates or deletes rows; write it with produce() in upsert or retract mode instead',
    );
  }
  const line = influxSpecSchema.parse({
    kind: 'influx',
    ...(parsed.name === undefined ? {} : { name: parsed.name }),
    ...(parsed.nameColumn === undefined ? {} : { nameColumn: parsed.nameColumn }),
    ...(parsed.tagColumns === undefined ? {} : { tagColumns: parsed.tagColumns }),
    ...(parsed.timeColumn === undefined ? {} : { timeColumn: parsed.timeColumn }),
    ...(parsed.valueColumns === undefined ? {} : { valueColumns: parsed.valueColumns }),
  });
  // Check the columns now, so errors speak of kafkaTo's options rather than the encoder's.
  checkInfluxSpec(line, table.schema satisfies Schema, 'kafkaTo()');
  const value: KeyValueSpecInput = line;
  const key: KeyValueSpecInput = { ...line, output: 'xxhash64' };
  const spec: SinkSpecInput = {
    name: `kafkaTo-${parsed.topic}`.slice(0, 200),
    topic: parsed.topic,
    kafka: { ...parsed.kafkaConfig, 'bootstrap.servers': parsed.brokers.map(brokerAddress).join(',') },
    key,
    value,
    mode: 'append',
    partitioner: balancers[parsed.balancer],
  };
  if (parsed.balancer !== 'hash') return spec;
  const groupKey = table.groupKey ?? [...(parsed.name === undefined ? [parsed.nameColumn ?? '_measurement'] : []), ...(parsed.tagColumns ?? [])];
  return groupKey.length === 0 ? { ...spec, partitioner: 'fixed' } : { ...spec, partitionBy: [...groupKey] };
}
