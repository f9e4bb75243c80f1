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
 *
 * As in Spark, a query with a checkpoint location starts the Kafka source it reads (from
 * `stream_read_kafka` or `readStream()`) at the offsets the checkpoint holds, so a restart goes on
 * where the last run's acknowledged records end; startingOffsets only choose the first run's start.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError, type ZodIssueLike, zodIssuesError } from '../errors.ts';
import { type KeyValueSpecInput, KeyValueSpec, jsonSpec, simpleSpec } from '../formats/key-value-spec.ts';
import type { SourcePosition } from '../model/position.ts';
import { findColumn } from '../model/schema.ts';
import type { Table } from '../model/table.ts';
import { CheckpointLocation, checkpointTopic } from '../sink/checkpoint-location.ts';
import { openPlan } from '../sink/open-sink.ts';
import { type SinkPlan, isKafkaPropertyName, nearestOption, planSink } from '../sink/plan.ts';
import type { SinkDependencies, SinkHandle } from '../sink/sink.ts';
import type { SinkSpecInput } from '../sink/sink-spec.ts';
import { type PartitionOffsets, SparkKafkaSource, type SparkKafkaSourceOptions } from '../sources/spark-kafka-source.ts';

/** Spark's output modes (Spillway's append, complete and update). */
export type OutputMode = 'append' | 'complete' | 'update';

/**
 * Spark's triggers: `{ processingTime: '5 seconds' }` micro-batches, `{ once: true }` and
 * `{ availableNow: true }` (write what is there, then stop), `{ continuous: '1 second' }` (write
 * as changes arrive, in epochs of Spark's checkpoint interval: at each epoch's end what arrived is
 * written and acknowledged and progress is reported).
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
  // Spark's continuous checkpoint interval is the epoch length: progress is reported at its cadence.
  if ('continuous' in trigger) return { continuous: trigger.continuous };
  throw new SpillwayError(
    ErrorCode.InvalidConfig,
    `unknown trigger ${JSON.stringify(trigger)}; use { processingTime: "5 seconds" }, { once: true }, { availableNow: true } or { continuous: "1 second" }`,
  );
}

export interface SparkSinkRequest {
  readonly table: Table;
  readonly name: string | undefined;
  readonly mode: OutputMode;
  readonly trigger: SparkTrigger | undefined;
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly partitionBy: readonly string[];
  readonly dependencies: Partial<SinkDependencies> | undefined;
  readonly dialect: string;
}

function startSparkSink(request: SparkSinkRequest): SinkHandle {
  const plan = planSink(request.table, sparkSinkSpec(request));
  // Before the sink starts, so a source the checkpoint cannot resume is refused with nothing running.
  startSourcesFromCheckpoint(plan, request.table);
  return openPlan(plan, request.dependencies);
}

/**
 * The source position the sink's checkpoint location holds, if any (none on the query's first
 * run). The sink opens the location too; opened by both at once the first time, each writes the
 * same sink and topic into its metadata.
 */
async function checkpointedPosition(plan: SinkPlan, directory: string): Promise<SourcePosition | undefined> {
  // The identity the sink opens its location with, so a location of another query is refused here too.
  const location = await CheckpointLocation.open(directory, { sink: plan.name, topic: checkpointTopic(plan.spec) });
  return (await location.readProgress(0))?.position;
}

/**
 * Spark resumes a query's Kafka source from the offsets in its checkpoint, ignoring
 * startingOffsets; the sink alone would skip what a replay repeats, but a source started at
 * `latest` replays nothing, and one at `earliest` would read everything again.
 */
function startSourcesFromCheckpoint(plan: SinkPlan, table: Table): void {
  const directory = plan.spec.checkpointLocation;
  if (directory === undefined) return;
  for (const source of kafkaSourcesOf(table)) source.startFromCheckpoint(() => checkpointedPosition(plan, directory));
}

