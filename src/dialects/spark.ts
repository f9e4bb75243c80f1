/**
 * Spark's front door, translated into a sink spec and nothing more:
 *
 *   writeStream(table).format('kafka').outputMode('update')
 *     .trigger({ processingTime: '5 seconds' })
 *     .option('kafka.bootstrap.servers', servers).option('topic', 'counts')
 *     .option('checkpointLocation', dir).partitionBy('region').start()
 *
 * and sparklyr's `stream_write_kafka(x, mode, trigger, checkpoint, options, partition_by)` as an
 * options object. As in Spark's Kafka sink, columns named `key`, `value`, `topic`, `partition`
 * and `headers` are the record's parts; a table without a `value` column has its other columns
 * written as a JSON object. `kafka.`-prefixed options are Kafka properties.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type KeyValueSpecInput, KeyValueSpec, jsonSpec, simpleSpec } from '../formats/key-value-spec.ts';
import { createKafkaWriter } from '../kafka/kafka-client.ts';
import { isKafkaPropertyName, nearestName } from '../kafka/kafka-properties.ts';
import { findColumn } from '../model/schema.ts';
import type { Table } from '../model/table.ts';
import { type SinkDependencies, type SinkHandle, startSink } from '../sink/sink.ts';
import type { SinkSpecInput } from '../sink/sink-spec.ts';

/** Spark's output modes (Spillway's append, complete and update). */
export type OutputMode = 'append' | 'complete' | 'update';

/**
 * Spark's triggers: `{ processingTime: '5 seconds' }` micro-batches, `{ once: true }` and
 * `{ availableNow: true }` (write what is there, then stop), `{ continuous: '1 second' }` (write
 * as changes arrive; the interval is Spark's checkpoint interval and has no effect here).
 */
export type SparkTrigger =
  | { readonly processingTime: string | number }
  | { readonly once: true }
  | { readonly availableNow: true }
  | { readonly continuous: string | number };

type OptionValue = string | number | boolean;

/** The record parts Spark's Kafka sink takes from columns of these names. */
const RECORD_COLUMNS = ['key', 'value', 'topic', 'partition', 'headers'] as const;

/** Options of Spark's Kafka sink that are not Kafka properties. */
const SINK_OPTIONS = ['topic', 'checkpointLocation'] as const;

function toSpillwayTrigger(trigger: SparkTrigger | undefined): SinkSpecInput['trigger'] {
  if (trigger === undefined) return 'continuous';
  if ('processingTime' in trigger) return { interval: trigger.processingTime };
  if ('once' in trigger || 'availableNow' in trigger) return 'once';
  if ('continuous' in trigger) return 'continuous';
  throw new SpillwayError(
    ErrorCode.InvalidConfig,
    `unknown trigger ${JSON.stringify(trigger)}; use { processingTime: "5 seconds" }, { once: true }, { availableNow: true } or { continuous: "1 second" }`,
  );
}

interface SparkSinkRequest {
  readonly table: Table;
  readonly name: string | undefined;
  readonly mode: OutputMode;
  readonly trigger: SparkTrigger | undefined;
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly partitionBy: readonly string[];
  readonly dependencies: Partial<SinkDependencies> | undefined;
  readonly dialect: string;
}

/** The one translation both Spark forms share. */
function startSparkSink(request: SparkSinkRequest): SinkHandle {
  const { table, options, dialect } = request;
  const kafka: Record<string, OptionValue> = {};
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(options)) {
    if (name.startsWith('kafka.')) kafka[name.slice('kafka.'.length)] = value;
    else if (!(SINK_OPTIONS as readonly string[]).includes(name)) unknown.push(name);
  }
  if (unknown.length > 0) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${dialect}: unknown option(s) ${unknown
        .map((name) => {
          const isKafkaProperty = isKafkaPropertyName(name);
          const near = isKafkaProperty ? `kafka.${name}` : nearestName(name, SINK_OPTIONS);
          return `"${name}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`;
        })
        .join(', ')}; Kafka properties take the "kafka." prefix, as in "kafka.bootstrap.servers"`,
    );
  }
  const has = (column: string) => findColumn(table.schema, column) !== undefined;
  const topic = options.topic;
  if (topic === undefined && !has('topic')) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: no topic; set .option("topic", name) or give the table a "topic" column`);
  }
  const key: KeyValueSpecInput = has('key') ? simpleSpec('key') : KeyValueSpec.IGNORE;
  const valueColumns = table.schema.columns.map((column) => column.name).filter((name) => !(RECORD_COLUMNS as readonly string[]).includes(name));
  const value: KeyValueSpecInput = has('value') ? simpleSpec('value') : jsonSpec(valueColumns);
  const checkpoint = options.checkpointLocation;
  const spec: SinkSpecInput = {
    name: request.name ?? `spark-${String(topic ?? 'by-column')}`,
    ...(topic === undefined ? {} : { topic: String(topic) }),
    kafka,
    key,
    value,
    mode: request.mode,
    trigger: toSpillwayTrigger(request.trigger),
    ...(has('topic') ? { topicColumn: 'topic' } : {}),
    ...(has('partition') ? { partitionColumn: 'partition' } : {}),
    ...(has('headers') ? { headersColumn: 'headers' } : {}),
    ...(request.partitionBy.length > 0 ? { partitionBy: [...request.partitionBy] } : {}),
    ...(checkpoint === undefined ? {} : { checkpointLocation: String(checkpoint) }),
  };
  return startSink(table, spec, { createWriter: createKafkaWriter, ...request.dependencies });
}