/** The one translation both Spark forms share: the sink spec, from the table's columns and the options (pure: no broker). */
export function sparkSinkSpec(request: Omit<SparkSinkRequest, 'table' | 'dependencies'> & { readonly table: Pick<Table, 'schema'> }): SinkSpecInput {
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
          const near = isKafkaPropertyName(name) ? `kafka.${name}` : nearestOption(name, SINK_OPTIONS);
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
    // As in Spark, the topic option overrides a topic column (a table read from Kafka has one).
    ...(has('topic') && topic === undefined ? { topicColumn: 'topic' } : {}),
    ...(has('partition') ? { partitionColumn: 'partition' } : {}),
    ...(has('headers') ? { headersColumn: 'headers' } : {}),
    ...(request.partitionBy.length > 0 ? { partitionBy: [...request.partitionBy] } : {}),
    ...(checkpoint === undefined ? {} : { checkpointLocation: String(checkpoint) }),
  };
  return spec;
}

/** A running streaming query, in Spark's words; the sink handle is underneath. */
export interface StreamingQuery {
  readonly name: string;
  readonly sink: SinkHandle;
  /** The table the query writes. */
  readonly table: Table;
  readonly isActive: boolean;
  /** Resolves when the query ends (a `once` trigger, the table's end, or `stop()`); rejects on failure. */
  awaitTermination(): Promise<void>;
  stop(): Promise<void>;
}

function queryOf(sink: SinkHandle, table: Table): StreamingQuery {
  return {
    name: sink.name,
    sink,
    table,
    get isActive() {
      return sink.state === 'starting' || sink.state === 'running' || sink.state === 'stopping';
    },
    awaitTermination: () => sink.done,
    stop: () => sink.stop(),
  };
}

/** What Spark's stream reader and writer share: a source or sink format and string options. */
abstract class SparkStreamBuilder {
  protected sourceFormat: string | undefined;
  protected readonly optionValues: Record<string, OptionValue> = {};

  format(source: string): this {
    this.sourceFormat = source;
    return this;
  }

  option(name: string, value: OptionValue): this {
    this.optionValues[name] = value;
    return this;
  }

  options(options: Readonly<Record<string, OptionValue>>): this {
    Object.assign(this.optionValues, options);
    return this;
  }
}

/** Spark's DataStreamWriter for a table; each call returns the same builder. */
export class DataStreamWriter extends SparkStreamBuilder {
  readonly #table: Table;
  #mode: OutputMode = 'append';
  #trigger: SparkTrigger | undefined;
  #name: string | undefined;
  #partitionBy: string[] = [];
  #dependencies: Partial<SinkDependencies> | undefined;

  constructor(table: Table) {
    super();
    this.#table = table;
  }

  outputMode(mode: OutputMode): this {
    this.#mode = mode;
    return this;
  }

  trigger(trigger: SparkTrigger): this {
    this.#trigger = trigger;
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
    if (this.sourceFormat !== 'kafka') {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `writeStream: format ${this.sourceFormat === undefined ? 'is not set' : `"${this.sourceFormat}" is not supported`}; Spillway writes to Kafka: call .format("kafka")`,
      );
    }
    return queryOf(
      startSparkSink({
        table: this.#table,
        name: this.#name,
        mode: this.#mode,
        trigger: this.#trigger,
        options: this.optionValues,
        partitionBy: this.#partitionBy,
        dependencies: this.#dependencies,
        dialect: 'writeStream',
      }),
      this.#table,
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

/** sparklyr's `stream_trigger_continuous(checkpoint)`: write as changes arrive, in epochs of `checkpoint` ms (default 5000). */
export function streamTriggerContinuous(checkpoint = 5000): SparkTrigger {
  return { continuous: checkpoint };
}

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null;

/** sparklyr's arguments of `stream_write_kafka`, checked at the call: a JavaScript caller's misspelt name is refused, not dropped. */
const streamWriteKafkaArgsSchema = z
  .object({
    mode: z.enum(['append', 'complete', 'update']).optional(),
    /** Default: micro-batches every 5 seconds, as sparklyr's. */
    trigger: z.custom<SparkTrigger>(isObject, 'a trigger such as streamTriggerInterval(5000)').optional(),
    /** The checkpoint location (Spark's `checkpointLocation` option). */
    checkpoint: z.string().min(1).optional(),
    options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).readonly().optional(),
    partition_by: z.array(z.string()).readonly().optional(),
    /** `partition_by` under its TypeScript name. */
    partitionBy: z.array(z.string()).readonly().optional(),
    name: z.string().min(1).optional(),
    dependencies: z.custom<Partial<SinkDependencies>>(isObject, 'an object of sink dependencies').optional(),
  })
  .strict();

export type StreamWriteKafkaOptions = z.input<typeof streamWriteKafkaArgsSchema>;

/** Spark's names for what sparklyr's arguments are, too far from them by spelling for the nearest-name hint. */
const SPARK_NAMES_OF_ARGUMENTS: Readonly<Record<string, string>> = { checkpointlocation: 'checkpoint', outputmode: 'mode', queryname: 'name' };

const STREAM_WRITE_KAFKA_ARGUMENTS = 'the arguments are mode, trigger, checkpoint, options, partition_by (or partitionBy), name and dependencies';

function parseStreamWriteKafkaArgs(args: unknown): z.output<typeof streamWriteKafkaArgsSchema> {
  const result = streamWriteKafkaArgsSchema.safeParse(args);
  if (!result.success) {
    const known = Object.keys(streamWriteKafkaArgsSchema.shape);
    // Each unknown name on its own, with the known one it is nearest to.
    const issues = result.error.issues.flatMap((issue): ZodIssueLike[] =>
      issue.code !== 'unrecognized_keys'
        ? [issue]
        : issue.keys.map((key) => {
            const near = SPARK_NAMES_OF_ARGUMENTS[key.toLowerCase()] ?? nearestOption(key, known);
            return { code: 'custom', path: [...issue.path, key], message: `unknown argument${near === undefined ? '' : ` (did you mean "${near}"?)`}` };
          }),
    );
    const unknownName = result.error.issues.some((issue) => issue.code === 'unrecognized_keys');
    throw zodIssuesError(issues, { subject: 'stream_write_kafka', root: 'arguments', layout: 'inline', ...(unknownName ? { hint: STREAM_WRITE_KAFKA_ARGUMENTS } : {}) });
  }
  const parsed = result.data;
  const twice = (first: string, second: string) =>
    new SpillwayError(ErrorCode.InvalidConfig, `stream_write_kafka: ${first} and ${second} are both given; give it once`, { details: { field: second, hint: `remove ${second}` } });
  if (parsed.checkpoint !== undefined && parsed.options?.checkpointLocation !== undefined) throw twice('checkpoint', 'options.checkpointLocation');
  if (parsed.partition_by !== undefined && parsed.partitionBy !== undefined) throw twice('partition_by', 'partitionBy');
  return parsed;
}

/** sparklyr's `stream_write_kafka(x, mode, trigger, checkpoint, options, partition_by)`. */
export function streamWriteKafka(x: Table, args: StreamWriteKafkaOptions = {}): StreamingQuery {
  const parsed = parseStreamWriteKafkaArgs(args);
  return queryOf(
    startSparkSink({
      table: x,
      name: parsed.name,
      mode: parsed.mode ?? 'append',
      trigger: parsed.trigger ?? streamTriggerInterval(),
      options: { ...parsed.options, ...(parsed.checkpoint === undefined ? {} : { checkpointLocation: parsed.checkpoint }) },
      partitionBy: parsed.partition_by ?? parsed.partitionBy ?? [],
      dependencies: parsed.dependencies,
      dialect: 'stream_write_kafka',
    }),
    x,
  );
}

/** The same function under sparklyr's own name. */
export const stream_write_kafka = streamWriteKafka;

// ---------------------------------------------------------------------------------------------
// The reader: Spark's Kafka source, `spark.readStream.format("kafka")` and sparklyr's
// `stream_read_kafka(sc, options = list(...))`, translated into a SparkKafkaSource.

/** Kafka properties the source uses for its connection (given with Spark's `kafka.` prefix). */
const SOURCE_KAFKA_PROPERTIES: ReadonlySet<string> = new Set([
  'bootstrap.servers', 'client.id', 'security.protocol', 'sasl.mechanism', 'sasl.mechanisms', 'sasl.username', 'sasl.password',
  'sasl.jaas.config', 'ssl.ca.location', 'ssl.ca.pem', 'ssl.certificate.location', 'ssl.certificate.pem', 'ssl.key.location',
  'ssl.key.pem', 'ssl.key.password', 'enable.ssl.certificate.verification', 'ssl.endpoint.identification.algorithm',
  'request.timeout.ms', 'socket.connection.setup.timeout.ms', 'metadata.max.age.ms',
]);

/** Kafka properties Spark's own Kafka source refuses, with Spark's reasons. */
const SPARK_REFUSED_KAFKA: Readonly<Record<string, string>> = {
  'group.id': 'each query reads with a consumer group of its own and commits nothing',
  'auto.offset.reset': 'set the source option startingOffsets instead',
  'key.deserializer': 'keys are read as bytes; convert them with table operations (update)',
  'value.deserializer': 'values are read as bytes; convert them with table operations (update)',
  'enable.auto.commit': 'the source commits no offsets',
  'interceptor.classes': 'the source runs no consumer interceptors',
};

/** Options of Spark's Kafka source that Spillway does not implement (refused, never ignored). */
const SPARK_SOURCE_UNSUPPORTED: Readonly<Record<string, string>> = {
  endingoffsets: 'it bounds batch queries; a stream reads on until stopped',
  failondataloss: 'Spillway has no setting for lost offsets yet',
  maxoffsetspertrigger: 'rate limits per trigger are not implemented; the sink\'s queue.buffering.max.messages bounds memory',
  minoffsetspertrigger: 'rate limits per trigger are not implemented',
  maxtriggerdelay: 'rate limits per trigger are not implemented',
  startingtimestamp: 'starting from a time is not implemented; use startingOffsets',
  startingoffsetsbytimestamp: 'starting from a time is not implemented; use startingOffsets',
  startingoffsetsbytimestampstrategy: 'starting from a time is not implemented; use startingOffsets',
  'kafkaconsumer.polltimeoutms': 'the Kafka client\'s fetch wait is fixed',
  'fetchoffset.numretries': 'the Kafka client retries by itself',
  'fetchoffset.retryintervalms': 'the Kafka client retries by itself',
  groupidprefix: 'each query reads with a consumer group of its own',
  minpartitions: 'Spillway reads each partition as one stream',
  maxrecordsperpartition: 'Spillway reads each partition as one stream',
  topic: 'it is a sink option; the source reads the topics named by subscribe or assign',
};

const SOURCE_OPTIONS = ['subscribe', 'subscribePattern', 'assign', 'startingOffsets', 'includeHeaders'] as const;

function parseJsonOption(dialect: string, name: string, text: string, example: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: option ${name} is not JSON (${(error as Error).message}); give it as ${example}`);
  }
}

function parseAssign(dialect: string, text: string): Record<string, number[]> {
  const parsed = parseJsonOption(dialect, 'assign', text, '{"topicA":[0,1],"topicB":[2,4]}');
  const valid =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && Object.keys(parsed).length > 0 &&
    Object.values(parsed).every((partitions) => Array.isArray(partitions) && partitions.length > 0 && partitions.every((p) => Number.isInteger(p) && (p as number) >= 0));
  if (!valid) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: option assign must map each topic to its partition numbers, as {"topicA":[0,1],"topicB":[2,4]}; got ${text}`);
  }
  return parsed as Record<string, number[]>;
}