/** A running streaming query, in Spark's words; the sink handle is underneath. */
export interface StreamingQuery {
  readonly name: string;
  readonly sink: SinkHandle;
  readonly isActive: boolean;
  /** Resolves when the query ends (a `once` trigger, the table's end, or `stop()`); rejects on failure. */
  awaitTermination(): Promise<void>;
  stop(): Promise<void>;
}

function queryOf(sink: SinkHandle): StreamingQuery {
  return {
    name: sink.name,
    sink,
    get isActive() {
      return sink.state === 'starting' || sink.state === 'running' || sink.state === 'stopping';
    },
    awaitTermination: () => sink.done,
    stop: () => sink.stop(),
  };
}

/** Spark's DataStreamWriter for a table; each call returns the same builder. */
export class DataStreamWriter {
  readonly #table: Table;
  #format: string | undefined;
  #mode: OutputMode = 'append';
  #trigger: SparkTrigger | undefined;
  #name: string | undefined;
  #partitionBy: string[] = [];
  #dependencies: Partial<SinkDependencies> | undefined;
  readonly #options: Record<string, OptionValue> = {};

  constructor(table: Table) {
    this.#table = table;
  }

  format(source: string): this {
    this.#format = source;
    return this;
  }

  outputMode(mode: OutputMode): this {
    this.#mode = mode;
    return this;
  }

  trigger(trigger: SparkTrigger): this {
    this.#trigger = trigger;
    return this;
  }

  option(name: string, value: OptionValue): this {
    this.#options[name] = value;
    return this;
  }

  options(options: Readonly<Record<string, OptionValue>>): this {
    Object.assign(this.#options, options);
    return this;
  }

  partitionBy(...columns: string[]): this {
    this.#partitionBy = columns;
    return this;
  }

  queryName(name: string): this {
    this.#name = name;
    return this;
  }

  /** For tests and embedding: replaces the Kafka writer or observes failures. */
  dependencies(dependencies: Partial<SinkDependencies>): this {
    this.#dependencies = dependencies;
    return this;
  }

  start(): StreamingQuery {
    if (this.#format !== 'kafka') {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `writeStream: format ${this.#format === undefined ? 'is not set' : `"${this.#format}" is not supported`}; Spillway writes to Kafka: call .format("kafka")`,
      );
    }
    return queryOf(
      startSparkSink({
        table: this.#table,
        name: this.#name,
        mode: this.#mode,
        trigger: this.#trigger,
        options: this.#options,
        partitionBy: this.#partitionBy,
        dependencies: this.#dependencies,
        dialect: 'writeStream',
      }),
    );
  }
}

/** `df.writeStream` for a table. */
export function writeStream(table: Table): DataStreamWriter {
  return new DataStreamWriter(table);
}

/** sparklyr's `stream_trigger_interval(interval)`: micro-batches every `interval` ms (default 5000). */
export function streamTriggerInterval(interval = 5000): SparkTrigger {
  return { processingTime: interval };
}

/** sparklyr's `stream_trigger_continuous(checkpoint)`: write as changes arrive. */
export function streamTriggerContinuous(checkpoint = 5000): SparkTrigger {
  return { continuous: checkpoint };
}

/** sparklyr's arguments of `stream_write_kafka`. */
export interface StreamWriteKafkaOptions {
  readonly mode?: OutputMode;
  /** Default: micro-batches every 5 seconds, as sparklyr's. */
  readonly trigger?: SparkTrigger;
  readonly checkpoint?: string;
  readonly options?: Readonly<Record<string, OptionValue>>;
  readonly partition_by?: readonly string[];
  readonly partitionBy?: readonly string[];
  readonly name?: string;
  readonly dependencies?: Partial<SinkDependencies>;
}

/** sparklyr's `stream_write_kafka(x, mode, trigger, checkpoint, options, partition_by)`. */
export function streamWriteKafka(x: Table, args: StreamWriteKafkaOptions = {}): StreamingQuery {
  return queryOf(
    startSparkSink({
      table: x,
      name: args.name,
      mode: args.mode ?? 'append',
      trigger: args.trigger ?? streamTriggerInterval(),
      options: { ...args.options, ...(args.checkpoint === undefined ? {} : { checkpointLocation: args.checkpoint }) },
      partitionBy: args.partition_by ?? args.partitionBy ?? [],
      dependencies: args.dependencies,
      dialect: 'stream_write_kafka',
    }),
  );
}

/** The same function under sparklyr's own name. */
export const stream_write_kafka = streamWriteKafka;