function parseStartingOffsets(dialect: string, value: OptionValue): 'earliest' | 'latest' | PartitionOffsets {
  const text = String(value).trim();
  if (text.toLowerCase() === 'earliest' || text.toLowerCase() === 'latest') return text.toLowerCase() as 'earliest' | 'latest';
  if (!text.startsWith('{')) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${dialect}: option startingOffsets is "${text}"; use "latest" (the default for a stream), "earliest", or a JSON such as {"topicA":{"0":23,"1":-2}} (-2 earliest, -1 latest)`,
    );
  }
  const parsed = parseJsonOption(dialect, 'startingOffsets', text, '{"topicA":{"0":23,"1":-2}}');
  const valid =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) &&
    Object.values(parsed).every((partitions) => partitions !== null && typeof partitions === 'object' && !Array.isArray(partitions));
  if (!valid) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: option startingOffsets must map each topic to {"partition": offset}, as {"topicA":{"0":23,"1":-2}}; got ${text}`);
  }
  return parsed as PartitionOffsets;
}

function parseBoolean(dialect: string, name: string, value: OptionValue): boolean {
  if (value === true || value === false) return value;
  const text = String(value).trim().toLowerCase();
  if (text === 'true' || text === 'false') return text === 'true';
  throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: option ${name} is ${JSON.stringify(value)}; give true or false`);
}

/** Translates Spark's Kafka source options (names are case-insensitive, as in Spark) into a source. */
function sparkKafkaSource(options: Readonly<Record<string, OptionValue>>, dialect: string, name: string | undefined): SparkKafkaSource {
  const kafka: Record<string, OptionValue> = {};
  const source = new Map<string, OptionValue>();
  const problems: string[] = [];
  let readCommitted = false;
  for (const [option, value] of Object.entries(options)) {
    if (option.toLowerCase().startsWith('kafka.')) {
      const property = option.slice('kafka.'.length);
      if (property === 'isolation.level') {
        if (value !== 'read_committed' && value !== 'read_uncommitted') {
          problems.push(`option kafka.isolation.level is ${JSON.stringify(value)}; use read_committed or read_uncommitted`);
        }
        readCommitted = value === 'read_committed';
      } else if (SPARK_REFUSED_KAFKA[property] !== undefined) {
        problems.push(`Kafka option "${option}" is not supported: ${SPARK_REFUSED_KAFKA[property]}`);
      } else if (SOURCE_KAFKA_PROPERTIES.has(property)) {
        kafka[property] = value;
      } else {
        const near = nearestOption(property, [...SOURCE_KAFKA_PROPERTIES]);
        problems.push(
          `Kafka option "${option}" is not one the Kafka source uses${near === undefined ? '' : ` (did you mean "kafka.${near}"?)`}; ` +
            `it takes kafka.isolation.level and the connection's properties: ${[...SOURCE_KAFKA_PROPERTIES].map((p) => `kafka.${p}`).join(', ')}`,
        );
      }
      continue;
    }
    const lower = option.toLowerCase();
    const known = SOURCE_OPTIONS.find((candidate) => candidate.toLowerCase() === lower);
    if (known !== undefined) {
      source.set(known, value);
    } else if (SPARK_SOURCE_UNSUPPORTED[lower] !== undefined) {
      problems.push(`option "${option}" of Spark's Kafka source is not supported: ${SPARK_SOURCE_UNSUPPORTED[lower]}`);
    } else {
      const near = nearestOption(option, [...SOURCE_OPTIONS, 'kafka.bootstrap.servers']);
      problems.push(`unknown option "${option}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; Kafka properties take the "kafka." prefix`);
    }
  }
  if (problems.length > 0) throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: ${problems.join('; ')}`);
  if (kafka['bootstrap.servers'] === undefined) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: option "kafka.bootstrap.servers" must be given, as in Spark, e.g. .option("kafka.bootstrap.servers", "127.0.0.1:9092")`);
  }
  const subscribe = source.get('subscribe');
  const subscribePattern = source.get('subscribePattern');
  const assign = source.get('assign');
  const chosen = (['subscribe', 'subscribePattern', 'assign'] as const).filter((option) => source.get(option) !== undefined);
  if (chosen.length !== 1) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${dialect}: ${chosen.length === 0 ? 'no topic to read' : `options ${chosen.join(' and ')} both given`}; ` +
        'as in Spark, give exactly one of subscribe ("topic1,topic2"), subscribePattern ("topic.*") or assign ({"topic1":[0,1]})',
    );
  }
  if (subscribePattern !== undefined && String(subscribePattern).trim() === '') {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: option subscribePattern is empty; give a regular expression such as "events-.*"`);
  }
  const topics = subscribe === undefined ? undefined : String(subscribe).split(',').map((topic) => topic.trim()).filter((topic) => topic !== '');
  if (topics !== undefined && topics.length === 0) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${dialect}: option subscribe names no topic; give one or more, separated by commas`);
  }
  const startingOffsets = source.get('startingOffsets');
  const includeHeaders = source.get('includeHeaders');
  const translated: SparkKafkaSourceOptions = {
    kafkaConfig: kafka,
    ...(topics === undefined ? {} : { topics }),
    ...(subscribePattern === undefined ? {} : { topicPattern: String(subscribePattern) }),
    ...(assign === undefined ? {} : { assign: parseAssign(dialect, String(assign)) }),
    // Spark's default for a streaming query.
    startingOffsets: startingOffsets === undefined ? 'latest' : parseStartingOffsets(dialect, startingOffsets),
    includeHeaders: includeHeaders === undefined ? false : parseBoolean(dialect, 'includeHeaders', includeHeaders),
    readCommitted,
    ...(name === undefined ? {} : { name }),
  };
  return new SparkKafkaSource(translated);
}

/** Spark's DataStreamReader: `readStream().format('kafka').option(…).load()`. */
export class DataStreamReader extends SparkStreamBuilder {

  /** Refused, as Spark refuses it: the Kafka source's columns are fixed. */
  schema(_schema: unknown): this {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      'readStream: the Kafka source has a fixed schema (key, value, topic, partition, offset, timestamp, timestampType, headers) and cannot be set; convert the columns with update()',
    );
  }

  load(): SparkKafkaSource {
    if (this.sourceFormat !== 'kafka') {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `readStream: format ${this.sourceFormat === undefined ? 'is not set' : `"${this.sourceFormat}" is not supported`}; Spillway reads Kafka: call .format("kafka")`,
      );
    }
    return sparkKafkaSource(this.optionValues, 'readStream', undefined);
  }
}

/** `spark.readStream`. */
export function readStream(): DataStreamReader {
  return new DataStreamReader();
}

/** sparklyr's arguments of `stream_read_kafka` (after `sc`). */
export interface StreamReadKafkaOptions {
  /** sparklyr's `name`: names the source in errors. */
  readonly name?: string;
  readonly options: Readonly<Record<string, OptionValue>>;
}

/**
 * sparklyr's `stream_read_kafka(sc, name, options)`. `sc` stands for the Spark connection of the
 * R call and may be left out (`streamReadKafka({ options })`): Spillway needs none.
 */
export function streamReadKafka(sc: unknown, args?: StreamReadKafkaOptions): SparkKafkaSource {
  const given = args ?? (sc as StreamReadKafkaOptions | undefined);
  if (given === undefined || given === null || typeof given !== 'object' || typeof given.options !== 'object' || given.options === null) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      'stream_read_kafka: give the options, as stream_read_kafka(sc, { options: { "kafka.bootstrap.servers": "127.0.0.1:9092", subscribe: "topic1" } })',
    );
  }
  return sparkKafkaSource(given.options, 'stream_read_kafka', given.name);
}

/** The same function under sparklyr's own name. */
export const stream_read_kafka = streamReadKafka;

/** The Kafka sources a table is read from, following its upstream tables. */
function kafkaSourcesOf(table: Table, into = new Set<SparkKafkaSource>()): Set<SparkKafkaSource> {
  if (table instanceof SparkKafkaSource) into.add(table);
  for (const upstream of table.upstream) kafkaSourcesOf(upstream, into);
  return into;
}

/**
 * sparklyr's `stream_stop(stream)`: stops the query, then the Kafka sources it reads from (each
 * Spark query reads with a source of its own, so a source read through stream_read_kafka or
 * readStream belongs to the query that writes it).
 */
export async function streamStop(stream: StreamingQuery): Promise<void> {
  await stream.stop();
  await Promise.all([...kafkaSourcesOf(stream.table)].map((source) => source.close()));
}

/** The same function under sparklyr's own name. */
export const stream_stop = streamStop;
